"""Wishart and inverse-Wishart kernels (numba).

Convention (doc/sampler.rst, "Notation and conventions"): ``W ~ IW(nu, Psi)`` means
``W^{-1} ~ Wishart(nu, Psi^{-1})``, with density proportional to
``|W|^{-(nu+p+1)/2} exp(-tr(Psi W^{-1}) / 2)`` and mean ``Psi / (nu - p - 1)``;
``W ~ Wishart(nu, Sigma)`` has mean ``nu Sigma``. Degrees of freedom are real
numbers with ``nu > p - 1`` (never rounded; doc/sampler.rst, "Wishart draws").

Draws use the Bartlett decomposition with chi-square variates of real
degrees of freedom, ``chi2(k) = 2 Gamma(k / 2)``, and only Cholesky factors
and triangular products, so every draw is symmetric by construction and no
general matrix is inverted.

:func:`constrained_inverse_wishart` draws the inverse-Wishart restricted to
covariance matrices whose latent diagonal blocks are fixed to ``C_K``
(doc/sampler.rst, "Factorisation through the regression on the latents").
"""

import math

import numpy as np

from ._jit import kernel
from ._linalg import (
    cholesky_lower,
    gram_lower,
    lower_inverse,
    lower_times_lower,
    lower_transpose_times,
)

_LOG_PI = math.log(math.pi)
_LOG_2 = math.log(2.0)


@kernel(inline=True)
def _chi2(rng, k):
    """Chi-square variate with real degrees of freedom ``k > 0``."""
    return 2.0 * rng.standard_gamma(0.5 * k)


@kernel
def _bartlett(rng, df, out, reverse):
    """Fill ``out`` with a lower-triangular Bartlett factor of ``Wishart(df, I)``.

    Off-diagonal entries are N(0, 1). With ``reverse=False`` the squared
    diagonal entries are chi2(df - i), i = 0..p-1, and ``out @ out.T`` is
    ``Wishart(df, I)`` (the usual Bartlett decomposition). With
    ``reverse=True`` they are chi2(df - p + 1 + i) and ``out.T @ out`` is
    ``Wishart(df, I)``: reversing rows and columns of the usual factor
    (an orthogonal map, which leaves ``Wishart(df, I)`` invariant) turns it
    into an upper-triangular factor with the reversed diagonal.
    """
    p = out.shape[0]
    for i in range(p):
        k = df - p + 1.0 + i if reverse else df - i
        out[i, i] = math.sqrt(_chi2(rng, k))
        for j in range(i):
            out[i, j] = rng.standard_normal()
        for j in range(i + 1, p):
            out[i, j] = 0.0


@kernel(inline=True)
def work_space(p):
    """Scratch memory for one covariance draw of dimension ``p`` (passed to
    :func:`split_constrained_inverse_wishart`, handed out by :func:`_take`):
    16 slots of ``p * p`` numbers."""
    return np.empty((16, p * p))


@kernel(inline=True)
def _take(work, slot, rows, cols):
    """A ``rows x cols`` matrix in slot ``slot`` of ``work``, and the next slot.

    The matrix is C-contiguous (a reshaped prefix of the slot), like every
    other matrix the small linear-algebra kernels receive, so that each of
    them is compiled for one memory layout only.
    """
    return work[slot, : rows * cols].reshape((rows, cols)), slot + 1


@kernel(inline=True)
def _inverse_wishart_factor(rng, df, chol_scale, out, t, t_inv):
    """Lower-triangular ``L`` with ``L @ L.T ~ IW(df, C @ C.T)``, ``C = chol_scale``.

    With ``T`` the reversed Bartlett factor, ``X = T.T @ T ~ Wishart(df, I)``
    and ``C^{-T} X C^{-1} ~ Wishart(df, Psi^{-1})``, so
    ``W = C X^{-1} C.T = (C T^{-1}) (C T^{-1}).T ~ IW(df, Psi)``; ``C T^{-1}``
    is lower triangular and ``Psi`` is never inverted. ``t`` and ``t_inv``
    are ``p x p`` work arrays.
    """
    _bartlett(rng, df, t, True)
    lower_inverse(t, t_inv)
    lower_times_lower(chol_scale, t_inv, out)


@kernel(inline=True)
def _check_df(df, p):
    if not df > p - 1.0:
        raise ValueError("degrees of freedom must exceed p - 1")


@kernel(inline=True)
def _inverse_wishart_into(rng, df, scale, out, work):
    """:func:`inverse_wishart` with its scratch arrays taken from ``work``
    (a :func:`work_space` of dimension ``p``)."""
    p = scale.shape[0]
    c, at = _take(work, 0, p, p)
    factor, at = _take(work, at, p, p)
    t, at = _take(work, at, p, p)
    t_inv, at = _take(work, at, p, p)
    _check_df(df, p)
    if not cholesky_lower(scale, c):
        raise ValueError("inverse-Wishart scale is not positive definite")
    _inverse_wishart_factor(rng, df, c, factor, t, t_inv)
    gram_lower(factor, out)


# ---------------------------------------------------------------------------
# public draws


@kernel
def inverse_wishart(rng, df, scale, out):
    """Draw ``W ~ IW(df, scale)`` into ``out``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    df : float
        Degrees of freedom, real, ``df > p - 1``.
    scale : ndarray, shape (p, p)
        Symmetric positive definite scale ``Psi`` (lower triangle read).
    out : ndarray, shape (p, p)
        Receives the draw (symmetric, positive definite). Must not alias
        ``scale``.

    Notes
    -----
    Density ``∝ |W|^{-(df+p+1)/2} exp(-tr(Psi W^{-1}) / 2)``, mean
    ``Psi / (df - p - 1)``; same target as ``scipy.stats.invwishart``
    (doc/sampler.rst, "Wishart draws"). Raises ``ValueError`` for invalid ``df``
    or a scale that is not positive definite.
    """
    _inverse_wishart_into(rng, df, scale, out, work_space(scale.shape[0]))


@kernel
def wishart(rng, df, scale, out):
    """Draw ``W ~ Wishart(df, scale)`` into ``out``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    df : float
        Degrees of freedom, real, ``df > p - 1``.
    scale : ndarray, shape (p, p)
        Symmetric positive definite scale ``Sigma`` (lower triangle read).
    out : ndarray, shape (p, p)
        Receives the draw (symmetric, positive definite), mean ``df * Sigma``.
        Must not alias ``scale``.

    Notes
    -----
    Bartlett decomposition: ``W = L A A.T L.T`` with ``L`` the Cholesky
    factor of ``Sigma`` and ``A`` lower triangular, ``A_ii^2 ~ chi2(df - i)``
    (i = 0..p-1), ``A_ij ~ N(0, 1)`` below the diagonal. Used for the
    hyper-parameter ``A`` of the "random" heteroscedastic method
    (doc/sampler.rst, "Level-1 covariances").
    """
    p = scale.shape[0]
    c = np.empty((p, p))
    _check_df(df, p)
    if not cholesky_lower(scale, c):
        raise ValueError("Wishart scale is not positive definite")
    a = np.empty((p, p))
    _bartlett(rng, df, a, False)
    m = np.empty((p, p))
    lower_times_lower(c, a, m)
    gram_lower(m, out)


# ---------------------------------------------------------------------------
# inverse-Wishart restricted to fixed latent diagonal blocks


@kernel
def _iw_log_kernel(omega, chol_psi, exponent, chol_work, solve_work):
    """``-exponent/2 log|omega| - tr(Psi omega^{-1})/2``, or -inf if not PD.

    ``tr(Psi omega^{-1}) = ||L^{-1} C||_F^2`` with ``omega = L L.T`` and
    ``Psi = C C.T``; ``L^{-1} C`` is lower triangular.
    """
    n = omega.shape[0]
    if not cholesky_lower(omega, chol_work):
        return -np.inf
    log_det = 0.0
    for i in range(n):
        log_det += math.log(chol_work[i, i])
    log_det *= 2.0
    trace = 0.0
    for j in range(n):
        for i in range(j, n):
            s = chol_psi[i, j]
            for k in range(j, i):
                s -= chol_work[i, k] * solve_work[k, j]
            x = s / chol_work[i, i]
            solve_work[i, j] = x
            trace += x * x
    return -0.5 * exponent * log_det - 0.5 * trace


@kernel
def _metropolis_latent_block(rng, omega, chol_psi, exponent, block_id, sd, n_sweeps):
    """Random-walk Metropolis sweeps over the cross-block entries of ``omega``.

    Target: ``|omega|^{-exponent/2} exp(-tr(Psi omega^{-1})/2)`` on the free
    entries (pairs ``(r, s)`` with ``block_id[r] != block_id[s]``); the
    diagonal blocks are left untouched. Entries are updated one at a time in
    upper-triangle row order with symmetric N(0, sd^2) increments (fixed sd,
    so no Hastings correction is needed); proposals that are not positive
    definite have zero target density and are rejected. Returns the number
    of accepted moves.
    """
    n = omega.shape[0]
    chol_work = np.empty((n, n))
    solve_work = np.empty((n, n))
    current = _iw_log_kernel(omega, chol_psi, exponent, chol_work, solve_work)
    accepted = 0
    for _ in range(n_sweeps):
        for r in range(n):
            for s in range(r + 1, n):
                if block_id[r] == block_id[s]:
                    continue
                old = omega[r, s]
                new = old + sd * rng.standard_normal()
                omega[r, s] = new
                omega[s, r] = new
                proposed = _iw_log_kernel(omega, chol_psi, exponent, chol_work, solve_work)
                # accept when log U < proposed - current, U ~ U(0, 1);
                # -log U is a standard exponential variate
                if proposed > -np.inf and rng.standard_exponential() > current - proposed:
                    current = proposed
                    accepted += 1
                else:
                    omega[r, s] = old
                    omega[s, r] = old
    return accepted


@kernel
def _complete_from_latent_block(rng, df, scale, n_free, omega11, out, work):
    """Draw the free part given the latent block and assemble ``out``.

    With block 1 = latent columns ``n_free..p-1`` (size p1) and block 2 =
    free columns ``0..n_free-1`` (size p2), for ``Omega ~ IW(df, Psi)``:
    ``Omega22.1 = Omega22 - Omega21 Omega11^{-1} Omega12 ~ IW_p2(df, Psi22.1)``
    and ``beta = Omega11^{-1} Omega12 | Omega22.1 ~
    MatrixNormal(Psi11^{-1} Psi12, Psi11^{-1}, Omega22.1)``, jointly
    independent of ``Omega11`` (checked by Monte Carlo in
    tests/test_kernels.py). Both are drawn exactly; then
    ``Omega12 = Omega11 beta`` and ``Omega22 = Omega22.1 + beta' Omega11 beta``.
    ``omega11`` (p1 x p1, positive definite) is copied into ``out``;
    ``work`` is a :func:`work_space` of dimension ``p``.
    """
    p = scale.shape[0]
    p2 = n_free
    p1 = p - p2
    c1, at = _take(work, 0, p1, p1)
    psi11, at = _take(work, at, p1, p1)
    for i in range(p1):
        for j in range(p1):
            psi11[i, j] = scale[p2 + i, p2 + j]
    if not cholesky_lower(psi11, c1):
        raise ValueError("inverse-Wishart scale is not positive definite")
    # g = C1^{-1} Psi12, so Psi21 Psi11^{-1} Psi12 = g' g
    g, at = _take(work, at, p1, p2)
    for j in range(p2):
        for i in range(p1):
            s = scale[p2 + i, j]
            for k in range(i):
                s -= c1[i, k] * g[k, j]
            g[i, j] = s / c1[i, i]
    psi22_1, at = _take(work, at, p2, p2)
    for i in range(p2):
        for j in range(i + 1):
            s = scale[i, j]
            for k in range(p1):
                s -= g[k, i] * g[k, j]
            psi22_1[i, j] = s
            psi22_1[j, i] = s
    c2, at = _take(work, at, p2, p2)
    if not cholesky_lower(psi22_1, c2):
        raise ValueError("inverse-Wishart scale is not positive definite")
    # Omega22.1 = l22 l22' ~ IW(df, Psi22.1)
    l22, at = _take(work, at, p2, p2)
    t, at = _take(work, at, p2, p2)
    t_inv, at = _take(work, at, p2, p2)
    _inverse_wishart_factor(rng, df, c2, l22, t, t_inv)
    # beta = Psi11^{-1} Psi12 + C1^{-T} Z l22' = C1^{-T} (g + Z l22'),
    # since C1^{-T} (C1^{-T})' = Psi11^{-1} (row covariance) and
    # l22 l22' = Omega22.1 (column covariance)
    z, at = _take(work, at, 1, p2)
    beta, at = _take(work, at, p1, p2)
    for i in range(p1):
        for k in range(p2):
            z[0, k] = rng.standard_normal()
        for j in range(p2):
            s = g[i, j]
            for k in range(j + 1):
                s += z[0, k] * l22[j, k]
            beta[i, j] = s
    for j in range(p2):  # back substitution with C1'
        for i in range(p1 - 1, -1, -1):
            s = beta[i, j]
            for k in range(i + 1, p1):
                s -= c1[k, i] * beta[k, j]
            beta[i, j] = s / c1[i, i]
    # m = L11' beta, so beta' Omega11 beta = m' m (symmetric by construction)
    l11, at = _take(work, at, p1, p1)
    if not cholesky_lower(omega11, l11):
        raise ValueError("latent block is not positive definite")
    m, at = _take(work, at, p1, p2)
    lower_transpose_times(l11, beta, m)
    for i in range(p1):
        for j in range(p1):
            out[p2 + i, p2 + j] = omega11[i, j]
        for j in range(p2):  # Omega12 = Omega11 beta
            s = 0.0
            for k in range(p1):
                s += omega11[i, k] * beta[k, j]
            out[p2 + i, j] = s
            out[j, p2 + i] = s
    for i in range(p2):
        for j in range(i + 1):
            s = 0.0
            for k in range(j + 1):
                s += l22[i, k] * l22[j, k]
            for k in range(p1):
                s += m[k, i] * m[k, j]
            out[i, j] = s
            out[j, i] = s


@kernel
def constrained_inverse_wishart(
    rng, df, scale, n_free, block_ptr, current, out, mh_scale, n_sweeps=3
):
    """One Gibbs move for ``IW(df, scale)`` restricted to fixed latent blocks.

    :func:`split_constrained_inverse_wishart` with the latent block's law
    taken from the same inverse-Wishart; see there for the parameters and
    the method.
    """
    return split_constrained_inverse_wishart(
        rng,
        df,
        scale,
        df,
        scale,
        n_free,
        block_ptr,
        current,
        out,
        mh_scale,
        n_sweeps,
        work_space(scale.shape[0]),
    )


@kernel
def split_constrained_inverse_wishart(
    rng,
    latent_df,
    latent_scale,
    df,
    scale,
    n_free,
    block_ptr,
    current,
    out,
    mh_scale,
    n_sweeps,
    work,
):
    """One Gibbs move for a covariance with fixed latent diagonal blocks.

    The covariance is parametrised by its latent block ``Omega11`` and by
    ``(beta, Omega22.1)``, the regression of the free columns on the latents
    and their residual covariance. ``Omega11`` has the law of the latent
    block of ``IW(latent_df, latent_scale)`` restricted to the fixed
    diagonal blocks; ``(beta, Omega22.1)`` that of ``IW(df, scale)``, which
    does not depend on ``Omega11``. With ``latent_df == df`` and
    ``latent_scale is scale`` this is ``IW(df, scale)`` restricted
    (:func:`constrained_inverse_wishart`); the "random" heteroscedastic
    model uses different pairs (doc/sampler.rst, "Scale A").

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    latent_df, latent_scale : float, ndarray of shape (p, p)
        Inverse-Wishart whose latent block gives the law of ``Omega11``
        (only ``latent_scale[n_free:, n_free:]`` is read; unused with fewer
        than two latent blocks, where ``Omega11`` is fixed).
    df : float
        Degrees of freedom ``nu`` of the unrestricted inverse-Wishart (real).
        Needs ``df > n_free - 1``.
    scale : ndarray, shape (p, p)
        Scale matrix ``Psi`` (symmetric positive definite).
    n_free : int
        Number of leading free columns (continuous variables). Columns
        ``n_free..p-1`` hold the latent normals.
    block_ptr : ndarray of int64
        Boundaries of the latent blocks: block ``b`` is columns
        ``block_ptr[b]:block_ptr[b+1]``. ``block_ptr[0] == n_free`` and
        ``block_ptr[-1] == p``; with no latents it is ``[p]``.
    current : ndarray, shape (p, p)
        Current state of the chain. Only its latent block
        ``current[n_free:, n_free:]`` is used, as the start of the
        Metropolis step; its diagonal blocks are reset to ``C_k``, and its
        cross-block entries to 0 if the result is not positive definite.
    out : ndarray, shape (p, p)
        Receives the new state. May be the same array as ``current``; must
        not alias ``scale``.
    mh_scale : float
        Proposal sd of the Metropolis step is ``mh_scale / sqrt(latent_df)`` for
        every cross-block entry, the same at every state (no Hastings
        correction needed). The acceptance rate hardly depends on ``df``:
        ``mh_scale = 1`` gave about 0.35 and ``2`` about 0.2 with strongly
        correlated latents, ``2`` gave 0.3-0.45 with weak correlations. A
        caller may tune it during burn-in only.
    n_sweeps : int
        Metropolis sweeps over the cross-block entries per call.
    work : ndarray
        Scratch memory from :func:`work_space` of dimension ``p``.

    Returns
    -------
    int
        Number of accepted Metropolis moves (0 when there are fewer than two
        latent blocks); divide by ``n_sweeps`` times the number of
        cross-block pairs for the acceptance rate.

    Notes
    -----
    Target, when ``(latent_df, latent_scale) == (df, scale)``: density
    ``∝ |Omega|^{-(nu+p+1)/2} exp(-tr(Psi Omega^{-1})/2)``
    with respect to Lebesgue measure on the free entries, over positive
    definite ``Omega`` whose latent diagonal blocks equal
    ``C_k = I/2 + 11'/2`` (doc/sampler.rst, "Identifiability: fixed latent blocks"). Everything else is free:
    covariances between latents of different blocks, between latents and
    free columns, and the free block.

    With block 1 = latent columns (p1) and block 2 = free columns (p2 =
    ``n_free``), the change of variables ``(Omega12, Omega22) ->
    (beta, Omega22.1)`` (Jacobian ``|Omega11|^p2``) factorises the
    unrestricted inverse-Wishart into ``Omega11 ~ IW_p1(nu - p2, Psi11)``
    times the law of ``(Omega22.1, beta)`` of
    :func:`_complete_from_latent_block`, which does not involve
    ``Omega11``. Fixing the diagonal blocks of ``Omega11`` therefore leaves
    ``(Omega22.1, beta)`` untouched and restricts ``Omega11`` to the density
    ``∝ |Omega11|^{-(nu - p2 + p1 + 1)/2} exp(-tr(Psi11 Omega11^{-1})/2)``
    over its cross-block entries. Otherwise the same holds with
    ``(latent_df, latent_scale)`` in place of ``(nu, Psi)`` in the law of
    ``Omega11``. This function

    (a) updates ``Omega11``: with a single latent block it is ``C_k``;
        otherwise ``n_sweeps`` random-walk Metropolis sweeps over the
        cross-block entries, started from ``current``;
    (b) draws ``(Omega22.1, beta)`` exactly and assembles
        ``Omega12 = Omega11 beta``, ``Omega22 = Omega22.1 + beta' Omega11 beta``.

    Step (a) is a Markov kernel, not an independent draw, so the call is a
    valid Gibbs move (it leaves the restricted distribution invariant) but
    successive calls are correlated in ``Omega11``. With ``n_free == p`` it
    is exactly :func:`inverse_wishart` (same random stream); with
    ``n_free == 0`` only step (a) happens.
    """
    p = scale.shape[0]
    if not df > 0.0:
        raise ValueError("degrees of freedom must be positive")
    n_blocks = block_ptr.shape[0] - 1
    if n_blocks < 0 or block_ptr[0] != n_free or block_ptr[n_blocks] != p:
        raise ValueError("block_ptr must start at n_free and end at p")
    for b in range(n_blocks):
        if block_ptr[b + 1] <= block_ptr[b]:
            raise ValueError("block_ptr must be strictly increasing")
    if n_blocks == 0:
        _inverse_wishart_into(rng, df, scale, out, work)
        return 0
    p1 = p - n_free
    # latent block of the current state with its diagonal blocks set to C_k
    # (slots 0-11 are left to _complete_from_latent_block)
    block_id = _block_ids(block_ptr, n_free)
    omega11, at = _take(work, 12, p1, p1)
    for i in range(p1):
        for j in range(p1):
            if block_id[i] != block_id[j]:
                omega11[i, j] = 0.5 * (
                    current[n_free + i, n_free + j] + current[n_free + j, n_free + i]
                )
            elif i == j:
                omega11[i, j] = 1.0
            else:
                omega11[i, j] = 0.5
    chol11, at = _take(work, at, p1, p1)
    if not cholesky_lower(omega11, chol11):
        for i in range(p1):
            for j in range(p1):
                if block_id[i] != block_id[j]:
                    omega11[i, j] = 0.0
    accepted = 0
    if n_blocks > 1:
        c1, at = _take(work, at, p1, p1)
        psi11, at = _take(work, at, p1, p1)
        for i in range(p1):
            for j in range(p1):
                psi11[i, j] = latent_scale[n_free + i, n_free + j]
        if not cholesky_lower(psi11, c1):
            raise ValueError("inverse-Wishart scale is not positive definite")
        # marginal of Omega11 is IW_p1(nu - p2, Psi11): exponent of |Omega11|
        # is (nu - p2) + p1 + 1
        if not latent_df > 0.0:
            raise ValueError("degrees of freedom must be positive")
        exponent = latent_df - n_free + p1 + 1.0
        accepted = _metropolis_latent_block(
            rng, omega11, c1, exponent, block_id, mh_scale / math.sqrt(latent_df), n_sweeps
        )
    if n_free == 0:
        for i in range(p1):
            for j in range(p1):
                out[i, j] = omega11[i, j]
        return accepted
    _check_df(df, n_free)
    _complete_from_latent_block(rng, df, scale, n_free, omega11, out, work)
    return accepted


@kernel(inline=True)
def _block_ids(block_ptr, n_free):
    """Latent block of each latent column (columns counted from ``n_free``)."""
    n_blocks = block_ptr.shape[0] - 1
    block_id = np.empty(block_ptr[n_blocks] - n_free, dtype=np.int64)
    for b in range(n_blocks):
        for i in range(block_ptr[b] - n_free, block_ptr[b + 1] - n_free):
            block_id[i] = b
    return block_id


# ---------------------------------------------------------------------------
# densities


@kernel
def log_multigamma(p, x):
    """Log of the multivariate gamma function ``Gamma_p(x)``.

    ``log Gamma_p(x) = p(p-1)/4 log(pi) + sum_{j=1..p} log Gamma(x + (1-j)/2)``,
    defined for ``x > (p - 1) / 2``.
    """
    total = 0.25 * p * (p - 1) * _LOG_PI
    for j in range(p):
        total += math.lgamma(x - 0.5 * j)
    return total


@kernel
def iw_logpdf(w, df, scale):
    """Log density of ``IW(df, scale)`` at ``w`` (-inf if ``w`` is not PD).

    ``df/2 log|Psi| - df p/2 log 2 - log Gamma_p(df/2)
    - (df+p+1)/2 log|W| - tr(Psi W^{-1})/2``, as ``scipy.stats.invwishart``.
    """
    p = w.shape[0]
    cs = np.empty((p, p))
    if not cholesky_lower(scale, cs):
        raise ValueError("inverse-Wishart scale is not positive definite")
    log_det_scale = 0.0
    for i in range(p):
        log_det_scale += math.log(cs[i, i])
    log_det_scale *= 2.0
    kernel = _iw_log_kernel(w, cs, df + p + 1.0, np.empty((p, p)), np.empty((p, p)))
    if kernel == -np.inf:
        return -np.inf
    return 0.5 * df * log_det_scale - 0.5 * df * p * _LOG_2 - log_multigamma(p, 0.5 * df) + kernel
