"""Known-truth simulation of a two-level design with rare categories (issue 16).

The design follows a data set on which skjomo's and R jomo's pooled
coefficient of a rare level-2 category disagreed (one category in 10 of
216 clusters). Each replicate draws, from the analysis model itself,

* 200 clusters of 5 to 15 rows (about 2,000 rows);
* a level-2 categorical ``g`` with categories ``A, B, C, D`` in 80, 60,
  50 and 10 clusters (the rare ``D`` in 5% of them), assigned at random;
* a fully observed level-1 covariate ``c ~ N(0, 1)``;
* a level-1 binary ``x`` (``"yes"`` in about 11% of rows), a probit in
  ``c`` with a cluster effect: ``x = yes`` when
  ``-1.5 + 0.5 c + v_j + e_ij > 0``, ``v_j ~ N(0, 0.3)``, ``e_ij ~ N(0, 1)``;
* the outcome ``y = 0.5 c + 1.0 [x = yes] + gamma_g + u_j + e_ij`` with
  ``gamma = (0, 0.5, -0.5, 1.0)`` for ``A, B, C, D``, ``u_j ~ N(0, 0.5)``
  and ``e_ij ~ N(0, 1)``.

The analysis model is the generating model, the random-intercept linear
model ``y ~ c + x + g + (1 | cluster)``, so its fixed effects (``TRUTH``)
are the truth. It is fitted by exact REML (``jomo_compare.
random_intercept_reml``, the estimates of ``lmer``/MixedLM in a fraction
of their time) and pooled with Rubin's rules (``skjomo.pooling``).

Missing at random, in sequence: ``y`` row by row with probability
``expit(-1.6 + 0.8 c)`` (about 20%); ``x`` with ``expit(-1.9 - 0.8 c)``
(about 15%); then ``g`` for whole clusters with probability ``expit(-2.4
+ 1.2 s_j)``, where ``s_j`` is the standardised mean of the *observed*
``y`` of cluster ``j`` (about 12% of clusters). Clusters with a large
mean outcome, which the rare ``D`` produces, lose ``g`` more often (27% of
the ``D`` clusters), so a complete-case analysis is biased and the
imputation of ``D`` matters.

Imputation model (the same for both packages): level-1 outcomes ``y``
(continuous) and ``x`` (binary), covariates intercept and ``c``, random
intercepts; level-2 outcome ``g`` (categorical, three latent normals)
jointly normal with the random intercepts. skjomo runs
``MultilevelJointImputer`` with its defaults; R jomo runs ``jomo::jomo``
with its defaults, on the same replicates written to CSV, one ``Rscript``
per batch of replicates (``tests/r/rare_category_jomo.R``).

A second design draws the data from the joint model itself
(:func:`simulate_joint_replicate`; the imputation model is then right),
and further skjomo arms (``SKJOMO_VARIANTS``) give skjomo jomo's latent
box and priors. Results: doc/model.rst ("Where skjomo and jomo agree and
differ: a rare level-2 category").

Run the study from the command line (results appended to a JSON-lines
file, one line per replicate and package, so an interrupted study
resumes where it stopped)::

    python tests/rare_category_simulation.py --replicates 200 --out study.jsonl
    python tests/rare_category_simulation.py --design joint --replicates 40 --out joint.jsonl
    python tests/rare_category_simulation.py --packages skjomo_box --out study.jsonl
    python tests/rare_category_simulation.py --summary study.jsonl
"""

import functools
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit

sys.path.insert(0, str(Path(__file__).parent))
from jomo_compare import pool_random_intercept, random_intercept_reml
from scipy import stats

from skjomo import MultilevelJointImputer

R_SCRIPT = Path(__file__).parent / "r" / "rare_category_jomo.R"

CATEGORIES = ("A", "B", "C", "D")
CLUSTERS_PER_CATEGORY = (80, 60, 50, 10)
GAMMA = (0.0, 0.5, -0.5, 1.0)
BETA_C, BETA_X, TAU2, SIGMA2 = 0.5, 1.0, 0.5, 1.0
TRUTH = {
    "Intercept": 0.0,
    "c": BETA_C,
    "x_yes": BETA_X,
    "g_B": GAMMA[1],
    "g_C": GAMMA[2],
    "g_D": GAMMA[3],
}
PREDICTORS = ["c", "x", "g"]

#: Joint latent-normal generating model (:func:`simulate_joint_replicate`):
#: Sigma of (u_y, u_x, three latents of g), latent means, Omega of (y, x*).
JOINT_SIGMA = np.array(
    [
        [0.5, 0.1, 0.25, -0.05, 0.35],
        [0.1, 0.3, 0.0, 0.0, 0.0],
        [0.25, 0.0, 1.0, 0.5, 0.5],
        [-0.05, 0.0, 0.5, 1.0, 0.5],
        [0.35, 0.0, 0.5, 0.5, 1.0],
    ]
)
JOINT_B2 = np.array([0.9, 0.6, 0.4])
JOINT_OMEGA = np.array([[1.0, 0.4], [0.4, 1.0]])

#: Sampler settings of both packages (iterations of one chain).
N_BURN, N_BETWEEN, N_IMPUTATIONS = 1000, 100, 10

#: skjomo arms of the study: the defaults; jomo's latent box; jomo's model
#: (the box and the flat priors jomo gives both covariances when categorical
#: variables are present: inverse-Wishart df -(dim + 1), negligible scale).
SKJOMO_VARIANTS = {
    "skjomo": {},
    "skjomo_box": {"latent_bounds": (-3, 4)},
    "skjomo_jomo_model": {
        "latent_bounds": (-3, 4),
        "prior_df": -3,
        "prior_scale": 1e-8 * np.eye(2),
        "level2_prior_df": -6,
        "level2_prior_scale": 1e-8 * np.eye(5),
    },
}


def simulate_replicate(seed, g_order=CATEGORIES):
    """Draw one replicate: ``(incomplete, complete)`` DataFrames.

    Columns ``cluster`` (int), ``c`` (float), ``x`` (categorical
    ``yes``/``no``), ``g`` (categorical ``A``-``D``, constant within a
    cluster) and ``y`` (float); rows sorted by cluster. ``g_order`` is the
    order of ``g``'s categories in its dtype: the imputation models code
    the last one as the reference latent category (all latents negative),
    by default the rare ``D``. The data do not depend on it.
    """
    rng = np.random.default_rng(seed)
    n_clusters = sum(CLUSTERS_PER_CATEGORY)
    sizes = rng.integers(5, 16, size=n_clusters)
    g_code = rng.permutation(np.repeat(np.arange(4), CLUSTERS_PER_CATEGORY))
    cluster = np.repeat(np.arange(n_clusters), sizes)
    n = cluster.size
    c = rng.standard_normal(n)
    v = rng.normal(0.0, np.sqrt(0.3), n_clusters)
    x_yes = (-1.5 + 0.5 * c + v[cluster] + rng.standard_normal(n)) > 0
    u = rng.normal(0.0, np.sqrt(TAU2), n_clusters)
    y = (
        BETA_C * c
        + BETA_X * x_yes
        + np.asarray(GAMMA)[g_code][cluster]
        + u[cluster]
        + rng.normal(0.0, np.sqrt(SIGMA2), n)
    )
    complete = _frame(cluster, c, x_yes, g_code[cluster], y, g_order)
    return _delete_at_random(complete, rng), complete


def simulate_joint_replicate(seed, g_order=CATEGORIES, n_clusters=None):
    """Draw one replicate from the joint latent-normal model itself.

    The imputation model of both packages is then the generating model
    (the data of :func:`simulate_replicate` come from the analysis model
    instead). Random intercepts ``(u_y, u_x)`` and the three latents of
    ``g`` are jointly normal (``JOINT_SIGMA``, latent block ``C_K``) with
    latent means ``JOINT_B2``: ``g = D`` (all latents negative) in about 7%
    of the clusters, whose ``y`` is lowest on average. Level 1:
    ``(y, x*) = (0.5 c, -1.4 + 0.5 c) + (u_y, u_x) + e``, ``e ~ N(0,
    JOINT_OMEGA)``, ``x = yes`` when ``x* > 0`` (about 13%). Same sizes and
    missingness as :func:`simulate_replicate`. The analysis model is not
    the generating model here, so its coefficients have no closed form:
    the study measures the pooled estimates against the complete-data
    estimates of the same replicate, whose difference has mean zero when
    the imputations come from the right posterior predictive distribution,
    and against :func:`joint_truth`.
    """
    rng = np.random.default_rng(seed)
    n_clusters = sum(CLUSTERS_PER_CATEGORY) if n_clusters is None else n_clusters
    sizes = rng.integers(5, 16, size=n_clusters)
    cluster = np.repeat(np.arange(n_clusters), sizes)
    n = cluster.size
    level2 = rng.multivariate_normal(np.zeros(5), JOINT_SIGMA, size=n_clusters)
    latents = JOINT_B2 + level2[:, 2:]
    g_code = np.where(latents.max(axis=1) > 0, latents.argmax(axis=1), 3)
    c = rng.standard_normal(n)
    e = rng.multivariate_normal(np.zeros(2), JOINT_OMEGA, size=n)
    y = 0.5 * c + level2[cluster, 0] + e[:, 0]
    x_yes = (-1.4 + 0.5 * c + level2[cluster, 1] + e[:, 1]) > 0
    complete = _frame(cluster, c, x_yes, g_code[cluster], y, g_order)
    return _delete_at_random(complete, rng), complete


@functools.cache
def joint_truth(n_clusters=100_000):
    """The analysis model's coefficients under the joint generating model.

    The REML estimates on one complete sample of ``n_clusters`` clusters
    (about 10 rows each; seed -1 is never a replicate's): the pseudo-true
    values that the estimates of :func:`simulate_joint_replicate` data
    target, up to a standard error about ``sqrt(200 / n_clusters)`` times
    the standard errors of one replicate (0.012 for ``g_D``).
    """
    complete = simulate_joint_replicate(2**32 - 1, n_clusters=n_clusters)[1]
    return analyse_complete(complete)[0][list(TRUTH)].to_dict()


def _frame(cluster, c, x_yes, g_code, y, g_order):
    return pd.DataFrame(
        {
            "cluster": cluster,
            "c": c,
            "x": pd.Categorical(np.where(x_yes, "yes", "no"), categories=["no", "yes"]),
            "g": pd.Categorical(np.asarray(CATEGORIES)[g_code], categories=list(g_order)),
            "y": y,
        }
    )


def _delete_at_random(complete, rng):
    """The missingness of the module docstring (MAR), drawn from ``rng``."""
    data = complete.copy()
    n, c = len(data), data["c"].to_numpy()
    y_missing = rng.random(n) < expit(-1.6 + 0.8 * c)
    x_missing = rng.random(n) < expit(-1.9 - 0.8 * c)
    data.loc[y_missing, "y"] = np.nan
    data.loc[x_missing, "x"] = np.nan
    mean_observed_y = data.groupby("cluster")["y"].mean().to_numpy()
    mean_observed_y = np.where(
        np.isnan(mean_observed_y), np.nanmean(mean_observed_y), mean_observed_y
    )
    score = (mean_observed_y - mean_observed_y.mean()) / mean_observed_y.std()
    g_missing = rng.random(mean_observed_y.size) < expit(-2.4 + 1.2 * score)
    data.loc[g_missing[data["cluster"].to_numpy()], "g"] = np.nan
    return data


def _analysis_frame(data):
    """``data`` with ``g``'s categories in the analysis order (``A`` the reference)."""
    return data.assign(g=data["g"].cat.reorder_categories(list(CATEGORIES)))


def analyse(datasets):
    """Pooled REML fits of ``y ~ c + x + g + (1 | cluster)`` (PooledEstimates)."""
    datasets = [_analysis_frame(data) for data in datasets]
    pooled, _ = pool_random_intercept(datasets, "y", PREDICTORS, "cluster")
    return pooled


def analyse_complete(complete):
    """The same REML fit of the data before deletion: ``(estimate, std_error)`` Series."""
    complete = _analysis_frame(complete)
    design = pd.get_dummies(complete[PREDICTORS], drop_first=True, dtype=float)
    X = np.column_stack([np.ones(len(complete)), design.to_numpy(float)])
    names = ["Intercept"] + [str(col) for col in design.columns]
    beta, cov, _, _ = random_intercept_reml(complete["y"], X, complete["cluster"])
    return pd.Series(beta, index=names), pd.Series(np.sqrt(np.diag(cov)), index=names)


def impute_skjomo(data, seed, n_burn=N_BURN, n_between=N_BETWEEN, m=N_IMPUTATIONS, **params):
    """Impute with MultilevelJointImputer (the model of the module docstring)."""
    imputer = MultilevelJointImputer(
        cluster_col="cluster",
        outcome_cols=["y", "x"],
        covariate_cols=["c"],
        level2_cols=["g"],
        n_burn=n_burn,
        n_between=n_between,
        n_imputations=m,
        random_state=seed,
        **params,
    )
    return imputer.fit(data).sample()


def impute_jomo(frames, seeds, n_burn=N_BURN, n_between=N_BETWEEN, m=N_IMPUTATIONS):
    """Impute each frame with R's ``jomo::jomo`` (one ``Rscript`` for all of them).

    ``g``'s factor levels follow the categories of the first frame.
    Returns one list of ``m`` completed DataFrames per frame.
    """
    g_order = list(frames[0]["g"].cat.categories)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "g_levels.txt").write_text("\n".join(g_order) + "\n")
        for seed, frame in zip(seeds, frames):
            frame.to_csv(tmp / f"in_{seed}.csv", index=False)
        subprocess.run(
            ["Rscript", str(R_SCRIPT), str(tmp), str(n_burn), str(n_between), str(m)]
            + [str(s) for s in seeds],
            check=True,
            capture_output=True,
        )
        results = []
        for seed, frame in zip(seeds, frames):
            long = pd.read_csv(tmp / f"out_{seed}.csv")
            datasets = []
            for _, imp in long.groupby("Imputation", sort=True):
                completed = imp.drop(columns="Imputation").reset_index(drop=True)
                completed["x"] = pd.Categorical(completed["x"], categories=["no", "yes"])
                completed["g"] = pd.Categorical(completed["g"], categories=g_order)
                datasets.append(completed[frame.columns])
            results.append(datasets)
    return results


def replicate_record(package, seed, truth, pooled=None, complete=None):
    """One JSON-able line: estimate, SE and coverage of every term.

    ``truth``: dict of the true coefficients; ``pooled``: PooledEstimates
    (Rubin's intervals, t reference); or ``complete``: ``(estimate,
    std_error)`` of one complete-data fit (normal intervals).
    """
    if pooled is not None:
        estimate, std_error, ci = pooled.estimate, pooled.std_error, pooled.conf_int()
    else:
        estimate, std_error = complete
        half = stats.norm.ppf(0.975) * std_error
        ci = pd.DataFrame({"lo": estimate - half, "hi": estimate + half})
    record = {"package": package, "seed": int(seed)}
    for term, value in truth.items():
        lo, hi = (float(v) for v in ci.loc[term])
        record[term] = {
            "estimate": float(estimate[term]),
            "std_error": float(std_error[term]),
            "truth": float(value),
            "covered": bool(lo <= value <= hi),
        }
    return record


#: The two generating models of the study and the truth of each.
DESIGNS = {
    "analysis": (simulate_replicate, lambda: TRUTH),
    "joint": (simulate_joint_replicate, joint_truth),
}


def run_study(
    seeds,
    packages=("skjomo", "jomo", "complete"),
    design="analysis",
    out=None,
    batch=5,
    log=None,
):
    """Run replicates ``seeds`` for each arm; yield (and append) records.

    Arms: the keys of ``SKJOMO_VARIANTS``, ``jomo`` (skipped without
    ``Rscript``) and ``complete``, the analysis of the data before
    deletion (the reference every imputation is measured against).
    ``design``: a key of ``DESIGNS``. Records already in the JSON-lines
    file ``out`` are skipped; new ones are appended after every batch of
    ``batch`` replicates.
    """
    simulate, truth = DESIGNS[design]
    truth = truth()
    done = set()
    if out is not None and Path(out).exists():
        for line in Path(out).read_text().splitlines():
            rec = json.loads(line)
            done.add((rec["package"], rec["seed"]))
    use_r = "jomo" in packages and shutil.which("Rscript") is not None
    seeds = list(seeds)
    for start in range(0, len(seeds), batch):
        chunk = seeds[start : start + batch]
        records = []
        replicates = {s: simulate(s) for s in chunk}
        for s in chunk:
            data, complete = replicates[s]
            if "complete" in packages and ("complete", s) not in done:
                fit = analyse_complete(complete)
                records.append(replicate_record("complete", s, truth, complete=fit))
            for package, params in SKJOMO_VARIANTS.items():
                if package in packages and (package, s) not in done:
                    pooled = analyse(impute_skjomo(data, s, **params))
                    records.append(replicate_record(package, s, truth, pooled))
        todo = [s for s in chunk if ("jomo", s) not in done]
        if use_r and todo:
            imputed = impute_jomo([replicates[s][0] for s in todo], todo)
            for s, datasets in zip(todo, imputed):
                records.append(replicate_record("jomo", s, truth, analyse(datasets)))
        if out is not None:
            with open(out, "a") as fh:
                for rec in records:
                    fh.write(json.dumps(rec) + "\n")
        if log is not None:
            print(f"replicates {chunk[0]}..{chunk[-1]} done", file=log, flush=True)
        yield from records


def summarise(records):
    """Per arm and term: bias (Monte Carlo SE), empirical SD, mean SE,
    coverage, and the mean difference from the complete-data estimate of
    the same replicate (``vs_complete``, with its SE ``mc_se_vs_complete``).

    Returns a DataFrame indexed by (package, term).
    """
    by_package = {}
    for rec in records:
        by_package.setdefault(rec["package"], {})[rec["seed"]] = rec
    complete = by_package.get("complete", {})
    rows = []
    for package, recs in by_package.items():
        seeds = sorted(recs)
        for term in TRUTH:
            est = np.array([recs[s][term]["estimate"] for s in seeds])
            truth = np.array([recs[s][term].get("truth", TRUTH[term]) for s in seeds])
            paired = [s for s in seeds if s in complete]
            diff = np.array(
                [recs[s][term]["estimate"] - complete[s][term]["estimate"] for s in paired]
            )
            rows.append(
                {
                    "package": package,
                    "term": term,
                    "truth": truth.mean(),
                    "n": len(seeds),
                    "bias": (est - truth).mean(),
                    "mc_se_bias": est.std(ddof=1) / np.sqrt(len(seeds)),
                    "emp_sd": est.std(ddof=1),
                    "mean_se": np.mean([recs[s][term]["std_error"] for s in seeds]),
                    "coverage": np.mean([recs[s][term]["covered"] for s in seeds]),
                    "vs_complete": diff.mean() if diff.size else np.nan,
                    "mc_se_vs_complete": (
                        diff.std(ddof=1) / np.sqrt(diff.size) if diff.size > 1 else np.nan
                    ),
                }
            )
    return pd.DataFrame(rows).set_index(["package", "term"])


def paired_difference(records, term, a="skjomo", b="jomo"):
    """Mean and SE of the paired difference of ``term``'s estimates, ``a - b``."""
    est = {}
    for rec in records:
        est.setdefault(rec["package"], {})[rec["seed"]] = rec[term]["estimate"]
    seeds = sorted(set(est.get(a, {})) & set(est.get(b, {})))
    diff = np.array([est[a][s] - est[b][s] for s in seeds])
    return diff.mean(), diff.std(ddof=1) / np.sqrt(diff.size), diff.size


def _main(argv):
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--out", default="rare_category_study.jsonl")
    parser.add_argument(
        "--packages",
        default="skjomo,jomo,complete",
        help=f"comma-separated arms: {', '.join(SKJOMO_VARIANTS)}, jomo, complete",
    )
    parser.add_argument("--design", default="analysis", choices=sorted(DESIGNS))
    parser.add_argument("--summary", help="summarise a results file and exit")
    args = parser.parse_args(argv)
    if args.summary:
        records = [json.loads(x) for x in Path(args.summary).read_text().splitlines()]
    else:
        seeds = range(args.first_seed, args.first_seed + args.replicates)
        packages = tuple(args.packages.split(","))
        records = run_study(
            seeds, packages=packages, design=args.design, out=args.out, log=sys.stdout
        )
        records = list(records)
        records = [json.loads(x) for x in Path(args.out).read_text().splitlines()]
    with pd.option_context(
        "display.width", 160, "display.max_columns", None, "display.float_format", "{:.3f}".format
    ):
        print(summarise(records))
    arms = {rec["package"] for rec in records}
    for arm in SKJOMO_VARIANTS:
        if arm not in arms or "jomo" not in arms:
            continue
        for term in TRUTH:
            mean, se, n = paired_difference(records, term, a=arm)
            print(f"{arm} - jomo, {term}: {mean:+.3f} (SE {se:.3f}, {n} replicates)")


if __name__ == "__main__":
    _main(sys.argv[1:])
