"""Per-cluster sufficient statistics of the level-1 data (numba).

With ``W = [X Z]`` (fixed and random-effect designs) every parameter update
needs only, per cluster ``j``, ``G_j = W_j'W_j``, ``H_j = W_j'Y_j`` and
``K_j = Y_j'Y_j``, where ``Y`` is the completed data. Rows without missing
cells and without categorical latents never change, so their contribution
is computed once; each iteration adds the contribution of the other
("dynamic") rows only. Single-level data is the case of one cluster with no
random effects. Nothing of size N x N is formed, and the cost per iteration
is linear in the number of dynamic rows.
"""

import numpy as np

from ._jit import kernel


@kernel
def add_rows(design, values, cluster, h_out, k_out):
    """Add ``W_i y_i'`` and ``y_i y_i'`` of the given rows to ``h_out``, ``k_out``.

    Parameters
    ----------
    design : ndarray (n, r)
        Rows of ``W = [X Z]``.
    values : ndarray (n, p)
        Completed outcome rows.
    cluster : ndarray of int64 (n,)
    h_out : ndarray (J, r, p)
    k_out : ndarray (J, p, p)
        Lower triangles are accumulated, then mirrored by :func:`symmetrize`.
    """
    r = design.shape[1]
    p = values.shape[1]
    for i in range(values.shape[0]):
        j = cluster[i]
        for a in range(r):
            w = design[i, a]
            if w != 0.0:
                for t in range(p):
                    h_out[j, a, t] += w * values[i, t]
        for t in range(p):
            y = values[i, t]
            for u in range(t + 1):
                k_out[j, t, u] += y * values[i, u]


@kernel(inline=True)
def symmetrize(k):
    """Copy the lower triangle of each matrix of a stack to its upper one."""
    for j in range(k.shape[0]):
        for t in range(k.shape[1]):
            for u in range(t):
                k[j, u, t] = k[j, t, u]


@kernel(inline=True)
def _copy3(source, out):
    """``out[:] = source`` for 3-d arrays of one shape, element by element
    (numba's slice assignment links a string-formatting error into the
    caller)."""
    for j in range(out.shape[0]):
        for a in range(out.shape[1]):
            for b in range(out.shape[2]):
                out[j, a, b] = source[j, a, b]


@kernel(inline=True)
def refresh_statistics(static_h, static_k, design, values, cluster, h_out, k_out):
    """``H`` and ``K`` of the current completed data: static part plus the
    dynamic rows given by ``design``, ``values``, ``cluster``."""
    _copy3(static_h, h_out)
    _copy3(static_k, k_out)
    add_rows(design, values, cluster, h_out, k_out)
    symmetrize(k_out)


def static_statistics(design, values, cluster, n_clusters):
    """``G``, and the ``H``, ``K`` of rows that never change.

    Parameters
    ----------
    design : ndarray (n, r)
        ``W = [X Z]`` of every row.
    values : ndarray (n, p)
        Outcomes of the static rows (other rows are ignored).
    cluster : ndarray of int64 (n,)
    n_clusters : int

    Returns
    -------
    gram : ndarray (J, r, r)
        ``W_j'W_j`` over every row of each cluster.
    h, k : ndarray
        Cross-products of the static rows (rows without NaN in ``values``).
    """
    n, r = design.shape
    p = values.shape[1]
    gram = np.zeros((n_clusters, r, r))
    np.add.at(gram, cluster, design[:, :, None] * design[:, None, :])
    static = ~np.isnan(values).any(axis=1)
    h = np.zeros((n_clusters, r, p))
    k = np.zeros((n_clusters, p, p))
    add_rows(
        np.ascontiguousarray(design[static]),
        np.ascontiguousarray(values[static]),
        cluster[static],
        h,
        k,
    )
    symmetrize(k)
    return gram, h, k


@kernel
def residual_scatter(gram, h, k, beta, u, cov_group, out):
    """Per covariance group ``sum (y - B'x - U_j'z)(y - B'x - U_j'z)'``.

    For cluster ``j`` with ``C_j = [B; U_j]`` the residual cross-product is
    ``K_j - C_j'H_j - H_j'C_j + C_j'G_j C_j``; clusters are summed into
    their covariance group ``cov_group[j]``.
    """
    m, p = beta.shape
    q = u.shape[2]
    r = m + q
    coef = np.empty((r, p))
    gc = np.empty((r, p))
    out[:] = 0.0
    for j in range(gram.shape[0]):
        for a in range(m):
            for t in range(p):
                coef[a, t] = beta[a, t]
        for a in range(q):
            for t in range(p):
                coef[m + a, t] = u[j, t, a]
        for a in range(r):
            for t in range(p):
                s = 0.0
                for b in range(r):
                    s += gram[j, a, b] * coef[b, t]
                gc[a, t] = s
        g = cov_group[j]
        for t in range(p):
            for v in range(t + 1):
                s = k[j, t, v]
                for a in range(r):
                    s += coef[a, t] * (gc[a, v] - h[j, a, v]) - h[j, a, t] * coef[a, v]
                out[g, t, v] += s
    for g in range(out.shape[0]):
        for t in range(p):
            for v in range(t):
                out[g, v, t] = out[g, t, v]
