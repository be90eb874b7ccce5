"""Compiling the chain before it runs (first-call honesty).

On a cold numba cache the first fit of a kind of model spends most of its
time compiling (about half a minute to a minute of CPU on a 2-core machine;
``benchmarks/bench_compile.py``). :func:`prepare_chain` compiles the chain
for the model's array types *before* the chains run, in the calling
process: parallel chains (``n_jobs``) then load the compiled code from the
cache instead of each compiling it, and the user is told once per process,
when numba actually starts compiling (:func:`skjomo._gibbs._jit.compile_notice`). ``python -m skjomo
warmup`` (:func:`skjomo._warmup.warmup`) compiles every kernel ahead of
time, for container images and CI.
"""

import numpy as np

from ._chain import dimensions, empty_trace, new_tally, run_chain
from ._jit import compile_notice


def prepare_chain(model, state, verbose=0, who="skjomo", n_threads=1):
    """Compile (or load from the cache) :func:`run_chain` for ``model``'s types.

    Runs no iteration and changes nothing: ``run_chain`` is called for zero
    iterations with a throw-away generator and tally; with ``n_threads > 1``
    the threaded chain (:mod:`._threads`).
    """
    with compile_notice(verbose, who):
        run_chain(
            np.random.default_rng(0),
            model,
            state,
            new_tally(state),
            0,
            empty_trace(dimensions(model)),
            0,
            n_threads,
        )
