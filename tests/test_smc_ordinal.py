"""SubstantiveModelImputer(model="ordinal"), theta_start, the OrderedModel reader.

Checks the outcome handling, the exactness of the ordinal kernels (the
coefficient step against the large-sample posterior, the covariate step and
the outcome draw against exact distributions), the starting values and the
pooling of statsmodels' OrderedModel fits. The known-truth simulation is in
tests/test_smc_simulation.py, the agreement with R's jomo.polr in
tests/test_smc_agreement.py.
"""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.miscmodels.ordinal_model import OrderedModel

from skjomo import SubstantiveModelImputer
from skjomo._gibbs._smc import AnalysisState, build_analysis_model, initial_analysis_state
from skjomo._gibbs._smc_cox import build_cox_data, empty_cox_state
from skjomo._gibbs._smc_mixed import build_random_effects, initial_random_effects
from skjomo._gibbs._smc_ordinal import (
    draw_ordinal_outcome,
    draw_ordinal_parameters,
    ordinal_fit,
    ordinal_row_log_likelihood,
    ordinal_starting_fit,
)
from skjomo.pooling import pool_estimates, read_fit

RUN = {"n_burn": 60, "n_between": 10, "n_imputations": 3, "random_state": 0}
LEVELS = ["low", "mid", "high", "top"]


def _expit(x):
    return 1 / (1 + np.exp(-x))


def _data(n=300, seed=0, cuts=(-1.0, 0.5, 2.0)):
    rng = np.random.default_rng(seed)
    x2 = rng.normal(size=n)
    x1 = 0.5 * x2 + rng.normal(size=n)
    latent = x1 + x2 + 0.5 * x1 * x2 + rng.logistic(size=n)
    y = pd.Categorical(np.array(LEVELS)[np.digitize(latent, cuts)], categories=LEVELS, ordered=True)
    frame = pd.DataFrame({"y": y, "x1": x1, "x2": x2})
    frame.loc[rng.random(n) < 0.3, "x1"] = np.nan
    frame.loc[rng.random(n) < 0.1, "y"] = np.nan
    return frame


def _ordered_fit(data, formula="y ~ x1 * x2"):
    return OrderedModel.from_formula(formula, data, distr="logit").fit(method="bfgs", disp=0)


# ------------------------------------------------------------------ outcome
def test_ordered_categorical_outcome_round_trip():
    frame = _data()
    before = frame.copy()
    imputer = SubstantiveModelImputer("y ~ x1 * x2", model="ordinal", **RUN).fit(frame)
    pd.testing.assert_frame_equal(frame, before)
    completed = imputer.sample()
    for data in completed:
        assert data["y"].dtype == frame["y"].dtype
        assert not data.isna().any().any()
        observed = before["y"].notna()
        assert (data.loc[observed, "y"] == before.loc[observed, "y"]).all()
    imputed = np.concatenate([d.loc[before["y"].isna(), "y"].to_numpy() for d in completed])
    assert len(set(imputed)) > 1
    assert list(imputer.theta_.index) == ["x1", "x2", "x1:x2", "low/mid", "mid/high", "high/top"]
    assert np.all(np.diff(imputer.theta_.iloc[3:].to_numpy()) > 0)
    assert "analysis-model coefficients" in imputer.acceptance_rates_
    assert imputer.acceptance_rates_["analysis-model coefficients"] > 0.5
    assert imputer.chains_["theta"].shape[-1] == 6
    assert "(proportional-odds logistic)" in imputer.summary(warn=False)


@pytest.mark.parametrize("dtype", ["float64", "Int64"])
def test_numeric_outcome_keeps_values_and_dtype(dtype):
    frame = _data()
    codes = frame["y"].cat.codes.astype(float).where(frame["y"].notna())
    frame["y"] = (10 * codes + 10).astype(dtype)  # 10, 20, 30, 40
    imputer = SubstantiveModelImputer("y ~ x1 + x2", model="ordinal", **RUN).fit(frame)
    completed = imputer.transform(frame)
    assert completed["y"].dtype == frame["y"].dtype
    assert set(completed["y"]) <= {10, 20, 30, 40}
    assert list(imputer.theta_.index)[2:] == (
        ["10.0/20.0", "20.0/30.0", "30.0/40.0"]
        if dtype == "float64"
        else ["10/20", "20/30", "30/40"]
    )


def test_unobserved_category_is_left_out():
    frame = _data()
    frame["y"] = (
        frame["y"]
        .cat.add_categories(["never"])
        .cat.reorder_categories(["never"] + LEVELS, ordered=True)
    )
    imputer = SubstantiveModelImputer("y ~ x1 + x2", model="ordinal", **RUN).fit(frame)
    assert "never/low" not in imputer.theta_.index
    assert "never" not in set(imputer.transform(frame)["y"])


@pytest.mark.parametrize(
    "values, message",
    [
        (pd.Categorical(["a", "b", "c"] * 100), "unordered Categorical"),
        (np.array(["a", "b", "c"] * 100, dtype=object), "have no order"),
        (np.ones(300), "at least two values"),
    ],
)
def test_outcome_errors_name_the_column(values, message):
    frame = _data().assign(y=values)
    with pytest.raises(ValueError, match=f"'y'.*{message}"):
        SubstantiveModelImputer("y ~ x1 + x2", model="ordinal", **RUN).fit(frame)


def test_intercept_dropped_and_categorical_main_effect_allowed():
    frame = _data()
    frame["g"] = np.where(np.arange(len(frame)) % 3 == 0, "a", "b")
    imputer = SubstantiveModelImputer("y ~ x1 + g - 1", model="ordinal", **RUN).fit(frame)
    assert list(imputer.theta_.index)[:2] == ["x1", "g[T.b]"]
    assert "Intercept" not in imputer.theta_.index


# ---------------------------------------------------------------- theta_start
def _layout(imputer):
    return imputer._codec.analysis


def test_theta_start_series_in_any_order():
    frame = _data()
    names = ["x1", "x2", "x1:x2", "low/mid", "mid/high", "high/top"]
    start = pd.Series([0.9, 1.1, 0.4, -1.2, 0.4, 1.9], index=names)
    imputer = SubstantiveModelImputer(
        "y ~ x1 * x2", model="ordinal", theta_start=start.iloc[::-1], **RUN
    ).fit(frame)
    np.testing.assert_array_equal(_layout(imputer).theta_start, start.to_numpy())
    am = build_analysis_model(
        np.arange(0),
        np.zeros((len(frame), 1), bool),
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        **_layout(imputer).sampler_arrays(_layout(imputer).encode(frame)),
    )
    state = initial_analysis_state(am, np.zeros((0, 1)))
    np.testing.assert_array_equal(state.theta, start.to_numpy())


def test_theta_start_logit_array_is_used():
    from skjomo._gibbs._smc import _starting_fit  # noqa: F401  (default path exists)

    frame = _data()
    frame["y"] = (frame["y"] >= "high").astype(float).where(frame["y"].notna())
    imputer = SubstantiveModelImputer(
        "y ~ x1 + x2", model="logit", theta_start=[0.1, 0.2, 0.3], **RUN
    ).fit(frame)
    np.testing.assert_array_equal(_layout(imputer).theta_start, [0.1, 0.2, 0.3])


@pytest.mark.parametrize(
    "start, message",
    [
        ([1.0, 2.0], "must hold 6 values"),
        (pd.Series([0.0] * 6, index=list("abcdef")), "missing .*'x1'.* unknown"),
        ([1, 1, 0.5, 0.0, -0.5, 1.0], "strictly increasing"),
        ([1, 1, 0.5, -1, 0, np.nan], "finite"),
        ([[1.0] * 6], "must hold 6 values"),
    ],
)
def test_theta_start_errors(start, message):
    with pytest.raises(ValueError, match=message):
        SubstantiveModelImputer("y ~ x1 * x2", model="ordinal", theta_start=start, **RUN).fit(
            _data()
        )


# ------------------------------------------------------- kernel exactness
def _design_data(n=1500, seed=4):
    rng = np.random.default_rng(seed)
    w = np.column_stack([rng.normal(size=n), rng.random(n) < 0.4])
    latent = w @ np.array([0.8, -0.5]) + rng.logistic(size=n)
    return w.astype(float), np.digitize(latent, [-1.0, 0.2, 1.5]).astype(float)


def test_coefficient_step_matches_large_sample_posterior():
    """The Metropolis-Hastings chain of (theta, alpha): mean near the MLE and
    SDs near statsmodels' (cut-points through the OrderedModel reader)."""
    w, y = _design_data()
    reference = read_fit(OrderedModel(y, w, distr="logit").fit(method="bfgs", disp=0))
    sd = np.sqrt(np.diag(reference.covariance))
    n = len(y)
    state = AnalysisState(
        xvars=np.zeros((n, 0)),
        w=w,
        eta=np.zeros(n),
        y=y,
        theta=ordinal_starting_fit(w, y, 3),
        sigma2=np.ones(1),
        random=initial_random_effects(build_random_effects(n), 1),
        cox=empty_cox_state(build_cox_data()),
    )
    rng = np.random.default_rng(5)
    draws, accepted = np.empty((5000, 5)), 0
    for s in range(5000):
        accepted += draw_ordinal_parameters(rng, state, np.zeros(n))
        draws[s] = state.theta
    draws = draws[300:]
    assert accepted / 5000 > 0.8
    assert np.all(np.abs(draws.mean(axis=0) - reference.estimates) < 0.1 * sd)
    assert np.all(np.abs(draws.std(axis=0) / sd - 1) < 0.08)


def test_independence_step_targets_exact_posterior():
    """The single-level (theta, alpha) step (independence t proposal from a
    fixed reference point, the fixed rows' statistics summed once, the rows'
    probabilities kept in the state) at n = 60, where the posterior is
    skewed: mean and sd of the coefficient and cut-points match those of the
    flat-prior posterior computed on a grid."""
    from skjomo._gibbs._smc_ordinal import row_likelihood
    from skjomo._gibbs._smc_ordinal_step import (
        draw_ordinal_independence,
        ordinal_reference_statistics,
    )

    rng = np.random.default_rng(11)
    n = 60
    x = rng.normal(size=n)
    y = np.digitize(1.2 * x + rng.logistic(size=n), [-0.8, 0.9]).astype(float)
    w = x[:, None]
    # grid posterior in (b, alpha_1, alpha_2), flat on alpha_1 < alpha_2
    b, a1, a2 = np.meshgrid(
        np.linspace(-0.8, 4.4, 131),
        np.linspace(-3.2, 2.2, 131),
        np.linspace(-1.4, 4.4, 131),
        indexing="ij",
    )
    cuts = np.stack([np.full_like(b, -np.inf), a1, a2, np.full_like(b, np.inf)], axis=-1)
    log_post = np.where(a1 < a2, 0.0, -np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        for xi, yi in zip(x, y.astype(int)):
            prob = _expit(cuts[..., yi + 1] - b * xi) - _expit(cuts[..., yi] - b * xi)
            log_post += np.where(a1 < a2, np.log(prob), 0.0)
    post = np.exp(log_post - log_post.max())
    post /= post.sum()
    grid = np.stack([b, a1, a2])
    exact_mean = np.sum(post * grid, axis=(1, 2, 3))
    exact_sd = np.sqrt(np.sum(post * grid**2, axis=(1, 2, 3)) - exact_mean**2)
    assert np.all(post[[0, -1]].sum() + post[:, [0, -1]].sum() + post[..., [0, -1]].sum() < 1e-6)
    state = AnalysisState(
        xvars=np.zeros((n, 0)),
        w=w,
        eta=np.zeros(n),
        y=y,
        theta=np.array([0.6, -0.2, 1.8]),  # away from the mode: valid for any point
        sigma2=np.ones(1),
        random=initial_random_effects(build_random_effects(n), 1),
        cox=empty_cox_state(build_cox_data()),
        theta_ref=np.array([0.6, -0.2, 1.8]),
        ref_info=np.zeros((3, 3)),
        ref_score=np.zeros(3),
        lik=np.zeros(n),
    )
    moving = np.arange(15)  # rows 15.. enter through the statistics summed once
    ordinal_reference_statistics(
        w, y, np.arange(15, n), np.zeros(0), state.theta_ref, state.ref_info, state.ref_score
    )
    state.eta[:] = w @ state.theta[:1]
    state.lik[:] = [row_likelihood(y[i], state.eta[i], state.theta, 1) for i in range(n)]
    chain_rng = np.random.default_rng(12)
    draws, accepted = np.empty((30000, 3)), 0
    for s in range(30000):
        moved, ok = draw_ordinal_independence(
            chain_rng, moving, state, np.zeros(0), np.zeros(0), None
        )
        assert ok
        accepted += moved
        draws[s] = state.theta
    np.testing.assert_allclose(state.eta, w @ state.theta[:1])
    expected = [row_likelihood(y[i], state.eta[i], state.theta, 1) for i in range(n)]
    np.testing.assert_allclose(state.lik, expected)
    assert accepted / 30000 > 0.4
    mcse = exact_sd / np.sqrt(30000 / 5)  # effective sample size >= 1/5
    assert np.all(np.abs(draws.mean(axis=0) - exact_mean) < 4 * mcse)
    assert np.all(np.abs(draws.std(axis=0) / exact_sd - 1) < 0.04)


def test_row_probability_and_decision_match_the_log_likelihood():
    """row_likelihood is exp of the row log-likelihood, also far in the
    tails; the covariate decision from it is the log-ratio decision."""
    from skjomo._gibbs._smc_ordinal import accept_ordinal_move, row_likelihood

    theta = np.array([0.7, -1.0, 0.2, 1.5])
    for c in range(4):
        for eta in (-40.0, -3.0, 0.1, 0.35, 2.0, 40.0):
            log_p = ordinal_row_log_likelihood(float(c), eta, theta, 1)
            if log_p > -700:
                assert row_likelihood(float(c), eta, theta, 1) == pytest.approx(
                    np.exp(log_p), rel=1e-13
                )
    rng = np.random.default_rng(3)
    for _ in range(2000):
        c, eta, eta_new = float(rng.integers(4)), *rng.normal(scale=30.0, size=2)
        u = rng.random()
        p, p_new = (row_likelihood(c, e, theta, 1) for e in (eta, eta_new))
        exact = np.log(u) < ordinal_row_log_likelihood(
            c, eta_new, theta, 1
        ) - ordinal_row_log_likelihood(c, eta, theta, 1)
        assert accept_ordinal_move(u, c, eta, eta_new, p, p_new, theta, 1) == exact


def test_maximum_likelihood_fit_matches_statsmodels():
    """The starting fit (and the simulation's analysis) is OrderedModel's MLE
    with the covariance of the OrderedModel reader."""
    w, y = _design_data(n=800)
    reference = read_fit(
        OrderedModel(y, w, distr="logit").fit(method="newton", disp=0, maxiter=100)
    )
    estimates, covariance = ordinal_fit(w, y, 3)
    np.testing.assert_allclose(estimates, reference.estimates, atol=1e-5)
    np.testing.assert_allclose(covariance, reference.covariance, rtol=1e-3, atol=1e-7)


def test_row_likelihood_and_outcome_draws_match_the_model():
    theta = np.array([0.7, -1.0, 0.2, 1.5])  # one coefficient, three cut-points
    eta = 0.4
    cumulative = np.r_[_expit(theta[1:] - eta), 1.0]
    probs = np.diff(np.r_[0.0, cumulative])
    for c in range(4):
        assert ordinal_row_log_likelihood(float(c), eta, theta, 1) == pytest.approx(
            np.log(probs[c]), rel=1e-12
        )
    # extreme predictor: no cancellation in the middle categories
    assert np.isfinite(ordinal_row_log_likelihood(1.0, 40.0, theta, 1))
    rng = np.random.default_rng(0)
    counts = np.bincount(
        [int(draw_ordinal_outcome(rng, eta, theta, 1)) for _ in range(20000)], minlength=4
    )
    assert stats.chisquare(counts, 20000 * probs).pvalue > 0.001


def test_covariate_step_targets_exact_conditional():
    """One row, y ~ x (ordinal): the conditional of x is proportional to
    N(x; m, v) P(y | b x); the chain's mean and SD match numerical integrals."""
    from skjomo._gibbs._smc import draw_analysis_missing

    b, cuts, y_obs, mean, var = 1.5, [-0.5, 1.0], 2.0, 0.2, 1.0
    am = build_analysis_model(
        np.array([0]),
        np.ones((1, 1), bool),
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        family=3,
        y=np.array([y_obs]),
        xvars=np.array([[np.nan]]),
        var_col=[0],
        var_block=[-1],
        term_ptr=[0, 1],
        factor_var=[0],
        factor_power=[1],
        factor_level=[-1],
        n_cuts=2,
    )
    values = np.full((1, 1), 0.1)
    state = initial_analysis_state(am, values, theta=np.array([b] + cuts))
    rng = np.random.default_rng(1)
    draws = np.empty(40000)
    for s in range(draws.shape[0]):
        draw_analysis_missing(
            rng,
            am,
            state,
            values,
            np.full((1, 1), mean),
            np.array([[[1 / var]]]),
            np.zeros(1, np.int64),
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
        )
        draws[s] = values[0, 0]
    grid = np.linspace(-8, 8, 20001)
    density = stats.norm.pdf(grid, mean, np.sqrt(var)) * (1 - _expit(cuts[1] - b * grid))
    density /= density.sum()
    exact_mean = (grid * density).sum()
    exact_sd = np.sqrt(((grid - exact_mean) ** 2 * density).sum())
    assert abs(draws[1000:].mean() - exact_mean) < 0.03
    assert abs(draws[1000:].std() / exact_sd - 1) < 0.03


# ------------------------------------------------------------------ pooling
def test_ordered_model_reader_gives_cut_points_by_delta_method():
    data = _data().dropna()
    results = _ordered_fit(data)
    summary = read_fit(results)
    assert summary.names == list(results.params.index)
    cuts = results.model.transform_threshold_params(results.params.to_numpy())[1:-1]
    np.testing.assert_allclose(summary.estimates[3:], cuts, rtol=1e-12)
    np.testing.assert_allclose(summary.estimates[:3], results.params.iloc[:3])
    # delta method with a numerical Jacobian of statsmodels' own map
    params = results.params.to_numpy()

    def transform(p):
        return np.r_[p[:3], results.model.transform_threshold_params(p)[1:-1]]

    step = 1e-6
    jac = np.column_stack(
        [
            (transform(params + step * e) - transform(params - step * e)) / (2 * step)
            for e in np.eye(len(params))
        ]
    )
    expected = jac @ results.cov_params().to_numpy() @ jac.T
    np.testing.assert_allclose(summary.covariance, expected, rtol=1e-6, atol=1e-12)


def test_pipeline_and_imputation_list_pool_ordered_model():
    from skjomo import MultipleImputationPipeline, StatsmodelsModel

    frame = _data()
    analysis = StatsmodelsModel(
        "y ~ x1 * x2",
        model=OrderedModel,
        model_kwargs={"distr": "logit"},
        fit_kwargs={"method": "bfgs", "disp": 0},
    )
    pipe = MultipleImputationPipeline(
        SubstantiveModelImputer("y ~ x1 * x2", model="ordinal", n_burn=60, n_between=10),
        analysis,
        n_imputations=3,
        random_state=0,
    )
    pipe.fit(frame[["x1", "x2"]], frame["y"])
    pooled = pipe.pooled_
    assert list(pooled.estimate.index) == [
        "x1",
        "x2",
        "x1:x2",
        "low/mid",
        "mid/high",
        "high/top",
    ]
    assert np.all(np.diff(pooled.estimate.iloc[3:]) > 0)
    assert np.all(pooled.std_error > 0)
    completed = SubstantiveModelImputer("y ~ x1 * x2", model="ordinal", **RUN).fit(frame).sample()
    listed = completed.fit(
        "y ~ x1 * x2",
        model=OrderedModel.from_formula,
        distr="logit",
        fit_kwargs={"method": "bfgs", "disp": 0},
    ).pool()
    direct = pool_estimates([_ordered_fit(d) for d in completed])
    assert listed.estimate.index.equals(pooled.estimate.index)
    pd.testing.assert_series_equal(listed.estimate, direct.estimate)
