"""SubstantiveModelImputer with a mixed logistic analysis model: known truth.

Issue 13, scenario 3 (tests/smc_mixed_logit_simulation.py): a random-intercept
logistic model with a partially observed level-1 covariate, missing at
random given the outcome. The default test runs one replicate of the study
with short chains; the slow test runs the 200 replicates whose table is in
doc/smc.rst ("Two-level analysis models"). The agreement with R's
jomo.glmer is in tests/test_smc_glmer_agreement.py.
"""

import numpy as np
import pytest
from smc_mixed_logit_simulation import TAU2, TRUTH, replicate, study, summarize

TERMS = [*TRUTH, "tau2"]


def test_one_replicate_matches_the_complete_data():
    """One replicate (1000 rows, 30% of x missing): the pooled estimates of the
    compatible imputations lie within half a complete-data SE of the
    complete-data fit (for tau^2: within 0.3 on the log scale), their SEs are
    not smaller (missing data add information loss), and every
    Metropolis-Hastings step accepts most of its proposals."""
    result = replicate(7, n_imputations=5, n_burn=200, n_between=20, methods=("smc",))
    full, smc = result["full"], result["smc"]
    assert 0.2 < result["missing"] < 0.4
    difference = smc["estimate"] - full["estimate"]
    difference[-1] = np.log(smc["estimate"][-1] / full["estimate"][-1])
    assert np.all(np.abs(difference) < 0.5 * full["se"]), dict(zip(TERMS, difference))
    assert np.all(smc["se"][:3] > 0.98 * full["se"][:3])
    assert set(result["acceptance"]) == {
        "analysis-model covariates",
        "analysis-model coefficients",
        "analysis-model random effects",
    }
    assert all(rate > 0.5 for rate in result["acceptance"].values())
    table = summarize([result, result]).set_index(["method", "term"])
    assert list(table.loc["smc"].index) == TERMS
    assert np.all(table.coverage.between(0, 1))


@pytest.mark.slow
def test_mixed_logistic_study():
    """Issue 13, scenario 3 (200 replicates; about half an hour): the
    compatible imputations are unbiased for the fixed effects and the
    random-intercept variance and cover them at the nominal rate."""
    table = study(200, seed=1).set_index(["method", "term"])
    print(table.to_string())
    smc, full = table.loc["smc"], table.loc["full"]
    for term in TERMS:
        # within 2.5 binomial Monte Carlo SEs of 0.95 (0.015 at 200 replicates)
        assert 0.91 <= smc.loc[term, "coverage"] <= 0.99, term
    for term in TRUTH:
        assert abs(smc.loc[term, "bias"] - full.loc[term, "bias"]) < 3 * smc.loc[term, "mcse"]
    assert abs(smc.loc["tau2", "bias"] - full.loc["tau2", "bias"]) < 0.1 * TAU2
