"""Small dense linear algebra for the Gibbs steps (numba).

The matrices met inside the sampler are tiny (a few rows), so plain loops
beat LAPACK calls, whose overhead dominates at that size. Every function
works in place on preallocated arrays.
"""

import numpy as np

from ._jit import kernel


@kernel
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


@kernel
def solve_lower(chol, b):
    """Solve ``chol @ x = b`` in place (``b`` a vector), ``chol`` lower."""
    n = chol.shape[0]
    for i in range(n):
        s = b[i]
        for k in range(i):
            s -= chol[i, k] * b[k]
        b[i] = s / chol[i, i]


@kernel
def solve_lower_transpose(chol, b):
    """Solve ``chol.T @ x = b`` in place (``b`` a vector), ``chol`` lower."""
    n = chol.shape[0]
    for i in range(n - 1, -1, -1):
        s = b[i]
        for k in range(i + 1, n):
            s -= chol[k, i] * b[k]
        b[i] = s / chol[i, i]


@kernel
def gaussian_from_precision(precision, chol, inv_diag, rhs, noise):
    """Overwrite ``rhs`` with a draw of ``N(P^{-1} rhs, P^{-1})``.

    ``precision`` is ``P`` (only its lower triangle is read) and ``noise``
    standard normals. With ``P = L L'`` the mean ``L^{-T} L^{-1} rhs`` plus
    the noise ``L^{-T} noise`` is ``L^{-T} (L^{-1} rhs + noise)``: one
    factorisation, one forward and one back substitution. ``L`` goes to the
    lower triangle of ``chol`` (the upper one is not written) and the
    reciprocals of its diagonal to ``inv_diag``, so that the substitutions
    multiply instead of divide. Returns ``False`` when ``P`` is not
    numerically positive definite (``rhs`` then holds no draw).
    """
    n = precision.shape[0]
    for j in range(n):
        s = precision[j, j]
        for k in range(j):
            s -= chol[j, k] * chol[j, k]
        if not s > 0.0:
            return False
        d = np.sqrt(s)
        chol[j, j] = d
        r = 1.0 / d
        inv_diag[j] = r
        for i in range(j + 1, n):
            s = precision[i, j]
            for k in range(j):
                s -= chol[i, k] * chol[j, k]
            chol[i, j] = s * r
    for i in range(n):
        s = rhs[i]
        for k in range(i):
            s -= chol[i, k] * rhs[k]
        rhs[i] = s * inv_diag[i]
    for i in range(n):
        rhs[i] += noise[i]
    for i in range(n - 1, -1, -1):
        s = rhs[i]
        for k in range(i + 1, n):
            s -= chol[k, i] * rhs[k]
        rhs[i] = s * inv_diag[i]
    return True


@kernel
def inverse_from_cholesky(chol, out):
    """``out = (chol @ chol.T)^{-1}`` for a lower Cholesky factor.

    ``out`` first receives ``M = chol^{-1}`` in its lower triangle; then
    ``(chol chol')^{-1} = M' M``, whose entry ``(i, j)``, ``i <= j``, is
    ``sum_{k >= j} M[k, i] M[k, j]``: the off-diagonal entries go to the
    (unused) upper triangle, the diagonal entry ``(i, i)`` reads ``M[i, i]``
    before overwriting it, and the lower triangle is filled by symmetry.
    No work array; ``out`` must not alias ``chol``.
    """
    lower_inverse(chol, out)
    n = chol.shape[0]
    for i in range(n):
        for j in range(i + 1, n):
            s = 0.0
            for k in range(j, n):
                s += out[k, i] * out[k, j]
            out[i, j] = s
    for i in range(n):
        s = 0.0
        for k in range(i, n):
            s += out[k, i] * out[k, i]
        out[i, i] = s
    for i in range(n):
        for j in range(i):
            out[i, j] = out[j, i]


@kernel
def spd_inverse(a):
    """Inverse of a small symmetric positive definite matrix, through its
    Cholesky factor (``ValueError`` if it is not positive definite)."""
    chol = np.empty(a.shape)
    if not cholesky_lower(a, chol):
        raise ValueError("matrix is not positive definite")
    out = np.empty(a.shape)
    inverse_from_cholesky(chol, out)
    return out


@kernel
def log_det_from_cholesky(chol):
    """``log |chol @ chol.T|``."""
    total = 0.0
    for i in range(chol.shape[0]):
        total += np.log(chol[i, i])
    return 2.0 * total


@kernel
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


@kernel
def lower_times_lower(a, b, out):
    """``out = a @ b`` for lower-triangular ``a`` and ``b``."""
    n = a.shape[0]
    for i in range(n):
        for j in range(n):
            s = 0.0
            for k in range(j, i + 1):
                s += a[i, k] * b[k, j]
            out[i, j] = s


@kernel(inline=True)
def lower_transpose_times(lower, b, out):
    """``out = lower' @ b`` for a lower triangular ``lower`` (``out[i, j] =
    sum_{k >= i} lower[k, i] b[k, j]``); ``out`` must not alias ``b``."""
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            s = 0.0
            for k in range(i, lower.shape[0]):
                s += lower[k, i] * b[k, j]
            out[i, j] = s


@kernel
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


@kernel
def log_normal_precision(chol, center, x):
    """``log N(x; center, (L L')^{-1})`` up to a constant, ``chol`` the lower
    Cholesky factor ``L`` of the precision."""
    k = x.shape[0]
    quad = 0.0
    logdet = 0.0
    for j in range(k):
        s = 0.0
        for i in range(j, k):
            s += chol[i, j] * (x[i] - center[i])
        quad += s * s
        logdet += np.log(chol[j, j])
    return logdet - 0.5 * quad


@kernel(inline=True)
def draw_normal_precision(rng, chol, center, out):
    """Fill ``out`` with a draw of ``N(center, (chol chol')^{-1})``:
    ``center + chol'^{-1} z`` with ``z`` standard normal (the Newton proposals
    of the Metropolis-Hastings steps)."""
    k = chol.shape[0]
    for a in range(k):
        out[a] = rng.standard_normal()
    solve_lower_transpose(chol, out)
    for a in range(k):
        out[a] += center[a]
