"""Fingerprints of seeded sampler output, to check a change leaves it bit-identical.

Usage::

    python benchmarks/seeded_fingerprint.py --write before.json   # old code
    python benchmarks/seeded_fingerprint.py --check before.json   # new code

Each case fits a small seeded model with one estimator (every kind of
model: single level with and without categorical variables, two-level with
level-2 outcomes, cluster-specific covariances "fixed" and "random", and
compatible imputation with linear, logistic, ordinal, Cox and two-level
analysis models), then hashes the bytes of ``sample()`` (two imputations:
the stored one and one continuing the chains), of ``transform`` on rows
with missing values, and of the posterior means of the fixed effects. A
refactoring of the kernels (how they are compiled, not what they compute)
must keep every hash. ``--check`` exits 1 and names the cases that differ.
``--threads 2`` runs every chain on two threads (``n_threads=2``), whose
output must be that of one thread (doc/benchmarks.rst, "Threads within a
chain").
"""

import argparse
import hashlib
import json
import sys
import warnings

import numpy as np
import pandas as pd

RUN = dict(n_burn=30, n_between=7, n_imputations=1, random_state=11)


def _digest(parts):
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, pd.DataFrame):
            h.update(np.ascontiguousarray(part.to_numpy(dtype=np.float64, na_value=np.nan)))
        else:
            h.update(np.ascontiguousarray(np.asarray(part, dtype=np.float64)))
    return h.hexdigest()


def _frame_codes(frame):
    """Numbers of every cell (categories by their codes)."""
    out = frame.copy()
    for c in out.columns:
        if not pd.api.types.is_numeric_dtype(out[c]):
            out[c] = out[c].astype("category").cat.codes
    return out


def _run(imputer, data, new_rows, estimates="beta_"):
    imputer.fit(data)
    parts = [_frame_codes(d) for d in imputer.sample(n_imputations=2)]
    parts.append(_frame_codes(imputer.transform(new_rows)))
    parts.append(getattr(imputer, estimates).to_numpy(dtype=np.float64))
    return _digest(parts)


def _smc_data(n=240, seed=0, outcome="linear"):
    rng = np.random.default_rng(seed)
    x2 = rng.normal(size=n)
    x1 = 0.5 * x2 + rng.normal(size=n)
    g = rng.choice(["a", "b", "c"], size=n)
    cluster = rng.integers(0, 12, size=n)
    eta = 1 + x1 + x2 + 0.5 * (g == "b") + rng.normal(size=12)[cluster]
    frame = pd.DataFrame({"x1": x1, "x2": x2, "g": g, "school": cluster})
    if outcome == "linear":
        frame["y"] = eta + rng.normal(size=n)
    elif outcome == "logit":
        frame["y"] = (rng.random(n) < 1 / (1 + np.exp(-0.5 * eta))).astype(float)
    elif outcome == "ordinal":
        frame["y"] = np.digitize(eta + rng.logistic(size=n), [0.0, 1.0, 2.0]).astype(float)
    else:  # survival
        frame["time"] = rng.exponential(np.exp(-0.3 * eta))
        frame["status"] = (rng.random(n) < 0.8).astype(float)
    frame.loc[rng.random(n) < 0.25, "x1"] = np.nan
    frame.loc[rng.random(n) < 0.15, "g"] = None
    if outcome != "cox":
        frame.loc[rng.random(n) < 0.1, "y"] = np.nan
    return frame


def cases():
    from skjomo import (
        HeteroscedasticMultilevelImputer,
        JointModelImputer,
        MultilevelJointImputer,
        SubstantiveModelImputer,
    )
    from skjomo.datasets import load_examscores, load_jspmiss

    jsp = load_jspmiss()
    exam = load_examscores()[["school", "normexam", "standlrt", "vrband", "sex", "avslrt", "schav"]]
    exam = exam[exam["school"].isin(exam["school"].unique()[:25])]
    single = jsp[["english", "ravens", "fluent", "sex"]]
    two = jsp[["school", "english", "ravens", "fluent", "sex"]]
    yield (
        "single_mixed",
        lambda: _run(JointModelImputer(covariate_cols=["sex"], **RUN), single, single.head(40)),
    )
    yield (
        "single_continuous",
        lambda: _run(
            JointModelImputer(covariate_cols=["sex"], **RUN),
            single.drop(columns="fluent"),
            single.drop(columns="fluent").head(40),
        ),
    )
    yield (
        "multilevel_level2",
        lambda: _run(
            MultilevelJointImputer(
                cluster_col="school", covariate_cols=["sex"], level2_cols=["avslrt", "schav"], **RUN
            ),
            exam,
            exam.head(60),
        ),
    )
    yield (
        "multilevel_mixed_slope",
        lambda: _run(
            MultilevelJointImputer(
                cluster_col="school", covariate_cols=["sex"], random_slope_cols=["sex"], **RUN
            ),
            two,
            two.head(60),
        ),
    )
    for method in ("fixed", "random"):
        yield (
            f"hetero_{method}",
            lambda method=method: _run(
                HeteroscedasticMultilevelImputer(
                    cluster_col="school", cov_method=method, covariate_cols=["sex"], **RUN
                ),
                two,
                two.head(60),
            ),
        )
    for model, formula, outcome in (
        ("lm", "y ~ x1 * x2 + g", "linear"),
        ("logit", "y ~ x1 + x2 + g", "logit"),
        ("ordinal", "y ~ x1 + x2", "ordinal"),
        ("cox", "Surv(time, status) ~ x1 + x2 + g", "cox"),
        ("lm", "y ~ x1 + x2 + g + (1 | school)", "linear"),
        ("logit", "y ~ x1 + x2 + (1 | school)", "logit"),
        ("ordinal", "y ~ x1 + x2 + (1 | school)", "ordinal"),
    ):
        name = f"smc_{model}" + ("_two_level" if "|" in formula else "")
        data = _smc_data(outcome=outcome)
        yield (
            name,
            lambda model=model, formula=formula, data=data: _run(
                SubstantiveModelImputer(formula, model=model, **RUN), data, data.head(50), "theta_"
            ),
        )


def fingerprints(only=None):
    result = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, run in cases():
            if only and name not in only:
                continue
            try:
                result[name] = run()
            except Exception as error:  # a case this version cannot run
                result[name] = f"error: {type(error).__name__}: {error}"[:300]
            print(f"{name}: {result[name]}", flush=True)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", help="write the fingerprints to this JSON file")
    group.add_argument("--check", help="compare with the fingerprints in this JSON file")
    parser.add_argument("--only", nargs="*", help="run only these cases")
    parser.add_argument("--threads", type=int, help="n_threads of every estimator")
    args = parser.parse_args(argv)
    if args.threads is not None:
        RUN["n_threads"] = args.threads
    result = fingerprints(args.only)
    if args.write:
        with open(args.write, "w") as f:
            json.dump(result, f, indent=1)
        return 0
    with open(args.check) as f:
        expected = json.load(f)
    differ = [n for n in result if n in expected and result[n] != expected[n]]
    missing = [n for n in expected if n not in result]
    print(f"{len(result) - len(differ)} of {len(result)} cases identical", end="")
    print(f"; differ: {', '.join(differ)}" if differ else "", end="")
    print(f"; not run: {', '.join(missing)}" if missing and not args.only else "")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
