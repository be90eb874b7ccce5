"""Exponentials of a whole array in loops the compiler vectorises (numba).

``np.exp`` in a numba loop calls the C library's ``exp`` once per element
(about 4.2 ns each here; numba vectorises it only with Intel's SVML, which is
not a dependency). :func:`exp_into` computes ``exp(x)`` from arithmetic
alone, so LLVM vectorises its loops (about 1 ns per element on the
benchmark machine):

``exp(x) = 2^k exp(r)``, ``k = round(x / log 2)``, ``r = x - k log 2``
(``|r| <= log(2) / 2``, with ``log 2`` split into a high part exact in
``k log 2`` and a low part, as in fdlibm), ``exp(r)`` by its Taylor
polynomial of degree 14 (Horner; truncation error below ``2e-17``
relative), and ``2^k`` assembled from its exponent bits. The result is
within 1.2 units in the last place of the exact exponential (measured
against ``exp`` in long double: at most 1.11; ``tests/test_vexp.py``).
Arguments outside ``[EXP_LOW, EXP_HIGH]`` (where ``2^k`` leaves the
normal numbers) and NaN take ``np.exp`` in a last loop that rarely does
anything.
"""

import numpy as np

from ._jit import kernel

EXP_LOW = -708.0
EXP_HIGH = 709.0
_LN2_HI = 6.93147180369123816490e-01  # exact times any k of the range
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00


@kernel(inline=True)
def _exp_reduced(r):
    """``exp(r)`` for ``|r| <= log(2) / 2`` (Taylor polynomial, degree 14)."""
    p = 1.0 / 87178291200.0
    p = p * r + 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    return p * r + 1.0


@kernel
def exp_into(x, out):
    """``out[i] = exp(x[i])`` for every ``i`` (module docstring)."""
    n = x.shape[0]
    bits = np.empty(n, np.int64)
    for i in range(n):
        v = min(max(x[i], EXP_LOW), EXP_HIGH)
        k = np.floor(v * _INV_LN2 + 0.5)
        out[i] = _exp_reduced((v - k * _LN2_HI) - k * _LN2_LO)
        bits[i] = (np.int64(k) + 1023) << 52  # 2^k
    scale = bits.view(np.float64)
    for i in range(n):
        out[i] *= scale[i]
    for i in range(n):
        if not EXP_LOW <= x[i] <= EXP_HIGH:  # out of range, or NaN
            out[i] = np.exp(x[i])
