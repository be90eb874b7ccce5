"""skjomo.pooling against mitml on the same inputs (fixtures made by tests/r/mitml_fixtures.R)."""

import subprocess
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

from skjomo.pooling import compare_models, pool_constraints, pool_estimates

FIX = Path(__file__).parent / "fixtures" / "mitml"
R_SCRIPT = Path(__file__).parent / "r" / "mitml_fixtures.R"
RTOL = 1e-8
# pooled constraints use forward-difference derivatives (as mitml), which turn
# last-bit differences of numpy's elementary functions between numpy versions
# into relative differences of 1e-8 and more (with numpy 1.24 against R: up to
# 6e-7 in a covariance, 3e-6 in D2's df2; the same 1e-5 as for statsmodels fits)
FD_RTOL = 1e-5
EST_COLS = ["Estimate", "Std.Error", "t.value", "df", "P(>|t|)", "RIV", "FMI"]


def _results():
    return pd.read_csv(FIX / "results.csv", keep_default_na=False, dtype={"value": float})


RESULTS = _results()


def ref(block):
    sub = RESULTS[RESULTS["block"] == block]
    assert len(sub), block
    rows = list(dict.fromkeys(sub["row"]))
    cols = list(dict.fromkeys(sub["column"]))
    return sub.pivot(index="row", columns="column", values="value").loc[rows, cols]


def close(actual, expected, rtol=RTOL, atol=0.0):
    np.testing.assert_allclose(
        np.asarray(actual, float), np.asarray(expected, float), rtol=rtol, atol=atol
    )


def check_estimates(res, block):
    expected = ref(block)
    got = res.to_frame()
    assert list(got.columns) == list(expected.columns)
    for col in expected.columns:
        atol = 1e-15 if col == "P(>|t|)" else 0.0  # mitml: 2(1 - cdf), skjomo: 2 sf
        close(got[col], expected[col], atol=atol)


def check_test(res, block, rtol=RTOL):
    expected = ref(block).iloc[0]
    close(
        [res.F, res.df1, res.df2, res.p_value, res.riv],
        expected[["F.value", "df1", "df2", "P(>F)", "RIV"]].to_numpy(),
        rtol=rtol,
    )


@pytest.fixture(scope="module")
def linear():
    long = pd.read_csv(FIX / "linear_imputed.csv")
    data = [
        g.drop(columns="Imputation").reset_index(drop=True) for _, g in long.groupby("Imputation")
    ]
    full = [smf.ols("y ~ x1 + x2 + x3", d).fit() for d in data]
    null = [smf.ols("y ~ x1", d).fit() for d in data]
    gfull = [
        smf.glm("b ~ x1 + x2 + x3", d, family=sm.families.Binomial()).fit(tol=1e-12) for d in data
    ]
    gnull = [smf.glm("b ~ x1", d, family=sm.families.Binomial()).fit(tol=1e-12) for d in data]
    return {"full": full, "null": null, "gfull": gfull, "gnull": gnull}


# ------------------------------------------------------------------ linear regression


def test_estimates_lm(linear):
    res = pool_estimates(linear["full"], extra_params=True)
    check_estimates(res, "lm_estimates")
    close(res.extra, ref("lm_extra")["Estimate"])
    assert list(res.extra.index) == ["Residual~~Residual"]
    close(res.cov_params(), ref("lm_vcov"))
    close(res.conf_int(), ref("lm_confint"))
    assert list(res.conf_int().columns) == list(ref("lm_confint").columns)
    close(res.conf_int(0.9), ref("lm_confint90"))


def test_estimates_lm_dfcom(linear):
    check_estimates(pool_estimates(linear["full"], df_com=56), "lm_estimates_dfcom")
    # df_resid of the fits is 56, so "model" gives the same
    check_estimates(pool_estimates(linear["full"], df_com="model"), "lm_estimates_dfcom")


@pytest.mark.parametrize(
    "block, kwargs",
    [
        ("lm_D1", {"method": "D1"}),
        ("lm_D1_dfcom", {"method": "D1", "df_com": 56}),
        ("lm_D2_wald", {"method": "D2"}),
        ("lm_D2_positive", {"method": "D2", "ariv": "positive"}),
        ("lm_D2_likelihood", {"method": "D2", "use": "likelihood"}),
        ("lm_D3", {"method": "D3"}),
        ("lm_D4", {"method": "D4"}),
        ("lm_D4_robust", {"method": "D4", "ariv": "robust"}),
    ],
)
def test_compare_models_lm(linear, block, kwargs):
    check_test(compare_models(linear["full"], linear["null"], **kwargs), block)


@pytest.fixture(scope="module")
def lm_arrays():
    raw = pd.read_csv(FIX / "lm_fits.csv", keep_default_na=False)
    raw["value"] = raw["value"].astype(float)
    m = raw["imputation"].max()
    coef = raw[raw["column"] == ""]
    names = list(dict.fromkeys(coef["row"]))
    Q = np.array([coef[coef["imputation"] == i]["value"].to_numpy() for i in range(1, m + 1)])
    cov = raw[raw["column"] != ""]
    U = np.array(
        [
            cov[cov["imputation"] == i]["value"].to_numpy().reshape(len(names), -1)
            for i in range(1, m + 1)
        ]
    )
    return names, Q, U


CONSTRAINT_CASES = [
    ("lm_constraints_D1", ["x2", "x3"], {}),
    ("lm_constraints_nonlin_dfcom", ["x1/x2", "x1 - x3"], {"df_com": 56}),
    ("lm_constraints_nonlin_D2", ["x1/x2", "(Intercept) + x3^2"], {"method": "D2"}),
]


@pytest.mark.parametrize("block, constraints, kwargs", CONSTRAINT_CASES)
def test_constraints_lm_arrays(lm_arrays, block, constraints, kwargs):
    """Same per-imputation estimates as R: agreement to 1e-5 (forward differences as mitml)."""
    names, Q, U = lm_arrays
    assert names[0] == "(Intercept)"
    res = pool_constraints(
        estimates=Q, covariances=U, names=names, constraints=constraints, **kwargs
    )
    check_test(res.test, block, rtol=FD_RTOL)
    close(res.cov, ref(block + "_vcov"), rtol=FD_RTOL)
    close(res.estimate, ref(block + "_qbar")["Estimate"])


@pytest.mark.parametrize("block, constraints, kwargs", CONSTRAINT_CASES)
def test_constraints_lm_models(linear, block, constraints, kwargs):
    """From statsmodels fits: their estimates differ from lm's in the last bits, which
    moves forward-difference derivatives by ~1e-8 (and D2's df2 by more)."""
    res = pool_constraints(linear["full"], constraints=constraints, **kwargs)
    expected = ref(block).iloc[0]
    close(
        [res.test.F, res.test.df2, res.test.riv],
        expected[["F.value", "df2", "RIV"]].to_numpy(),
        rtol=1e-5,
    )
    close(res.cov, ref(block + "_vcov"), rtol=1e-6)


def test_lm_fits_match_r(linear, lm_arrays):
    names, Q, U = lm_arrays
    close([f.params.to_numpy() for f in linear["full"]], Q, rtol=1e-10)
    close([f.cov_params().to_numpy() for f in linear["full"]], U, rtol=1e-10)


# ------------------------------------------------------------------ logistic regression


def test_glm(linear):
    check_estimates(pool_estimates(linear["gfull"]), "glm_estimates")
    check_test(compare_models(linear["gfull"], linear["gnull"], method="D1"), "glm_D1")
    check_test(compare_models(linear["gfull"], linear["gnull"], method="D2"), "glm_D2_wald")
    check_test(
        compare_models(linear["gfull"], linear["gnull"], method="D2", use="likelihood"),
        "glm_D2_likelihood",
    )
    check_test(compare_models(linear["gfull"], linear["gnull"], method="D4"), "glm_D4")


def test_glm_d3_runs(linear):
    # mitml has no D3 for GLMs; skjomo evaluates the GLM log-likelihood at the pooled parameters
    res = compare_models(linear["gfull"], linear["gnull"], method="D3")
    assert res.df1 == 2 and np.isfinite(res.F) and 0 < res.p_value < 1
    # close to the other likelihood-based tests on these data
    assert abs(res.F - ref("glm_D4").iloc[0]["F.value"]) < 0.5


# ------------------------------------------------------------------ manual input


@pytest.fixture(scope="module")
def manual():
    raw = pd.read_csv(FIX / "manual_inputs.csv")
    m, p = raw["imputation"].max(), 3
    Q = np.zeros((m, p))
    U = np.zeros((m, p, p))
    for r in raw.itertuples():
        if r.column == 0:
            Q[r.imputation - 1, r.row - 1] = r.value
        else:
            U[r.imputation - 1, r.row - 1, r.column - 1] = r.value
    return Q, U


def test_manual(manual):
    Q, U = manual
    names = ["a", "b", "c"]
    res = pool_estimates(estimates=Q, covariances=U, names=names)
    check_estimates(res, "manual_estimates")
    close(res.cov_params(), ref("manual_vcov"))
    check_estimates(
        pool_estimates(estimates=Q, covariances=U, names=names, df_com=[10, 20, 1000]),
        "manual_estimates_dfcom",
    )
    V = np.array([np.diag(u) for u in U])
    check_estimates(pool_estimates(estimates=Q, covariances=V, names=names), "manual_variances")
    est_only = pool_estimates(estimates=Q, names=names)
    close(est_only.to_frame()["Estimate"], ref("manual_qhat_only")["Estimate"])
    tc = pool_constraints(
        estimates=Q, covariances=U, names=names, constraints=["a*b - c", "exp(a)"]
    )
    check_test(tc.test, "manual_constraints", rtol=FD_RTOL)
    close(tc.cov, ref("manual_constraints_vcov"), rtol=FD_RTOL)


# ------------------------------------------------------------------ mixed models (lme4 fits as input)


@pytest.fixture(scope="module")
def lmer_fits():
    fits = pd.read_csv(FIX / "jsp_lmer_fits.csv", keep_default_na=False)
    fits["value"] = fits["value"].astype(float)
    m = fits["imputation"].max()
    fe = fits[fits["kind"] == "fixef"]
    names = list(dict.fromkeys(fe["row"]))
    Q = np.array([fe[fe["imputation"] == i]["value"].to_numpy() for i in range(1, m + 1)])
    vc = fits[fits["kind"] == "vcov"]
    U = np.array(
        [
            vc[vc["imputation"] == i]["value"].to_numpy().reshape(len(names), len(names))
            for i in range(1, m + 1)
        ]
    )
    ex = fits[fits["kind"] == "extra"].pivot(index="imputation", columns="row", values="value")
    ll = fits[fits["kind"] == "loglik"].pivot(index="imputation", columns="row", values="value")
    return names, Q, U, ex, ll


def test_lmer_estimates_as_arrays(lmer_fits):
    names, Q, U, ex, _ = lmer_fits
    check_estimates(pool_estimates(estimates=Q, covariances=U, names=names), "jsp_estimates")
    check_estimates(
        pool_estimates(estimates=Q, covariances=U, names=names, df_com=1000), "jsp_estimates_dfcom"
    )
    # variance components and ICC are averaged per imputation, as mitml does
    extra = ref("jsp_extra")["Estimate"]
    close(ex["tau00"].mean(), extra["Intercept~~Intercept|school"])
    close(ex["sigma2"].mean(), extra["Residual~~Residual"])
    close((ex["tau00"] / (ex["tau00"] + ex["sigma2"])).mean(), extra["ICC|school"])


def test_lmer_tests_as_arrays(lmer_fits):
    from skjomo.pooling import pool_chi2, pool_wald

    names, Q, U, _, ll = lmer_fits
    idx = [names.index("fluent1"), names.index("fluent2")]
    check_test(pool_wald(Q[:, idx], U[:, idx][:, :, idx]), "jsp_D1")
    d = [q @ np.linalg.solve(u, q) for q, u in zip(Q[:, idx], U[:, idx][:, :, idx])]
    check_test(pool_chi2(d, 2), "jsp_D2_wald")
    lr = 2 * (ll["ml_full"] - ll["ml_null"])
    check_test(pool_chi2(lr.to_numpy(), 2, use="likelihood"), "jsp_D2_likelihood")


@pytest.fixture(scope="module")
def jsp_mixedlm():
    long = pd.read_csv(FIX / "jsp_imputed.csv")
    long["fluent"] = pd.Categorical(long["fluent"], categories=[0, 1, 2])
    data = [
        g.drop(columns="Imputation").reset_index(drop=True) for _, g in long.groupby("Imputation")
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = [
            smf.mixedlm("english ~ ravens + sex + fluent", d, groups="school").fit(
                method=["powell", "lbfgs"]
            )
            for d in data
        ]
        null = [
            smf.mixedlm("english ~ ravens + sex", d, groups="school").fit(
                method=["powell", "lbfgs"]
            )
            for d in data
        ]
    return full, null


def test_mixedlm_reader_close_to_lme4(jsp_mixedlm):
    """statsmodels' MixedLM fits differ from lme4's by optimiser tolerance only."""
    full, _ = jsp_mixedlm
    res = pool_estimates(full, extra_params=True)
    expected = ref("jsp_estimates")
    order = ["Intercept", "ravens", "sex", "fluent[T.1]", "fluent[T.2]"]
    close(res.estimate[order], expected["Estimate"], rtol=1e-4)
    # statsmodels' covariance of the fixed effects comes from the joint
    # information matrix, lme4's from (X'V^-1 X)^-1: they differ by ~0.3 %
    close(res.std_error[order], expected["Std.Error"], rtol=1e-2)
    close(res.df[order], expected["df"], rtol=5e-2)
    extra = ref("jsp_extra")["Estimate"]
    assert list(res.extra.index) == list(extra.index)
    close(res.extra, extra, rtol=1e-3)


def test_mixedlm_d3_close_to_lme4(jsp_mixedlm):
    full, null = jsp_mixedlm
    res = compare_models(full, null, method="D3")
    assert res.reml == "refit"
    expected = ref("jsp_D3").iloc[0]
    close([res.F, res.df2, res.riv], expected[["F.value", "df2", "RIV"]].to_numpy(), rtol=1e-3)
    res = compare_models(full, null, method="D2", use="likelihood")
    expected = ref("jsp_D2_likelihood").iloc[0]
    close([res.F, res.df2], expected[["F.value", "df2"]].to_numpy(), rtol=1e-3)


# ------------------------------------------------------------------ rerun R


@pytest.mark.rjomo
def test_r_script_reproduces_fixtures(tmp_path):
    repo = Path(__file__).parent.parent
    subprocess.run(
        ["Rscript", str(R_SCRIPT), str(tmp_path)], cwd=repo, check=True, capture_output=True
    )
    new = pd.read_csv(tmp_path / "results.csv", keep_default_na=False, dtype={"value": float})
    pd.testing.assert_frame_equal(new, RESULTS, rtol=1e-12)
