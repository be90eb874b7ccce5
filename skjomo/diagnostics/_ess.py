"""Effective sample sizes (bulk and tail) of Vehtari et al. (2021)."""

from __future__ import annotations

import numpy as np

from ._acf import _autocovariance_fft
from ._rhat import MIN_DRAWS, _rhat_rank, split_chains, z_scale
from ._utils import chains_to_3d, finish

__all__ = ["ess_bulk", "ess_tail", "ess_mean"]


def ess_bulk(chains):
    r"""Bulk effective sample size (Vehtari et al. 2021).

    The chains are split into halves and rank-normalised (pooled over all
    chains); the effective sample size of the normal scores is then
    estimated from the multi-chain autocorrelations (computed with the FFT)
    truncated by Geyer's initial monotone sequence.

    Parameters
    ----------
    chains : array_like, shape (n_chains, n_draws, \*param_shape)
        Draws of every chain.  A 1-D array is one chain of one parameter; a
        2-D array is ``(n_chains, n_draws)`` of one parameter.

    Returns
    -------
    float or ndarray of shape param_shape
        Bulk ESS per parameter (in draws, not relative).  NaN for a
        parameter with a non-finite draw or with fewer than 4 draws per
        chain.  A constant parameter gets ``n_chains * 2 * (n_draws // 2)``.

    See Also
    --------
    ess_tail : Tail effective sample size.
    rhat : Rank-normalised split Rhat.

    Notes
    -----
    Equals ``arviz.ess(..., method="bulk")`` (arviz 0.23).  As in arviz the
    autocorrelation time is bounded below by ``1 / log10(S)`` (``S`` = total
    number of split draws), so the ESS of antithetic draws can exceed
    ``S`` but not by more than a factor ``log10(S)``.

    References
    ----------
    Vehtari, A., Gelman, A., Simpson, D., Carpenter, B. and Bürkner, P.-C.
    (2021). Rank-normalization, folding, and localization: an improved
    :math:`\hat R` for assessing convergence of MCMC. *Bayesian Analysis*,
    16(2), 667--718.

    Geyer, C. J. (1992). Practical Markov chain Monte Carlo. *Statistical
    Science*, 7, 473--483.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> e = ess_bulk(rng.normal(size=(4, 1000)))
    >>> bool(3000 < e < 5000)
    True
    """
    arr, param_shape = chains_to_3d(chains)
    out = np.full(arr.shape[2], np.nan)
    valid = _valid(arr)
    if valid.any():
        out[valid] = _ess(z_scale(split_chains(arr[:, :, valid])))
    return finish(out, param_shape)


def ess_tail(chains, prob=(0.05, 0.95)):
    r"""Tail effective sample size (Vehtari et al. 2021).

    The minimum of the effective sample sizes of the indicators
    :math:`I(x \le q_{0.05})` and :math:`I(x \le q_{0.95})`, where the
    quantiles are taken over all draws of all chains (linear interpolation,
    R type 7, in the arithmetic of ``scipy.stats.mstats.mquantiles`` as
    arviz does) and the indicator chains are split into halves.

    Parameters
    ----------
    chains : array_like, shape (n_chains, n_draws, \*param_shape)
        Draws of every chain; see :func:`ess_bulk`.
    prob : float or (float, float), default (0.05, 0.95)
        Tail probabilities; a single ``p`` means ``(p, 1 - p)``.

    Returns
    -------
    float or ndarray of shape param_shape
        Tail ESS per parameter; NaN as in :func:`ess_bulk`.

    See Also
    --------
    ess_bulk : Bulk effective sample size.

    Notes
    -----
    Equals ``arviz.ess(..., method="tail")`` (arviz 0.23).

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> e = ess_tail(rng.normal(size=(4, 1000)))
    >>> bool(2500 < e < 5500)
    True
    """
    arr, param_shape = chains_to_3d(chains)
    out = np.full(arr.shape[2], np.nan)
    valid = _valid(arr)
    if valid.any():
        out[valid] = _ess_tail(arr[:, :, valid], prob)
    return finish(out, param_shape)


def _ess_tail(arr, prob=(0.05, 0.95)):
    """Tail ESS of finite ``(C, N, P)`` draws."""
    if np.ndim(prob) == 0:
        prob = (float(prob), 1.0 - float(prob))
    C, N, _ = arr.shape
    xs = np.sort(arr.reshape(C * N, -1), axis=0)
    res = None
    for p in prob:
        q = _quantile_type7(xs, p, presorted=True)
        e = _ess(split_chains((arr <= q).astype(np.float64)))
        res = e if res is None else np.minimum(res, e)
    return res


def rank_diagnostics(chains):
    r"""Rank-normalised Rhat, bulk ESS and tail ESS in one pass.

    Same numbers as :func:`rhat`, :func:`ess_bulk` and :func:`ess_tail`
    but the rank normalisation of the split chains is shared.

    Parameters
    ----------
    chains : array_like, shape (n_chains, n_draws, \*param_shape)
        Draws of every chain; see :func:`ess_bulk`.

    Returns
    -------
    rhat : float or ndarray of shape param_shape
        Rank-normalised split Rhat, as :func:`rhat`.
    ess_bulk : float or ndarray of shape param_shape
        Bulk effective sample size, as :func:`ess_bulk`.
    ess_tail : float or ndarray of shape param_shape
        Tail effective sample size, as :func:`ess_tail`.

    See Also
    --------
    summarize_convergence : These statistics for every parameter of a chain set.
    """
    arr, param_shape = chains_to_3d(chains)
    P = arr.shape[2]
    r, eb, et = (np.full(P, np.nan) for _ in range(3))
    valid = _valid(arr)
    if valid.any():
        sub = arr[:, :, valid]
        split = split_chains(sub)
        z = z_scale(split)
        r[valid] = _rhat_rank(split, z)
        eb[valid] = _ess(z)
        et[valid] = _ess_tail(sub)
    return finish(r, param_shape), finish(eb, param_shape), finish(et, param_shape)


def ess_mean(chains):
    r"""Effective sample size of the mean (split chains, no rank normalisation).

    Parameters
    ----------
    chains : array_like, shape (n_chains, n_draws, \*param_shape)
        Draws of every chain; see :func:`ess_bulk`.

    Returns
    -------
    float or ndarray of shape param_shape
        ESS per parameter; equals ``arviz.ess(..., method="mean")``.
    """
    arr, param_shape = chains_to_3d(chains)
    out = np.full(arr.shape[2], np.nan)
    valid = _valid(arr)
    if valid.any():
        out[valid] = _ess(split_chains(arr[:, :, valid]))
    return finish(out, param_shape)


def _quantile_type7(x, p, presorted=False):
    """Type-7 quantile along axis 0, in the arithmetic of ``scipy.stats.mstats.mquantiles``.

    ``mquantiles(alphap=1, betap=1)`` is what arviz uses.  At plotting
    positions that should be integers it can land a rounding error below an
    order statistic, which changes the tail indicator of one draw; using the
    same arithmetic keeps the tail ESS identical to arviz's.
    """
    xs = x if presorted else np.sort(x, axis=0)
    n = xs.shape[0]
    if n == 1:
        return xs[0]
    aleph = n * p + (1.0 - p)
    k = int(np.floor(np.clip(aleph, 1, n - 1)))
    gamma = float(np.clip(aleph - k, 0, 1))
    return (1.0 - gamma) * xs[k - 1] + gamma * xs[k]


def _valid(arr):
    """Parameters with only finite draws and enough draws per chain."""
    if arr.shape[1] < MIN_DRAWS:
        return np.zeros(arr.shape[2], dtype=bool)
    return np.isfinite(arr).all(axis=(0, 1))


def _ess(arr):
    """Multi-chain ESS of ``(C, N, P)`` finite draws (no splitting here).

    Autocorrelations are combined across chains as in Vehtari et al.
    (2021), eq. (10), and the sum is truncated with Geyer's initial
    positive sequence, then made monotone (Geyer's initial monotone
    sequence).  Vectorised over parameters.
    """
    C, N, P = arr.shape
    total = C * N
    out = np.empty(P)
    constant = (arr.max(axis=(0, 1)) - arr.min(axis=(0, 1))) < np.finfo(np.float64).resolution
    out[constant] = total
    if constant.all():
        return out
    x = arr[:, :, ~constant]
    acov = _autocovariance_fft(x, axis=1)  # (C, N, P'), biased (divide by N)
    mean_acov = acov.mean(axis=0)  # (N, P')
    chain_mean = x.mean(axis=1)  # (C, P')
    mean_var = mean_acov[0] * N / (N - 1.0)
    var_plus = mean_var * (N - 1.0) / N
    if C > 1:
        var_plus = var_plus + chain_mean.var(axis=0, ddof=1)
    with np.errstate(all="ignore"):
        rho = 1.0 - (mean_var - mean_acov) / var_plus  # (N, P')
    rho[0] = 1.0
    tau = _geyer_tau(rho, N)
    tau = np.maximum(tau, 1.0 / np.log10(total))
    ess = total / tau
    ess[np.isnan(rho).any(axis=0)] = np.nan
    out[~constant] = ess
    return out


def _geyer_tau(rho, N):
    r"""Integrated autocorrelation time from autocorrelations ``rho`` (N, P).

    With pair sums :math:`P_k = \rho_{2k} + \rho_{2k+1}` the sum is cut at
    the first non-positive pair (Geyer's initial positive sequence; the
    pairs are searched up to lag ``N - 2``), the pairs before it are made
    non-increasing (initial monotone sequence), and the even member of the
    last examined pair is added when it is positive:
    :math:`\tau = -1 + 2\sum_{k<K} P'_k + \rho_{2K}`.
    """
    P = rho.shape[1]
    k_max = max((N - 3) // 2, 0)  # last pair examined by the search
    n_pairs = k_max + 1
    even = rho[0 : 2 * n_pairs : 2]  # (n_pairs, P)
    odd = rho[1 : 2 * n_pairs : 2]
    pair = even + odd
    nonpos = pair <= 0
    # K: first non-positive pair, or the last examined pair
    K = np.where(nonpos.any(axis=0), np.argmax(nonpos, axis=0), k_max)
    K = np.minimum(K, k_max)
    monotone = np.minimum.accumulate(pair, axis=0)
    ks = np.arange(n_pairs)[:, np.newaxis]
    head = np.where(ks < K, monotone, 0.0).sum(axis=0)
    cols = np.arange(P)
    last_even = even[K, cols]
    last_pair = pair[K, cols]
    keep_last = (K == 0) | (last_pair >= 0) | (last_even > 0)
    last = np.where(keep_last, last_even, 0.0)
    return -1.0 + 2.0 * head + last
