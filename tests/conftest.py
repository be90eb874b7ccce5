"""Shared pytest configuration.

Tests marked ``rjomo`` rerun R (jomo, mitml, lme4) and compare with skjomo;
they are skipped when ``Rscript`` is not on the PATH, so the default suite
needs no R. Fixtures made by R live in ``tests/fixtures`` next to the R
scripts in ``tests/r`` that made them.

With pytest-xdist (``-n 2``), the controller compiles the sampler's numba
kernels once before the workers start (``python -m skjomo warmup``), so
that the workers load them from numba's cache instead of each compiling
them (``doc/development.rst``).
"""

import os
import shutil
from pathlib import Path

# The suite compiles the sampler at LLVM optimisation level 1 (a third less
# compile time; results are bit-identical since numba does not use fast-math,
# the kernels about 20% slower). Set before numba is imported; NUMBA_OPT set by
# the caller wins. The compiled code lands in numba's cache: before
# benchmarking in a checkout where the suite ran, clear it
# (doc/development.rst).
os.environ.setdefault("NUMBA_OPT", "1")
# Every kind of model but the plain single-level one runs one chain compiled
# with all the steps (skjomo._gibbs._jit.shared_kernels): half the compile
# time of a chain per kind, the same draws; the single-level chain is the one
# `python -m skjomo demo` compiled. benchmarks/seeded_fingerprint.py checks
# that both ways give identical output (tests/test_shared_kernels.py).
os.environ.setdefault("SKJOMO_KERNELS", "shared")

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
R_SCRIPTS = Path(__file__).parent / "r"


def pytest_sessionstart(session):
    config = session.config
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        return  # an xdist worker, or no workers: kernels compile when first used
    import time

    from skjomo._warmup import warmup

    start = time.perf_counter()
    compiled = warmup(
        verbose=False,
        n_jobs=config.option.numprocesses if isinstance(config.option.numprocesses, int) else 2,
    )
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(
            f"skjomo warmup before the workers start: {compiled} numba kernel "
            f"specialisations compiled in {time.perf_counter() - start:.0f} s"
        )


def pytest_collection_modifyitems(config, items):
    if shutil.which("Rscript") is not None:
        return
    skip_r = pytest.mark.skip(reason="Rscript is not installed")
    for item in items:
        if "rjomo" in item.keywords:
            item.add_marker(skip_r)
