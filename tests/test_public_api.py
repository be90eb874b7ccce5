"""The public API is exactly what doc/api.rst documents.

Each public package's ``__all__`` equals the names doc/api.rst lists under
its ``currentmodule`` (autosummary entries and ``.. data::``), every listed
name exists, and nothing else public is exported: the other attributes of
the packages are private (``_name``) or subpackages. The package also works
under ``python -OO`` (docstrings stripped).
"""

import importlib
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
API_PAGE = ROOT / "doc" / "api.rst"
PACKAGES = ["skjomo", "skjomo.pooling", "skjomo.diagnostics", "skjomo.datasets"]
SUBPACKAGES = {"datasets", "diagnostics", "pooling"}
# Public names outside __all__ that are known and due to go private; the
# test fails when one is added, and when one of these is gone (then delete
# the entry).
KNOWN_LEFTOVERS = {}


def documented_names():
    """Module -> names listed in doc/api.rst (autosummary entries and data)."""
    names, module, in_autosummary = {}, None, False
    for line in API_PAGE.read_text(encoding="utf-8").splitlines():
        if match := re.match(r"\.\. currentmodule:: (\S+)", line):
            module, in_autosummary = match.group(1), False
        elif line.startswith(".. autosummary::"):
            in_autosummary = True
        elif match := re.match(r"\.\. data:: (\w+)", line):
            names.setdefault(module, set()).add(match.group(1))
        elif in_autosummary and (match := re.fullmatch(r"   (\w+)", line)):
            names.setdefault(module, set()).add(match.group(1))
        elif line and not line.startswith(" "):
            in_autosummary = False
    return names


def test_api_page_documents_every_package():
    assert set(documented_names()) == set(PACKAGES)


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_what_the_api_page_lists(name):
    module = importlib.import_module(name)
    public = set(module.__all__) - {"__version__"}
    assert len(module.__all__) == len(set(module.__all__)), "duplicates in __all__"
    assert public == documented_names()[name]
    for attribute in module.__all__:
        assert hasattr(module, attribute), attribute


@pytest.mark.parametrize("name", PACKAGES)
def test_nothing_else_is_exported(name):
    module = importlib.import_module(name)
    extra = {
        attribute
        for attribute in dir(module)
        if not attribute.startswith("_")
        and attribute not in module.__all__
        and attribute not in SUBPACKAGES
    }
    assert extra == KNOWN_LEFTOVERS.get(name, set())
    for attribute in SUBPACKAGES & set(dir(module)):
        assert isinstance(getattr(module, attribute), types.ModuleType), attribute


def test_version_is_a_string():
    import skjomo

    assert "__version__" in skjomo.__all__
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", skjomo.__version__)


def test_import_and_fit_without_docstrings():
    """``python -OO`` strips docstrings; importing every public package and
    fitting a tiny model must still work. The kernels run as plain Python
    (``NUMBA_DISABLE_JIT=1``, 5 s): what -OO strips are docstrings and
    asserts, which the compiled path does not read, and numba keys its cache
    on the bytecode, which -OO changes, so a jitted run would compile the
    whole single-level sampler once more (about 40 s of CPU in CI)."""
    script = """
import skjomo, skjomo.pooling, skjomo.diagnostics, skjomo.datasets
from skjomo.datasets import load_jspmiss
assert skjomo.JointModelImputer.__doc__ is None
data = load_jspmiss()[["school", "english", "ravens", "sex"]].iloc[:150]
settings = dict(covariate_cols=["sex"], n_burn=5, n_between=2, n_imputations=2,
                random_state=0)
out = skjomo.JointModelImputer(exclude_cols=["school"], **settings).fit(data).sample()
assert not out[1][["english", "ravens"]].isna().any().any()
print("ok")
"""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-OO", "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env={**os.environ, "PYTHONPATH": path, "NUMBA_DISABLE_JIT": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
