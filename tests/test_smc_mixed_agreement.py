"""SubstantiveModelImputer with a linear mixed model agrees with R's jomo.lmer.

The fixture (tests/fixtures/jomo/smc_tldata.json, made by
tests/r/make_smc_mixed_fixtures.R) holds 40 clusters of 25 rows of jomo's
``tldata`` and, for each model, the pooled fixed effects (lmer, REML) of
``n_runs`` independent jomo.lmer runs of ``nimp`` imputations; their spread
is the Monte Carlo SD of one run's pooled estimate. skjomo's pooled estimate
(statsmodels MixedLM, REML; one run of M imputations, Monte Carlo SD
``sqrt(B / M)``) must lie within 4 combined Monte Carlo SDs of jomo's mean,
and its pooled SEs within 10% of jomo's mean SE.

Known differences (doc/smc.rst, "Two-level analysis models"): the priors of
the random-effect covariance differ (they matter for the near-zero slope
variance of ``lmer_slope``, not for the fixed effects compared here).
"""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from conftest import FIXTURES
from jomo_compare import assert_pooled_agreement, rerun_r_fixture

from skjomo import SubstantiveModelImputer
from skjomo.pooling import pool_estimates

M = 20
RE_FORMULA = {"lmer_intercept": "~1", "lmer_slope": "~measure_a"}


def _fixture():
    with open(FIXTURES / "jomo" / "smc_tldata.json") as fh:
        return json.load(fh)


def _frame(fixture):
    frame = pd.DataFrame(fixture["data"])[["measure.b", "measure.a", "city"]]
    frame.columns = ["measure_b", "measure_a", "city"]
    return frame.astype({"measure_b": float, "measure_a": float, "city": int})


def _analysis(data, re_formula):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return smf.mixedlm("measure_b ~ measure_a", data, groups="city", re_formula=re_formula).fit(
            reml=True, method=["powell", "lbfgs"]
        )


def _compare(reference, name, seed):
    spec = reference["models"][name]
    formula = spec["formula"].replace(".", "_")
    imputer = SubstantiveModelImputer(
        formula, n_burn=500, n_between=50, n_imputations=M, random_state=seed
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a near-singular slope variance mixes slowly
        datasets = imputer.fit(_frame(reference)).sample()
    pooled = pool_estimates([_analysis(d, RE_FORMULA[name]) for d in datasets])
    runs = spec["runs"]
    terms = list(runs[0]["estimate"])
    estimates = np.array([[run["estimate"][t] for t in terms] for run in runs])
    ses = np.array([[run["se"][t] for t in terms] for run in runs])
    names = ["Intercept", "measure_a"]
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
    # the slope model's MixedLM fits are slow (a near-zero slope variance)
    ["lmer_intercept", pytest.param("lmer_slope", marks=pytest.mark.slow)],
)
def test_pooled_fixed_effects_match_jomo_lmer(name):
    table = _compare(_fixture(), name, seed=3)
    assert_pooled_agreement(table)


@pytest.mark.slow
@pytest.mark.rjomo
def test_live_r_matches():
    """Rerun jomo.lmer (5 runs per model) and compare with skjomo again."""
    reference = rerun_r_fixture("make_smc_mixed_fixtures.R")
    for name in reference["models"]:
        table = _compare(reference, name, seed=4)
        assert_pooled_agreement(table)
