"""Time SubstantiveModelImputer(model="cox") next to R's jomo.coxph on surdata.

Usage::

    python benchmarks/bench_smc_cox_vs_jomo.py [--iterations 2000] [--no-r]

The models are those of tests/r/make_smc_cox_fixtures.R; the timing is that
of benchmarks/bench_smc_vs_jomo.py (marginal CPU milliseconds of one
iteration, set-up and compilation excluded). jomo's side is
benchmarks/r/time_jomo_coxph.R.
"""

import argparse
import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
from bench_smc_vs_jomo import cpu_ms_per_iteration

HERE = Path(__file__).resolve().parent
FIXTURE = HERE.parent / "tests" / "fixtures" / "jomo" / "smc_surdata.json"

MODELS = {
    "cox_quadratic": "Surv(time, status) ~ measure + sex + I(measure**2)",
    "cox_interaction": "Surv(time, status) ~ measure * sex",
}


def surdata():
    with open(FIXTURE) as fh:
        frame = pd.DataFrame(json.load(fh)["data"]).astype(float)
    return frame[["time", "status", "measure", "sex"]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--no-r", action="store_true")
    args = parser.parse_args()
    frame = surdata()
    ours = {
        name: cpu_ms_per_iteration(frame, formula, "cox", ["sex"], None, args.iterations)
        for name, formula in MODELS.items()
    }
    jomo = {}
    if not args.no_r and shutil.which("Rscript"):
        out = subprocess.run(
            ["Rscript", str(HERE / "r" / "time_jomo_coxph.R"), str(args.iterations)],
            capture_output=True,
            text=True,
            check=True,
        )
        jomo = json.loads(out.stdout.strip().splitlines()[-1])
    table = pd.DataFrame({"skjomo_ms": ours, "jomo_ms": pd.Series(jomo, dtype=float)})
    table["skjomo/jomo"] = table.skjomo_ms / table.jomo_ms
    print(f"CPU milliseconds per iteration, surdata (N = 500), {args.iterations} iterations")
    print(table.round(4).to_string())


if __name__ == "__main__":
    main()
