"""SubstantiveModelImputer with a mixed logistic model agrees with R's jomo.glmer.

The fixture (tests/fixtures/jomo/smc_glmer_tldata.json, made by
tests/r/make_smc_glmer_fixtures.R) holds 40 clusters of jomo's ``tldata``
(999 rows, ``measure.a`` 22% missing) and the pooled fixed effects of
``previous.events ~ measure.a + measure.b + (1 | city)`` (glmer, Laplace)
from ``n_runs`` independent jomo.glmer runs of ``nimp`` imputations; their
spread is the Monte Carlo SD of one run's pooled estimate. skjomo's
imputations are analysed by the same model, fitted in Python by
tests/mixed_logit_fit.py (Laplace, as glmer's default; checked here against
glmer's fit of the complete cases) and pooled by Rubin's rules; the pooled
estimate (one run of M imputations, Monte Carlo SD ``sqrt(B / M)``) must
lie within 4 combined Monte Carlo SDs of jomo's mean, and its pooled SEs
within 10% of jomo's mean SE.

Known differences (doc/smc.rst, "Two-level analysis models"): jomo.glmer's
binary analysis model is a probit one (a latent normal outcome), skjomo's
the logistic mixed model itself; the priors of the random-intercept
variance differ.
"""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import FIXTURES
from jomo_compare import assert_pooled_agreement, rerun_r_fixture
from mixed_logit_fit import fit_frame

from skjomo import SubstantiveModelImputer
from skjomo.pooling import pool_estimates

M = 20
COVARIATES = ["measure_a", "measure_b"]
NAMES = ["Intercept", *COVARIATES]


def _fixture():
    with open(FIXTURES / "jomo" / "smc_glmer_tldata.json") as fh:
        return json.load(fh)


def _frame(fixture):
    frame = pd.DataFrame(fixture["data"])
    frame.columns = [c.replace(".", "_") for c in frame.columns]
    return frame.astype(
        {"previous_events": float, "measure_a": float, "measure_b": float, "city": int}
    )


def _fit(data, n_nodes=1):
    return fit_frame(data, "previous_events", COVARIATES, "city", n_nodes=n_nodes)


@pytest.mark.parametrize("method, n_nodes", [("laplace", 1), ("agq9", 9)])
def test_python_fit_matches_glmer(method, n_nodes):
    """The Python fit used for pooling reproduces glmer on the complete cases."""
    fixture = _fixture()
    reference = fixture["complete_cases"][method]
    fit = _fit(_frame(fixture).dropna(), n_nodes)
    np.testing.assert_allclose(fit.beta, list(reference["estimate"].values()), atol=2e-4)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.cov)), list(reference["se"].values()), rtol=5e-3)
    np.testing.assert_allclose(fit.tau2, reference["variance"], rtol=5e-3)
    np.testing.assert_allclose(fit.loglik, reference["loglik"], atol=1e-2)


def _compare(reference, name, seed):
    imputer = SubstantiveModelImputer(
        "previous_events ~ measure_a + measure_b + (1 | city)",
        model="logit",
        n_burn=500,
        n_between=50,
        n_imputations=M,
        random_state=seed,
    )
    datasets = imputer.fit(_frame(reference)).sample()
    fits = [_fit(d) for d in datasets]
    pooled = pool_estimates(
        estimates=[pd.Series(f.beta, index=NAMES) for f in fits],
        covariances=[f.cov for f in fits],
    )
    runs = reference["models"][name]["runs"]
    estimates = np.array([list(run["estimate"].values()) for run in runs])
    ses = np.array([list(run["se"].values()) for run in runs])
    ours = pooled.estimate[NAMES].to_numpy()
    mc_ours = np.sqrt(np.diag(pooled.between.loc[NAMES, NAMES].to_numpy()) / M)
    mc_ref = estimates.std(axis=0, ddof=1) / np.sqrt(len(runs))
    table = pd.DataFrame(
        {
            "ours": ours,
            "jomo": estimates.mean(axis=0),
            "z": (ours - estimates.mean(axis=0)) / np.sqrt(mc_ours**2 + mc_ref**2),
            "se_ours": pooled.std_error[NAMES].to_numpy(),
            "se_jomo": ses.mean(axis=0),
            "se_ratio": pooled.std_error[NAMES].to_numpy() / ses.mean(axis=0),
        },
        index=NAMES,
    )
    return table, imputer


def test_pooled_fixed_effects_match_jomo_glmer():
    table, imputer = _compare(_fixture(), "glmer_intercept", seed=3)
    assert_pooled_agreement(table)
    # the random-effect moves are counted (one per cluster and iteration)
    assert 0.5 < imputer.acceptance_rates_["analysis-model random effects"] <= 1
    assert "analysis-model random effects" in imputer.summary(warn=False)


@pytest.mark.slow
@pytest.mark.rjomo
def test_live_r_matches():
    """Rerun jomo.glmer (5 runs) and compare with skjomo again."""
    reference = rerun_r_fixture("make_smc_glmer_fixtures.R")
    for name in reference["models"]:
        table, _ = _compare(reference, name, seed=4)
        assert_pooled_agreement(table)
