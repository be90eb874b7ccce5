"""Exact draws from the truncated normal distribution (numba kernels).

The latent normals of observed categorical values are drawn from univariate
normals truncated to an interval (doc/sampler.rst, "Latents of observed
categories": exact truncated conditionals, no cap on proposals). The interval
can sit far in a tail, so plain rejection from N(0, 1) is not an option.

We use the accept-reject algorithms of Robert (1995), "Simulation of
truncated normal variables", Statistics and Computing 5, 121-125:

* interval containing 0 and long enough: propose from N(0, 1);
* interval containing 0 and short: propose uniformly on the interval;
* interval on one side of 0 (mirrored to the positive side, a >= 0):
  translated exponential proposal with Robert's optimal rate
  ``alpha = (a + sqrt(a^2 + 4)) / 2``, or a uniform proposal when the
  interval is short, with Robert's choice rule between the two.

Every branch is exact and its acceptance probability is bounded away from
zero uniformly in the bounds, so the expected cost is O(1) even for, say,
``lower = 40``.
"""

import math

import numpy as np

from ._jit import kernel

_SQRT_2PI = math.sqrt(2.0 * math.pi)
_SQRT_E = math.sqrt(math.e)
# below this lower bound (and for intervals at least 1 long) rejection from
# the half-normal |Z| is cheaper than the exponential proposal (one normal
# variate per proposal against two exponentials, and no sqrt or exp)
_HALF_NORMAL_BELOW = 0.6


@kernel(internal=True)
def _positive_side(rng, a, b):
    """Draw from N(0, 1) truncated to ``(a, b)`` with ``0 <= a < b <= inf``.

    Robert (1995), section 2: the exponential proposal ``a + E / alpha``
    with ``alpha = (a + sqrt(a^2 + 4)) / 2`` is accepted with probability
    ``exp(-(z - alpha)^2 / 2)``; the uniform proposal on ``(a, b)`` with
    probability ``exp((a^2 - z^2) / 2)``. The uniform proposal is preferred
    when ``b - a <= sqrt(e) / alpha * exp(-a / (2 alpha))``, which is
    Robert's bound ``2 sqrt(e) / (a + sqrt(a^2+4)) exp((a^2 - a sqrt(a^2+4))/4)``
    rewritten without cancellation (``a^2 - a sqrt(a^2+4) = -2 a / alpha``).

    For ``b = inf`` the uniform proposal is never chosen (the test skips
    its exponential). Proposals never fall below ``a``, and a proposal that
    rounds onto ``b``
    is allowed, so the loops terminate even when ``(a, b)`` holds no float
    in its interior (e.g. ``a = 1e10``). Nothing overflows for finite ``a``.
    """
    if a < _HALF_NORMAL_BELOW and b - a >= 1.0:
        # |Z| by rejection: accepted with probability >= 2 (Phi(1.6) - Phi(0.6)) ~ 0.44
        while True:
            z = abs(rng.standard_normal())
            if z >= a and z <= b:
                return z
    if a < 1e100:
        alpha = 0.5 * a + 0.5 * math.sqrt(a * a + 4.0)
    else:  # a * a would overflow
        alpha = 0.5 * a + 0.5 * math.hypot(a, 2.0)
    if b < np.inf and b - a <= _SQRT_E / alpha * math.exp(-0.5 * a / alpha):
        width = b - a
        while True:
            z = a + width * rng.random()
            # accept with probability exp(-(z - a)(z + a) / 2), compared on
            # the log scale as an exponential variate
            d = z - a  # (z - a)(z + a) / 2 = d (a + d / 2), no overflow
            if z <= b and rng.standard_exponential() >= d * (a + 0.5 * d):
                return z
    while True:
        z = a + rng.standard_exponential() / alpha
        if z <= b:
            d = z - alpha
            if rng.standard_exponential() >= 0.5 * d * d:
                return z


@kernel(inline=True)
def truncated_standard_normal(rng, lower, upper):
    """Exact draw from the standard normal truncated to ``(lower, upper)``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    lower, upper : float
        Bounds of the open interval; either may be infinite.

    Returns
    -------
    float
        A draw ``z`` with ``lower <= z <= upper`` (in exact arithmetic
        ``lower < z < upper``; a bound itself is returned only when rounding
        puts the draw there, e.g. for ``lower = 1e10`` where the
        conditional spread is below the float spacing at ``lower``). The
        caller guarantees ``lower < upper``; otherwise (including NaN bounds)
        the result is NaN.

    Notes
    -----
    Robert (1995): normal rejection when the interval contains 0 and is
    longer than ``sqrt(2 pi)``, uniform rejection when it contains 0 and is
    shorter, and the exponential/uniform pair of :func:`_positive_side`
    otherwise (intervals below 0 are mirrored). Expected cost is O(1) for
    any bounds.
    """
    if not lower < upper:
        return np.nan
    if lower >= 0.0:
        return _positive_side(rng, lower, upper)
    if upper <= 0.0:
        return -_positive_side(rng, -upper, -lower)
    # lower < 0 < upper: the interval contains the mode
    if upper - lower >= _SQRT_2PI:
        # acceptance probability >= P(0 < Z < sqrt(2 pi)) ~ 0.49
        while True:
            z = rng.standard_normal()
            if z > lower and z < upper:
                return z
    width = upper - lower
    while True:
        z = lower + width * rng.random()
        # accept with probability exp(-z^2 / 2)
        if z <= upper and rng.standard_exponential() >= 0.5 * z * z:
            return z


@kernel(inline=True)
def standard_normal_above(rng, a):
    """Exact draw from N(0, 1) truncated to ``(a, inf)``, ``a`` finite.

    The one-sided case of :func:`truncated_standard_normal`, draw for draw:
    normal rejection when ``a < 0`` (acceptance ``1 - Phi(a) > 1/2``), else
    :func:`_positive_side` with ``b = inf``. The latents of observed
    categories have only one-sided intervals when jomo's box is off (the
    default), and skipping the two-sided tests saves about a tenth of the
    latent step.
    """
    if a < 0.0:
        while True:
            z = rng.standard_normal()
            if z > a:
                return z
    return _positive_side(rng, a, np.inf)


@kernel(inline=True)
def standard_normal_below(rng, b):
    """Exact draw from N(0, 1) truncated to ``(-inf, b)``, ``b`` finite; the
    same draws as :func:`truncated_standard_normal` (normal rejection when
    ``b > 0``, else the mirror of :func:`standard_normal_above`)."""
    if b > 0.0:
        while True:
            z = rng.standard_normal()
            if z < b:
                return z
    return -_positive_side(rng, -b, np.inf)


@kernel(inline=True)
def truncated_normal_above(rng, mean, sd, inv_sd, lower):
    """Exact draw from N(mean, sd^2) truncated to ``(lower, inf)``:
    :func:`truncated_normal_with_inverse_sd` with ``upper = inf``, draw for
    draw, without its two-sided tests."""
    a = (lower - mean) * inv_sd
    if not (a < np.inf and a > -np.inf):  # NaN or infinite bound
        return truncated_normal_with_inverse_sd(rng, mean, sd, inv_sd, lower, np.inf)
    x = mean + sd * standard_normal_above(rng, a)
    return lower if x < lower else x


@kernel(inline=True)
def truncated_normal_below(rng, mean, sd, inv_sd, upper):
    """Exact draw from N(mean, sd^2) truncated to ``(-inf, upper)``:
    :func:`truncated_normal_with_inverse_sd` with ``lower = -inf``, draw
    for draw."""
    b = (upper - mean) * inv_sd
    if not (b < np.inf and b > -np.inf):
        return truncated_normal_with_inverse_sd(rng, mean, sd, inv_sd, -np.inf, upper)
    x = mean + sd * standard_normal_below(rng, b)
    return upper if x > upper else x


@kernel
def truncated_normal(rng, mean, sd, lower, upper):
    """Exact draw from N(mean, sd^2) truncated to ``(lower, upper)``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    mean : float
        Mean of the untruncated normal.
    sd : float
        Standard deviation, ``sd > 0``.
    lower, upper : float
        Bounds on the original scale; either may be infinite.

    Returns
    -------
    float
        ``mean + sd * z`` with ``z`` from :func:`truncated_standard_normal`
        on the standardised bounds, clipped to ``[lower, upper]`` to remove
        rounding of the affine map (an ulp-level correction only). NaN when
        ``lower >= upper``; the midpoint when the interval is so narrow that
        the standardised bounds round to the same number.
    """
    return truncated_normal_with_inverse_sd(rng, mean, sd, 1.0 / sd, lower, upper)


@kernel
def truncated_normal_with_inverse_sd(rng, mean, sd, inv_sd, lower, upper):
    """:func:`truncated_normal` with ``inv_sd = 1 / sd`` supplied by the
    caller (the latent step reuses it for every row of a covariance group)."""
    if not lower < upper:
        return np.nan
    a = (lower - mean) * inv_sd
    b = (upper - mean) * inv_sd
    if not a < b:
        # the interval is below the resolution of the standardised scale
        return 0.5 * (lower + upper)
    x = mean + sd * truncated_standard_normal(rng, a, b)
    if x < lower:
        x = lower
    elif x > upper:
        x = upper
    return x
