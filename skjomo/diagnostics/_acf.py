"""Autocorrelation, mitml's smoothed autocorrelation and moving averages."""

from __future__ import annotations

import numpy as np
from scipy import fft as sp_fft
from scipy.fft import next_fast_len

from ._utils import draws_first, finish

__all__ = ["autocorrelation", "mitml_smoothed_acf", "moving_average"]


def _autocovariance_fft(x, axis):
    """Biased autocovariances (divisor N) at lags 0..N-1 along ``axis`` via FFT."""
    x = np.moveaxis(np.asarray(x, dtype=np.float64), axis, -1)
    n = x.shape[-1]
    m = next_fast_len(2 * n, real=True)
    y = np.ascontiguousarray(x - x.mean(axis=-1, keepdims=True))
    f = sp_fft.rfft(y, n=m, axis=-1)
    f = f.real**2 + f.imag**2
    acov = sp_fft.irfft(f, n=m, axis=-1)[..., :n]
    return np.moveaxis(acov / n, -1, axis)


def autocorrelation(x, max_lag=None, *, axis=0):
    r"""Autocorrelation function of a chain, for every parameter.

    .. math::

        \mathrm{ac}(l) = \frac{\sum_{t=1}^{N-l} y_t y_{t+l}}{\sum_{t=1}^N y_t^2},
        \qquad y_t = x_t - \bar x,

    the usual biased estimator (R's ``acf``, doc/diagnostics.rst),
    computed with the FFT.

    Parameters
    ----------
    x : array_like
        Draws of one chain along ``axis``; other axes index parameters (or
        chains).
    max_lag : int, optional
        Largest lag returned; default ``N - 1``.  Lags beyond ``N - 1`` are
        0 (there are no pairs).
    axis : int, default 0
        Axis of the draws.

    Returns
    -------
    ndarray
        Autocorrelations at lags ``0..max_lag``; the lag axis replaces the
        draw axis (and is moved to the front: shape
        ``(max_lag + 1, *other_axes)``).  A constant trace has
        autocorrelation 1 at lag 0 and 0 elsewhere; a trace containing a
        non-finite value gives NaN.

    Examples
    --------
    >>> ac = autocorrelation(np.sin(0.1 * np.arange(1, 101)) + 0.01 * np.arange(1, 101), 1)
    >>> round(float(ac[1]), 6)
    0.991016
    """
    arr, rest_shape = draws_first(x, axis)
    N = arr.shape[0]
    if max_lag is None:
        max_lag = N - 1
    max_lag = int(max_lag)
    if max_lag < 0:
        raise ValueError("max_lag must be >= 0")
    acov = _autocovariance_fft(arr, axis=0)  # (N, P)
    with np.errstate(all="ignore"):
        ac = acov / acov[0]
    zero_var = acov[0] == 0
    ac[:, zero_var] = 0.0
    ac[0, zero_var] = 1.0
    ac[:, ~np.isfinite(arr).all(axis=0)] = np.nan
    if max_lag >= N:
        ac = np.concatenate([ac, np.zeros((max_lag + 1 - N, ac.shape[1]))], axis=0)
    ac = ac[: max_lag + 1]
    return ac.reshape((max_lag + 1,) + rest_shape)


def mitml_smoothed_acf(x, lag, smooth=2, sd=0.5, *, axis=0):
    r"""Autocorrelation at a lag, smoothed over neighbouring lags as in mitml.

    .. math::

        \widetilde{\mathrm{ac}}(k) = \sum_{o=-s}^{s} w_o\, \mathrm{ac}(k + o),
        \qquad w_o \propto \varphi(o / \mathrm{sd}),\quad \sum_o w_o = 1,

    with ``s = smooth``.  mitml's summary uses ``smooth = 2`` at lags ``k``
    and ``2k`` (``k`` = iterations between imputations) and the plain
    ``ac(1)``; its diagnostic plots report the same smoothed value at lag
    ``ceil(k / thin)`` (doc/diagnostics.rst, "mitml's single-chain statistics").

    Parameters
    ----------
    x : array_like
        Draws of one chain along ``axis``; other axes index parameters.
    lag : int
        Lag ``k >= 0``.
    smooth : int, default 2
        Half-width ``s`` of the window of lags; 0 gives the plain ACF.
    sd : float, default 0.5
        Standard deviation of the Gaussian weights.
    axis : int, default 0
        Axis of the draws.

    Returns
    -------
    float or ndarray
        Smoothed autocorrelation per parameter.

    Notes
    -----
    mitml does not guard ``lag < smooth`` (negative lags: it returns NA or
    a wrong value).  Here the autocorrelation is extended symmetrically,
    ``ac(-l) = ac(l)``; for ``lag >= smooth`` the result equals mitml's.
    Lags beyond ``N - 1`` contribute 0.

    Examples
    --------
    >>> t = np.arange(1, 101)
    >>> round(mitml_smoothed_acf(np.sin(0.1 * t) + 0.01 * t, 10), 6)
    0.584989
    """
    lag = int(lag)
    smooth = int(smooth)
    if lag < 0 or smooth < 0:
        raise ValueError("lag and smooth must be >= 0")
    offsets = np.arange(-smooth, smooth + 1)
    w = np.exp(-0.5 * (offsets / sd) ** 2)
    w = w / w.sum()
    lags = np.abs(lag + offsets)
    ac = autocorrelation(x, int(lags.max()), axis=axis)
    ac = ac.reshape(ac.shape[0], -1)
    out = (w[:, np.newaxis] * ac[lags]).sum(axis=0)
    rest_shape = np.moveaxis(np.asarray(x), axis, 0).shape[1:]
    return finish(out, rest_shape)


def moving_average(x, half_width, *, axis=0):
    """Centred moving average with windows that shrink at both ends.

    Point ``i`` is the mean of ``x[i - z : i + z + 1]`` with
    ``z = min(half_width, i, N - 1 - i)``, as in the smooth line of mitml's
    trace plots, where ``half_width = floor(n_iter / (smooth * thin))``
    (doc/diagnostics.rst, "mitml's single-chain statistics").

    Parameters
    ----------
    x : array_like
        Draws along ``axis``.
    half_width : int
        Half-width ``B >= 0`` of the full window ``2 B + 1``; 0 returns a
        copy of ``x``.
    axis : int, default 0
        Axis of the draws.

    Returns
    -------
    ndarray
        Same shape as ``x``.

    Examples
    --------
    >>> moving_average([1.0, 2.0, 4.0, 8.0, 16.0], 1)
    array([ 1.        ,  2.33333333,  4.66666667,  9.33333333, 16.        ])
    """
    B = int(half_width)
    if B < 0:
        raise ValueError("half_width must be >= 0")
    x = np.asarray(x, dtype=np.float64)
    arr = np.moveaxis(x, axis, 0)
    N = arr.shape[0]
    i = np.arange(N)
    z = np.minimum(np.minimum(i, N - 1 - i), B)
    # direct window sums (exact summation order does not accumulate drift)
    out = np.empty_like(arr)
    for zz in np.unique(z):
        idx = i[z == zz]
        acc = np.zeros((idx.size,) + arr.shape[1:])
        for o in range(-zz, zz + 1):
            acc = acc + arr[idx + o]
        out[idx] = acc / (2 * zz + 1)
    return np.moveaxis(out, 0, axis)
