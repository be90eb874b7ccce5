"""SubstantiveModelImputer: formula parsing, the term table, the imputations.

The known-truth simulations are in tests/test_smc_simulation.py.
"""

import numpy as np
import pandas as pd
import pytest
from formulaic import model_matrix

from skjomo import JointModelImputer, SubstantiveModelImputer
from skjomo._analysis_model import AnalysisLayout, parse_analysis_formula
from skjomo._gibbs._smc import build_analysis_model, design_row
from skjomo._schema import Schema

RUN = {"n_burn": 100, "n_between": 10, "n_imputations": 3, "random_state": 0}


def _data(n=300, seed=0, logistic=False):
    rng = np.random.default_rng(seed)
    x2 = rng.normal(size=n)
    x1 = 0.5 * x2 + rng.normal(size=n)
    g = rng.choice(["a", "b", "c"], size=n)
    eta = 1 + x1 + x2 + x1 * x2 + 0.5 * (g == "b")
    if logistic:
        y = (rng.random(n) < 1 / (1 + np.exp(-0.5 * eta))).astype(float)
    else:
        y = eta + rng.normal(size=n)
    frame = pd.DataFrame({"y": y, "x1": x1, "x2": x2, "g": g, "aux": x1 + rng.normal(size=n)})
    frame.loc[rng.random(n) < 0.3, "x1"] = np.nan
    frame.loc[rng.random(n) < 0.1, "y"] = np.nan
    frame.loc[rng.random(n) < 0.15, "g"] = None
    frame.loc[rng.random(n) < 0.1, "aux"] = np.nan
    return frame


# ------------------------------------------------------------------ formula
def test_formula_terms_and_powers():
    parsed = parse_analysis_formula("y ~ x1 * C(g) + I(x1**2) + I(x1 * x2^2)", "lm")
    assert parsed.outcome == "y"
    assert parsed.columns == ("x1", "g", "x2")
    assert parsed.declared_categorical == ("g",)
    powers = [dict(t.powers) for t in parsed.terms]
    assert {"x1": 2} in powers and {"x1": 1, "x2": 2} in powers
    assert parsed.terms[0].is_intercept


@pytest.mark.parametrize(
    "formula, message",
    [
        ("y ~ np.log(x1)", "not a product of positive integer powers"),
        ("y ~ I(x1 ** 0.5)", "not a product of positive integer powers"),
        ("y ~ x1 + y", "also appears on the right-hand side"),
        ("y + z ~ x1", "must be one column"),
        ("x1 + x2", "outcome ~ terms"),
    ],
)
def test_formula_errors(formula, message):
    with pytest.raises(ValueError, match=message):
        parse_analysis_formula(formula, "lm")


def test_family_error():
    with pytest.raises(ValueError, match="model must be one of"):
        parse_analysis_formula("y ~ x", "probit")


def test_categorical_power_and_hierarchy_errors():
    frame = _data()
    with pytest.raises(ValueError, match="is categorical"):
        SubstantiveModelImputer("y ~ g + I(g**2)", **RUN).fit(frame)
    with pytest.raises(ValueError, match="needs the term 'x1'"):
        SubstantiveModelImputer("y ~ x2 + x1:g + g", **RUN).fit(frame)
    with pytest.raises(ValueError, match="needs the term '1'"):
        SubstantiveModelImputer("y ~ g + x1 - 1", **RUN).fit(frame)
    with pytest.raises(ValueError, match="not in the data"):
        SubstantiveModelImputer("y ~ x1 + nope", **RUN).fit(frame)
    with pytest.raises(ValueError, match="No covariate of the analysis formula has missing"):
        SubstantiveModelImputer("y ~ x2", exclude_cols=["x1", "g", "aux"], **RUN).fit(frame)


@pytest.mark.parametrize(
    "formula",
    [
        "y ~ x1 * x2 + I(x1**2)",
        "y ~ x1 * g + x2",
        "y ~ C(k) * x1 + I(x2 ** 3) + x1:x2",
        "y ~ g * k + x1 + I(x1*x2)",
        "y ~ x1 * x2 - 1",
    ],
)
def test_term_table_reproduces_formulaic(formula):
    """The kernel's design rows equal formulaic's model matrix, column by column."""
    frame = _data().dropna().reset_index(drop=True)
    frame["k"] = np.arange(len(frame)) % 3
    parsed = parse_analysis_formula(formula, "lm")
    layout = AnalysisLayout(parsed, frame.assign(x1=frame.x1.where(frame.index > 0)), (), ())
    spec_roles = layout.joint_spec(__import__("skjomo._spec", fromlist=["ModelSpec"]).ModelSpec())
    schema = Schema(
        frame,
        outcome_cols=list(spec_roles.outcomes),
        covariate_cols=list(spec_roles.covariates),
        categorical_cols=list(spec_roles.categorical),
        exclude_cols=list(spec_roles.excluded),
    )
    layout.bind(schema)
    arrays = layout.sampler_arrays(layout.encode(frame))
    _, missing, _ = schema.encode_outcomes(frame)
    start, size = schema.categorical_layout()
    am = build_analysis_model(np.arange(0), missing, start, size, **arrays)
    w = np.zeros((len(frame), len(layout.term_names)))
    for i in range(len(frame)):
        design_row(am, am.x_data, i, w[i])
    expected = model_matrix(formula.split("~")[1], frame)
    got = pd.DataFrame(w, columns=layout.term_names)
    assert sorted(got.columns) == sorted(expected.columns)
    pd.testing.assert_frame_equal(
        got[expected.columns],
        expected.reset_index(drop=True),
        check_dtype=False,
        check_exact=False,
        rtol=1e-12,
    )


# ------------------------------------------------------------- imputations
@pytest.mark.parametrize("model", ["lm", "logit"])
def test_imputations_complete_observed_kept_reproducible(model):
    frame = _data(logistic=model == "logit")
    before = frame.copy()
    formula = "y ~ x1 * x2 + g"
    first = SubstantiveModelImputer(formula, model=model, **RUN).fit(frame).sample()
    again = SubstantiveModelImputer(formula, model=model, **RUN).fit(frame).sample()
    pd.testing.assert_frame_equal(frame, before)
    for completed, repeat in zip(first, again):
        assert not completed.isna().any().any()
        pd.testing.assert_frame_equal(completed, repeat)
        observed = before.notna()
        assert (completed[observed] == before[observed]).sum().sum() == observed.sum().sum()
        assert list(completed.dtypes) == list(before.dtypes)
        assert set(completed["g"]) <= {"a", "b", "c"}
        if model == "logit":
            assert set(completed["y"]) <= {0.0, 1.0}
    assert not first[0].equals(first[1])


def test_logistic_outcome_as_categories():
    frame = _data(logistic=True)
    frame["y"] = frame["y"].map({0.0: "no", 1.0: "yes"}).astype("category")
    imputer = SubstantiveModelImputer("y ~ x1 + x2", model="logit", **RUN).fit(frame)
    completed = imputer.transform(frame)
    assert completed["y"].dtype == frame["y"].dtype
    assert not completed["y"].isna().any()
    assert "analysis-model coefficients" in imputer.acceptance_rates_
    assert 0.3 < imputer.acceptance_rates_["analysis-model coefficients"] <= 1


def test_attributes_chains_and_summary():
    frame = _data()
    imputer = SubstantiveModelImputer("y ~ x1 * g", **RUN).fit(frame)
    assert list(imputer.theta_.index) == [
        "Intercept",
        "x1",
        "g[T.b]",
        "g[T.c]",
        "x1:g[T.b]",
        "x1:g[T.c]",
    ]
    assert imputer.residual_variance_ > 0
    chains = imputer.chains_
    assert "theta" in chains.group_names and "sigma2" in chains.group_names
    assert chains["theta"].shape[-1] == 6
    report = imputer.summary(warn=False)
    assert "y ~ x1 * g (linear)" in report
    assert "analysis-model covariates" in report
    assert imputer.beta_.index.tolist() == ["(Intercept)", "x2"]


def test_new_rows_and_sample_with_X():
    frame = _data()
    imputer = SubstantiveModelImputer("y ~ x1 * x2", exclude_cols=["g"], **RUN).fit(frame)
    new = _data(n=50, seed=5)
    completed = imputer.transform(new)
    assert not completed.drop(columns="g").isna().any().any()
    pd.testing.assert_series_equal(completed["g"], new["g"])
    sets = imputer.sample(n_imputations=2, X=new)
    assert len(sets) == 2 and not sets[0].equals(sets[1])
    more = imputer.sample(n_imputations=5)  # beyond the stored draws
    assert len(more) == 5 and not more[4].drop(columns="g").isna().any().any()


def test_interaction_bias_removed_fast():
    """One large data set: the compatible imputations recover the interaction
    that the joint normal model attenuates (the slow study repeats this)."""
    rng = np.random.default_rng(3)
    n = 3000
    x2 = rng.normal(size=n)
    x1 = 0.5 * x2 + np.sqrt(0.75) * rng.normal(size=n)
    y = 1 + x1 + x2 + x1 * x2 + rng.normal(size=n)
    z = (y - y.mean()) / y.std()
    x1[rng.random(n) < 1 / (1 + np.exp(-(-0.9 + 0.5 * z + 0.5 * x2)))] = np.nan
    frame = pd.DataFrame({"y": y, "x1": x1, "x2": x2})
    run = {"n_burn": 200, "n_between": 20, "n_imputations": 5, "random_state": 1}

    def interaction(datasets):
        x = [d.x1 * d.x2 for d in datasets]
        return np.mean(
            [
                np.linalg.lstsq(np.column_stack([np.ones(n), d.x1, d.x2, xx]), d.y, rcond=None)[0][
                    3
                ]
                for d, xx in zip(datasets, x)
            ]
        )

    smc = interaction(SubstantiveModelImputer("y ~ x1 * x2", **run).fit(frame).sample())
    jm = interaction(JointModelImputer(covariate_cols=["x2"], **run).fit(frame).sample())
    # SE of the interaction is about 0.025 at n = 3000
    assert abs(smc - 1) < 0.08
    assert jm < 0.85


# ---------------------------------------------------------- kernel exactness
def _one_row_model(formula_terms, x_fixed, cat_size=()):
    """Analysis model of one dynamic row: variable 0 is the imputed one
    (joint column 0), variable 1 the fixed ``x_fixed``."""
    term_ptr, factor_var, factor_power, factor_level = formula_terms
    categorical = len(cat_size) > 0
    p = int(np.sum(cat_size)) if categorical else 1
    missing = np.ones((1, p), bool)
    return build_analysis_model(
        np.array([0]),
        missing,
        np.array([0] if categorical else [], np.int64),
        np.array(cat_size, np.int64),
        family=1,
        y=np.array([3.0]),
        xvars=np.array([[np.nan, x_fixed]]),
        var_col=[0, -1],
        var_block=[0 if categorical else -1, -1],
        term_ptr=term_ptr,
        factor_var=factor_var,
        factor_power=factor_power,
        factor_level=factor_level,
    )


# y ~ x1 * x2: terms 1, x1, x2, x1:x2
INTERACTION = ([0, 0, 1, 2, 4], [0, 1, 0, 1], [1, 1, 1, 1], [-1, -1, -1, -1])


def _run_kernel(am, mean, cov, theta, sigma2, n_draws, seed=0):
    from skjomo._gibbs._smc import draw_analysis_missing, initial_analysis_state

    p = cov.shape[0]
    values = np.full((1, p), 0.1)
    means = np.full((1, p), mean)
    precision = np.linalg.inv(cov)[None]
    state = initial_analysis_state(am, values, theta=np.asarray(theta, float), sigma2=sigma2)
    rng = np.random.default_rng(seed)
    out = np.empty((n_draws, p))
    start, size = (
        (np.array([0], np.int64), np.array([p], np.int64))
        if am.unit_block[0] >= 0
        else (np.zeros(0, np.int64), np.zeros(0, np.int64))
    )
    for s in range(n_draws):
        draw_analysis_missing(
            rng, am, state, values, means, precision, np.zeros(1, np.int64), start, size
        )
        out[s] = values[0]
    return out, state


def test_covariate_step_targets_exact_conditional():
    """Linear model with eta affine in x1: the conditional of x1 is normal with
    precision 1/v + b^2/sigma^2; the Metropolis chain's moments match it."""
    x2, mean, var, sigma2 = 0.7, 0.2, 0.75, 0.5
    theta = [1.0, 1.0, 1.0, 1.0]
    am = _one_row_model(INTERACTION, x2)
    draws, _ = _run_kernel(am, mean, np.array([[var]]), theta, sigma2, 40000)
    a, b = theta[0] + theta[2] * x2, theta[1] + theta[3] * x2
    precision = 1 / var + b**2 / sigma2
    exact_mean = (mean / var + b * (3.0 - a) / sigma2) / precision
    x = draws[2000:, 0]
    assert abs(x.mean() - exact_mean) < 0.02
    assert abs(x.std() / np.sqrt(1 / precision) - 1) < 0.03


def test_binary_covariate_step_targets_exact_category_probabilities():
    """A binary covariate (one latent): P(category) is proportional to
    Phi(+-m / s) f(y | category); the chain's frequencies match."""
    from scipy.stats import norm

    # y ~ g + x2 + g:x2 with g binary (code 1 is the dummy), x2 fixed
    terms = ([0, 0, 1, 2, 4], [0, 1, 0, 1], [0, 1, 0, 1], [1, -1, 1, -1])
    x2, mean, sigma2, theta = 0.5, 0.3, 1.0, [1.0, 1.0, 0.5, 0.5]
    am = _one_row_model(terms, x2, cat_size=(1,))
    draws, _ = _run_kernel(am, mean, np.array([[1.0]]), theta, sigma2, 40000)
    # latent > 0 is the first category (code 0); code 1 (latent < 0) has the dummy
    eta = {0: theta[0] + theta[2] * x2, 1: theta[0] + theta[1] + (theta[2] + theta[3]) * x2}
    weight = {
        0: norm.cdf(mean) * norm.pdf(3.0, eta[0], 1.0),
        1: norm.cdf(-mean) * norm.pdf(3.0, eta[1], 1.0),
    }
    exact = weight[1] / (weight[0] + weight[1])
    assert abs(np.mean(draws[2000:, 0] < 0) - exact) < 0.015


def _logistic_state(w, y):
    from skjomo._gibbs._smc import AnalysisState
    from skjomo._gibbs._smc_cox import build_cox_data, empty_cox_state
    from skjomo._gibbs._smc_mixed import build_random_effects, initial_random_effects

    n, k = w.shape
    return AnalysisState(
        xvars=np.zeros((n, 0)),
        w=w,
        eta=np.zeros(n),
        y=y,
        theta=np.zeros(k),
        sigma2=np.ones(1),
        random=initial_random_effects(build_random_effects(n), 1),
        cox=empty_cox_state(build_cox_data()),
        exp_eta=np.ones(n),
        theta_ref=np.zeros(k),
        ref_info=np.zeros((k, k)),
        ref_score=np.zeros(k),
    )


def test_logistic_coefficient_step_matches_large_sample_posterior():
    """Logistic theta chain of the Newton-proposal step (two-level models):
    mean near the MLE and sd near the inverse information's (the posterior
    is close to normal at n = 2000)."""
    from collections import namedtuple

    from skjomo._gibbs._smc import _draw_newton_mh, _starting_fit
    from skjomo._gibbs._smc_cox import build_cox_data
    from skjomo._gibbs._smc_mixed import build_random_effects

    model = namedtuple("Logistic", ["family", "cox", "random_effects"])(
        2, build_cox_data(), build_random_effects(2000)
    )

    rng = np.random.default_rng(4)
    n = 2000
    w = np.column_stack([np.ones(n), rng.normal(size=n)])
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.3 + 0.8 * w[:, 1])))).astype(float)
    mle, _ = _starting_fit(2, w, y)
    prob = 1 / (1 + np.exp(-(w @ mle)))
    sd = np.sqrt(np.diag(np.linalg.inv((w * (prob * (1 - prob))[:, None]).T @ w)))
    state = _logistic_state(w, y)
    draws, accepted = np.empty((6000, 2)), 0
    chain_rng = np.random.default_rng(5)
    for s in range(6000):
        accepted += _draw_newton_mh(chain_rng, model, state)
        draws[s] = state.theta
    draws = draws[500:]
    assert accepted / 6000 > 0.8
    assert np.all(np.abs(draws.mean(axis=0) - mle) < 0.1 * sd)
    assert np.all(np.abs(draws.std(axis=0) / sd - 1) < 0.08)


def test_logistic_independence_step_targets_exact_posterior():
    """The single-level logistic theta step (independence t proposal from a
    fixed reference point, the fixed rows' statistics summed once) at n = 40,
    where the posterior is skewed: its mean and sd match those of the
    flat-prior posterior computed on a grid."""
    from skjomo._gibbs._smc_logistic import draw_logistic_independence, reference_statistics

    rng = np.random.default_rng(7)
    n = 40
    w = np.column_stack([np.ones(n), rng.normal(size=n)])
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.5 + 1.5 * w[:, 1])))).astype(float)
    # grid posterior
    a, b = np.meshgrid(np.linspace(-3, 4, 351), np.linspace(-2, 7, 451), indexing="ij")
    eta = a[..., None] + b[..., None] * w[:, 1]
    log_post = np.sum(y * eta - np.logaddexp(0, eta), axis=-1)
    post = np.exp(log_post - log_post.max())
    post /= post.sum()
    exact_mean = np.array([np.sum(post * a), np.sum(post * b)])
    exact_sd = np.sqrt(np.array([np.sum(post * a**2), np.sum(post * b**2)]) - exact_mean**2)
    state = _logistic_state(w, y)
    state.theta_ref[:] = [0.2, 1.0]  # away from the mode: the step is valid for any point
    moving = np.arange(10)  # rows 10.. enter through the statistics summed once
    fixed = np.arange(10, n)
    reference_statistics(w, y, fixed, state.theta_ref, state.ref_info, state.ref_score)
    state.theta[:] = state.theta_ref
    state.eta[:] = w @ state.theta
    state.exp_eta[:] = np.exp(state.eta)
    chain_rng = np.random.default_rng(8)
    draws, accepted = np.empty((30000, 2)), 0
    for s in range(30000):
        moved, ok = draw_logistic_independence(chain_rng, moving, state)
        assert ok
        accepted += moved
        draws[s] = state.theta
    np.testing.assert_allclose(state.eta, w @ state.theta)
    np.testing.assert_allclose(state.exp_eta, np.exp(state.eta))
    assert accepted / 30000 > 0.5
    mcse = exact_sd / np.sqrt(30000 / 5)  # effective sample size >= 1/5
    assert np.all(np.abs(draws.mean(axis=0) - exact_mean) < 4 * mcse)
    assert np.all(np.abs(draws.std(axis=0) / exact_sd - 1) < 0.04)


def test_plugs_into_the_pipeline():
    from skjomo import MultipleImputationPipeline, StatsmodelsModel

    frame = _data()
    pipe = MultipleImputationPipeline(
        SubstantiveModelImputer("y ~ x1 * x2", exclude_cols=["g", "aux"], n_burn=100, n_between=10),
        StatsmodelsModel("y ~ x1 * x2"),
        n_imputations=3,
        random_state=0,
    )
    pipe.fit(frame[["x1", "x2", "g", "aux"]], frame["y"])
    assert "x1:x2" in pipe.pooled_.estimate.index


def test_chains_jobs_and_warm_start():
    frame = _data()
    run = {"n_burn": 50, "n_between": 10, "n_imputations": 4, "n_chains": 2, "random_state": 3}
    serial = SubstantiveModelImputer("y ~ x1 * x2 + g", n_jobs=1, **run).fit(frame)
    parallel = SubstantiveModelImputer("y ~ x1 * x2 + g", n_jobs=2, **run).fit(frame)
    for a, b in zip(serial.sample(), parallel.sample()):
        pd.testing.assert_frame_equal(a, b)
    assert serial.chains_["theta"].shape[:2] == (2, 20)  # 2 segments of 10 per chain
    warm = SubstantiveModelImputer("y ~ x1 * x2 + g", warm_start=True, **run).fit(frame)
    first = warm.theta_.copy()
    warm.fit(frame)
    assert warm.n_iter_ == 2 * (50 + 20)
    assert not warm.theta_.equals(first)


def test_low_acceptance_warns():
    """An outcome nearly determined by the covariate makes the joint-model
    proposal a poor one; fit says so."""
    rng = np.random.default_rng(2)
    n = 300
    x = rng.normal(size=n)
    frame = pd.DataFrame({"y": 2 * x + 0.01 * rng.normal(size=n), "x": x, "z": rng.normal(size=n)})
    frame.loc[rng.random(n) < 0.3, "x"] = np.nan
    with pytest.warns(UserWarning, match="analysis-model covariates accepted"):
        imputer = SubstantiveModelImputer("y ~ x + z", **RUN).fit(frame)
    assert imputer.acceptance_rates_["analysis-model covariates"] < 0.1
