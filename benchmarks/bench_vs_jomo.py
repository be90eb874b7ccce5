"""Time skjomo's Gibbs sampler next to R's jomo (and pan) on the same data.

Usage::

    python benchmarks/bench_vs_jomo.py [--models jsp_single_con,...] [--no-r]
                                       [--seconds 1.0] [--json out.json]

For every model the same data and model are run by skjomo and, when
``Rscript`` with jomo is present, by ``benchmarks/r/time_jomo.R`` in the same
run. Reported: milliseconds per iteration (marginal cost of one Gibbs
iteration, set-up excluded), the ratio skjomo / jomo (and skjomo / pan where
pan fits the model), separately the numba compilation time on a cold cache
(``--compile``), and with ``--ess MODEL`` the effective sample size per second
of the slowest free covariance element (skjomo's exact block draws against
jomo's element-wise random walk).

Models (R names of tests/r/make_jomo_fixtures.R):

* ``jsp_single_con``, ``jsp_single_mix``: JSPmiss single level (issue 2);
* ``jsp_ml_slope`` (two-level continuous), ``jsp_ml_mix``, ``exam_ml_l2``,
  ``sr_ml_con``: two level (issue 3);
* ``jsp_hr_fixed``, ``jsp_hr_random``: cluster-specific covariances (issue 4),
  and ``jsp_hr_fixed_mix``, ``jsp_hr_random_mix`` with fluent, ``big_hr_fixed``
  on the 50,000 rows with categorical outcomes;
* ``big_con``, ``big_mix``: 50,000 rows in 200 clusters, 2 continuous
  outcomes (and 2 categorical ones), written to a CSV that R reads.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from skjomo import HeteroscedasticMultilevelImputer, JointModelImputer, MultilevelJointImputer
from skjomo._gibbs._chain import dimensions, empty_trace, initial_state, new_tally, run_chain
from skjomo.datasets import load_examscores, load_jspmiss, load_studentratings

HERE = Path(__file__).resolve().parent


def big_data(mix, n_rows=50_000, n_clusters=200, seed=0):
    """50,000 rows in 200 clusters with random intercepts and 20% missing."""
    rng = np.random.default_rng(seed)
    cluster = rng.integers(0, n_clusters, n_rows)
    x = rng.standard_normal(n_rows)
    u = rng.multivariate_normal([0, 0, 0, 0], 0.3 * np.eye(4) + 0.1, n_clusters)
    latent = (
        np.array([1.0, -0.5, 0.2, -0.3])
        + 0.5 * x[:, None]
        + u[cluster]
        + rng.multivariate_normal(np.zeros(4), 0.5 * np.eye(4) + 0.5, n_rows)
    )
    frame = pd.DataFrame({"cluster": cluster, "x": x, "y1": latent[:, 0], "y2": latent[:, 1]})
    if mix:
        frame["c1"] = pd.Categorical(np.digitize(latent[:, 2], [-0.5, 0.5]).astype(str))
        frame["c2"] = pd.Categorical(np.where(latent[:, 3] > 0, "a", "b"))
    for column in frame.columns[2:]:
        frame.loc[rng.uniform(size=n_rows) < 0.2, column] = np.nan
    return frame


def models():
    """name -> (frame builder, imputer factory)."""
    jsp = lambda cols: lambda: load_jspmiss()[cols]
    con = ["school", "english", "ravens", "sex"]
    mix = ["school", "english", "ravens", "fluent", "sex"]
    return {
        "jsp_single_con": (jsp(con[1:]), lambda: JointModelImputer(covariate_cols=["sex"])),
        "jsp_single_mix": (jsp(mix[1:]), lambda: JointModelImputer(covariate_cols=["sex"])),
        "jsp_ml_slope": (
            jsp(con),
            lambda: MultilevelJointImputer(
                cluster_col="school", covariate_cols=["sex"], random_slope_cols=["sex"]
            ),
        ),
        "jsp_ml_mix": (
            jsp(mix),
            lambda: MultilevelJointImputer(cluster_col="school", covariate_cols=["sex"]),
        ),
        "exam_ml_l2": (
            lambda: load_examscores()[["school", "normexam", "standlrt", "avslrt"]],
            lambda: MultilevelJointImputer(cluster_col="school", level2_cols=["avslrt"]),
        ),
        "sr_ml_con": (
            lambda: load_studentratings()[["ID", "ReadAchiev", "ReadDis", "SchClimate"]],
            lambda: MultilevelJointImputer(cluster_col="ID"),
        ),
        "jsp_hr_fixed": (
            jsp(con),
            lambda: HeteroscedasticMultilevelImputer(
                cluster_col="school", covariate_cols=["sex"], cov_method="fixed"
            ),
        ),
        "jsp_hr_random": (
            jsp(con),
            lambda: HeteroscedasticMultilevelImputer(
                cluster_col="school", covariate_cols=["sex"], cov_method="random"
            ),
        ),
        "jsp_hr_fixed_mix": (
            jsp(mix),
            lambda: HeteroscedasticMultilevelImputer(
                cluster_col="school", covariate_cols=["sex"], cov_method="fixed"
            ),
        ),
        "jsp_hr_random_mix": (
            jsp(mix),
            lambda: HeteroscedasticMultilevelImputer(
                cluster_col="school", covariate_cols=["sex"], cov_method="random"
            ),
        ),
        "big_hr_fixed": (
            lambda: big_data(True),
            lambda: HeteroscedasticMultilevelImputer(
                cluster_col="cluster", covariate_cols=["x"], cov_method="fixed"
            ),
        ),
        "big_con": (
            lambda: big_data(False),
            lambda: MultilevelJointImputer(cluster_col="cluster", covariate_cols=["x"]),
        ),
        "big_mix": (
            lambda: big_data(True),
            lambda: MultilevelJointImputer(cluster_col="cluster", covariate_cols=["x"]),
        ),
    }


def time_skjomo(frame, imputer, seconds):
    """Marginal milliseconds per Gibbs iteration of skjomo on one chain."""
    imputer.set_params(n_burn=20, n_between=5, n_imputations=1, random_state=0)
    imputer.fit(frame)
    encoded = imputer._encoded
    state = initial_state(encoded.model, encoded.values, encoded.values2)
    rng = np.random.default_rng(1)
    trace = empty_trace(dimensions(encoded.model))
    tally = new_tally(state)
    run_chain(rng, encoded.model, state, tally, 50, trace, 0)
    n = 50
    while True:
        start = time.perf_counter()
        run_chain(rng, encoded.model, state, tally, n, trace, 0)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return elapsed / n * 1e3, n
        n = int(n * max(2.0, 1.2 * seconds / max(elapsed, 1e-6)))


# Models that R reads from a CSV: R's model name and its column options.
_CSV_MODELS = {
    "jsp_hr_fixed_mix": (
        "big_mix",
        ["--clus=school", "--y=english,ravens", "--cat=fluent", "--x=sex", "--meth=fixed"],
    ),
    "jsp_hr_random_mix": (
        "big_mix",
        ["--clus=school", "--y=english,ravens", "--cat=fluent", "--x=sex", "--meth=random"],
    ),
    "big_hr_fixed": ("big_mix", ["--meth=fixed"]),
    "big_con": ("big_con", []),
    "big_mix": ("big_mix", []),
}


def _r_model(name, frame, tmp):
    """R model name, CSV path (or None) and options for a benchmark model."""
    if name not in _CSV_MODELS:
        return name, None, []
    r_name, options = _CSV_MODELS[name]
    csv = Path(tmp) / f"{name}.csv"
    frame.to_csv(csv, index=False)
    return r_name, csv, options


def time_jomo(name, csv, seconds, options=()):
    """jomo's (and pan's) milliseconds per iteration from time_jomo.R, or None."""
    if shutil.which("Rscript") is None:
        return None
    command = ["Rscript", str(HERE / "r" / "time_jomo.R"), name, "200"]
    if csv is not None:
        command.append(str(csv))
    command += [f"--min-seconds={seconds}", *options]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [ln for ln in result.stdout.splitlines() if ln.startswith("{")]
    if result.returncode != 0 or not lines:
        print(f"  R failed for {name}: {result.stderr.strip()[-300:]}", file=sys.stderr)
        return None
    return json.loads(lines[-1])


def _slowest_ess_per_second(draws, seconds):
    """Smallest bulk effective sample size per second over the free elements
    of a covariance chain ``draws`` (n_draws, p, p)."""
    from skjomo.diagnostics import ess_bulk

    n = draws.shape[0]
    flat = draws.reshape(n, -1)
    free = flat.std(axis=0) > 0
    ess = ess_bulk(flat[None, :, free])
    return float(np.min(ess) / seconds), float(np.min(ess))


def ess_comparison(name, n_iter=20000, burn=1000):
    """ESS per second of the slowest covariance element, skjomo and jomo."""
    build, factory = models()[name]
    imputer = factory().set_params(n_burn=burn, n_between=n_iter, n_imputations=1, random_state=0)
    frame = build()
    ms, _ = time_skjomo(frame, factory(), 0.5)
    imputer.fit(frame)
    ours = _slowest_ess_per_second(imputer.chains_["omega"][0], ms * n_iter / 1e3)
    row = {"model": name, "skjomo_min_ess": ours[1], "skjomo_min_ess_per_s": ours[0]}
    if shutil.which("Rscript") is not None:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "chain.csv"
            subprocess.run(
                ["Rscript", str(HERE / "r" / "jomo_chain.R"), name, str(n_iter + burn), str(out)],
                check=True,
                capture_output=True,
            )
            with open(out) as fh:
                seconds = float(fh.readline().split("=")[1])
            draws = np.loadtxt(out, delimiter=",", comments="#")
        p = int(round(np.sqrt(draws.shape[1])))
        theirs = _slowest_ess_per_second(
            draws[burn:].reshape(-1, p, p), seconds * n_iter / (n_iter + burn)
        )
        row.update(
            jomo_min_ess=theirs[1],
            jomo_min_ess_per_s=theirs[0],
            ess_per_s_ratio=ours[0] / theirs[0],
        )
    return row


def compile_seconds():
    """Seconds to import skjomo and fit a small model with an empty numba cache."""
    code = (
        "import time; t=time.perf_counter();"
        "from skjomo import MultilevelJointImputer;"
        "from skjomo.datasets import load_jspmiss;"
        "MultilevelJointImputer(cluster_col='school', covariate_cols=['sex'], n_burn=5,"
        " n_between=2, n_imputations=1).fit(load_jspmiss()[['school','english','ravens',"
        "'fluent','sex']]); print(time.perf_counter()-t)"
    )
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        cold = float(
            subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
            ).stdout.split()[-1]
        )
        warm = float(
            subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
            ).stdout.split()[-1]
        )
    return cold, warm


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(models()))
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--no-r", action="store_true")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--json", default=None)
    parser.add_argument(
        "--ess", default=None, help="models for the ESS-per-second comparison, e.g. jsp_single_mix"
    )
    args = parser.parse_args(argv)
    table = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            build, factory = models()[name]
            frame = build()
            r_name, csv, options = _r_model(name, frame, tmp)
            ms, n = time_skjomo(frame, factory(), args.seconds)
            row = {"model": name, "skjomo_ms_per_iter": ms, "skjomo_n_iter": n}
            r = None if args.no_r else time_jomo(r_name, csv, args.seconds, options)
            if r is not None:
                row["jomo_ms_per_iter"] = r["ms_per_iter"]
                row["ratio_jomo"] = ms / r["ms_per_iter"]
                if r.get("pan_ms_per_iter"):
                    row["pan_ms_per_iter"] = r["pan_ms_per_iter"]
                    row["ratio_pan"] = ms / r["pan_ms_per_iter"]
            table.append(row)
            print(json.dumps(row), flush=True)
    frame = pd.DataFrame(table).set_index("model")
    print()
    print(frame.round(4).to_string())
    if args.compile:
        cold, warm = compile_seconds()
        print(
            f"\nimport + first fit: {cold:.1f} s with an empty numba cache, "
            f"{warm:.1f} s with the cache filled (compilation ~{cold - warm:.1f} s)."
        )
    if args.ess:
        print()
        for name in args.ess.split(","):
            print(json.dumps(ess_comparison(name)), flush=True)
    if args.json:
        frame.to_json(args.json, orient="index", indent=1)


if __name__ == "__main__":
    main()
