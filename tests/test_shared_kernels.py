"""``SKJOMO_KERNELS=shared``: one chain for every kind of model, the same draws.

By default each kind of model compiles a chain with only its steps (numba
prunes the branches on ``multilevel is None`` and ``analysis is None``).
With ``SKJOMO_KERNELS=shared`` every model but the plain single-level one
runs one chain compiled with every step, which tests the kind at run time.
The test suite runs that way (tests/conftest.py); the slow test checks that
both ways give bit-identical seeded output for every kind of model.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from skjomo._gibbs._chain import _model_kind

FINGERPRINT = Path(__file__).resolve().parents[1] / "benchmarks" / "seeded_fingerprint.py"


def _model(multilevel, family):
    return SimpleNamespace(multilevel=multilevel, analysis=SimpleNamespace(family=family))


@pytest.mark.parametrize(
    "multilevel, family, per_kind, shared",
    [
        (False, 0, (None, None), (None, None)),  # plain single level: its own chain
        (True, 0, (True, None), (True, "analysis")),
        (False, 1, (None, "analysis"), (False, "analysis")),
        (True, 2, (True, "analysis"), (True, "analysis")),
    ],
)
def test_kind_arguments_per_kind_and_shared(monkeypatch, multilevel, family, per_kind, shared):
    model = _model(multilevel, family)

    def expected(kind):
        return kind[0], (model.analysis if kind[1] == "analysis" else None)

    monkeypatch.setenv("SKJOMO_KERNELS", "per-kind")
    assert _model_kind(model) == expected(per_kind)
    monkeypatch.setenv("SKJOMO_KERNELS", "shared")
    assert _model_kind(model) == expected(shared)


@pytest.mark.slow
def test_shared_chain_gives_the_same_draws_as_a_chain_per_kind(tmp_path):
    """Every case of benchmarks/seeded_fingerprint.py (every estimator and
    analysis model, fit, sample and transform) hashes the same both ways."""
    reference = tmp_path / "per_kind.json"
    base = {k: v for k, v in os.environ.items() if k != "SKJOMO_KERNELS"}
    subprocess.run(
        [sys.executable, str(FINGERPRINT), "--write", str(reference)],
        env={**base, "SKJOMO_KERNELS": "per-kind"},
        check=True,
        capture_output=True,
    )
    assert len(json.loads(reference.read_text())) >= 10
    checked = subprocess.run(
        [sys.executable, str(FINGERPRINT), "--check", str(reference)],
        env={**base, "SKJOMO_KERNELS": "shared"},
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
