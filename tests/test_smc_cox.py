"""SubstantiveModelImputer(model="cox"): the survival formula, the kernels of
the Cox model (partial likelihood, Breslow baseline, theta's Metropolis-Hastings
target) against statsmodels' PHReg, the imputations and the PHReg reader.

The known-truth simulation is in tests/test_smc_simulation.py, the agreement
with R's jomo.coxph in tests/test_smc_cox_agreement.py.
"""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from invariants import assert_observed_identical

from skjomo import MultipleImputationPipeline, StatsmodelsModel, SubstantiveModelImputer
from skjomo._analysis_model import parse_analysis_formula
from skjomo._gibbs._smc import (
    build_analysis_model,
    draw_analysis_parameters,
    initial_analysis_state,
)
from skjomo._gibbs._smc_cox import COX, cox_newton_point
from skjomo.pooling import pool_estimates, read_fit

RUN = {"n_burn": 100, "n_between": 10, "n_imputations": 3, "random_state": 0}
FORMULA = "Surv(time, status) ~ x1 * x2"


def _survival_data(n=300, seed=0, ties=False, missing=True):
    """Exponential times with an x1:x2 interaction, ~30% censored, x1 30% missing,
    sex a two-category column with missing values."""
    rng = np.random.default_rng(seed)
    x2 = rng.binomial(1, 0.5, n).astype(float)
    x1 = 0.5 * x2 + rng.normal(size=n)
    sex = rng.choice(["f", "m"], size=n)
    eta = 0.5 * x1 - 0.5 * x2 + 0.5 * x1 * x2 + 0.3 * (sex == "m")
    event_time = rng.exponential(1 / (0.2 * np.exp(eta)))
    censor = rng.exponential(1 / 0.08, size=n)
    time = np.minimum(event_time, censor)
    if ties:
        time = np.ceil(time)
    frame = pd.DataFrame(
        {
            "time": time,
            "status": (event_time <= censor).astype(np.int64),
            "x1": x1,
            "x2": x2,
            "sex": pd.Categorical(sex),
        }
    )
    if missing:
        frame.loc[rng.random(n) < 0.3, "x1"] = np.nan
        frame.loc[rng.random(n) < 0.1, "sex"] = None
    return frame


def _complete_model(time, status, w):
    """An analysis model and state with complete covariates ``w`` (the design
    itself: one continuous variable per column, entering linearly)."""
    n, k = w.shape
    am = build_analysis_model(
        np.arange(n),
        np.zeros((n, 1), bool),
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        family=COX,
        y=status.astype(float),
        xvars=w,
        var_col=np.full(k, -1),
        var_block=np.full(k, -1),
        term_ptr=np.arange(k + 1),
        factor_var=np.arange(k),
        factor_power=np.ones(k, np.int64),
        factor_level=np.full(k, -1),
        time=time,
        event_grid=np.unique(time[status > 0]),
    )
    return am, initial_analysis_state(am, np.zeros((n, 1)))


# ------------------------------------------------------------------ formula
def test_survival_formula():
    parsed = parse_analysis_formula("Surv(t, d) ~ x1 * C(g) + I(x1**2)", "cox")
    assert (parsed.time, parsed.outcome) == ("t", "d")
    assert parsed.columns == ("x1", "g")
    assert parsed.terms[0].is_intercept  # dropped once the layout is resolved
    assert parse_analysis_formula("Surv(`my time`, d) ~ x - 1", "cox").time == "my time"


@pytest.mark.parametrize(
    "formula, message",
    [
        ("time ~ x1", r"must read 'Surv\(time, event\) ~ terms'"),
        ("Surv(time) ~ x1", r"must read 'Surv\(time, event\) ~ terms'"),
        ("Surv(time, time) ~ x1", "same column 'time' twice"),
        ("Surv(time, status) ~ x1 + time", "'time' also appears on the right-hand side"),
        ("Surv(time, status) ~ x1 + status", "'status' also appears on the right-hand side"),
    ],
)
def test_survival_formula_errors(formula, message):
    with pytest.raises(ValueError, match=message):
        parse_analysis_formula(formula, "cox")


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda f: f.assign(time=f.time.where(f.index != 3)), "time column 'time' .* 1 missing"),
        (
            lambda f: f.assign(status=f.status.astype(float).where(f.index != 3)),
            "event column 'status' .* missing values. Survival outcomes are not imputed",
        ),
        (lambda f: f.assign(time=f.time - 100), "finite non-negative times"),
        (lambda f: f.assign(status=f.status * 2), r"must be 1 \(event\) or 0 \(censored\)"),
        (lambda f: f.assign(status=0), "every row is censored"),
        (lambda f: f.assign(time=f.time.astype(str)), "time column 'time' .* must be numeric"),
    ],
)
def test_bad_survival_outcome(change, message):
    with pytest.raises(ValueError, match=message):
        SubstantiveModelImputer(FORMULA, model="cox", **RUN).fit(change(_survival_data(50)))


def test_survival_outcome_needs_cox():
    with pytest.raises(ValueError, match="use model='cox'"):
        parse_analysis_formula(FORMULA, "lm")


def test_no_covariate():
    with pytest.raises(ValueError, match="has no covariate"):
        SubstantiveModelImputer("Surv(time, status) ~ 1", model="cox", **RUN).fit(
            _survival_data(50)
        )


# ------------------------------------------------------------------ kernels
@pytest.mark.parametrize("ties", [False, True])
def test_partial_likelihood_matches_phreg(ties):
    """Breslow partial log-likelihood, score and information as statsmodels'."""
    frame = _survival_data(200, seed=1, ties=ties).dropna()
    w = np.column_stack([frame.x1, frame.x2, frame.x1 * frame.x2])
    time, status = frame.time.to_numpy(), frame.status.to_numpy()
    am, ast = _complete_model(time, status, w)
    theta = np.array([0.3, -0.2, 0.4])
    chol, center = np.empty((3, 3)), np.empty(3)
    loglik, ok = cox_newton_point(am.cox, ast, theta, chol, center)
    model = sm.PHReg(time, w, status=status, ties="breslow")
    info = -model.hessian(theta)
    assert ok
    np.testing.assert_allclose(loglik, model.loglike(theta), rtol=1e-10)
    np.testing.assert_allclose(chol @ chol.T, info, rtol=1e-9)
    np.testing.assert_allclose(center, theta + np.linalg.solve(info, model.score(theta)), rtol=1e-9)


def test_breslow_baseline():
    """The Breslow H0 matches statsmodels' and satisfies sum_i H0(t_i) exp(eta_i)
    = number of events; the grid holds H0 at the distinct event times."""
    frame = _survival_data(200, seed=2, ties=True).dropna()
    w = np.column_stack([frame.x1, frame.x2])
    time, status = frame.time.to_numpy(), frame.status.to_numpy()
    am, ast = _complete_model(time, status, w)
    fit = sm.PHReg(time, w, status=status, ties="breslow").fit()
    ast.theta[:] = fit.params
    ast.eta[:] = w @ fit.params
    from skjomo._gibbs._smc_cox import baseline_at_times, update_baseline

    update_baseline(am.cox, ast)
    np.testing.assert_allclose(ast.cox.cumhaz @ np.exp(ast.eta), status.sum(), rtol=1e-12)
    times, cumhaz, _ = fit.baseline_cumulative_hazard[0]
    # statsmodels reports the left limit H0(t-), without the jump at t
    np.testing.assert_allclose(
        np.interp(am.cox.grid, times, cumhaz)[1:], ast.cox.baseline[:-1], rtol=1e-8
    )
    np.testing.assert_array_equal(baseline_at_times(am.cox, ast.cox.baseline), ast.cox.cumhaz)


def test_theta_draws_target_partial_likelihood_posterior():
    """With complete data the theta move leaves the partial-likelihood
    posterior (flat prior) invariant: its draws have the mean and covariance
    of that posterior, close to normal with the MLE and inverse information
    at n = 400."""
    frame = _survival_data(400, seed=3).dropna()
    w = np.column_stack([frame.x1, frame.x2])
    time, status = frame.time.to_numpy(), frame.status.to_numpy()
    am, ast = _complete_model(time, status, w)
    rng = np.random.default_rng(0)
    draws, accepted = np.empty((3000, 2)), np.zeros(2, np.int64)
    for t in range(draws.shape[0]):
        draw_analysis_parameters(rng, am, ast, np.zeros((w.shape[0], 1)), accepted)
        draws[t] = ast.theta
    accepted = accepted[0]
    fit = sm.PHReg(time, w, status=status, ties="breslow").fit()
    cov = fit.cov_params()
    assert accepted / draws.shape[0] > 0.8
    z = (draws.mean(axis=0) - fit.params) / np.sqrt(np.diag(cov) / draws.shape[0])
    assert np.all(np.abs(z) < 4), z
    np.testing.assert_allclose(np.cov(draws.T), cov, rtol=0.15, atol=0.1 * cov.max())
    # the baseline follows theta: Breslow at the last draw
    np.testing.assert_allclose(ast.cox.cumhaz @ np.exp(w @ ast.theta), status.sum())


# --------------------------------------------------------------- imputation
def test_imputations_keep_observed_and_survival_columns():
    frame = _survival_data()
    original = frame.copy()
    imputer = SubstantiveModelImputer(FORMULA + " + sex", model="cox", **RUN).fit(frame)
    completed = imputer.sample()
    pd.testing.assert_frame_equal(frame, original)
    assert list(imputer.theta_.index) == ["x1", "x2", "sex[T.m]", "x1:x2"]
    assert set(imputer.acceptance_rates_) == {
        "analysis-model covariates",
        "analysis-model coefficients",
    }
    for data in completed:
        assert not data.isna().any().any()
        assert_observed_identical(data, frame)
        assert data.dtypes.equals(frame.dtypes)
    assert not completed[0].x1.equals(completed[1].x1)
    again = SubstantiveModelImputer(FORMULA + " + sex", model="cox", **RUN).fit(frame).sample()
    pd.testing.assert_frame_equal(completed[2], again[2])
    assert "Cox proportional hazards" in str(imputer.summary(warn=False))


def test_transform_new_rows_uses_stored_baseline():
    frame = _survival_data()
    imputer = SubstantiveModelImputer(FORMULA, model="cox", **RUN).fit(frame)
    new = _survival_data(40, seed=9)[["time", "status", "x1", "x2", "sex"]]
    new.loc[new.index[0], "time"] = 1e6  # after the last event time: H0 at its end
    out = imputer.transform(new)
    assert_observed_identical(out, new)
    assert out.x1.notna().all()
    with pytest.raises(ValueError, match="Survival outcomes are not imputed"):
        imputer.transform(new.assign(status=new.status.astype(float).where(new.index != 2)))


def test_compatible_imputation_recovers_full_data_fit():
    """x1 missing at random given x2 and the event: the pooled log hazard
    ratios stay within 2 pooled SEs of the fit to the data before deletion."""
    full = _survival_data(600, seed=5, missing=False)
    rng = np.random.default_rng(5)
    gone = rng.random(600) < np.where((full.x2 == 1) | (full.status == 1), 0.4, 0.1)
    frame = full.assign(x1=full.x1.mask(gone))
    imputer = SubstantiveModelImputer(
        FORMULA + " + sex",
        model="cox",
        n_burn=200,
        n_between=10,
        n_imputations=6,
        random_state=1,
    )
    analysis = "time ~ x1 * x2 + sex"
    pooled = imputer.fit(frame).sample().fit(analysis, smf.phreg, status="status").pool()
    reference = smf.phreg(analysis, full, status="status").fit().params
    assert np.all(np.abs(pooled.estimate.to_numpy() - reference) < 2 * pooled.std_error), (
        pooled.estimate,
        reference,
    )


# ----------------------------------------------------------------- pooling
def test_phreg_reader_and_pipeline():
    frame = _survival_data(200).dropna()
    fit = smf.phreg("time ~ x1 * x2", frame, status="status").fit()
    summary = read_fit(fit)
    assert summary.names == ["x1", "x2", "x1:x2"]
    np.testing.assert_array_equal(summary.estimates, fit.params)
    np.testing.assert_array_equal(summary.covariance, fit.cov_params())
    assert summary.df_resid is None and summary.problem is None
    data = _survival_data(150)
    pipe = MultipleImputationPipeline(
        SubstantiveModelImputer(FORMULA, model="cox", n_burn=50, n_between=5),
        StatsmodelsModel("time ~ x1 * x2", model="phreg", model_kwargs={"status": "status"}),
        n_imputations=3,
        random_state=0,
    ).fit(data.drop(columns="time"), data["time"])
    assert pipe.pooled_.names == ["x1", "x2", "x1:x2"]
    complete = data.dropna().head(5)
    fit = pipe.estimators_[0]
    np.testing.assert_allclose(
        fit.predict(complete),
        np.column_stack([complete.x1, complete.x2, complete.x1 * complete.x2])
        @ fit.results_.params,
    )
    by_hand = pool_estimates([e.results_ for e in pipe.estimators_])
    pd.testing.assert_series_equal(pipe.pooled_.estimate, by_hand.estimate)
