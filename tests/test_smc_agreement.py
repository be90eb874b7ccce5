"""SubstantiveModelImputer agrees with R's jomo.lm / jomo.glm on jomo's sldata.

The fixture (tests/fixtures/jomo/smc_sldata.json, made by
tests/r/make_smc_fixtures.R) holds the data and, for each model, the pooled
analysis of ``n_runs`` independent jomo runs of ``nimp`` imputations; their
spread is the Monte Carlo SD of one run's pooled estimate. skjomo's pooled
estimate (one run of M imputations, Monte Carlo SD ``sqrt(B / M)``) must lie
within 4 combined Monte Carlo SDs of jomo's mean, and its pooled SEs within
10% of jomo's mean SE.

Known differences (doc/smc.rst, "Differences from R's jomo"): jomo models the
fully observed ``age`` as normal, skjomo conditions on it; jomo.glm's binary
model is probit, skjomo's logistic (the analysis of the completed data is a
logistic regression in both).
"""

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from conftest import FIXTURES, R_SCRIPTS

from skjomo import SubstantiveModelImputer
from skjomo.pooling import pool_estimates

M = 40


def _fixture():
    with open(FIXTURES / "jomo" / "smc_sldata.json") as fh:
        return json.load(fh)


def _frame(fixture):
    return pd.DataFrame(fixture["data"]).astype(float)[["measure", "age", "sex", "social"]]


def _analysis(model, formula, data):
    fit = (smf.ols if model == "lm" else smf.logit)(formula, data=data)
    return fit.fit(disp=0) if model == "logit" else fit.fit()


def _our_name(term, categorical):
    """skjomo's (formulaic's) name of an R coefficient name."""
    term = "Intercept" if term == "(Intercept)" else term.replace("^", " ** ")
    for column in categorical:
        term = re.sub(rf"\b{column}(\w+)", rf"{column}[T.\1]", term)
    return term


def _compare(reference, data, name, seed):
    spec = reference["models"][name]
    formula, model = spec["formula"], spec["model"]
    frame = data.copy()
    columns = [c for c in frame.columns if c in formula]
    for column in spec["categorical"]:
        frame[column] = pd.Categorical([None if pd.isna(v) else str(int(v)) for v in frame[column]])
    imputer = SubstantiveModelImputer(
        formula,
        model=model,
        exclude_cols=[c for c in frame if c not in columns],
        n_burn=500,
        n_between=50,
        n_imputations=M,
        random_state=seed,
    )
    pooled = pool_estimates([_analysis(model, formula, d) for d in imputer.fit(frame).sample()])
    runs = spec["runs"]
    terms = list(runs[0]["estimate"])
    estimates = np.array([[run["estimate"][t] for t in terms] for run in runs])
    ses = np.array([[run["se"][t] for t in terms] for run in runs])
    names = [_our_name(t, spec["categorical"]) for t in terms]
    ours = pooled.estimate[names].to_numpy()
    mc_ours = np.sqrt(np.diag(pooled.between.loc[names, names].to_numpy()) / M)
    mc_ref = estimates.std(axis=0, ddof=1) / np.sqrt(len(runs))
    z = (ours - estimates.mean(axis=0)) / np.sqrt(mc_ours**2 + mc_ref**2)
    se_ratio = pooled.std_error[names].to_numpy() / ses.mean(axis=0)
    return pd.DataFrame(
        {
            "ours": ours,
            "jomo": estimates.mean(axis=0),
            "z": z,
            "se_ours": pooled.std_error[names].to_numpy(),
            "se_jomo": ses.mean(axis=0),
            "se_ratio": se_ratio,
        },
        index=names,
    )


@pytest.mark.parametrize("name", ["lm_interaction_factor", "lm_quadratic_numeric", "glm_binary"])
def test_pooled_analysis_matches_jomo(name):
    reference = _fixture()
    table = _compare(reference, _frame(reference), name, seed=7)
    assert np.all(np.abs(table.z) <= 4), table
    assert np.all(np.abs(table.se_ratio - 1) <= 0.10), table


@pytest.mark.slow
@pytest.mark.rjomo
def test_live_r_matches():
    """Rerun jomo (5 runs per model) and compare with skjomo again."""
    repo = Path(__file__).parent.parent
    out = subprocess.run(
        ["Rscript", str(R_SCRIPTS / "make_smc_fixtures.R"), "--stdout", "--runs", "5"],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    )
    reference = json.loads(out.stdout)
    for name in reference["models"]:
        table = _compare(reference, _frame(reference), name, seed=8)
        assert np.all(np.abs(table.z) <= 4), table
        assert np.all(np.abs(table.se_ratio - 1) <= 0.10), table
