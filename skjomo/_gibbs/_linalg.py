"""Small dense linear algebra for the Gibbs steps (numba).

The matrices met inside the sampler are tiny (a few rows), so plain loops
beat LAPACK calls, whose overhead dominates at that size. Every function
works in place on preallocated arrays.
"""

import numba as nb
import numpy as np


@nb.njit(cache=True)
def cholesky_lower(a, out):
    """Lower Cholesky factor of the SPD matrix ``a`` into ``out``.

    Returns ``False`` (leaving ``out`` partly written) when ``a`` is not
    numerically positive definite.
    """
    n = a.shape[0]
    for j in range(n):
        s = a[j, j]
        for k in range(j):
            s -= out[j, k] * out[j, k]
        if not s > 0.0:
            return False
        d = np.sqrt(s)
        out[j, j] = d
        for i in range(j + 1, n):
            s = a[i, j]
            for k in range(j):
                s -= out[i, k] * out[j, k]
            out[i, j] = s / d
        for i in range(j):
            out[i, j] = 0.0
    return True


@nb.njit(cache=True)
def solve_lower(chol, b):
    """Solve ``chol @ x = b`` in place (``b`` a vector), ``chol`` lower."""
    n = chol.shape[0]
    for i in range(n):
        s = b[i]
        for k in range(i):
            s -= chol[i, k] * b[k]
        b[i] = s / chol[i, i]


@nb.njit(cache=True)
def solve_lower_transpose(chol, b):
    """Solve ``chol.T @ x = b`` in place (``b`` a vector), ``chol`` lower."""
    n = chol.shape[0]
    for i in range(n - 1, -1, -1):
        s = b[i]
        for k in range(i + 1, n):
            s -= chol[k, i] * b[k]
        b[i] = s / chol[i, i]


@nb.njit(cache=True)
def inverse_from_cholesky(chol, out):
    """``out = (chol @ chol.T)^{-1}`` for a lower Cholesky factor."""
    n = chol.shape[0]
    column = np.empty(n)
    for j in range(n):
        column[:] = 0.0
        column[j] = 1.0
        solve_lower(chol, column)
        solve_lower_transpose(chol, column)
        for i in range(n):
            out[i, j] = column[i]
    for i in range(n):
        for j in range(i):
            value = 0.5 * (out[i, j] + out[j, i])
            out[i, j] = value
            out[j, i] = value


@nb.njit(cache=True)
def log_det_from_cholesky(chol):
    """``log |chol @ chol.T|``."""
    total = 0.0
    for i in range(chol.shape[0]):
        total += np.log(chol[i, i])
    return 2.0 * total


@nb.njit(cache=True)
def gram_lower(lower, out):
    """``out = lower @ lower.T`` (exactly symmetric) for lower-triangular input."""
    n = lower.shape[0]
    for i in range(n):
        for j in range(i + 1):
            s = 0.0
            for k in range(j + 1):
                s += lower[i, k] * lower[j, k]
            out[i, j] = s
            out[j, i] = s


@nb.njit(cache=True)
def lower_times_lower(a, b, out):
    """``out = a @ b`` for lower-triangular ``a`` and ``b``."""
    n = a.shape[0]
    for i in range(n):
        for j in range(n):
            s = 0.0
            for k in range(j, i + 1):
                s += a[i, k] * b[k, j]
            out[i, j] = s


@nb.njit(cache=True)
def lower_inverse(lower, out):
    """``out = lower^{-1}`` (lower triangular) by forward substitution."""
    n = lower.shape[0]
    for j in range(n):
        for i in range(j):
            out[i, j] = 0.0
        out[j, j] = 1.0 / lower[j, j]
        for i in range(j + 1, n):
            s = 0.0
            for k in range(j, i):
                s -= lower[i, k] * out[k, j]
            out[i, j] = s / lower[i, i]
