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
from ._threads import row_chunks


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
    in cluster order; then each cluster is one task (see :mod:`._threads`).
    """
    n_clusters = gram.shape[0]
    p, q = out.shape[1], out.shape[2]
    d = p * q
    noise = np.zeros((n_clusters, d))
    for j in range(n_clusters):
        if selected[j]:
            for c in range(d):
                noise[j, c] = rng.standard_normal()
    zr = np.empty((n_clusters, q, p))
    prec = np.empty((n_clusters, d, d))
    chol = np.empty((n_clusters, d, d))
    rhs = np.empty((n_clusters, d))
    for j in prange(n_clusters):
        if selected[j]:
            _draw_cluster_effects(
                j,
                gram,
                h,
                beta,
                prior_shift,
                prior_precision,
                precisions[cov_group[j]],
                zr[j],
                prec[j],
                chol[j],
                rhs[j],
                noise[j],
                out,
            )


@kernel(inline=True)
def _draw_cluster_effects(
    j, gram, h, beta, prior_shift, prior_precision, omega_inv, zr, prec, chol, rhs, noise, out
):
    """``u_j ~ N(P_j^{-1} r_j, P_j^{-1})`` from the standard normals ``noise``
    (``zr``, ``prec``, ``chol``, ``rhs``: this cluster's work arrays)."""
    m, p = beta.shape
    q = out.shape[2]
    # Z_j'R_j = H_j[m:] - (Z_j'X_j) B
    for k in range(q):
        for t in range(p):
            s = h[j, m + k, t]
            for a in range(m):
                s -= gram[j, m + k, a] * beta[a, t]
            zr[k, t] = s
    for t in range(p):
        for k in range(q):
            row = t * q + k
            s = prior_shift[j, row]
            for v in range(p):
                s += zr[k, v] * omega_inv[v, t]
            rhs[row] = s
            for v in range(p):
                for kk in range(q):
                    prec[row, v * q + kk] = (
                        prior_precision[row, v * q + kk] + omega_inv[t, v] * gram[j, m + k, m + kk]
                    )
    cholesky_lower(prec, chol)
    gaussian_from_precision(chol, rhs, noise)
    for t in range(p):
        for k in range(q):
            out[j, t, k] = rhs[t * q + k]


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


def _row_means(design, z, cluster, beta, u, out):
    """``out[i] = B'x_i + U_j'z_i`` for the given rows (tasks of
    :data:`._threads.ROW_CHUNK` rows)."""
    chunks = row_chunks(design.shape[0])
    for task in prange(chunks.shape[0] - 1):
        for i in range(chunks[task], chunks[task + 1]):
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
    chol = np.empty((d, d))
    cholesky_lower(lam, chol)
    noise = np.empty(d)
    for c in range(d):
        noise[c] = rng.standard_normal()
    gaussian_from_precision(chol, rhs, noise)
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
    centre = np.zeros(p)
    resid = np.empty(p)
    for j in range(n_clusters):
        mu = mu_all[j]
        # Q_IS (u_S - mu_S)
        for t in range(p):
            s_sum = 0.0
            for v in range(p):
                for k in range(1, q):
                    s_sum += prior_precision[t * q, v * q + k] * (u[j, v, k] - mu[v * q + k])
            resid[t] = s_sum
        solve_lower(chol_ii, resid)
        solve_lower_transpose(chol_ii, resid)
        for t in range(p):
            m_j = mu[t * q] - resid[t]
            centre[t] += (beta[0, t] + u[j, t, 0]) - m_j
    noise = np.empty(p)
    for t in range(p):
        centre[t] /= n_clusters
        noise[t] = rng.standard_normal()
    solve_lower_transpose(chol_ii, noise)
    scale = 1.0 / np.sqrt(n_clusters)
    for t in range(p):
        new = centre[t] + scale * noise[t]
        shift = new - beta[0, t]
        beta[0, t] = new
        for j in range(n_clusters):
            u[j, t, 0] -= shift
