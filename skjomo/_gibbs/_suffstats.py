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
from numba import prange

from ._jit import kernel, threaded_pair
from ._threads import CLUSTER_CHUNK, chunks


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
    for i in range(values.shape[0]):
        _add_row(design, values, i, cluster[i], h_out, k_out)


@kernel(inline=True)
def _add_row(design, values, i, j, h_out, k_out):
    """Row ``i``'s terms of ``H_j`` and of the lower triangle of ``K_j``."""
    for a in range(design.shape[1]):
        w = design[i, a]
        if w != 0.0:
            for t in range(values.shape[1]):
                h_out[j, a, t] += w * values[i, t]
    for t in range(values.shape[1]):
        y = values[i, t]
        for u in range(t + 1):
            k_out[j, t, u] += y * values[i, u]


@kernel(inline=True)
def _add_four_rows(design, values, i0, i1, i2, i3, j, h_out, k_out):
    """Rows ``i0``-``i3``'s terms of ``H_j`` and of the lower triangle of
    ``K_j``, summed before they are added: a quarter of the reads and writes
    of ``h_out`` and ``k_out`` of four :func:`_add_row` calls."""
    for a in range(design.shape[1]):
        w0 = design[i0, a]
        w1 = design[i1, a]
        w2 = design[i2, a]
        w3 = design[i3, a]
        if w0 != 0.0 or w1 != 0.0 or w2 != 0.0 or w3 != 0.0:
            for t in range(values.shape[1]):
                h_out[j, a, t] += (
                    w0 * values[i0, t]
                    + w1 * values[i1, t]
                    + w2 * values[i2, t]
                    + w3 * values[i3, t]
                )
    for t in range(values.shape[1]):
        y0 = values[i0, t]
        y1 = values[i1, t]
        y2 = values[i2, t]
        y3 = values[i3, t]
        for u in range(t + 1):
            k_out[j, t, u] += (
                y0 * values[i0, u] + y1 * values[i1, u] + y2 * values[i2, u] + y3 * values[i3, u]
            )


@kernel(inline=True)
def symmetrize(k):
    """Copy the lower triangle of each matrix of a stack to its upper one."""
    for j in range(k.shape[0]):
        for t in range(k.shape[1]):
            for u in range(t):
                k[j, u, t] = k[j, t, u]


def _refresh_statistics(
    static_h, static_k, design, values, cluster_rows, cluster_ptr, h_out, k_out
):
    """``H`` and ``K`` of the current completed data: static part plus the
    dynamic rows given by ``design``, ``values``; the rows of cluster ``j``
    are ``cluster_rows[cluster_ptr[j]:cluster_ptr[j + 1]]``, in data order,
    added four at a time (:func:`_add_four_rows`) and the remainder one by
    one. One task per cluster (see :mod:`._threads`)."""
    r = design.shape[1]
    p = values.shape[1]
    for j in prange(h_out.shape[0]):
        for a in range(r):
            for t in range(p):
                h_out[j, a, t] = static_h[j, a, t]
        for t in range(p):
            for u in range(p):
                k_out[j, t, u] = static_k[j, t, u]
        start, stop = cluster_ptr[j], cluster_ptr[j + 1]
        four = start + (stop - start) // 4 * 4
        for row in range(start, four, 4):
            _add_four_rows(
                design,
                values,
                cluster_rows[row],
                cluster_rows[row + 1],
                cluster_rows[row + 2],
                cluster_rows[row + 3],
                j,
                h_out,
                k_out,
            )
        for row in range(four, stop):
            _add_row(design, values, cluster_rows[row], j, h_out, k_out)
        for t in range(p):
            for u in range(t):
                k_out[j, u, t] = k_out[j, t, u]


refresh_statistics, refresh_statistics_threaded = threaded_pair(_refresh_statistics)


@kernel(inline=True)
def refresh_statistics_with(parallel, model, state):
    """:func:`refresh_statistics` of the chain's ``model`` and ``state``,
    threaded when ``parallel`` is not ``None``."""
    if parallel is None:
        refresh_statistics(
            model.static_h,
            model.static_k,
            model.w,
            state.values,
            model.cluster_rows,
            model.cluster_ptr,
            state.h,
            state.k,
        )
    else:
        refresh_statistics_threaded(
            model.static_h,
            model.static_k,
            model.w,
            state.values,
            model.cluster_rows,
            model.cluster_ptr,
            state.h,
            state.k,
        )


def rows_by_cluster(cluster, n_clusters):
    """``(cluster_rows, cluster_ptr)``: the rows of each cluster in data order,
    ``cluster_rows[cluster_ptr[j]:cluster_ptr[j + 1]]`` for cluster ``j``."""
    cluster = np.asarray(cluster, np.int64)
    rows = np.argsort(cluster, kind="stable").astype(np.int64)
    ptr = np.zeros(n_clusters + 1, np.int64)
    ptr[1:] = np.cumsum(np.bincount(cluster, minlength=n_clusters))
    return rows, ptr


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


def _residual_scatter(gram, h, k, beta, u, cov_group, out):
    """Per covariance group ``sum (y - B'x - U_j'z)(y - B'x - U_j'z)'``.

    For cluster ``j`` with ``C_j = [B; U_j]`` the residual cross-product is
    ``K_j - C_j'H_j - H_j'C_j + C_j'G_j C_j`` (one task per block of
    :data:`._threads.CLUSTER_CHUNK` clusters, see :mod:`._threads`);
    clusters are then summed serially, in cluster order, into their
    covariance group ``cov_group[j]``.
    """
    n_clusters = gram.shape[0]
    p = beta.shape[1]
    per_cluster = np.empty((n_clusters, p, p))
    blocks = chunks(n_clusters, CLUSTER_CHUNK)
    for task in prange(blocks.shape[0] - 1):
        _block_residual_scatter(blocks[task], blocks[task + 1], gram, h, k, beta, u, per_cluster)
    out[:] = 0.0
    for j in range(n_clusters):
        g = cov_group[j]
        for t in range(p):
            for v in range(t + 1):
                out[g, t, v] += per_cluster[j, t, v]
    for g in range(out.shape[0]):
        for t in range(p):
            for v in range(t):
                out[g, v, t] = out[g, t, v]


@kernel(inline=True)
def _block_residual_scatter(start, stop, gram, h, k, beta, u, out):
    """Lower triangles of ``K_j - C_j'H_j - H_j'C_j + C_j'G_j C_j`` of the
    clusters ``start <= j < stop`` into ``out[j]``, the block's clusters the
    innermost loop (see :func:`._regression._draw_block_effects`)."""
    m, p = beta.shape
    q = u.shape[2]
    n = stop - start
    gc = np.empty((m + q, p, n))  # G_j C_j
    for a in range(m + q):
        for t in range(p):
            for i in range(n):
                j = start + i
                s = 0.0
                for b in range(m):
                    s += gram[j, a, b] * beta[b, t]
                for b in range(q):
                    s += gram[j, a, m + b] * u[j, t, b]
                gc[a, t, i] = s
    for t in range(p):
        for v in range(t + 1):
            for i in range(n):
                j = start + i
                s = k[j, t, v]
                for a in range(m):
                    s += beta[a, t] * (gc[a, v, i] - h[j, a, v]) - h[j, a, t] * beta[a, v]
                for a in range(q):
                    s += (
                        u[j, t, a] * (gc[m + a, v, i] - h[j, m + a, v])
                        - h[j, m + a, t] * u[j, v, a]
                    )
                out[j, t, v] = s


residual_scatter, residual_scatter_threaded = threaded_pair(_residual_scatter)


@kernel(inline=True)
def residual_scatter_with(parallel, gram, h, k, beta, u, cov_group, out):
    """:func:`residual_scatter`, threaded when ``parallel`` is not ``None``."""
    if parallel is None:
        residual_scatter(gram, h, k, beta, u, cov_group, out)
    else:
        residual_scatter_threaded(gram, h, k, beta, u, cov_group, out)
