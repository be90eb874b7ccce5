"""SubstantiveModelImputer(model="ordinal") agrees with R's jomo.polr on sldata.

The fixture (tests/fixtures/jomo/smc_polr_sldata.json, made by
tests/r/make_smc_polr_fixtures.R) holds jomo's sldata and, for each model,
the pooled proportional-odds logistic analysis (MASS::polr: coefficients and
cut-points) of ``n_runs`` independent jomo.polr runs of ``nimp``
imputations; their spread is the Monte Carlo SD of one run's pooled
estimate. skjomo imputes the same data, fits statsmodels' OrderedModel
(logit) to every completed data set and pools by Rubin's rules (cut-points
through the OrderedModel reader). Its pooled estimate (one run of M
imputations, Monte Carlo SD ``sqrt(B / M)``) must lie within 4 combined
Monte Carlo SDs of jomo's mean, and its pooled SEs within 10% of jomo's.

Known differences (doc/smc.rst, "Differences from R's jomo"): jomo.polr's
analysis model is a cumulative probit, skjomo's a cumulative logit (the
analysis of the completed data is the logit model in both); jomo models the
fully observed covariates as normal, skjomo conditions on them.
"""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import FIXTURES
from jomo_compare import assert_pooled_agreement, rerun_r_fixture
from statsmodels.miscmodels.ordinal_model import OrderedModel

from skjomo import SubstantiveModelImputer
from skjomo.pooling import pool_estimates

M = 40


def _fixture():
    with open(FIXTURES / "jomo" / "smc_polr_sldata.json") as fh:
        return json.load(fh)


def _frame(fixture, columns):
    frame = pd.DataFrame(fixture["data"]).astype(float)[columns]
    social = frame["social"]
    frame["social"] = pd.Categorical(social.astype("Int64"), categories=[1, 2, 3, 4], ordered=True)
    return frame


def _compare(reference, name, seed):
    spec = reference["models"][name]
    formula = spec["formula"]
    frame = _frame(reference, spec["columns"])
    imputer = SubstantiveModelImputer(
        formula, model="ordinal", n_burn=500, n_between=50, n_imputations=M, random_state=seed
    )
    fits = [
        OrderedModel.from_formula(formula, data, distr="logit").fit(
            method="bfgs", disp=0, maxiter=500
        )
        for data in imputer.fit(frame).sample()
    ]
    pooled = pool_estimates(fits)
    runs = spec["runs"]
    terms = list(runs[0]["estimate"])
    estimates = np.array([[run["estimate"][t] for t in terms] for run in runs])
    ses = np.array([[run["se"][t] for t in terms] for run in runs])
    names = [t.replace("|", "/") for t in terms]  # R's "1|2" is statsmodels' "1/2"
    ours = pooled.estimate[names].to_numpy()
    mc_ours = np.sqrt(np.diag(pooled.between.loc[names, names].to_numpy()) / M)
    mc_ref = estimates.std(axis=0, ddof=1) / np.sqrt(len(runs))
    z = (ours - estimates.mean(axis=0)) / np.sqrt(mc_ours**2 + mc_ref**2)
    return pd.DataFrame(
        {
            "ours": ours,
            "jomo": estimates.mean(axis=0),
            "z": z,
            "se_ours": pooled.std_error[names].to_numpy(),
            "se_jomo": ses.mean(axis=0),
            "se_ratio": pooled.std_error[names].to_numpy() / ses.mean(axis=0),
        },
        index=names,
    )


@pytest.mark.parametrize("name", ["polr_example", "polr_interaction"])
def test_pooled_ordinal_analysis_matches_jomo_polr(name):
    table = _compare(_fixture(), name, seed=7)
    assert_pooled_agreement(table)


@pytest.mark.slow
@pytest.mark.rjomo
def test_live_r_jomo_polr_matches():
    """Rerun jomo.polr (5 runs per model) and compare with skjomo again."""
    reference = rerun_r_fixture("make_smc_polr_fixtures.R")
    for name in reference["models"]:
        table = _compare(reference, name, seed=8)
        assert_pooled_agreement(table)
