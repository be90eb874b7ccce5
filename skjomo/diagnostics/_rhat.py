"""Potential scale reduction factors (Rhat).

Two flavours are provided:

* :func:`mitml_rhat`: mitml's split single-chain Gelman--Rubin statistic
  (Gelman & Rubin 1992 with the degrees-of-freedom correction), computed
  from ``n_segments`` consecutive segments of one chain.  It reproduces the
  numbers printed by mitml's ``summary`` for the same chain values.
* :func:`rhat`: the rank-normalised split Rhat of Vehtari, Gelman, Simpson,
  Carpenter and Bürkner (2021), for one or more chains; the maximum of the
  bulk (rank-normalised) and tail (folded, rank-normalised) versions.
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

from ._utils import chains_to_3d, draws_first, finish

__all__ = ["mitml_rhat", "rhat"]

#: Offset of Blom's (1958) normal scores used by the rank normalisation.
_BLOM_C = 3.0 / 8.0
#: Minimum number of draws per chain for the rank-based diagnostics.
MIN_DRAWS = 4


def mitml_rhat(x, n_segments=3, *, axis=0):
    r"""Single-chain potential scale reduction as computed by mitml.

    The chain is cut into ``n_segments`` consecutive segments of length
    ``n = floor(N / n_segments)``; the last ``N - n_segments * n`` draws are
    dropped.  The segments play the role of separate chains in the
    Gelman--Rubin (1992) statistic with the degrees-of-freedom correction:

    .. math::

        \hat R = \sqrt{\frac{V}{W} \frac{d}{d - 2}},\qquad
        V = \frac{n-1}{n} W + B_n + \frac{B_n}{S},\qquad
        d = \frac{2V^2}{\widehat{\mathrm{Var}}(V)},

    where :math:`W` is the mean of the segment variances and :math:`B_n` the
    sample variance of the segment means (doc/diagnostics.rst, "mitml's single-chain statistics").

    Parameters
    ----------
    x : array_like
        Draws of one chain.  The draws run along ``axis``; all other axes
        index scalar parameters and the statistic is computed for each of
        them (vectorised).
    n_segments : int, default 3
        Number of segments ``S`` (mitml's ``n.Rhat``), at least 2.
    axis : int, default 0
        Axis of ``x`` along which the draws run.

    Returns
    -------
    float or ndarray
        Rhat for each parameter: shape ``x.shape`` without ``axis``; a float
        for a 1-D ``x``.  Special values follow mitml:

        * a constant trace (all segment variances and the between-segment
          variance exactly 0) gives 1;
        * a NaN (or infinite) value among the used draws gives NaN; NaNs in
          the dropped trailing draws are ignored;
        * zero within-segment variance with unequal segment means gives
          ``inf``; other degenerate cases (e.g. ``d <= 2``) give NaN.

        When a segment would have fewer than 2 draws (``N < 2 S``) the
        result is NaN (mitml stops with an error).

    Raises
    ------
    ValueError
        If ``n_segments < 2``.

    See Also
    --------
    rhat : Rank-normalised split Rhat across several chains.

    Notes
    -----
    Rhat can fall slightly below 1.  mitml applies it to the imputation
    phase of the chain only, to every fixed-effect element and the lower
    triangles of the covariance matrices.

    References
    ----------
    Gelman, A. and Rubin, D. B. (1992). Inference from iterative simulation
    using multiple sequences. *Statistical Science*, 7, 457--472.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(1, 101)
    >>> round(mitml_rhat(np.sin(0.1 * t) + 0.01 * t), 6)
    4.376351
    """
    S = int(n_segments)
    if S != n_segments or S < 2:
        raise ValueError(f"n_segments must be an integer >= 2, got {n_segments!r}")
    arr, rest_shape = draws_first(x, axis)
    N, P = arr.shape
    n = N // S
    if n < 2:
        return finish(np.full(P, np.nan), rest_shape)
    seg = arr[: S * n].reshape(S, n, P)
    with np.errstate(all="ignore"):
        means = seg.mean(axis=1)  # (S, P)
        variances = seg.var(axis=1, ddof=1)  # (S, P)
        Bn = means.var(axis=0, ddof=1)  # "B / n"
        W = variances.mean(axis=0)
        mu = seg.reshape(S * n, P).mean(axis=0)
        sigma2_plus = (n - 1) / n * W + Bn
        V = sigma2_plus + Bn / S
        var_of_var = variances.var(axis=0, ddof=1)
        cov_v_m2 = _sample_cov(variances, means**2)
        cov_v_m = _sample_cov(variances, means)
        var_V = (
            ((n - 1) / n) ** 2 / S * var_of_var
            + ((S + 1) / (S * n)) ** 2 * 2 / (S - 1) * (n * Bn) ** 2
            + 2 * ((S + 1) * (n - 1) / (S * n**2)) * (n / S) * (cov_v_m2 - 2 * mu * cov_v_m)
        )
        d = 2 * V**2 / var_V
        out = np.sqrt((V / W) * d / (d - 2))
    constant = (Bn == 0) & np.all(variances == 0, axis=0)
    out = np.where(constant, 1.0, out)
    return finish(out, rest_shape)


def _sample_cov(a, b):
    """Sample covariance (denominator S - 1) along axis 0."""
    S = a.shape[0]
    return ((a - a.mean(axis=0)) * (b - b.mean(axis=0))).sum(axis=0) / (S - 1)


def rhat(chains, *, method="rank"):
    r"""Rank-normalised split potential scale reduction (Vehtari et al. 2021).

    Each chain is split into halves (the middle draw of an odd-length chain
    is dropped), so a single chain already gives a two-"chain" statistic.
    With ``method="rank"`` the result is :math:`\max(\hat R_\text{bulk},
    \hat R_\text{tail})`, where the bulk version uses the rank-normalised
    draws and the tail version the rank-normalised draws folded around the
    median, :math:`|x - \operatorname{median}(x)|`.  Both use the classic
    formula without df correction,
    :math:`\hat R = \sqrt{(\hat B/W + n - 1)/n}`.

    Parameters
    ----------
    chains : array_like, shape (n_chains, n_draws, \*param_shape)
        Draws of every chain.  A 1-D array is one chain of one parameter; a
        2-D array is ``(n_chains, n_draws)`` of one parameter.  The statistic
        is computed for every trailing element.
    method : {"rank", "bulk", "tail", "split", "identity"}, default "rank"
        ``"rank"``: max of bulk and tail (recommended); ``"bulk"``: split,
        rank-normalised (arviz' ``"z_scale"``); ``"tail"``: split, folded
        and rank-normalised (arviz' ``"folded"``); ``"split"``: classic split
        Rhat on the raw draws; ``"identity"``: classic Gelman--Rubin on the
        unsplit raw chains (needs two or more chains).

    Returns
    -------
    float or ndarray of shape param_shape
        Rhat per parameter.  NaN for parameters with any non-finite draw or
        with fewer than 4 draws per chain; NaN for a constant parameter
        (no variance to compare).

    See Also
    --------
    mitml_rhat : The single-chain statistic of mitml.
    ess_bulk, ess_tail : Effective sample sizes from the same paper.

    Notes
    -----
    The numbers equal ``arviz.rhat(..., method=...)`` (arviz 0.23) for two
    or more chains.  Unlike arviz, a single chain is accepted (its two
    halves are compared).  Values above 1.01 (Vehtari et al.'s
    recommendation) or 1.05 (a common, laxer rule, used by
    :func:`check_convergence`) indicate that the chains have not mixed.

    References
    ----------
    Vehtari, A., Gelman, A., Simpson, D., Carpenter, B. and Bürkner, P.-C.
    (2021). Rank-normalization, folding, and localization: an improved
    :math:`\hat R` for assessing convergence of MCMC. *Bayesian Analysis*,
    16(2), 667--718.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> draws = rng.normal(size=(4, 1000))
    >>> bool(abs(rhat(draws) - 1) < 0.01)
    True
    >>> draws[0] += 3.0
    >>> bool(rhat(draws) > 1.05)
    True
    """
    arr, param_shape = chains_to_3d(chains)
    n_chains, n_draws, P = arr.shape
    if method == "identity":
        if n_chains < 2:
            raise ValueError('method="identity" needs at least two chains')
        out = _classic_rhat(arr)
        out[~np.isfinite(arr).all(axis=(0, 1))] = np.nan
        return finish(out, param_shape)
    if method not in ("rank", "bulk", "tail", "split"):
        raise ValueError(
            f"unknown method {method!r}; use 'rank', 'bulk', 'tail', 'split' or 'identity'"
        )
    out = np.full(P, np.nan)
    valid = np.isfinite(arr).all(axis=(0, 1))
    if n_draws < MIN_DRAWS or not valid.any():
        return finish(out, param_shape)
    split = split_chains(arr[:, :, valid])
    if method == "split":
        out[valid] = _classic_rhat(split)
    elif method == "bulk":
        out[valid] = _classic_rhat(z_scale(split))
    elif method == "tail":
        out[valid] = _rhat_tail(split)
    else:
        out[valid] = _rhat_rank(split, z_scale(split))
    return finish(out, param_shape)


def _rhat_tail(split):
    """Folded rank-normalised Rhat of split ``(2C, n, P)`` draws."""
    med = np.median(split.reshape(-1, split.shape[-1]), axis=0)
    return _classic_rhat(z_scale(np.abs(split - med)))


def _rhat_rank(split, z_split):
    """max(bulk, tail) Rhat given split draws and their normal scores."""
    return np.maximum(_classic_rhat(z_split), _rhat_tail(split))  # NaN if either is NaN


def split_chains(arr):
    """Split every chain into halves: ``(C, N, P) -> (2C, N // 2, P)``.

    For odd ``N`` the middle draw is dropped.
    """
    half = arr.shape[1] // 2
    return np.concatenate([arr[:, :half], arr[:, arr.shape[1] - half :]], axis=0)


def z_scale(arr):
    """Rank-normalise ``(C, N, P)`` draws per parameter, pooling all chains.

    Average ranks over all ``C * N`` draws are mapped to normal scores with
    Blom's offset: ``Phi^{-1}((r - 3/8) / (C N + 1/4))``.
    """
    C, N, P = arr.shape
    flat = np.ascontiguousarray(arr.reshape(C * N, P).T)  # (P, C N): rank along rows
    ranks = stats.rankdata(flat, method="average", axis=1)
    size = C * N
    z = special.ndtri((ranks - _BLOM_C) / (size - 2 * _BLOM_C + 1))
    return z.T.reshape(C, N, P)


def _classic_rhat(arr):
    """Gelman--Rubin without df correction for ``(C, N, P)`` draws."""
    n = arr.shape[1]
    with np.errstate(all="ignore"):
        chain_mean = arr.mean(axis=1)
        chain_var = arr.var(axis=1, ddof=1)
        between = n * chain_mean.var(axis=0, ddof=1)
        within = chain_var.mean(axis=0)
        return np.sqrt((between / within + n - 1) / n)
