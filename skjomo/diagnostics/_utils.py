"""Small array helpers shared by the diagnostics modules."""

from __future__ import annotations

import numpy as np


def as_float_array(x, name="x"):
    """Return ``x`` as a float64 ndarray (booleans and integers are converted)."""
    arr = np.asarray(x)
    if arr.dtype == object:
        raise TypeError(f"{name} must be a numeric array, got dtype object")
    return np.asarray(arr, dtype=np.float64)


def chains_to_3d(chains, name="chains"):
    """Bring ``(n_chains, n_draws, *param_shape)`` input to ``(n_chains, n_draws, P)``.

    A 1-D input is one chain, a 2-D input is ``(n_chains, n_draws)`` of a
    single scalar parameter.

    Returns
    -------
    arr : ndarray of shape (n_chains, n_draws, P)
    param_shape : tuple
        Shape to give to results (``()`` for a single scalar parameter).
    """
    arr = as_float_array(chains, name)
    if arr.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension (draws)")
    if arr.ndim == 1:
        arr = arr[np.newaxis, :]
    param_shape = arr.shape[2:]
    n_chains, n_draws = arr.shape[:2]
    return arr.reshape(n_chains, n_draws, -1), param_shape


def draws_first(x, axis, name="x"):
    """Move the draw axis of ``x`` to the front and flatten the rest.

    Returns
    -------
    arr : ndarray of shape (n_draws, P)
    rest_shape : tuple
        Shape of the remaining axes, in their original order.
    """
    arr = as_float_array(x, name)
    if arr.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension (draws)")
    arr = np.moveaxis(arr, axis, 0)
    rest_shape = arr.shape[1:]
    return arr.reshape(arr.shape[0], -1), rest_shape


def finish(values, shape):
    """Reshape a flat result to ``shape``; 0-d results become a Python float."""
    values = np.asarray(values, dtype=np.float64).reshape(shape)
    if values.ndim == 0:
        return float(values)
    return values
