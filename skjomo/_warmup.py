"""Compile every numba kernel ahead of time: ``python -m skjomo warmup``.

For container images, CI jobs and cluster nodes: one run fills numba's
cache (see :mod:`skjomo._gibbs._jit` for where it is), after which every
process on the machine loads the compiled sampler instead of compiling it.
The test suite runs it once before its parallel workers start
(``tests/conftest.py``).
"""

import contextlib
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


_SHORT = dict(n_burn=2, n_between=1, n_imputations=1, random_state=0)


def _single_level():
    """The single-level chain and imputation of new rows."""
    from . import JointModelImputer
    from .datasets import load_jspmiss

    single = load_jspmiss()[["english", "ravens", "fluent", "sex"]]
    JointModelImputer(covariate_cols=["sex"], **_SHORT).fit(single).transform(single.head(20))


def _single_level_compatible():
    """Compatible imputation, single level (one analysis family compiles the
    steps of every family)."""
    from . import SubstantiveModelImputer
    from .datasets import load_jspmiss

    single = load_jspmiss()[["english", "ravens", "fluent", "sex"]]
    SubstantiveModelImputer("english ~ ravens * sex", **_SHORT).fit(single).transform(
        single.head(20)
    )


def _two_level():
    """The multilevel chain (level-2 outcomes, categorical outcomes, cluster
    covariances and their hyper-parameters) and rows of new clusters."""
    from . import HeteroscedasticMultilevelImputer, MultilevelJointImputer
    from .datasets import load_examscores, load_jspmiss

    exam = load_examscores()[["school", "normexam", "standlrt", "vrband", "sex", "avslrt", "schav"]]
    known = exam["school"].isin(exam["school"].unique()[:40])
    MultilevelJointImputer(
        cluster_col="school", covariate_cols=["sex"], level2_cols=["avslrt", "schav"], **_SHORT
    ).fit(exam[known]).transform(exam[~known].head(50))
    two_level = load_jspmiss()[["school", "english", "ravens", "fluent", "sex"]]
    known = two_level["school"].isin(two_level["school"].unique()[:40])
    HeteroscedasticMultilevelImputer(
        cluster_col="school", cov_method="random", covariate_cols=["sex"], **_SHORT
    ).fit(two_level[known]).transform(two_level[~known].head(50))


def _two_level_compatible():
    """Compatible imputation with a two-level analysis model."""
    from . import SubstantiveModelImputer
    from .datasets import load_jspmiss

    two_level = load_jspmiss()[["school", "english", "ravens", "fluent", "sex"]]
    known = two_level["school"].isin(two_level["school"].unique()[:40])
    SubstantiveModelImputer("english ~ ravens + sex + (1 | school)", **_SHORT).fit(
        two_level[known]
    ).transform(two_level[~known].head(50))


# every kind of model, the longest compilations first (for parallel warm-up)
KINDS = (_single_level_compatible, _two_level_compatible, _two_level, _single_level)


def _compile_units():
    """Shares of the warm-up for parallel processes, largest first: lists of
    ``(kind, transform_only)``.

    Each kind compiles its own chain, except with ``SKJOMO_KERNELS=shared``
    (:func:`skjomo._gibbs._jit.shared_kernels`), where every kind but the
    plain single-level one runs the same chain. One process then fits those
    kinds (the chain and the kernels of an iteration) while another only
    imputes new rows for them, with the chain left out of their fits
    (``transform_only``): it compiles the kernels of ``transform`` (the
    latent, missing-value and analysis-model draws of new rows), which the
    first process finds in the cache when its chain reaches them.
    """
    from ._gibbs._jit import shared_kernels

    if not shared_kernels():
        return [[(kind, False)] for kind in KINDS]
    shared = [kind for kind in KINDS if kind is not _single_level]
    return [
        [(kind, False) for kind in shared],
        [(kind, True) for kind in shared] + [(_single_level, False)],
    ]


@contextlib.contextmanager
def _without_chain():
    """Fits inside the block run no Gibbs iteration (nor compile the chain):
    their estimates stay at the starting values, enough for ``transform``."""
    from . import _base
    from ._gibbs import _driver

    saved = _base.prepare_chain, _driver.run_chain
    _base.prepare_chain = lambda *args, **kwargs: None
    _driver.run_chain = lambda *args, **kwargs: None
    try:
        yield
    finally:
        _base.prepare_chain, _driver.run_chain = saved


def _compile_kinds(share):
    """Run the tiny fits of the ``(kind, transform_only)`` pairs of
    ``share``; the number of kernels compiled."""
    import warnings

    counter = _Counter()
    with numba_event.install_listener("numba:compile", counter), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tiny fits warn about convergence
        for kind, transform_only in share:
            with _without_chain() if transform_only else contextlib.nullcontext():
                kind()
    return counter.compiled


def warmup(verbose=True, n_jobs=1):
    """Compile (or load from the cache) every kernel of the sampler.

    Parameters
    ----------
    verbose : bool, default=True
        Print what was compiled, how long it took and where the cache is.
    n_jobs : int, default=1
        Processes compiling at the same time, each a share of the kinds of
        model (numba compiles on one core; the cache is shared on disk). Kinds
        that share a chain (``SKJOMO_KERNELS=shared``) stay in one process.

    Returns
    -------
    n_compiled : int
        Number of kernel specialisations compiled (0 when the cache was
        already complete).
    """
    from joblib import Parallel, delayed

    from ._gibbs._chain import _run_chain as run_chain
    from ._gibbs._jit import cache_directory, caching_enabled

    cpu, wall = time.process_time(), time.perf_counter()
    if n_jobs == 1 or not caching_enabled():
        compiled = _compile_kinds([(kind, False) for kind in KINDS])
    else:  # separate processes: what they compile reaches this one through the cache
        units = _compile_units()
        shares = [sum(units[i::n_jobs], []) for i in range(n_jobs)]
        counts = Parallel(n_jobs=n_jobs, backend="loky")(
            delayed(_compile_kinds)(share) for share in shares if share
        )
        # this process loads everything from the cache
        compiled = sum(counts) + _compile_kinds([(kind, False) for kind in KINDS])
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if verbose:
        if not caching_enabled():
            where = "nothing was cached: numba found no writable cache directory"
        else:
            where = f"cache: {cache_directory(run_chain)}"
        what = (
            f"compiled {compiled} kernel specialisations"
            if compiled
            else "every kernel was already compiled"
        )
        print(f"skjomo warmup: {what} in {wall:.1f} s ({cpu:.1f} s CPU here); {where}")
    return compiled
