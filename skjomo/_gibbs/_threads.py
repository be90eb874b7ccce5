"""Threads within one chain (``n_threads``): bit-identical to one thread.

The per-cluster and per-row steps of an iteration (sufficient statistics,
random effects, residual cross-products, row means, missing values) are
loops whose iterations (a cluster, or a chunk of :data:`ROW_CHUNK` rows)
are independent given the step's random numbers. Each
such kernel is written once over ``numba.prange`` and compiled twice
(:func:`._jit.threaded_pair`): serially for the default chain, and with
numba's threads for a chain run with ``n_threads > 1``.

The results do not depend on the number of threads because

* a step with random numbers draws them either serially, before its
  parallel loop, in the order of its clusters (the random effects: a few
  normals per cluster, into a buffer the loop reads its own part of), or,
  with many draws (the missing values: one normal per missing cell), in
  the loop from one random stream per task whose numbers depend on the
  task's index and a key the step draws from the chain's generator only
  (:mod:`._streams`);
* every loop iteration writes only its own cluster's or row's outputs;
  sums across clusters are formed afterwards, serially, in cluster order
  (never a reduction inside a parallel loop), so the floating-point
  operations and their order are the same for any number of threads.

Steps whose number of random draws varies (the rejection samplers of the
latents of categorical variables, the scale moves) and steps on the
parameters (fixed effects, covariances) stay serial.

In the chain, the argument ``parallel`` selects the kernels: ``None`` for
the serial ones (numba prunes the threaded branch before typing it, so it
is never compiled), ``True`` for the threaded ones; :func:`chain_threads`
sets numba's thread count around a call.
"""

import contextlib
import os

import numba
import numpy as np

from ._jit import kernel

# rows per task of the row-level parallel loops (work arrays are allocated
# once per task, not per row)
ROW_CHUNK = 512
# clusters per task of the loops that work on a batch of clusters at once
CLUSTER_CHUNK = 64


@contextlib.contextmanager
def chain_threads(n_threads):
    """``parallel`` argument of the chain kernels for ``n_threads`` threads,
    with numba's thread count set to it inside the block.

    ``None`` (the serial kernels) for one thread; ``True`` otherwise, with at
    most numba's ``NUMBA_NUM_THREADS`` threads (by default the number of
    cores).
    """
    if n_threads is None or n_threads <= 1:
        yield None
        return
    prefer_openmp()
    before = numba.get_num_threads()
    numba.set_num_threads(min(int(n_threads), numba.config.NUMBA_NUM_THREADS))
    try:
        yield True
    finally:
        numba.set_num_threads(before)


def prefer_openmp(environ=os.environ, config=numba.config):
    """Put numba's OpenMP threading layer first, unless the user chose one.

    A chain enters five to seven parallel loops per iteration, each a
    fraction of a millisecond. With numba's TBB layer each loop's start
    costs about what it saves (one chain on 50,000 rows: 0.84 times the
    speed of one thread on 2 cores), while OpenMP's threads wait spinning
    between loops (1.44 times; doc/benchmarks.rst, "Threads within a
    chain"). Numba picks its layer once per process, when it first starts
    its threads, so this only has an effect before then; nothing changes
    when ``NUMBA_THREADING_LAYER`` or ``NUMBA_THREADING_LAYER_PRIORITY`` is
    set, and numba falls back to the next layer where OpenMP is missing.
    Returns whether the priority was changed.
    """
    if "NUMBA_THREADING_LAYER" in environ or "NUMBA_THREADING_LAYER_PRIORITY" in environ:
        return False
    if str(config.THREADING_LAYER).lower() != "default":
        return False
    priority = list(config.THREADING_LAYER_PRIORITY)
    if priority[0] == "omp":
        return False
    config.THREADING_LAYER_PRIORITY = ["omp"] + [layer for layer in priority if layer != "omp"]
    return True


@kernel(inline=True)
def row_chunks(n):
    """Boundaries of the tasks of a row-level loop over ``n`` rows:
    ``ptr[c]:ptr[c + 1]`` for ``c < len(ptr) - 1``."""
    return chunks(n, ROW_CHUNK)


@kernel(inline=True)
def chunks(n, size):
    """Boundaries of ``n`` items cut into tasks of ``size`` (the last one
    shorter): ``ptr[c]:ptr[c + 1]`` for ``c < len(ptr) - 1``."""
    n_chunks = (n + size - 1) // size
    ptr = np.empty(n_chunks + 1, np.int64)
    for c in range(n_chunks):
        ptr[c] = c * size
    ptr[n_chunks] = n
    return ptr
