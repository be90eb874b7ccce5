"""Compile every numba kernel ahead of time: ``python -m skjomo warmup``.

For container images, CI jobs and cluster nodes: one run fills numba's
cache (see :mod:`skjomo._gibbs._jit` for where it is), after which every
process on the machine loads the compiled sampler instead of compiling it.
The test suite runs it once before its parallel workers start
(``tests/conftest.py``).
"""

import time

import numba.core.event as numba_event


class _Counter(numba_event.Listener):
    def __init__(self):
        self.compiled = 0
        self.depth = 0

    def on_start(self, event):
        self.depth += 1

    def on_end(self, event):
        self.depth -= 1
        self.compiled += 1


def _fit_every_kind():
    """Tiny fits that reach every compiled entry point of the sampler: the
    single-level chain and imputation, the multilevel chain (level-2
    outcomes, categorical outcomes, cluster covariances and their
    hyper-parameters), imputation of rows of new clusters, and compatible
    imputation (one analysis family compiles the steps of every family)."""
    from . import (
        HeteroscedasticMultilevelImputer,
        JointModelImputer,
        MultilevelJointImputer,
        SubstantiveModelImputer,
    )
    from .datasets import load_examscores, load_jspmiss

    short = dict(n_burn=2, n_between=1, n_imputations=1, random_state=0)
    jsp = load_jspmiss()
    single = jsp[["english", "ravens", "fluent", "sex"]]
    JointModelImputer(covariate_cols=["sex"], **short).fit(single).transform(single.head(20))
    SubstantiveModelImputer("english ~ ravens * sex", **short).fit(single).transform(
        single.head(20)
    )
    exam = load_examscores()[["school", "normexam", "standlrt", "vrband", "sex", "avslrt", "schav"]]
    known = exam["school"].isin(exam["school"].unique()[:40])
    MultilevelJointImputer(
        cluster_col="school", covariate_cols=["sex"], level2_cols=["avslrt", "schav"], **short
    ).fit(exam[known]).transform(exam[~known].head(50))
    two_level = jsp[["school", "english", "ravens", "fluent", "sex"]]
    known = two_level["school"].isin(two_level["school"].unique()[:40])
    HeteroscedasticMultilevelImputer(
        cluster_col="school", cov_method="random", covariate_cols=["sex"], **short
    ).fit(two_level[known]).transform(two_level[~known].head(50))
    SubstantiveModelImputer("english ~ ravens + sex + (1 | school)", **short).fit(
        two_level[known]
    ).transform(two_level[~known].head(50))


def warmup(verbose=True):
    """Compile (or load from the cache) every kernel of the sampler.

    Parameters
    ----------
    verbose : bool, default=True
        Print what was compiled, how long it took and where the cache is.

    Returns
    -------
    n_compiled : int
        Number of kernel specialisations compiled (0 when the cache was
        already complete).
    """
    import warnings

    from ._gibbs._chain import _run_chain as run_chain
    from ._gibbs._jit import cache_directory, caching_enabled

    counter = _Counter()
    cpu, wall = time.process_time(), time.perf_counter()
    with numba_event.install_listener("numba:compile", counter), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tiny fits warn about convergence
        _fit_every_kind()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if verbose:
        if not caching_enabled():
            where = "nothing was cached: numba found no writable cache directory"
        else:
            where = f"cache: {cache_directory(run_chain)}"
        what = (
            f"compiled {counter.compiled} kernel specialisations"
            if counter.compiled
            else "every kernel was already compiled"
        )
        print(f"skjomo warmup: {what} in {cpu:.1f} s CPU ({wall:.1f} s wall); {where}")
    return counter.compiled
