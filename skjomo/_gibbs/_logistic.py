"""``log(1 + exp(x))`` of the logistic analysis models (numba), shared by the
single-level steps (:mod:`._smc`) and the random effects of a mixed logistic
model (:mod:`._smc_mixed`).
"""

import numpy as np

from ._jit import kernel


@kernel(inline=True)
def log1pexp(x):
    """``log(1 + exp(x))`` without overflow."""
    if x > 0.0:
        return x + np.log1p(np.exp(-x))
    return np.log1p(np.exp(x))
