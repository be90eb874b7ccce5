"""Time SubstantiveModelImputer next to R's jomo.lm / jomo.glm on sldata.

Usage::

    python benchmarks/bench_smc_vs_jomo.py [--iterations 2000] [--repeats 3] [--no-r]

The models are those of tests/r/make_smc_fixtures.R and (ordinal, jomo.polr)
tests/r/make_smc_polr_fixtures.R, on the same data on both sides. Both sides
report the marginal CPU milliseconds of one iteration: the CPU time of a run
with ``n_iterations`` burn-in iterations minus that of a run with 10,
divided by the difference (set-up, R's start-up and numba compilation
excluded; skjomo compiles in a warm-up run first), the median over
``repeats`` such pairs. jomo's side is benchmarks/r/time_jomo_smc.R.
"""

import argparse
import json
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd

from skjomo import SubstantiveModelImputer

HERE = Path(__file__).resolve().parent
FIXTURE = HERE.parent / "tests" / "fixtures" / "jomo" / "smc_sldata.json"

MODELS = {
    "lm_interaction_factor": ("measure ~ age * social", "lm", ["social"], ["sex"]),
    "lm_quadratic_numeric": ("measure ~ age * social + I(age**2)", "lm", [], ["sex"]),
    "glm_binary": ("sex ~ age + measure", "logit", [], ["social"]),
    "polr_ordinal": ("social ~ age + measure", "ordinal", [], ["sex"]),
}


def sldata():
    with open(FIXTURE) as fh:
        return pd.DataFrame(json.load(fh)["data"]).astype(float)


def model_frame(frame, model):
    """The ordinal outcome ``social`` as an ordered categorical (as in R)."""
    if model != "ordinal":
        return frame
    social = pd.Categorical(frame.social.astype("Int64"), categories=[1, 2, 3, 4], ordered=True)
    return frame.assign(social=social)


def cpu_ms_per_iteration(frame, formula, model, categorical, excluded, n_iter, repeats=3):
    frame = model_frame(frame, model)

    def run(n_burn):
        imputer = SubstantiveModelImputer(
            formula,
            model=model,
            categorical_cols=categorical,
            exclude_cols=excluded,
            n_burn=n_burn,
            n_between=1,
            n_imputations=1,
            random_state=0,
        )
        start = time.process_time()
        imputer.fit(frame)
        return time.process_time() - start

    run(10)  # compile
    marginal = [1000 * (run(n_iter) - run(10)) / (n_iter - 10) for _ in range(repeats)]
    return float(np.median(marginal))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-r", action="store_true")
    args = parser.parse_args()
    frame = sldata()
    ours = {
        name: cpu_ms_per_iteration(frame, *spec, args.iterations, args.repeats)
        for name, spec in MODELS.items()
    }
    jomo = {}
    if not args.no_r and shutil.which("Rscript"):
        out = subprocess.run(
            [
                "Rscript",
                str(HERE / "r" / "time_jomo_smc.R"),
                str(args.iterations),
                str(args.repeats),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        jomo = json.loads(out.stdout.strip().splitlines()[-1])
    table = pd.DataFrame({"skjomo_ms": ours, "jomo_ms": pd.Series(jomo, dtype=float)})
    table["skjomo/jomo"] = table.skjomo_ms / table.jomo_ms
    print(f"CPU milliseconds per iteration, sldata (N = 300), {args.iterations} iterations")
    print(table.round(4).to_string())


if __name__ == "__main__":
    main()
