"""Time SubstantiveModelImputer(model="ordinal") with a random intercept next
to R's jomo.clmm on cldata.

Usage::

    python benchmarks/bench_smc_clmm_vs_jomo.py [--iterations 2000] [--repeats 3]
        [--tree NAME=PATH ...] [--no-r]

The model is jomo's own example, ``social ~ age + measure + (1 | city)``
(tests/test_smc_clmm_agreement.py). Both sides report the marginal CPU
milliseconds of one iteration: the CPU time of a run with ``n_iterations``
burn-in iterations minus that of a run with 10, divided by the difference
(set-up and numba compilation excluded; skjomo compiles in a warm-up run
first). jomo's side is benchmarks/r/time_jomo_clmm.R. skjomo runs in a
subprocess per source tree (``--tree before=/path/to/old/checkout`` times
another version of the package next to this one); the sides take turns
``--repeats`` times and the table reports the median of each, so that a
change of the machine's load hits them alike.
"""

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FIXTURE = ROOT / "tests" / "fixtures" / "jomo" / "smc_clmm_cldata.json"
FORMULA = "social ~ age + measure + (1 | city)"


def cldata():
    with open(FIXTURE) as fh:
        frame = pd.DataFrame(json.load(fh)["data"])[["social", "age", "measure", "city"]]
    frame = frame.astype({"social": float, "age": float, "measure": float, "city": int})
    frame["social"] = pd.Categorical(
        frame["social"].astype("Int64"), categories=[1, 2, 3, 4], ordered=True
    )
    return frame


def ours_ms_per_iteration(n_iter):
    """skjomo's marginal CPU milliseconds per iteration (in this process)."""
    import warnings

    from skjomo import SubstantiveModelImputer

    frame = cldata()

    def run(n_burn):
        imputer = SubstantiveModelImputer(
            FORMULA, model="ordinal", n_burn=n_burn, n_between=1, n_imputations=1, random_state=0
        )
        start = time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence warnings of the short runs
            imputer.fit(frame)
        return time.process_time() - start

    run(10)  # compile
    return 1000 * (run(n_iter) - run(10)) / (n_iter - 10)


def _time_tree(path, n_iter):
    out = subprocess.run(
        [sys.executable, __file__, "--ours-only", "--iterations", str(n_iter)],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(path), "PATH": "/usr/bin:/bin", "HOME": str(Path.home())},
    )
    return float(out.stdout.strip().splitlines()[-1])


def _time_jomo(n_iter):
    out = subprocess.run(
        ["Rscript", str(HERE / "r" / "time_jomo_clmm.R"), str(n_iter)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["clmm_intercept"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tree", action="append", default=[], metavar="NAME=PATH")
    parser.add_argument("--no-r", action="store_true")
    parser.add_argument("--ours-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ours_only:
        print(ours_ms_per_iteration(args.iterations))
        return
    trees = {"skjomo": ROOT} | dict(t.split("=", 1) for t in args.tree)
    with_r = not args.no_r and shutil.which("Rscript")
    times = {name: [] for name in trees} | ({"jomo.clmm": []} if with_r else {})
    for _ in range(args.repeats):
        for name, path in trees.items():
            times[name].append(_time_tree(path, args.iterations))
        if with_r:
            times["jomo.clmm"].append(_time_jomo(args.iterations))
    table = pd.DataFrame(
        {
            "median_ms": {name: np.median(t) for name, t in times.items()},
            "runs_ms": {name: " ".join(f"{x:.3f}" for x in t) for name, t in times.items()},
        }
    )
    if with_r:
        table["ratio_to_jomo"] = table.median_ms / table.loc["jomo.clmm", "median_ms"]
    print(
        f"CPU milliseconds per iteration, cldata (N = 1000, 10 cities), {FORMULA}, "
        f"{args.iterations} iterations, median of {args.repeats} runs"
    )
    print(table.round(3).to_string())


if __name__ == "__main__":
    main()
