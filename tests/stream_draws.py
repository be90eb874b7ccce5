"""Draws from the task streams of skjomo/_gibbs/_streams.py, for the tests."""

import numpy as np
from numba import njit

from skjomo._gibbs._streams import stream_normal, stream_uniform, task_stream


@njit(cache=True)
def stream_draws(key, task, n, kind=0):
    """The first ``n`` draws of stream ``task_stream(key, task)``: normals
    (``kind`` 0) or uniforms (1)."""
    stream = task_stream(key, task)
    out = np.empty(n)
    for i in range(n):
        if kind == 0:
            out[i] = stream_normal(stream)
        else:
            out[i] = stream_uniform(stream)
    return out
