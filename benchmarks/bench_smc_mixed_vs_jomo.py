"""Time two-level SubstantiveModelImputer next to R's jomo.lmer / jomo.glmer.

Usage::

    python benchmarks/bench_smc_mixed_vs_jomo.py [--iterations 1000] [--no-r]

The data and models are those of the agreement tests
(tests/test_smc_mixed_agreement.py, tests/test_smc_glmer_agreement.py): 40
clusters of jomo's ``tldata``. Both sides report the marginal CPU
milliseconds of one iteration: the CPU time of a run with ``n_iterations``
burn-in iterations minus that of a run with 10, divided by the difference
(set-up and numba compilation excluded; skjomo compiles in a warm-up run
first). jomo's side is benchmarks/r/time_jomo_mixed.R; both run in this one
call, one after the other.
"""

import argparse
import json
import shutil
import subprocess
import time
from pathlib import Path

import pandas as pd

from skjomo import SubstantiveModelImputer

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "tests" / "fixtures" / "jomo"

MODELS = {
    "lmer_intercept": ("smc_tldata", "measure_b ~ measure_a + (1 | city)", "lm"),
    "lmer_slope": ("smc_tldata", "measure_b ~ measure_a + (1 + measure_a | city)", "lm"),
    "glmer_intercept": (
        "smc_glmer_tldata",
        "previous_events ~ measure_a + measure_b + (1 | city)",
        "logit",
    ),
}


def fixture_data(name):
    with open(FIXTURES / f"{name}.json") as fh:
        frame = pd.DataFrame(json.load(fh)["data"])
    frame.columns = [c.replace(".", "_") for c in frame.columns]
    return frame.astype(float).astype({"city": int})


def cpu_ms_per_iteration(frame, formula, model, n_iter):
    def run(n_burn):
        imputer = SubstantiveModelImputer(
            formula, model=model, n_burn=n_burn, n_between=1, n_imputations=1, random_state=0
        )
        start = time.process_time()
        imputer.fit(frame)
        return time.process_time() - start

    run(10)  # compile
    return 1000 * (run(n_iter) - run(10)) / (n_iter - 10)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--no-r", action="store_true")
    args = parser.parse_args()
    ours = {
        name: cpu_ms_per_iteration(fixture_data(data), formula, model, args.iterations)
        for name, (data, formula, model) in MODELS.items()
    }
    jomo = {}
    if not args.no_r and shutil.which("Rscript"):
        out = subprocess.run(
            ["Rscript", str(HERE / "r" / "time_jomo_mixed.R"), str(args.iterations)],
            capture_output=True,
            text=True,
            check=True,
        )
        jomo = json.loads(out.stdout.strip().splitlines()[-1])
    table = pd.DataFrame({"skjomo_ms": ours, "jomo_ms": pd.Series(jomo, dtype=float)})
    table["skjomo/jomo"] = table.skjomo_ms / table.jomo_ms
    print(f"CPU milliseconds per iteration, tldata (40 clusters), {args.iterations} iterations")
    print(table.round(4).to_string())


if __name__ == "__main__":
    main()
