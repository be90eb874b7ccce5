"""The row quantities the analysis state keeps between steps of compatible
imputation (doc/benchmarks.rst, "Compatible imputation: cheaper kernels"):
after a fit, every row's linear predictor, its exponential (logistic models
and the ordinal mixed model) and its likelihood (ordinal models) equal their
recomputation from the final parameters, random effects and design, whatever moves were
accepted or rejected on the way."""

import numpy as np
import pandas as pd
import pytest

from skjomo import SubstantiveModelImputer
from skjomo._gibbs._smc_ordinal import row_likelihood
from skjomo._gibbs._smc_ordinal_mixed import random_offsets


def _frame(seed=0, n=240):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(12), n // 12)
    x2 = rng.normal(size=n)
    x1 = 0.5 * x2 + rng.normal(size=n)
    latent = x1 + x2 + 0.5 * x1 * x2 + 0.7 * rng.normal(size=12)[g] + rng.logistic(size=n)
    frame = pd.DataFrame(
        {
            "yb": (latent > 0.5).astype(float),
            "yo": np.digitize(latent, [-1.0, 0.5, 2.0]).astype(float),
            "x1": x1,
            "x2": x2,
            "g": g,
        }
    )
    frame.loc[rng.random(n) < 0.3, "x1"] = np.nan
    frame.loc[rng.random(n) < 0.1, ["yb", "yo"]] = np.nan
    return frame


@pytest.mark.parametrize(
    "formula, model, outcome",
    [
        ("yb ~ x1 * x2", "logit", "yb"),
        ("yb ~ x1 * x2 + (1 | g)", "logit", "yb"),
        ("yo ~ x1 * x2", "ordinal", "yo"),
        ("yo ~ x1 * x2 + (1 | g)", "ordinal", "yo"),
    ],
)
def test_cached_row_quantities_match_the_final_state(formula, model, outcome):
    other = {"yb": "yo", "yo": "yb"}[outcome]
    frame = _frame().drop(columns=other)
    if "|" not in formula:
        frame = frame.drop(columns="g")
    imputer = SubstantiveModelImputer(
        formula, model=model, n_burn=40, n_between=5, n_imputations=2, n_chains=2, random_state=0
    ).fit(frame)
    am = imputer._encoded.model.analysis
    for state in imputer._chains.final_states:
        ast = state.analysis
        k = ast.w.shape[1]
        eta = ast.w @ ast.theta[:k] + random_offsets(am.random_effects, ast.random.b, ast.w)
        np.testing.assert_allclose(ast.eta, eta, rtol=1e-10, atol=1e-12)
        # exp(eta): logistic models and the ordinal mixed model (_smc_ordinal_kept.py)
        kept = model == "logit" or "|" in formula
        assert ast.exp_eta.size == (ast.y.size if kept else 0)
        if kept:
            np.testing.assert_allclose(ast.exp_eta, np.exp(ast.eta), rtol=1e-13)
        if ast.lik.size:
            expected = [row_likelihood(y, e, ast.theta, k) for y, e in zip(ast.y, ast.eta)]
            np.testing.assert_allclose(ast.lik, expected, rtol=1e-13)
        assert ast.lik.size == (ast.y.size if model == "ordinal" else 0)
