"""SubstantiveModelImputer(model="cox") agrees with R's jomo.coxph on jomo's surdata.

The fixture (tests/fixtures/jomo/smc_surdata.json, made by
tests/r/make_smc_cox_fixtures.R) holds the data and, for each model, the
pooled Cox analysis (coxph, Breslow ties) of ``n_runs`` independent jomo runs
of ``nimp`` imputations; their spread is the Monte Carlo SD of one run's
pooled estimate. skjomo's pooled log hazard ratios (PHReg, Breslow ties; one
run of M imputations, Monte Carlo SD ``sqrt(B / M)``) must lie within 4
combined Monte Carlo SDs of jomo's mean, and the pooled SEs within 10% of
jomo's mean SE (doc/smc.rst, "Cox proportional-hazards model").
"""

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from conftest import FIXTURES
from jomo_compare import assert_pooled_agreement, rerun_r_fixture
from test_smc_agreement import _our_name

from skjomo import SubstantiveModelImputer
from skjomo.pooling import pool_estimates

M = 40


def _fixture():
    with open(FIXTURES / "jomo" / "smc_surdata.json") as fh:
        return json.load(fh)


def _frame(fixture):
    frame = pd.DataFrame(fixture["data"]).astype(float)
    frame["sex"] = pd.Categorical(
        [None if pd.isna(v) else str(int(v)) for v in frame["sex"]], categories=["0", "1"]
    )
    return frame[["time", "status", "measure", "sex"]]


def _compare(reference, name, seed):
    spec = reference["models"][name]
    formula = spec["formula"]
    imputer = SubstantiveModelImputer(
        formula, model="cox", n_burn=500, n_between=50, n_imputations=M, random_state=seed
    )
    analysis = "time ~" + formula.split("~", 1)[1]
    fits = [
        smf.phreg(analysis, data, status="status", ties="breslow").fit()
        for data in imputer.fit(_frame(reference)).sample()
    ]
    pooled = pool_estimates(fits)
    runs = spec["runs"]
    terms = list(runs[0]["estimate"])
    estimates = np.array([[run["estimate"][t] for t in terms] for run in runs])
    ses = np.array([[run["se"][t] for t in terms] for run in runs])
    names = [_our_name(t, spec["categorical"]) for t in terms]
    ours = pooled.estimate[names].to_numpy()
    mc_ours = np.sqrt(np.diag(pooled.between.loc[names, names].to_numpy()) / M)
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


@pytest.mark.parametrize(
    "name",
    [pytest.param("cox_quadratic", marks=pytest.mark.slow), "cox_interaction"],  # CI time
)
def test_pooled_cox_analysis_matches_jomo(name):
    table = _compare(_fixture(), name, seed=7)
    assert_pooled_agreement(table)


@pytest.mark.slow
@pytest.mark.rjomo
def test_live_r_matches():
    """Rerun jomo.coxph (5 runs per model) and compare with skjomo again."""
    reference = rerun_r_fixture("make_smc_cox_fixtures.R")
    for name in reference["models"]:
        table = _compare(reference, name, seed=8)
        assert_pooled_agreement(table)
