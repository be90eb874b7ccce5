"""The oldest dependency versions that pyproject.toml allows.

``.ci/oldest`` installs skjomo in a fresh virtual environment with the
versions pinned in ``.ci/oldest-constraints.txt`` and runs the default test
suite there (``.ci/newest`` does the same with the newest releases;
``doc/development.rst``). The default test checks that the constraints are
the minimums of ``pyproject.toml``, so that raising a minimum cannot leave
the oldest run testing versions the package no longer allows; the slow test
runs the script (it needs the package index, and takes about as long as
the default suite plus the installation).
"""

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / ".ci" / "oldest"
CONSTRAINTS = ROOT / ".ci" / "oldest-constraints.txt"


def _minimums():
    """``{name: version}`` of the ``name>=version`` runtime dependencies."""
    text = (ROOT / "pyproject.toml").read_text()
    block = re.search(r"^dependencies = \[(.*?)^\]", text, re.S | re.M).group(1)
    return dict(re.findall(r'"([A-Za-z0-9_.-]+)>=([0-9][0-9.]*)"', block))


def _pins():
    pins = {}
    for line in CONSTRAINTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.strip()] = version.strip()
    return pins


def test_constraints_pin_every_minimum_of_pyproject():
    minimums = _minimums()
    assert set(minimums) >= {"numpy", "pandas", "scikit-learn", "scipy", "numba"}
    pins = _pins()
    assert set(pins) == set(minimums)
    for name, minimum in minimums.items():
        # the first release of the minimum: "1.24" is pinned as 1.24 or 1.24.0
        assert pins[name].split(".")[: minimum.count(".") + 1] == minimum.split("."), name
        assert all(part == "0" for part in pins[name].split(".")[minimum.count(".") + 1 :]), name


@pytest.mark.slow
def test_default_suite_passes_with_the_oldest_dependencies(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "PYTHONPATH"))}
    env["SKJOMO_CI_VENV"] = str(tmp_path / "venv")
    run = subprocess.run(
        ["bash", str(SCRIPT), "-n", "1", "-q"],
        env=env,
        capture_output=True,
        text=True,
        timeout=3 * 3600,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-5000:]
    versions = re.search(r"dependency check \(oldest\).*\n(.*)\n(.*)", output)
    installed = dict(re.findall(r"([A-Za-z0-9_.-]+) ([0-9][^,\s]*)", versions.group(1)))
    for name, version in _pins().items():
        assert installed[name] == version, (name, installed[name])
    assert str(tmp_path / "venv") in versions.group(2)  # the installed copy was tested
    summary = output.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary) and "failed" not in summary, summary
