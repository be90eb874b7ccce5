"""Shared pytest configuration.

Tests marked ``rjomo`` rerun R (jomo, mitml, lme4) and compare with skjomo;
they are skipped when ``Rscript`` is not on the PATH, so the default suite
needs no R. Fixtures made by R live in ``tests/fixtures`` next to the R
scripts in ``tests/r`` that made them.
"""

import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
R_SCRIPTS = Path(__file__).parent / "r"


def pytest_collection_modifyitems(config, items):
    if shutil.which("Rscript") is not None:
        return
    skip_r = pytest.mark.skip(reason="Rscript is not installed")
    for item in items:
        if "rjomo" in item.keywords:
            item.add_marker(skip_r)
