"""Unit tests of skjomo.pooling: reference values (doc/pooling.rst), errors, readers, printing."""

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

from skjomo.pooling import (
    FitSummary,
    compare_models,
    pool_chi2,
    pool_constraints,
    pool_estimates,
    pool_lrt,
    pool_stacked_lrt,
    pool_wald,
    read_fit,
)
from skjomo.pooling._table import format_table

U1 = [[0.04, 0.01], [0.01, 0.01]]
U2 = [[0.05, 0.012], [0.012, 0.012]]
U3 = [[0.045, 0.011], [0.011, 0.011]]
QA = np.array([[1.2, 0.5], [1.4, 0.45], [1.1, 0.6]])
UA = np.array([U1, U2, U3])
QB = np.array([[1.2, 0.5], [1.4, 0.45], [1.1, 0.6], [1.3, 0.52], [1.25, 0.4]])
UB = np.array([U1, U2, U3, U1, U2])
RTOL = 1e-12


def close(a, b, rtol=RTOL):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=rtol)


# ------------------------------------------------------------------ reference values: Rubin's rules


def test_rubin_reference_values():
    res = pool_estimates(estimates=QA, covariances=UA, names=["a", "b"])
    close(res.estimate, [1.2333333333333334, 0.51666666666666661])
    close(res.std_error, [0.27588242262078072, 0.13703203194062977])
    close(res.t_value, [4.4705034906433108, 3.7704079794315288])
    close(res.df, [11.970025510204097, 11.657551020408171])
    close(res.p_value, [0.00076965063005252077, 0.0028043509662916133], rtol=1e-10)
    close(res.riv, [0.69135802469135732, 0.70707070707070674])
    close(res.fmi, [0.48774908646399417, 0.49413251926730750])
    close(
        res.cov_params(),
        [
            [0.0761111111111111, -0.0034444444444444305],
            [-0.0034444444444444305, 0.018777777777777775],
        ],
    )
    ci = res.conf_int()
    assert list(ci.columns) == ["2.5 %", "97.5 %"]
    close(  # t quantiles at non-integer df: scipy 1.10 agrees with newer scipy to ~3e-12
        ci,
        [[0.63207018591986930, 1.83459648074679738], [0.21712386688769625, 0.81620946644563697]],
        rtol=1e-10,
    )
    assert list(res.conf_int(0.9).columns) == ["5 %", "95 %"]
    assert list(res.conf_int(0.999).columns) == ["0.05 %", "99.95 %"]


def test_rubin_reference_values_df_com():
    res = pool_estimates(estimates=QA, covariances=UA, names=["a", "b"], df_com=[20, 30])
    close(res.df, [5.6765287591366320, 6.8327112581222149])
    close(res.p_value, [0.0048466723027811298, 0.0072979359077378625], rtol=1e-10)
    close(res.fmi, [0.54504424278550700, 0.53335424329306746])
    close(res.std_error, [0.27588242262078072, 0.13703203194062977])


def test_input_shapes_agree():
    ref = pool_estimates(estimates=QA, covariances=UA, names=["a", "b"]).to_frame()
    frame = pd.DataFrame(QA, columns=["a", "b"])
    as_lists = pool_estimates(
        estimates=[pd.Series(q, index=["a", "b"]) for q in QA],
        covariances=[pd.DataFrame(u, index=["a", "b"], columns=["a", "b"]) for u in UA],
    )
    pd.testing.assert_frame_equal(as_lists.to_frame(), ref)
    pd.testing.assert_frame_equal(
        pool_estimates(estimates=frame, covariances=list(UA)).to_frame(), ref
    )
    # a reordered Series is aligned by name
    rev = [pd.Series(q[::-1], index=["b", "a"]) for q in QA]
    rev_res = pool_estimates(estimates=rev, covariances=UA[:, ::-1, ::-1])
    assert rev_res.names == ["b", "a"]
    pd.testing.assert_frame_equal(rev_res.to_frame().loc[["a", "b"]], ref)
    # variances only: same single-parameter results
    V = np.array([np.diag(u) for u in UA])
    res = pool_estimates(estimates=QA, covariances=V, names=["a", "b"])
    close(res.to_frame(), ref)
    with pytest.warns(UserWarning, match="only variances"):
        cov = res.cov_params()
    assert np.isnan(cov.iloc[0, 1])
    # default names
    assert pool_estimates(estimates=QA).names == ["Parameter.1", "Parameter.2"]


def test_estimates_only():
    res = pool_estimates(estimates=QA, names=["a", "b"])
    assert list(res.to_frame().columns) == ["Estimate"]
    assert res.std_error is None
    # no tests were computed, so the printout has no footer about them (mitml prints one)
    assert "Unadjusted" not in str(res) and "hypothesis" not in str(res)
    assert str(res).startswith("Pooled point estimates (no inferences)")
    assert "no standard errors, tests or confidence intervals" in str(res)
    with pytest.raises(ValueError, match="no variances"):
        res.conf_int()


def test_zero_between_variance():
    Q = np.array([[1.0, 2.0], [1.0, 2.5], [1.0, 1.5]])
    U = np.array([[0.1, 0.2]] * 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = pool_estimates(estimates=Q, covariances=U)
        dfc = pool_estimates(estimates=Q, covariances=U, df_com=10)
    assert res.df.iloc[0] == np.inf and res.riv.iloc[0] == 0 and res.fmi.iloc[0] == 0
    close(dfc.df.iloc[0], 10 * 11 / 13)  # ν_obs at λ = 0
    assert np.isfinite(res.conf_int().iloc[0]).all()


def test_errors():
    with pytest.raises(ValueError, match="at least m = 2"):
        pool_estimates(estimates=QA[:1], covariances=UA[:1])
    with pytest.raises(ValueError, match="non-finite"):
        U = UA.copy()
        U[0, 0, 0] = np.nan
        pool_estimates(estimates=QA, covariances=U)
    with pytest.raises(ValueError, match="shape"):
        pool_estimates(estimates=QA, covariances=UA[:, :1, :1])
    with pytest.raises(ValueError, match="different from those"):
        pool_estimates(
            estimates=[
                pd.Series([1.0, 2.0], index=["a", "b"]),
                pd.Series([1.0, 2.0], index=["a", "c"]),
            ]
        )
    with pytest.raises(ValueError, match="either"):
        pool_estimates()
    with pytest.raises(ValueError, match="at least m = 2"):
        pool_wald(QA[:1], UA[:1])
    with pytest.raises(ValueError, match="at least m = 2"):
        pool_chi2([1.0], 2)
    singular = np.array([[[1.0, 1.0], [1.0, 1.0]]] * 3)
    with pytest.raises(ValueError, match="singular"):
        pool_wald(QA, singular)
    with pytest.raises(ValueError, match="singular"):
        pool_constraints(
            estimates=QA,
            covariances=singular,
            names=["a", "b"],
            constraints=["a", "b"],
            method="D2",
        )
    with pytest.raises(ValueError, match="not a parameter"):
        pool_constraints(estimates=QA, covariances=UA, names=["a", "b"], constraints="a - z")
    with pytest.raises(ValueError, match="unsupported"):
        pool_constraints(estimates=QA, covariances=UA, names=["a", "b"], constraints="a.__class__")
    with pytest.raises(ValueError, match="full covariance"):
        pool_constraints(
            estimates=QA,
            covariances=np.array([np.diag(u) for u in UA]),
            names=["a", "b"],
            constraints="a",
        )


# ------------------------------------------------------------------ reference values: D1, D2, constraints


def test_d1_d2_reference_values():
    r = pool_wald(QA, UA)
    close([r.F, r.df2, r.riv], [8.3764694728858604, 9.0890030389177596, 1.3502673796791431])
    r = pool_wald(QB, UB)
    close([r.F, r.df2, r.riv], [10.710859123690900, 18.657360215089703, 0.82034759358288711])
    r = pool_wald(QB, UB, df_com=30)
    close([r.F, r.df2], [10.710859123690900, 7.91730879124942])
    d = [q @ np.linalg.solve(u, q) for q, u in zip(QB, UB)]
    close(
        d, [41.333333333333329, 40.625, 40.080213903743314, 47.320000000000007, 32.346491228070178]
    )
    r = pool_chi2(d, 2)
    close([r.F, r.df2, r.riv], [16.296887301869628, 82.59366878125158, 0.21765696882499888])
    # ariv="positive" clamps only the reported RIV in D2
    r_neg = pool_chi2([4.0, 4.0, 4.0, 4.0, 4.0], 2)
    r_pos = pool_chi2([4.0, 4.0, 4.0, 4.0, 4.0], 2, ariv="positive")
    assert r_pos.riv == 0 and r_pos.F == r_neg.F


def test_d1_df_com_warns_for_small_m():
    with pytest.warns(UserWarning, match="k\\(m − 1\\) > 4"):
        pool_wald(QA, UA, df_com=30)


def test_constraint_reference_values():
    r = pool_constraints(estimates=QB, covariances=UB, names=["a", "b"], constraints=["a", "b"])
    close(
        [r.test.F, r.test.df2, r.test.p_value, r.test.riv],
        [10.710859124909327, 18.657360222257182, 0.00079845092936933499, 0.82034759316292227],
        rtol=1e-10,
    )
    close(
        r.cov,
        [
            [0.081915641675349968, 0.020023823531777157],
            [0.020023823531777157, 0.020023823543571198],
        ],
        rtol=1e-10,
    )
    r = pool_constraints(estimates=QB, covariances=UB, names=["a", "b"], constraints="a/b")
    close(
        [r.test.F, r.test.df2, r.test.riv, r.estimate.iloc[0], r.cov.iloc[0, 0]],
        [
            10.201045131398637,
            14.017291285183811,
            1.1468104810771342,
            2.5938888888888889,
            0.65956570932048619,
        ],
        rtol=1e-10,
    )
    r = pool_constraints(
        estimates=QB, covariances=UB, names=["a", "b"], constraints="a/b", method="D2"
    )
    close(
        [r.test.F, r.test.df2, r.test.riv],
        [16.65328367233128, 35.992877091053934, 0.50007421165178201],
        rtol=1e-10,
    )
    # callables and odd names
    r2 = pool_constraints(
        estimates=QB,
        covariances=UB,
        names=["x[T.1]", "(Intercept)"],
        constraints="x[T.1]/Intercept",
    )
    close(r2.test.F, 10.201045131398637, rtol=1e-10)
    r3 = pool_constraints(
        estimates=QB, covariances=UB, names=["a", "b"], constraints=lambda th: [th["a"] / th["b"]]
    )
    close(r3.test.F, 10.201045131398637, rtol=1e-10)
    assert "a/b:" in str(r)


def test_lrt_and_stacked_from_arrays():
    lf = np.array([-100.0, -101.0, -99.5])
    ln = np.array([-103.0, -104.5, -102.0])
    lfp = np.array([-100.2, -101.1, -99.9])
    lnp = np.array([-103.1, -104.4, -102.3])
    r = pool_lrt(lf, ln, lfp, lnp, 2)
    dbar = np.mean(2 * (lf - ln))
    dt = np.mean(2 * (lfp - lnp))
    rr = 4 / (2 * 2) * (dbar - dt)
    close([r.riv, r.F], [rr, dt / (2 * (1 + rr))])
    s = pool_stacked_lrt(lf, ln, -302.0, -310.0, 2)
    dhat = 2 * (-302 / 3 + 310 / 3)
    rr = 4 / 4 * (dbar - dhat)
    close([s.riv, s.F, s.df2], [rr, dhat / (2 * (1 + rr)), 2 * 2 * (1 + 1 / rr) ** 2])


# ------------------------------------------------------------------ printing


def test_table_format():
    frame = pd.DataFrame({"Estimate": [1.2333, -0.0], "df": [1e6, np.nan]}, index=["a", "long"])
    text = format_table(frame)
    lines = text.split("\n")
    assert lines[1].startswith("a    ") and lines[1].endswith(" ")
    assert "1.000e+06" in text and "NaN" in text and " 0.000" in lines[2] and "-0.000" not in text
    res = pool_estimates(estimates=QA, covariances=UA, names=["a", "b"])
    expected = (
        "   Estimate Std.Error   t.value        df   P(>|t|)       RIV       FMI \n"
        "a     1.233     0.276     4.471    11.970     0.001     0.691     0.488 \n"
        "b     0.517     0.137     3.770    11.658     0.003     0.707     0.494 "
    )
    assert expected in str(res)
    assert "imputed data sets" in res.summary()
    dfc = pool_estimates(estimates=QA, covariances=UA, names=["a", "b"], df_com=[20, 30])
    assert "df=[20,30]" in str(dfc)
    t = pool_wald(QB, UB)
    assert "Combination method: D1" in str(t)
    assert list(t.to_frame().columns) == ["F.value", "df1", "df2", "P(>F)", "RIV"]


# ------------------------------------------------------------------ readers


@pytest.fixture(scope="module")
def datasets():
    rng = np.random.default_rng(1)
    out = []
    for _ in range(4):
        x = rng.normal(size=(80, 2))
        y = 1 + x @ [0.5, -0.2] + rng.normal(size=80)
        b = (rng.random(80) < 1 / (1 + np.exp(-x[:, 0]))).astype(float)
        g = np.repeat(np.arange(10), 8)
        y = y + rng.normal(size=10)[g]
        out.append(pd.DataFrame({"y": y, "x1": x[:, 0], "x2": x[:, 1], "b": b, "g": g}))
    return out


def test_readers_statsmodels(datasets):
    ols = [smf.ols("y ~ x1 + x2", d).fit() for d in datasets]
    s = read_fit(ols[0])
    assert s.names == ["Intercept", "x1", "x2"] and s.df_resid == 77
    assert list(s.extra) == ["Residual~~Residual"]
    arr = [
        sm.OLS(d["y"].to_numpy(), sm.add_constant(d[["x1", "x2"]].to_numpy())).fit()
        for d in datasets
    ]
    assert read_fit(arr[0]).names == ["x0", "x1", "x2"]
    close(pool_estimates(arr).estimate, pool_estimates(ols).estimate)
    logit = [smf.logit("b ~ x1 + x2", d).fit(disp=0) for d in datasets]
    res = pool_estimates(logit)
    assert res.names == ["Intercept", "x1", "x2"]
    glm = [smf.glm("y ~ x1 + x2", d).fit() for d in datasets]
    close(
        pool_estimates(glm, extra_params=True).extra, pool_estimates(ols, extra_params=True).extra
    )
    with pytest.warns(UserWarning, match="no extra parameters"):
        pool_estimates(logit, extra_params=True)
    with pytest.warns(UserWarning, match="ignored"):
        pool_estimates(estimates=QA, extra_params=True)


def test_reader_mixedlm_extras(datasets):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = [smf.mixedlm("y ~ x1 + x2", d, groups="g").fit(method=["powell"]) for d in datasets]
        slopes = [
            smf.mixedlm("y ~ x1 + x2", d, groups="g", re_formula="1 + x1").fit(method=["powell"])
            for d in datasets
        ]
    res = pool_estimates(fits, extra_params=True)
    assert res.names == ["Intercept", "x1", "x2"]
    assert list(res.extra.index) == ["Intercept~~Intercept|g", "Residual~~Residual", "ICC|g"]
    tau = np.array([f.cov_re.iloc[0, 0] for f in fits])
    sig = np.array([f.scale for f in fits])
    close(res.extra["ICC|g"], np.mean(tau / (tau + sig)))
    res = pool_estimates(slopes, extra_params=True)
    assert list(res.extra.index) == [
        "Intercept~~Intercept|g",
        "x1~~x1|g",
        "Intercept~~x1|g",
        "Residual~~Residual",
        "ICC|g",
    ]
    # D1 on MixedLM fixed effects, D3/D4 with ML refits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        null = [smf.mixedlm("y ~ x1", d, groups="g").fit(method=["powell"]) for d in datasets]
        d1 = compare_models(fits, null)
        d3 = compare_models(fits, null, method="D3")
    assert d1.parameters == ["x2"] and d1.reml == "used"
    assert d3.reml == "refit" and d3.df1 == 1 and np.isfinite(d3.F)


def test_mixedlm_loglik_matches_statsmodels(datasets):
    from skjomo.pooling._likelihood import likelihood_adapter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = smf.mixedlm("y ~ x1 + x2", datasets[0], groups="g").fit(reml=False)
    a = likelihood_adapter(fit)
    close(a.loglik(), fit.llf, rtol=1e-10)
    assert a.npar() == 5


def test_readers_sklearn_and_function(datasets):
    from sklearn.linear_model import BayesianRidge, LinearRegression, LogisticRegression

    lin = [LinearRegression().fit(d[["x1", "x2"]], d["y"]) for d in datasets]
    res = pool_estimates(lin)
    assert res.names == ["Intercept", "x1", "x2"] and res.std_error is None
    ols = [smf.ols("y ~ x1 + x2", d).fit() for d in datasets]
    close(res.estimate, pool_estimates(ols).estimate, rtol=1e-8)
    br = pool_estimates([BayesianRidge().fit(d[["x1", "x2"]], d["y"]) for d in datasets])
    assert br.names == ["x1", "x2"] and br.std_error is not None
    with pytest.warns(UserWarning, match="penalised LogisticRegression"):
        lr = pool_estimates([LogisticRegression().fit(d[["x1", "x2"]], d["b"]) for d in datasets])
    assert lr.names == ["Intercept", "x1", "x2"]

    def reader(fit):
        return fit.params, fit.cov_params()

    pd.testing.assert_frame_equal(
        pool_estimates(ols, reader=reader).to_frame(), pool_estimates(ols).to_frame()
    )
    res = pool_estimates(ols, reader=lambda f: (f.params.to_numpy(), f.bse.to_numpy() ** 2))
    close(res.std_error, pool_estimates(ols).std_error)
    assert isinstance(read_fit(ols[0]), FitSummary)
    with pytest.raises(TypeError, match="cannot read"):
        pool_estimates([object(), object()])


def test_different_names_error(datasets):
    fits = [smf.ols("y ~ x1 + x2", datasets[0]).fit(), smf.ols("y ~ x1", datasets[1]).fit()]
    with pytest.raises(ValueError, match="different parameter names"):
        pool_estimates(fits)
    with pytest.raises(ValueError, match="at least m = 2"):
        pool_estimates(fits[:1])


def test_compare_models_errors_and_warnings(datasets):
    full = [smf.ols("y ~ x1 + x2", d).fit() for d in datasets]
    null = [smf.ols("y ~ x1", d).fit() for d in datasets]
    with pytest.raises(ValueError, match="nested"):
        compare_models(null, full)
    with pytest.raises(ValueError, match="order"):
        compare_models(null, full, method="D3")
    with pytest.raises(ValueError, match="null_model has"):
        compare_models(full, null[:2])
    with pytest.warns(UserWarning, match="df_com"):
        compare_models(full, null, method="D2", df_com=50)
    with pytest.raises(TypeError, match="not available"):
        from sklearn.linear_model import LinearRegression

        lin = [LinearRegression().fit(d[["x1", "x2"]], d["y"]) for d in datasets]
        compare_models(lin, lin, method="D3")
    # D1 on a single parameter equals the squared Rubin t with ARIV
    d1 = compare_models(full, null)
    assert d1.parameters == ["x2"] and d1.df1 == 1
    for mm in ("D2", "D3", "D4"):
        res = compare_models(full, null, method=mm)
        assert res.df1 == 1 and np.isfinite(res.F) and 0 <= res.p_value <= 1
