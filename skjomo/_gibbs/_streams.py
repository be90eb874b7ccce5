"""Random streams of the tasks of a step (numba): the same numbers whatever
the number of threads.

A step whose loop runs in parallel tasks (chunks of rows, see
:mod:`._threads`) draws ONE key from the chain's generator, serially, then
gives every task a stream of its own that depends only on the key and the
task's index (:func:`task_stream`). Each task draws from its own stream
only, so which thread runs it, and when, changes nothing: one thread and
two threads see the same numbers, and the draws themselves run in parallel.

The generator is SplitMix64 (Steele, Lea and Flood, 2014, "Fast splittable
pseudorandom number generators", OOPSLA; the generator of Java's
``SplittableRandom``), whose output passes the BigCrush battery: a 64-bit
counter advanced by an odd constant, each value scrambled by a fixed
bijective mix. A task's seed is output ``task + 1`` of SplitMix64 started at
the step's key (a "split"), and the task draws from SplitMix64 started at
its seed. A stream is a ``(1,)`` ``uint64`` array holding the counter.

Used by the level-1 missing values (:mod:`._missing`), whose parallel tasks
are chunks of the rows of each missingness group: their normals are drawn
inside the tasks, in parallel, instead of serially before the loop.

Normals are drawn by the ziggurat method of Marsaglia and Tsang (2000, "The
ziggurat method for generating random variables", Journal of Statistical
Software 5(8)), with 256 layers, one 64-bit value per draw in the common
case, the exact tail and wedge tests otherwise (the arrangement numpy's
generator uses); the tables are computed at import by Marsaglia and
Tsang's recursion (:func:`ziggurat_tables`). :func:`stream_normal` is
inlined for its common case (one 64-bit value, a table lookup and a
comparison) and calls :func:`_normal_rest` for the rest.
"""

import math

import numpy as np

from ._jit import kernel

_GAMMA = np.uint64(0x9E3779B97F4A7C15)  # 2^64 / golden ratio, odd
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_KEY_BOUND = np.iinfo(np.int64).max


def ziggurat_tables(r, v, density, inverse, bits):
    """Tables ``(k, w, f)`` of a 256-layer ziggurat (Marsaglia and Tsang, 2000).

    Parameters
    ----------
    r : float
        Right edge of the base layer (where the tail starts).
    v : float
        Area of each layer (the base layer includes the tail).
    density, inverse : callable
        The (unnormalised, decreasing) density on ``x >= 0`` and its inverse.
    bits : int
        Bits of the random integer that sets the position in a layer.

    Returns
    -------
    k : ndarray of int64 (256,)
        Layer ``i`` accepts without a density evaluation when the integer is
        below ``k[i]`` (``x`` inside the part of the layer under the curve).
    w : ndarray (256,)
        ``x`` is the integer times ``w[i]``.
    f : ndarray (256,)
        Density at each layer's right edge.
    """
    scale = float(2**bits)
    k = np.zeros(256, np.int64)
    w = np.empty(256)
    f = np.empty(256)
    q = v / density(r)
    k[0] = np.int64(r / q * scale)
    w[0] = q / scale
    w[255] = r / scale
    f[0] = 1.0
    f[255] = density(r)
    x = r
    for i in range(254, 0, -1):
        inner = inverse(v / x + density(x))
        k[i + 1] = np.int64(inner / x * scale)
        x = inner
        f[i] = density(x)
        w[i] = x / scale
    return k, w, f


_NORMAL_R = 3.6541528853610088
_NORMAL_K, _NORMAL_W, _NORMAL_F = ziggurat_tables(
    _NORMAL_R,
    # r f(r) + the tail's area
    _NORMAL_R * math.exp(-0.5 * _NORMAL_R**2)
    + math.sqrt(0.5 * math.pi) * math.erfc(_NORMAL_R / math.sqrt(2.0)),
    lambda x: math.exp(-0.5 * x * x),
    lambda y: math.sqrt(-2.0 * math.log(y)),
    52,
)


@kernel(inline=True)
def _mix(z):
    """SplitMix64's output function (a bijection of 64-bit integers)."""
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@kernel(inline=True)
def step_key(rng):
    """The key of a step's task streams: one draw from the chain's generator."""
    return rng.integers(0, _KEY_BOUND)


@kernel(inline=True)
def task_stream(key, task):
    """The stream of task ``task`` of a step with key ``key``."""
    stream = np.empty(1, np.uint64)
    stream[0] = _mix(np.uint64(key) + _GAMMA * np.uint64(task + 1))
    return stream


@kernel(inline=True)
def next_uint64(stream):
    """The next 64-bit value of ``stream``."""
    stream[0] += _GAMMA
    return _mix(stream[0])


@kernel
def stream_uniform(stream):
    """Uniform on ``[0, 1)`` with 53 random bits."""
    return np.float64(next_uint64(stream) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@kernel(inline=True)
def _layer_point(bits):
    """A ziggurat draw's layer, sign and 52-bit magnitude from one 64-bit
    value (low 8 bits: layer; next bit: sign; the 52 above: magnitude)."""
    layer = np.intp(bits & np.uint64(0xFF))
    negative = (bits & np.uint64(0x100)) != np.uint64(0)
    magnitude = (bits >> np.uint64(9)) & np.uint64(0x000FFFFFFFFFFFFF)
    # through int64 (the value fits): x86 converts signed integers to floats
    # in one instruction, unsigned ones in several
    return layer, negative, np.int64(magnitude)


@kernel(inline=True)
def stream_normal(stream):
    """Standard normal (ziggurat): the common case inline, the rest in
    :func:`_normal_rest`."""
    layer, negative, magnitude = _layer_point(next_uint64(stream))
    if magnitude < _NORMAL_K[layer]:
        x = np.float64(magnitude) * _NORMAL_W[layer]
        return -x if negative else x
    return _normal_rest(stream, layer, negative, magnitude)


@kernel
def _normal_rest(stream, layer, negative, magnitude):
    """:func:`stream_normal` when its first value falls outside the
    rectangle of its layer: the tail or wedge test, then new values until
    one is accepted."""
    while True:
        x = np.float64(magnitude) * _NORMAL_W[layer]
        if layer == 0:  # the tail beyond r (Marsaglia, 1964)
            while True:
                tail = -math.log1p(-stream_uniform(stream)) / _NORMAL_R
                height = -math.log1p(-stream_uniform(stream))
                if height + height > tail * tail:
                    return -(_NORMAL_R + tail) if negative else _NORMAL_R + tail
        wedge = _NORMAL_F[layer] + (_NORMAL_F[layer - 1] - _NORMAL_F[layer]) * stream_uniform(
            stream
        )
        if wedge < math.exp(-0.5 * x * x):
            return -x if negative else x
        layer, negative, magnitude = _layer_point(next_uint64(stream))
        if magnitude < _NORMAL_K[layer]:
            x = np.float64(magnitude) * _NORMAL_W[layer]
            return -x if negative else x
