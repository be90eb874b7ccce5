"""Missing cells given the observed ones (doc/sampler.rst, "Missing values").

Rows are grouped once by (covariance group, missingness pattern); the
conditional factors are computed once per group and iteration, then every
row of the group is drawn. With precision ``Q`` and missing set ``M`` the
conditional is ``N(mu_M - Q_MM^{-1} Q_MO (y_O - mu_O), Q_MM^{-1})``, so only
the ``|M| x |M|`` block is factored. Missing latents of categorical cells are
drawn without truncation; their category follows by the argmax rule.

The rows are drawn in tasks of up to :data:`._threads.ROW_CHUNK` rows of one
group, each task with a random stream of its own (:mod:`._streams`), so
that the draws run in parallel on several threads and give the same numbers
on one.
"""

import numpy as np
from numba import prange

from ._jit import kernel, threaded_pair
from ._linalg import cholesky_lower, lower_inverse, lower_transpose_times
from ._streams import step_key, stream_normal, task_stream
from ._threads import row_chunks


@kernel(inline=True)
def _missing_columns(group_missing, k, mis, obs):
    """Missing and observed columns of missingness group ``k`` into ``mis``
    and ``obs``; returns how many are missing."""
    n_mis = 0
    n_obs = 0
    for t in range(group_missing.shape[1]):
        if group_missing[k, t]:
            mis[n_mis] = t
            n_mis += 1
        else:
            obs[n_obs] = t
            n_obs += 1
    return n_mis


@kernel(inline=True)
def draw_missing(rng, values, means, precisions, group_rows, group_ptr, group_cov, group_missing):
    """Draw every missing cell of ``values`` in place.

    Parameters
    ----------
    rng : numpy.random.Generator
    values, means : ndarray (n, p)
    precisions : ndarray (g, p, p)
        Inverse covariance of each covariance group.
    group_rows : ndarray of int64
        Row indices ordered by group.
    group_ptr : ndarray of int64 (n_groups + 1,)
        ``group_rows[group_ptr[k]:group_ptr[k + 1]]`` are the rows of group k.
    group_cov : ndarray of int64 (n_groups,)
        Covariance group of each missingness group.
    group_missing : ndarray of bool (n_groups, p)
        Missing columns of each group.
    """
    draw_missing_from(
        step_key(rng), values, means, precisions, group_rows, group_ptr, group_cov, group_missing
    )


def _draw_missing_from(
    key, values, means, precisions, group_rows, group_ptr, group_cov, group_missing
):
    """:func:`draw_missing` given the key of its tasks' random streams.

    Serially, per group: its columns and, with more than one missing cell,
    the factors of :func:`_group_factors`;
    then the rows are drawn in parallel tasks of :data:`._threads.ROW_CHUNK`
    rows of one group, numbered group after group; task ``c`` draws the
    ``|M|`` standard normals of each of its rows, in order, from stream
    ``task_stream(key, c)`` (see :mod:`._streams`).
    """
    n_groups, p = group_missing.shape
    mis = np.empty((n_groups, p), np.int64)
    obs = np.empty((n_groups, p), np.int64)
    n_mis = np.empty(n_groups, np.int64)
    inverse_space = np.empty((n_groups, p * p))  # L^{-1}, L L' = Q_MM
    coef_space = np.empty((n_groups, p * p))  # Q_MM^{-1} Q_MO
    work = np.empty(3 * p * p)
    for k in range(n_groups):
        n_mis[k] = _missing_columns(group_missing, k, mis[k], obs[k])
        nm = n_mis[k]
        if nm > 1:
            _group_factors(
                precisions[group_cov[k]],
                mis[k, :nm],
                obs[k, : p - nm],
                work,
                inverse_space[k, : nm * nm].reshape((nm, nm)),
                coef_space[k, : nm * (p - nm)].reshape((nm, p - nm)),
            )
    # tasks: chunks of the rows of each group
    n_tasks = 0
    for k in range(n_groups):
        n_tasks += row_chunks(group_ptr[k + 1] - group_ptr[k]).shape[0] - 1
    task_group = np.empty(n_tasks, np.int64)
    task_start = np.empty(n_tasks, np.int64)
    task_stop = np.empty(n_tasks, np.int64)
    c = 0
    for k in range(n_groups):
        chunks = row_chunks(group_ptr[k + 1] - group_ptr[k])
        for i in range(chunks.shape[0] - 1):
            task_group[c] = k
            task_start[c] = group_ptr[k] + chunks[i]
            task_stop[c] = group_ptr[k] + chunks[i + 1]
            c += 1
    for c in prange(n_tasks):
        k = task_group[c]
        nm = n_mis[k]
        _draw_rows(
            values,
            means,
            precisions[group_cov[k]],
            group_rows,
            task_start[c],
            task_stop[c],
            mis[k, :nm],
            obs[k, : p - nm],
            inverse_space[k, : nm * nm].reshape((nm, nm)),
            coef_space[k, : nm * (p - nm)].reshape((nm, p - nm)),
            task_stream(key, c),
        )


@kernel(inline=True)
def _group_factors(precision, mis, obs, work, inverse, coef):
    """Factors of one missingness group with ``|M| > 1``: ``inverse`` gets
    ``L^{-1}`` for ``L L' = Q_MM`` and ``coef`` gets ``Q_MM^{-1} Q_MO``
    (``= L^{-T} L^{-1} Q_MO``), so that each row of the group is drawn with
    products only (:func:`_draw_rows`)."""
    nm = mis.shape[0]
    no = obs.shape[0]
    block = work[: nm * nm].reshape((nm, nm))
    chol = work[nm * nm : 2 * nm * nm].reshape((nm, nm))
    half = work[2 * nm * nm : 2 * nm * nm + nm * no].reshape((nm, no))  # L^{-1} Q_MO
    for a in range(nm):
        for b in range(nm):
            block[a, b] = precision[mis[a], mis[b]]
    cholesky_lower(block, chol)
    lower_inverse(chol, inverse)
    for b in range(nm):
        for o in range(no):
            s = 0.0
            for c in range(b + 1):
                s += inverse[b, c] * precision[mis[c], obs[o]]
            half[b, o] = s
    lower_transpose_times(inverse, half, coef)


@kernel(inline=True)
def _draw_rows(values, means, precision, rows, start, stop, mis, obs, inverse, coef, stream):
    """Rows ``rows[start:stop]`` of one missingness group, with ``len(mis)``
    standard normals ``z`` per row from ``stream``.

    With a single missing cell ``c``: ``N(mu - Q_cO (y_O - mu_O) / q, 1 / q)``;
    otherwise ``mu_M - A (y_O - mu_O) + L^{-T} z`` with ``A = Q_MM^{-1} Q_MO``
    and ``inverse = L^{-1}`` from :func:`_group_factors` (no division per row).
    """
    n_mis = mis.shape[0]
    if n_mis == 1:
        col = mis[0]
        q = precision[col, col]
        sd = 1.0 / np.sqrt(q)
        for r in range(start, stop):
            row = rows[r]
            acc = 0.0
            for o in obs:
                acc += precision[col, o] * (values[row, o] - means[row, o])
            values[row, col] = means[row, col] - acc / q + sd * stream_normal(stream)
        return
    n_obs = obs.shape[0]
    residual = np.empty(n_obs)
    z = np.empty(n_mis)
    for r in range(start, stop):
        row = rows[r]
        for b in range(n_mis):
            z[b] = stream_normal(stream)
        for o in range(n_obs):
            residual[o] = values[row, obs[o]] - means[row, obs[o]]
        for a in range(n_mis):
            shift = 0.0
            for o in range(n_obs):
                shift += coef[a, o] * residual[o]
            spread = 0.0  # (L^{-T} z)_a
            for b in range(a, n_mis):
                spread += inverse[b, a] * z[b]
            values[row, mis[a]] = means[row, mis[a]] - shift + spread


draw_missing_from, draw_missing_from_threaded = threaded_pair(_draw_missing_from)


@kernel(inline=True)
def draw_missing_from_with(
    parallel, key, values, means, precisions, group_rows, group_ptr, group_cov, group_missing
):
    """:func:`draw_missing_from`, threaded when ``parallel`` is not ``None``."""
    if parallel is None:
        draw_missing_from(
            key, values, means, precisions, group_rows, group_ptr, group_cov, group_missing
        )
    else:
        draw_missing_from_threaded(
            key, values, means, precisions, group_rows, group_ptr, group_cov, group_missing
        )


@kernel(inline=True)
def draw_missing_with(
    parallel, rng, values, means, precisions, group_rows, group_ptr, group_cov, group_missing
):
    """:func:`draw_missing`, threaded when ``parallel`` is not ``None``."""
    draw_missing_from_with(
        parallel,
        step_key(rng),
        values,
        means,
        precisions,
        group_rows,
        group_ptr,
        group_cov,
        group_missing,
    )


def missingness_groups(missing, row_group):
    """Group rows with missing cells by (covariance group, pattern).

    Parameters
    ----------
    missing : ndarray of bool (n, p)
    row_group : ndarray of int64 (n,)

    Returns
    -------
    group_rows, group_ptr, group_cov, group_missing
        The arrays :func:`draw_missing` takes.
    """
    n, p = missing.shape
    incomplete = np.flatnonzero(missing.any(axis=1))
    if incomplete.size == 0:
        return (
            np.zeros(0, np.int64),
            np.zeros(1, np.int64),
            np.zeros(0, np.int64),
            np.zeros((0, p), bool),
        )
    groups, patterns, inverse = _unique_keys(row_group[incomplete], missing[incomplete])
    order = np.argsort(inverse, kind="stable")
    counts = np.bincount(inverse, minlength=groups.size)
    group_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return incomplete[order].astype(np.int64), group_ptr, groups, patterns


def _unique_keys(group, missing):
    """Distinct rows of ``(group, missing)`` in lexicographic order, and the
    index of each row's key.

    The key of a row is packed into one integer, ``group`` followed by the
    bits of its pattern, whose order is the lexicographic order of the rows
    (a 1-d sort, not numpy's slower sort of rows); rows too wide to pack are
    sorted as rows.
    """
    p = missing.shape[1]
    if p <= 48 and int(group.max(initial=0)) < 2 ** (62 - p):
        bits = np.left_shift(np.int64(1), np.arange(p - 1, -1, -1, dtype=np.int64))
        keys = (group.astype(np.int64) << p) | (missing.astype(np.int64) @ bits)
        unique, inverse = np.unique(keys, return_inverse=True)
        patterns = (unique[:, None] & bits) != 0
        return unique >> p, patterns, inverse.ravel()
    keys = np.column_stack([group, missing.astype(np.int64)])
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    return unique[:, 0].astype(np.int64), unique[:, 1:].astype(bool), inverse.ravel()
