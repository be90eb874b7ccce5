"""SubstantiveModelImputer(model="ordinal") with a random intercept agrees
with R's jomo.clmm on jomo's cldata.

The fixture (tests/fixtures/jomo/smc_clmm_cldata.json, made by
tests/r/make_smc_clmm_fixtures.R) holds cldata (10 cities of 100 rows;
``social`` 4 ordered categories, 57 missing; ``measure`` 321 missing) and,
for jomo's own example ``social ~ age + measure + (1 | city)``, the pooled
cumulative-logit mixed analysis (``ordinal::clmm``, Laplace: cut-points and
coefficients) of ``n_runs`` independent jomo.clmm runs of ``nimp``
imputations; their spread is the Monte Carlo SD of one run's pooled
estimate. skjomo imputes the same data and fits the same model by the same
Laplace approximation (``clmm_random_intercept`` in tests/jomo_compare.py,
checked here against clmm on one completed data set); its pooled estimate
(one run of M imputations, Monte Carlo SD ``sqrt(B / M)``) must lie within 4
combined Monte Carlo SDs of jomo's mean and its pooled SEs within 10% of
jomo's.

Like with like: jomo.clmm leaves the missing outcomes missing (its completed
data sets still have the 57 missing ``social``), so clmm drops those rows;
skjomo imputes them from the model, and the comparison drops them again
before the analysis. Known differences (doc/smc.rst, "Ordinal mixed
model"): jomo.clmm's own analysis model is a cumulative *probit* mixed model
(it reports a residual variance fixed at 1), skjomo's a cumulative logit;
the analysis of the completed data is the logit clmm for both. jomo models
the fully observed ``age`` as a normal outcome, skjomo conditions on it.
"""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import FIXTURES
from jomo_compare import assert_pooled_agreement, clmm_random_intercept, rerun_r_fixture

from skjomo import SubstantiveModelImputer
from skjomo.pooling import pool_estimates

M = 30
FORMULA = "social ~ age + measure + (1 | city)"
CUTS = ["1/2", "2/3", "3/4"]
NAMES = CUTS + ["age", "measure"]


def _fixture():
    with open(FIXTURES / "jomo" / "smc_clmm_cldata.json") as fh:
        return json.load(fh)


def _frame(fixture):
    frame = pd.DataFrame(fixture["data"])[["social", "age", "measure", "city"]]
    frame = frame.astype({"social": float, "age": float, "measure": float, "city": int})
    frame["social"] = pd.Categorical(
        frame["social"].astype("Int64"), categories=[1, 2, 3, 4], ordered=True
    )
    return frame


def _clmm(data, warm):
    """``(estimate, covariance)`` of the Laplace clmm fit, indexed by NAMES
    (``warm``: see ``clmm_random_intercept``)."""
    data = data.dropna(subset=["social"])
    params, cov, _, _ = clmm_random_intercept(
        data["social"].cat.codes.to_numpy(),
        data[["age", "measure"]].to_numpy(float),
        data["city"].to_numpy(),
        warm=warm,
    )
    return pd.Series(params, index=NAMES), pd.DataFrame(cov, index=NAMES, columns=NAMES)


def _impute(frame, seed, m=M):
    imputer = SubstantiveModelImputer(
        FORMULA, model="ordinal", n_burn=500, n_between=40, n_imputations=m, random_state=seed
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ESS warnings of a short chain
        datasets = imputer.fit(frame).sample()
    missing = frame["social"].isna()
    for data in datasets:  # jomo.clmm leaves missing outcomes missing
        data.loc[missing, "social"] = np.nan
    return imputer, datasets


def _pool(datasets):
    warm = {}
    fits = [_clmm(d, warm) for d in datasets]
    return pool_estimates(estimates=[f[0] for f in fits], covariances=[f[1] for f in fits])


def _compare(reference, pooled):
    runs = reference["runs"]
    terms = list(runs[0]["estimate"])  # R's order: "1|2", "2|3", "3|4", age, measure
    names = [t.replace("|", "/") for t in terms]
    estimates = np.array([[run["estimate"][t] for t in terms] for run in runs])
    ses = np.array([[run["se"][t] for t in terms] for run in runs])
    ours = pooled.estimate[names].to_numpy()
    mc_ours = np.sqrt(np.diag(pooled.between.loc[names, names].to_numpy()) / pooled.m)
    mc_ref = estimates.std(axis=0, ddof=1) / np.sqrt(len(runs))
    return pd.DataFrame(
        {
            "ours": ours,
            "jomo": estimates.mean(axis=0),
            "z": (ours - estimates.mean(axis=0)) / np.sqrt(mc_ours**2 + mc_ref**2),
            "se_ours": pooled.std_error[names].to_numpy(),
            "se_jomo": ses.mean(axis=0),
            "se_ratio": pooled.std_error[names].to_numpy() / ses.mean(axis=0),
        },
        index=names,
    )


def test_laplace_fit_matches_ordinal_clmm():
    """The test's clmm fit reproduces R's ordinal::clmm on one completed data set."""
    check = _fixture()["check"]
    data = pd.DataFrame(check["data"]).dropna()
    params, cov, tau2, loglik = clmm_random_intercept(
        data["social"].astype(int).to_numpy() - 1,
        data[["age", "measure"]].to_numpy(float),
        data["city"].to_numpy(),
    )
    np.testing.assert_allclose(params, list(check["estimate"].values()), atol=1e-4)
    np.testing.assert_allclose(cov, check["cov"], rtol=1e-3, atol=1e-7)
    assert tau2 == pytest.approx(check["variance"], rel=1e-3)
    assert loglik == pytest.approx(check["loglik"], abs=1e-3)


def test_pooled_ordinal_mixed_analysis_matches_jomo_clmm():
    reference = _fixture()
    imputer, datasets = _impute(_frame(reference), seed=5)
    assert_pooled_agreement(_compare(reference, _pool(datasets)))
    rates = imputer.acceptance_rates_
    assert rates["analysis-model random effects"] > 0.8
    assert rates["analysis-model coefficients"] > 0.5


@pytest.mark.slow
@pytest.mark.rjomo
def test_live_r_jomo_clmm_matches(tmp_path):
    """Rerun jomo.clmm (3 runs) and compare with skjomo again; then fit R's
    clmm itself to skjomo's imputations (written as CSV) and check that it
    pools to the same numbers as the test's fit."""
    import subprocess
    from pathlib import Path

    reference = rerun_r_fixture("make_smc_clmm_fixtures.R", runs=3)
    _, datasets = _impute(_frame(reference), seed=6)
    pooled = _pool(datasets)
    assert_pooled_agreement(_compare(reference, pooled))

    stacked = pd.concat(
        [d.assign(Imputation=k + 1) for k, d in enumerate(datasets)], ignore_index=True
    )
    stacked["social"] = stacked["social"].astype("Int64")
    path = tmp_path / "imputations.csv"
    stacked.to_csv(path, index=False)
    tests = Path(__file__).parent
    out = subprocess.run(
        ["Rscript", str(tests / "r" / "make_smc_clmm_fixtures.R"), "--fit", str(path)],
        cwd=tests.parent,
        check=True,
        capture_output=True,
        text=True,
    )
    r_pooled = json.loads(out.stdout)
    terms = list(r_pooled["estimate"])
    names = [t.replace("|", "/") for t in terms]
    np.testing.assert_allclose(
        pooled.estimate[names], [r_pooled["estimate"][t] for t in terms], atol=1e-4
    )
    np.testing.assert_allclose(
        pooled.std_error[names], [r_pooled["se"][t] for t in terms], rtol=1e-3
    )
