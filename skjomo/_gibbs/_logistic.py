"""Small numerical pieces of the logistic analysis models (numba).

Shared by the single-level steps (:mod:`._smc`) and the random effects of a
mixed logistic model (:mod:`._smc_mixed`).
"""

import numpy as np

from ._jit import kernel


@kernel
def log1pexp(x):
    """``log(1 + exp(x))`` without overflow."""
    if x > 0.0:
        return x + np.log1p(np.exp(-x))
    return np.log1p(np.exp(x))


@kernel
def log_normal_precision(chol, center, x):
    """``log N(x; center, (L L')^{-1})`` up to a constant (``L = chol``, the
    lower Cholesky factor of the precision)."""
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
