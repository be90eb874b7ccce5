"""Fixed effects, random effects and row means (numba).

Fixed effects with a flat prior and a common covariance (doc/sampler.rst,
"Fixed effects"): ``vec(B) ~ N(vec(B_hat), Omega kron (X'X)^{-1})`` with
``B_hat = (X'X)^{-1} X'(Y - ZU)``, drawn as ``B_hat + L_X^{-T} E L_Omega^T``
where ``X'X = L_X L_X^T``, ``Omega = L_Omega L_Omega^T`` and ``E`` is standard
normal (the Kronecker shortcut).

Random effects (doc/sampler.rst, "Random effects"): for each cluster, with prior
``u_j ~ N(mean_j, Prec^{-1})``, ``u_j | . ~ N(P_j^{-1} r_j, P_j^{-1})`` where
``P_j = Prec + Omega_j^{-1} kron Z_j'Z_j`` and
``r_j = vec(Z_j'R_j Omega_j^{-1}) + Prec mean_j``, ``R_j = Y_j - X_j B``.
The layout of ``u_j`` is ``U[j].ravel()`` for ``U`` of shape (J, p, q):
outcome ``t``, random-effect column ``k`` at position ``t * q + k`` (the
Z index runs fastest, as in jomo).

All cross-products come from the per-cluster statistics of
:mod:`._suffstats` (``G = W'W``, ``H = W'Y`` with ``W = [X Z]``).
"""

import numpy as np
from numba import prange

from ._jit import kernel, threaded_pair
from ._linalg import cholesky_lower, gaussian_from_precision, solve_lower, solve_lower_transpose
from ._threads import CLUSTER_CHUNK, chunks, row_chunks


@kernel
def fixed_effect_response(gram, h, u, out):
    """``out = X'(Y - ZU) = sum_j H_j[:m] - (X_j'Z_j) U_j``."""
    m, p = out.shape
    q = u.shape[2]
    out[:] = 0.0
    for j in range(gram.shape[0]):
        for a in range(m):
            for t in range(p):
                s = h[j, a, t]
                for k in range(q):
                    s -= gram[j, a, m + k] * u[j, t, k]
                out[a, t] += s


@kernel
def draw_fixed_effects(rng, design_chol, cross, cov_chol, out):
    """Draw ``B`` given ``cross = X'(Y - ZU)`` and a common covariance.

    Parameters
    ----------
    rng : numpy.random.Generator
    design_chol : ndarray (m, m)
        Lower Cholesky factor of ``X'X``.
    cross : ndarray (m, p)
    cov_chol : ndarray (p, p)
        Lower Cholesky factor of the level-1 covariance.
    out : ndarray (m, p)
        Receives the draw (may alias ``cross``).
    """
    m, p = out.shape
    column = np.empty(m)
    noise = np.empty((m, p))
    for t in range(p):
        for a in range(m):
            column[a] = cross[a, t]
        solve_lower(design_chol, column)
        solve_lower_transpose(design_chol, column)
        for a in range(m):
            out[a, t] = column[a]
        for a in range(m):
            column[a] = rng.standard_normal()
        solve_lower_transpose(design_chol, column)
        for a in range(m):
            noise[a, t] = column[a]
    for a in range(m):
        for t in range(p):
            s = 0.0
            for v in range(t + 1):
                s += noise[a, v] * cov_chol[t, v]
            out[a, t] += s


def _draw_random_effects(
    rng, gram, h, beta, prior_shift, prior_precision, precisions, cov_group, selected, out
):
    """Draw every cluster's random effects from their full conditional.

    Parameters
    ----------
    rng : numpy.random.Generator
    gram, h : ndarray
        Per-cluster ``W'W`` (J, r, r) and ``W'Y`` (J, r, p), ``r = m + q``.
    beta : ndarray (m, p)
    prior_shift : ndarray (J, p * q)
        Prior precision times prior mean of each ``u_j`` (zero without
        level-2 outcomes).
    prior_precision : ndarray (p * q, p * q)
        Prior precision of ``u_j``.
    precisions : ndarray (g, p, p)
        Level-1 precision matrices; cluster ``j`` uses ``cov_group[j]``.
    selected : ndarray of bool (J,)
        Clusters to update; the others keep their value.
    out : ndarray (J, p, q)

    Notes
    -----
    The standard normals of the selected clusters are drawn first, serially
    in cluster order; then each block of :data:`._threads.CLUSTER_CHUNK`
    clusters is one task (see :mod:`._threads`).
    """
    n_clusters = gram.shape[0]
    d = out.shape[1] * out.shape[2]
    noise = np.zeros((n_clusters, d))
    for j in range(n_clusters):
        if selected[j]:
            for c in range(d):
                noise[j, c] = rng.standard_normal()
    blocks = chunks(n_clusters, CLUSTER_CHUNK)
    for task in prange(blocks.shape[0] - 1):
        _draw_block_effects(
            blocks[task],
            blocks[task + 1],
            gram,
            h,
            beta,
            prior_shift,
            prior_precision,
            precisions,
            cov_group,
            selected,
            noise,
            out,
        )


@kernel(inline=True)
def _draw_block_effects(
    start,
    stop,
    gram,
    h,
    beta,
    prior_shift,
    prior_precision,
    precisions,
    cov_group,
    selected,
    noise,
    out,
):
    """``u_j ~ N(P_j^{-1} r_j, P_j^{-1})`` for the clusters ``start <= j < stop``
    from their standard normals ``noise[j]``: ``L_j^{-T} (L_j^{-1} r_j +
    noise_j)`` with ``P_j = L_j L_j'`` (as :func:`._linalg.gaussian_from_precision`).

    The block's clusters are the innermost index of every loop, so that the
    small factorisations of many clusters run side by side (vector
    instructions, no wait on each square root) instead of one after another.
    """
    m, p = beta.shape
    q = out.shape[2]
    d = p * q
    n = stop - start
    zr = np.empty((q, p, n))  # Z_j'R_j = H_j[m:] - (Z_j'X_j) B
    for k in range(q):
        for t in range(p):
            for i in range(n):
                j = start + i
                s = h[j, m + k, t]
                for a in range(m):
                    s -= gram[j, m + k, a] * beta[a, t]
                zr[k, t, i] = s
    # r_j and the lower triangle of P_j, which then receives L_j
    rhs = np.empty((d, n))
    factor = np.empty((d, d, n))
    for t in range(p):
        for k in range(q):
            row = t * q + k
            for i in range(n):
                j = start + i
                omega_inv = precisions[cov_group[j]]
                s = prior_shift[j, row]
                for v in range(p):
                    s += zr[k, v, i] * omega_inv[v, t]
                rhs[row, i] = s
            for v in range(t + 1):
                for kk in range(q if v < t else k + 1):
                    col = v * q + kk
                    for i in range(n):
                        j = start + i
                        factor[row, col, i] = (
                            prior_precision[row, col]
                            + precisions[cov_group[j], t, v] * gram[j, m + k, m + kk]
                        )
    inv_diag = np.empty((d, n))
    for c in range(d):
        for i in range(n):
            s = factor[c, c, i]
            for k in range(c):
                s -= factor[c, k, i] * factor[c, k, i]
            inv_diag[c, i] = 1.0 / np.sqrt(s)
        for r in range(c + 1, d):
            for i in range(n):
                s = factor[r, c, i]
                for k in range(c):
                    s -= factor[r, k, i] * factor[c, k, i]
                factor[r, c, i] = s * inv_diag[c, i]
    for r in range(d):
        for i in range(n):
            s = rhs[r, i]
            for k in range(r):
                s -= factor[r, k, i] * rhs[k, i]
            rhs[r, i] = s * inv_diag[r, i]
    for r in range(d):
        for i in range(n):
            rhs[r, i] += noise[start + i, r]
    for r in range(d - 1, -1, -1):
        for i in range(n):
            s = rhs[r, i]
            for k in range(r + 1, d):
                s -= factor[k, r, i] * rhs[k, i]
            rhs[r, i] = s * inv_diag[r, i]
    for i in range(n):
        j = start + i
        if selected[j]:
            for t in range(p):
                for k in range(q):
                    out[j, t, k] = rhs[t * q + k, i]


draw_random_effects, draw_random_effects_threaded = threaded_pair(_draw_random_effects)


@kernel(inline=True)
def draw_random_effects_with(
    parallel, rng, gram, h, beta, prior_shift, prior_precision, precisions, cov_group, selected, out
):
    """:func:`draw_random_effects`, threaded when ``parallel`` is not ``None``."""
    if parallel is None:
        draw_random_effects(
            rng, gram, h, beta, prior_shift, prior_precision, precisions, cov_group, selected, out
        )
    else:
        draw_random_effects_threaded(
            rng, gram, h, beta, prior_shift, prior_precision, precisions, cov_group, selected, out
        )


@kernel(inline=True)
def _row_mean(i, design, z, cluster, beta, u, out):
    """``out[i] = B'x_i + U_j'z_i``."""
    m, p = beta.shape
    q = u.shape[2]
    j = cluster[i]
    for t in range(p):
        s = 0.0
        for a in range(m):
            s += design[i, a] * beta[a, t]
        for k in range(q):
            s += z[i, k] * u[j, t, k]
        out[i, t] = s


@kernel(inline=True)
def _four_row_means(i, design, z, cluster, beta, u, out):
    """:func:`_row_mean` of rows ``i`` to ``i + 3``, side by side (the same
    sums in the same order, a quarter of the loop control)."""
    m, p = beta.shape
    q = u.shape[2]
    j0, j1, j2, j3 = cluster[i], cluster[i + 1], cluster[i + 2], cluster[i + 3]
    for t in range(p):
        s0 = s1 = s2 = s3 = 0.0
        for a in range(m):
            b = beta[a, t]
            s0 += design[i, a] * b
            s1 += design[i + 1, a] * b
            s2 += design[i + 2, a] * b
            s3 += design[i + 3, a] * b
        for k in range(q):
            s0 += z[i, k] * u[j0, t, k]
            s1 += z[i + 1, k] * u[j1, t, k]
            s2 += z[i + 2, k] * u[j2, t, k]
            s3 += z[i + 3, k] * u[j3, t, k]
        out[i, t] = s0
        out[i + 1, t] = s1
        out[i + 2, t] = s2
        out[i + 3, t] = s3


def _row_means(design, z, cluster, beta, u, out):
    """``out[i] = B'x_i + U_j'z_i`` for the given rows (tasks of
    :data:`._threads.ROW_CHUNK` rows, four rows at a time)."""
    chunks = row_chunks(design.shape[0])
    for task in prange(chunks.shape[0] - 1):
        start, stop = chunks[task], chunks[task + 1]
        four = start + (stop - start) // 4 * 4
        for i in range(start, four, 4):
            _four_row_means(i, design, z, cluster, beta, u, out)
        for i in range(four, stop):
            _row_mean(i, design, z, cluster, beta, u, out)


row_means, row_means_threaded = threaded_pair(_row_means)


@kernel(inline=True)
def row_means_with(parallel, design, z, cluster, beta, u, out):
    """:func:`row_means`, threaded when ``parallel`` is not ``None``."""
    if parallel is None:
        row_means(design, z, cluster, beta, u, out)
    else:
        row_means_threaded(design, z, cluster, beta, u, out)


@kernel
def draw_fixed_effects_heteroscedastic(rng, gram, h, u, precisions, cov_group, out):
    """Draw ``B`` when clusters have their own covariance (doc/sampler.rst, "Fixed effects").

    ``vec(B) ~ N(L^{-1} r, L^{-1})`` with
    ``L = sum_j Omega_j^{-1} kron X_j'X_j`` and
    ``r = sum_j vec(X_j'R_j Omega_j^{-1})``, ``R_j = Y_j - Z_j U_j``;
    ``vec`` stacks columns, so element ``(a, t)`` sits at ``a + m t``.
    """
    m, p = out.shape
    q = u.shape[2]
    d = m * p
    lam = np.zeros((d, d))
    rhs = np.zeros(d)
    xr = np.empty((m, p))
    for j in range(gram.shape[0]):
        omega_inv = precisions[cov_group[j]]
        for a in range(m):
            for t in range(p):
                s = h[j, a, t]
                for k in range(q):
                    s -= gram[j, a, m + k] * u[j, t, k]
                xr[a, t] = s
        for t in range(p):
            for a in range(m):
                s = 0.0
                for v in range(p):
                    s += xr[a, v] * omega_inv[v, t]
                rhs[a + m * t] += s
                for v in range(p):
                    w = omega_inv[t, v]
                    for b in range(m):
                        lam[a + m * t, b + m * v] += w * gram[j, a, b]
    noise = np.empty(d)
    for c in range(d):
        noise[c] = rng.standard_normal()
    gaussian_from_precision(lam, np.empty((d, d)), np.empty(d), rhs, noise)
    for t in range(p):
        for a in range(m):
            out[a, t] = rhs[a + m * t]


@kernel(inline=True)
def _prior_means(prior_shift, prior_precision):
    """Prior means ``mu_j = Q^{-1} shift_j`` of the random effects (J, d):
    zero without level-2 outcomes, where every shift is zero (then no
    factorisation is needed)."""
    n_clusters, d = prior_shift.shape
    mu = np.zeros((n_clusters, d))
    shifted = False
    for j in range(n_clusters):
        for c in range(d):
            shifted = shifted or prior_shift[j, c] != 0.0
    if not shifted:
        return mu
    chol_q = np.empty((d, d))
    cholesky_lower(prior_precision, chol_q)
    for j in range(n_clusters):
        for c in range(d):
            mu[j, c] = prior_shift[j, c]
        solve_lower(chol_q, mu[j])
        solve_lower_transpose(chol_q, mu[j])
    return mu


@kernel
def interweave_intercepts(rng, prior_shift, prior_precision, beta, u):
    """Redraw the fixed intercepts in the centred parametrisation (ASIS).

    The likelihood depends on the intercepts ``b0`` (row 0 of ``B``) and the
    random intercepts ``u_{j,I}`` (component 0 of every outcome) only through
    ``alpha_j = b0 + u_{j,I}``. Given ``alpha``, the other random effects
    ``u_{j,S}`` and the prior of ``u_j`` (precision ``Q`` and shift ``Q mu_j``),
    ``alpha_j ~ N(b0 + m_j, P^{-1})`` with ``P = Q_II`` and
    ``m_j = mu_{j,I} - P^{-1} Q_IS (u_{j,S} - mu_{j,S})``, so with a flat
    prior ``b0 | alpha ~ N(mean_j(alpha_j - m_j), P^{-1} / J)``; then
    ``u_{j,I} = alpha_j - b0``. Interleaving this centred draw with the
    non-centred ones (Yu and Meng, 2011) leaves the posterior invariant and
    removes the slow mixing between the intercepts and the random intercepts.
    """
    n_clusters, p, q = u.shape
    mu_all = _prior_means(prior_shift, prior_precision)
    prec_ii = np.empty((p, p))
    for t in range(p):
        for s in range(p):
            prec_ii[t, s] = prior_precision[t * q, s * q]
    chol_ii = np.empty((p, p))
    cholesky_lower(prec_ii, chol_ii)
    # m_j is linear in u_j: sum over the clusters first, then solve once
    offset_sum = np.zeros((p, q))  # sum_j (u_j - mu_j)
    for j in range(n_clusters):
        for t in range(p):
            for k in range(q):
                offset_sum[t, k] += u[j, t, k] - mu_all[j, t * q + k]
    resid = np.empty(p)  # Q_IS sum_j (u_{j,S} - mu_{j,S})
    for t in range(p):
        s_sum = 0.0
        for v in range(p):
            for k in range(1, q):
                s_sum += prior_precision[t * q, v * q + k] * offset_sum[v, k]
        resid[t] = s_sum
    solve_lower(chol_ii, resid)
    solve_lower_transpose(chol_ii, resid)
    centre = np.empty(p)  # mean_j (alpha_j - m_j)
    for t in range(p):
        centre[t] = beta[0, t] + (offset_sum[t, 0] + resid[t]) / n_clusters
    noise = np.empty(p)
    for t in range(p):
        noise[t] = rng.standard_normal()
    solve_lower_transpose(chol_ii, noise)
    scale = 1.0 / np.sqrt(n_clusters)
    for t in range(p):
        new = centre[t] + scale * noise[t]
        shift = new - beta[0, t]
        beta[0, t] = new
        for j in range(n_clusters):
            u[j, t, 0] -= shift
