"""Missing cells given the observed ones (doc/sampler.rst, "Missing values").

Rows are grouped once by (covariance group, missingness pattern); the
conditional factors are computed once per group and iteration, then every
row of the group is drawn. With precision ``Q`` and missing set ``M`` the
conditional is ``N(mu_M - Q_MM^{-1} Q_MO (y_O - mu_O), Q_MM^{-1})``, so only
the ``|M| x |M|`` block is factored. Missing latents of categorical cells are
drawn without truncation; their category follows by the argmax rule.
"""

import numpy as np

from ._jit import kernel
from ._linalg import cholesky_lower, solve_lower, solve_lower_transpose


@kernel(inline=True)
def _draw_one_missing(rng, values, means, precision, rows, start, stop, col, obs):
    """Rows whose only missing cell is ``col`` (scalar form of the draw)."""
    q = precision[col, col]
    sd = 1.0 / np.sqrt(q)
    for r in range(start, stop):
        row = rows[r]
        acc = 0.0
        for o in obs:
            acc += precision[col, o] * (values[row, o] - means[row, o])
        values[row, col] = means[row, col] - acc / q + sd * rng.standard_normal()


@kernel
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
    p = values.shape[1]
    # work space allocated once; square blocks are contiguous views of it
    mis = np.empty(p, np.int64)
    obs = np.empty(p, np.int64)
    block_space = np.empty(p * p)
    chol_space = np.empty(p * p)
    shift_space = np.empty(p)
    noise_space = np.empty(p)
    for k in range(group_cov.shape[0]):
        precision = precisions[group_cov[k]]
        n_mis = 0
        n_obs = 0
        for t in range(p):
            if group_missing[k, t]:
                mis[n_mis] = t
                n_mis += 1
            else:
                obs[n_obs] = t
                n_obs += 1
        observed = obs[:n_obs]
        if n_mis == 1:
            # a single missing cell: N(mu - Q_mo (y_o - mu_o) / q, 1 / q)
            _draw_one_missing(
                rng,
                values,
                means,
                precision,
                group_rows,
                group_ptr[k],
                group_ptr[k + 1],
                mis[0],
                observed,
            )
            continue
        block = block_space[: n_mis * n_mis].reshape((n_mis, n_mis))
        chol = chol_space[: n_mis * n_mis].reshape((n_mis, n_mis))
        shift = shift_space[:n_mis]
        noise = noise_space[:n_mis]
        for a in range(n_mis):
            for b in range(n_mis):
                block[a, b] = precision[mis[a], mis[b]]
        cholesky_lower(block, chol)
        for r in range(group_ptr[k], group_ptr[k + 1]):
            row = group_rows[r]
            for a in range(n_mis):
                s = 0.0
                for o in observed:
                    s += precision[mis[a], o] * (values[row, o] - means[row, o])
                shift[a] = s
                noise[a] = rng.standard_normal()
            # shift <- Q_MM^{-1} Q_MO (y_O - mu_O); noise <- L^{-T} z ~ N(0, Q_MM^{-1})
            solve_lower(chol, shift)
            solve_lower_transpose(chol, shift)
            solve_lower_transpose(chol, noise)
            for a in range(n_mis):
                values[row, mis[a]] = means[row, mis[a]] - shift[a] + noise[a]


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
