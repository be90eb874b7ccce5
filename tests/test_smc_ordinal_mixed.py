"""SubstantiveModelImputer(model="ordinal") with a random-effects term: the
cumulative logit mixed model (jomo.clmm's counterpart).

The random-effect kernels (skjomo/_gibbs/_smc_ordinal_mixed.py and the
Newton-proposal move of skjomo/_gibbs/_smc_mixed.py) against direct
computations, a small known-truth check and the estimator's behaviour. The
agreement with R's jomo.clmm is in tests/test_smc_clmm_agreement.py.
"""

import numpy as np
import pandas as pd
import pytest
from jomo_compare import clmm_random_intercept, ordinal_eta_terms
from statsmodels.miscmodels.ordinal_model import OrderedModel

from skjomo import SubstantiveModelImputer
from skjomo._gibbs._smc import AnalysisState
from skjomo._gibbs._smc_cox import build_cox_data, empty_cox_state
from skjomo._gibbs._smc_mixed import (
    RandomEffectsState,
    build_random_effects,
    draw_newton_effects,
    initial_random_effects,
    random_part,
)
from skjomo._gibbs._smc_ordinal import ORDINAL
from skjomo._gibbs._smc_ordinal_mixed import (
    draw_ordinal_parameters_at_mode,
    random_offsets,
    recentre_random_effects,
)
from skjomo.pooling import read_fit

CUTS = np.array([-1.0, 0.5, 2.0])
TRUTH = {"x": 1.0, "v": 0.5, "1/2": -1.0, "2/3": 0.5, "3/4": 2.0}
FORMULA = "y ~ x + v + (1 | g)"


def _data(n_clusters=40, size=25, seed=0, missing=True, slope=0.0):
    """Cumulative logit, random intercept of variance 0.8 (and a random slope
    of x of variance ``slope``); x missing at random given y (about 30%)."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_clusters), size)
    x = 0.5 * rng.normal(size=n_clusters)[g] + rng.normal(size=g.size)
    v = (rng.random(g.size) < 0.5).astype(float)
    b0 = np.sqrt(0.8) * rng.normal(size=n_clusters)[g]
    b1 = np.sqrt(slope) * rng.normal(size=n_clusters)[g]
    eta = TRUTH["x"] * x + TRUTH["v"] * v + b0 + b1 * x
    latent = eta + rng.logistic(size=g.size)
    y = np.searchsorted(CUTS, latent)
    full = pd.DataFrame(
        {"y": pd.Categorical(y + 1, categories=[1, 2, 3, 4], ordered=True), "x": x, "v": v, "g": g}
    )
    frame = full.copy()
    if missing:
        frame.loc[rng.random(g.size) < 1 / (1 + np.exp(-(-1.3 + 0.4 * (y - 1.5)))), "x"] = np.nan
        frame.loc[rng.random(g.size) < 0.05, "y"] = np.nan
    return frame, full


# ------------------------------------------------------------------ kernels
def test_ordinal_effect_step_targets_the_posterior():
    """Random intercept of an ordinal model: the Metropolis-Hastings chain of
    b_j has the mean and variance of its posterior by quadrature."""
    rng = np.random.default_rng(3)
    cluster = np.repeat(np.arange(3), [3, 10, 30])
    n = cluster.size
    w = rng.normal(size=(n, 1))
    theta = np.concatenate([[0.8], CUTS])
    y = np.searchsorted(CUTS, 0.8 * w[:, 0] + 0.6 + rng.logistic(size=n)).astype(float)
    re = build_random_effects(n, cluster, 3, [-1], 2.0, np.eye(1))  # -1: no design column
    psi = 1.5
    st = RandomEffectsState(np.zeros((3, 1)), np.array([[psi]]))
    update = np.ones(3, np.bool_)
    draws, accepted = np.empty((20_000, 3)), 0
    for t in range(draws.shape[0]):
        accepted += draw_newton_effects(rng, ORDINAL, re, st, w, y, theta, update)
        draws[t] = st.b[:, 0]
    assert accepted / draws.size > 0.8
    grid = np.linspace(-8, 8, 2001)
    for j in range(3):
        rows = np.flatnonzero(cluster == j)
        eta = 0.8 * w[rows, 0][:, None] + grid[None, :]
        log_p = ordinal_eta_terms(np.repeat(y[rows, None], grid.size, 1).astype(int), eta, CUTS)
        log_post = log_p[0].sum(axis=0) - grid**2 / (2 * psi)
        weight = np.exp(log_post - log_post.max())
        weight /= weight.sum()
        mean = weight @ grid
        sd = np.sqrt(weight @ (grid - mean) ** 2)
        assert abs(draws[1000:, j].mean() - mean) < 0.05 * sd
        assert abs(draws[1000:, j].std() / sd - 1) < 0.05


@pytest.mark.parametrize("kept", [False, True])
def test_coefficient_step_at_the_mode_jumps_and_targets_the_posterior(kept):
    """(theta, alpha) given offsets: the independence step at the mode leaves
    a start far out in the tail at once, and its draws have the mean and SDs
    of the large-sample posterior (statsmodels' OrderedModel with the same
    offsets; cut-points through the OrderedModel reader). The rows' linear
    predictors and probabilities (with ``kept`` also their exp(eta), from
    which the mode search and the target then take the rows' terms:
    skjomo/_gibbs/_smc_ordinal_kept.py) stay equal to their recomputation,
    and the derivatives left for the random-effect moves are those at the
    accepted value."""
    from skjomo._gibbs._smc_ordinal import row_likelihood

    rng = np.random.default_rng(4)
    n = 1000
    w = np.column_stack([rng.normal(size=n), rng.random(n) < 0.4]).astype(float)
    offset = rng.normal(size=50)[np.repeat(np.arange(50), n // 50)]
    y = np.digitize(w @ [0.8, -0.5] + offset + rng.logistic(size=n), [-1.0, 0.2, 1.5])
    y = y.astype(float)
    fit = OrderedModel(y, w, offset=offset, distr="logit").fit(method="bfgs", disp=0)
    reference = read_fit(fit)
    sd = np.sqrt(np.diag(reference.covariance))
    theta = np.array([0.0, 0.0, -0.1, 0.0, 0.1])  # tens of SDs from the mode
    eta = w @ theta[:2] + offset
    state = AnalysisState(
        xvars=np.zeros((n, 0)),
        w=w,
        eta=eta,
        y=y,
        theta=theta,
        sigma2=np.ones(1),
        random=initial_random_effects(build_random_effects(n), 1),
        cox=empty_cox_state(build_cox_data()),
        exp_eta=np.exp(eta) if kept else np.zeros(0),
        lik=np.array([row_likelihood(y[i], eta[i], theta, 2) for i in range(n)]),
    )
    deriv = (np.empty(n), np.empty(n))
    draws, accepted = np.empty((2000, 5)), 0
    for s in range(2000):
        moved, found = draw_ordinal_parameters_at_mode(rng, state, offset, deriv)
        assert found
        accepted += moved
        draws[s] = state.theta
    assert np.all(np.abs(draws[5] - reference.estimates) < 5 * sd)
    assert accepted / 2000 > 0.8
    assert np.all(np.abs(draws.mean(axis=0) - reference.estimates) < 0.1 * sd)
    assert np.all(np.abs(draws.std(axis=0) / sd - 1) < 0.08)
    np.testing.assert_allclose(state.eta, w @ state.theta[:2] + offset, rtol=1e-14, atol=1e-14)
    expected = [row_likelihood(y[i], state.eta[i], state.theta, 2) for i in range(n)]
    np.testing.assert_allclose(state.lik, expected, rtol=1e-12)
    if kept:
        np.testing.assert_allclose(state.exp_eta, np.exp(state.eta), rtol=1e-14)
    while not moved:
        moved = draw_ordinal_parameters_at_mode(rng, state, offset, deriv)[0]
    _, slope, second = ordinal_eta_terms(y.astype(int), state.eta, state.theta[2:])
    np.testing.assert_allclose(deriv[0], slope, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(deriv[1], -second, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kept", [False, True])
def test_reference_step_targets_the_conditional_given_the_effects(kept):
    """The two-level (theta, alpha) step: independence t proposal from a
    reference point set at other random effects (it moves with their mean,
    the fixed rows' score follows them to first order, the other rows are
    summed exactly): at n = 60 in 4 clusters, its draws given the random
    effects have the mean and sd of the flat-prior conditional posterior
    on a grid; with ``kept``, the rows' exp(eta) are kept in the state (the
    fit's two-level states, skjomo/_gibbs/_smc_ordinal_kept.py) and stay
    equal to their recomputation."""
    from skjomo._gibbs._smc_ordinal import row_likelihood
    from skjomo._gibbs._smc_ordinal_mixed import mean_effect_shift, reference_cross
    from skjomo._gibbs._smc_ordinal_step import (
        draw_ordinal_independence,
        recentre_ordinal_reference,
    )

    rng = np.random.default_rng(21)
    n, n_clusters = 60, 4
    cluster = np.repeat(np.arange(n_clusters), n // n_clusters)
    x = rng.normal(size=n)
    b_ref = np.array([[0.9], [-0.4], [0.3], [-1.1]])
    y = np.digitize(1.2 * x + b_ref[cluster, 0] + rng.logistic(size=n), [-0.8, 0.9]).astype(float)
    w = x[:, None]
    re = build_random_effects(n, cluster, n_clusters, [-1], 2.0, np.eye(1))
    state = AnalysisState(
        xvars=np.zeros((n, 0)),
        w=w,
        eta=np.zeros(n),
        y=y,
        theta=np.array([0.6, -0.2, 1.8]),
        sigma2=np.ones(1),
        random=RandomEffectsState(b_ref.copy(), np.eye(1)),
        cox=empty_cox_state(build_cox_data()),
        exp_eta=np.zeros(n if kept else 0),
        theta_ref=np.zeros(3),
        ref_info=np.zeros((3, 3)),
        ref_score=np.zeros(3),
        lik=np.zeros(n),
        ref_cross=np.zeros((n_clusters, 3, 1)),
        ref_effects=np.zeros((n_clusters, 1)),
    )
    moving = np.arange(0, n, 4)  # every fourth row summed exactly, the others
    fixed = np.setdiff1d(np.arange(n), moving)  # through the reference's statistics
    offset = b_ref[cluster, 0].copy()
    shift = mean_effect_shift(re, state.random.b, 1, 3)
    assert recentre_ordinal_reference(fixed, state, offset, shift)
    reference_cross(re, state, fixed, offset)
    state.random.b[:, 0] = [1.2, -0.1, 0.2, -0.8]  # another mean and other centred values
    offset = state.random.b[cluster, 0].copy()
    shift = mean_effect_shift(re, state.random.b, 1, 3)
    state.eta[:] = w[:, 0] * state.theta[0] + offset
    state.lik[:] = [row_likelihood(y[i], state.eta[i], state.theta, 1) for i in range(n)]
    if kept:
        state.exp_eta[:] = np.exp(state.eta)
    # grid posterior in (coefficient, alpha_1, alpha_2) given the offsets
    c, a1, a2 = np.meshgrid(
        np.linspace(-0.6, 4.2, 121),
        np.linspace(-3.4, 2.2, 121),
        np.linspace(-1.4, 4.6, 121),
        indexing="ij",
    )
    cuts = np.stack([np.full_like(c, -np.inf), a1, a2, np.full_like(c, np.inf)], axis=-1)
    log_post = np.where(a1 < a2, 0.0, -np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        for xi, oi, yi in zip(x, offset, y.astype(int)):
            eta = c * xi + oi
            prob = 1 / (1 + np.exp(eta - cuts[..., yi + 1])) - 1 / (1 + np.exp(eta - cuts[..., yi]))
            log_post += np.where(a1 < a2, np.log(prob), 0.0)
    post = np.exp(log_post - log_post.max())
    post /= post.sum()
    grid = np.stack([c, a1, a2])
    exact_mean = np.sum(post * grid, axis=(1, 2, 3))
    exact_sd = np.sqrt(np.sum(post * grid**2, axis=(1, 2, 3)) - exact_mean**2)
    assert np.all(post[[0, -1]].sum() + post[:, [0, -1]].sum() + post[..., [0, -1]].sum() < 1e-6)
    chain_rng = np.random.default_rng(22)
    draws, accepted = np.empty((30000, 3)), 0
    deriv = (np.empty(n), np.empty(n))
    for s in range(30000):
        moved, ok = draw_ordinal_independence(chain_rng, moving, state, offset, shift, deriv)
        assert ok
        accepted += moved
        draws[s] = state.theta
    np.testing.assert_allclose(state.eta, w[:, 0] * state.theta[0] + offset)
    expected = [row_likelihood(y[i], state.eta[i], state.theta, 1) for i in range(n)]
    np.testing.assert_allclose(state.lik, expected)
    if kept:
        np.testing.assert_allclose(state.exp_eta, np.exp(state.eta), rtol=1e-13)
    assert accepted / 30000 > 0.4
    mcse = exact_sd / np.sqrt(30000 / 5)  # effective sample size >= 1/5
    assert np.all(np.abs(draws.mean(axis=0) - exact_mean) < 4 * mcse)
    assert np.all(np.abs(draws.std(axis=0) / exact_sd - 1) < 0.04)


def test_recentring_keeps_the_likelihood_and_draws_the_mean():
    """The move shifts the cut-points with the random intercepts and the
    fixed slope against the random slopes: every eta - alpha is unchanged,
    and the new mean of the b_j is N(0, Psi / J)."""
    rng = np.random.default_rng(1)
    n_clusters, n = 8, 80
    cluster = np.repeat(np.arange(n_clusters), n // n_clusters)
    w = rng.normal(size=(n, 2))
    re = build_random_effects(n, cluster, n_clusters, [-1, 1], 3.0, np.eye(2))
    psi = np.array([[1.0, 0.3], [0.3, 0.5]])
    k = 2
    means = []
    for _ in range(2000):
        st = RandomEffectsState(rng.normal(size=(n_clusters, 2)) + [2.0, -1.0], psi.copy())
        theta = np.concatenate([[0.4, 0.7], CUTS])
        before = (w @ theta[:k] + random_offsets(re, st.b, w))[:, None] - theta[None, k:]
        recentre_random_effects(rng, re, st, theta, k, np.zeros(0), np.zeros(0))
        after = (w @ theta[:k] + random_offsets(re, st.b, w))[:, None] - theta[None, k:]
        np.testing.assert_allclose(after, before, atol=1e-12)
        assert np.all(np.diff(theta[k:]) > 0)
        means.append(st.b.mean(axis=0))
    means = np.array(means)
    assert np.all(np.abs(means.mean(axis=0)) < 4 * np.sqrt(np.diag(psi) / n_clusters / 2000))
    np.testing.assert_allclose(np.cov(means.T), psi / n_clusters, rtol=0.1, atol=0.005)
    assert random_part(re, st.b, 0, w[0]) == pytest.approx(st.b[0, 0] + w[0, 1] * st.b[0, 1])


# ---------------------------------------------------------------- estimator
class _quiet:
    """Silence the convergence warnings of short test chains."""

    def __enter__(self):
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc):
        return self._catch.__exit__(*exc)


def test_recovers_the_truth_and_the_complete_data_fit():
    """Known truth (1000 rows, 40 clusters, x 30% missing at random given y):
    the posterior means lie within 3.5 posterior SDs of the truth and within
    one standard error of the complete-data Laplace fit."""
    frame, full = _data()
    imputer = SubstantiveModelImputer(
        FORMULA, model="ordinal", n_burn=300, n_between=5, n_imputations=100, random_state=0
    )
    with _quiet():
        imputer.fit(frame)
    names = list(TRUTH)
    assert list(imputer.theta_.index) == names
    draws = imputer.chains_["theta"].reshape(-1, len(names))
    z = (imputer.theta_.to_numpy() - np.array(list(TRUTH.values()))) / draws.std(axis=0)
    assert np.all(np.abs(z) < 3.5), z
    params, cov, tau2, _ = clmm_random_intercept(
        full["y"].cat.codes.to_numpy(), full[["x", "v"]].to_numpy(), full["g"].to_numpy()
    )
    fit = pd.Series(params, index=["1/2", "2/3", "3/4", "x", "v"])[names]
    se = pd.Series(np.sqrt(np.diag(cov)), index=["1/2", "2/3", "3/4", "x", "v"])[names]
    assert np.all(np.abs(imputer.theta_ - fit) < se), (imputer.theta_, fit, se)
    assert list(imputer.psi_.index) == ["Intercept"]
    assert 0.5 * tau2 < imputer.psi_.iloc[0, 0] < 1.6 * tau2
    rates = imputer.acceptance_rates_
    assert rates["analysis-model random effects"] > 0.8
    assert rates["analysis-model coefficients"] > 0.5
    assert rates["analysis-model covariates"] > 0.5


def test_imputations_new_clusters_and_summary():
    frame, _ = _data(n_clusters=20, size=15, seed=2)
    frame["y"] = frame["y"].cat.rename_categories(list("abcd"))
    before = frame.copy()
    run = dict(n_burn=100, n_between=10, n_imputations=2, random_state=4)
    with _quiet():
        imputer = SubstantiveModelImputer(FORMULA, model="ordinal", **run).fit(frame)
        again = SubstantiveModelImputer(FORMULA, model="ordinal", **run).fit(frame)
    pd.testing.assert_frame_equal(frame, before)
    first = imputer.sample()
    for completed, repeat in zip(first, again.sample()):
        pd.testing.assert_frame_equal(completed, repeat)
        assert not completed.isna().any().any()
        assert completed["y"].dtype == frame["y"].dtype
        observed = frame["x"].notna()
        assert (completed.loc[observed, "x"] == frame.loc[observed, "x"]).all()
    assert list(imputer.theta_.index) == ["x", "v", "a/b", "b/c", "c/d"]
    report = imputer.summary(warn=False)
    assert "analysis-model random effects" in report
    assert "g (20 clusters)" in report
    new, _ = _data(n_clusters=3, size=10, seed=9)
    new["g"] += 100
    new["y"] = new["y"].cat.rename_categories(list("abcd"))
    completed = imputer.transform(new)
    assert not completed.isna().any().any()
    sets = imputer.sample(n_imputations=2, X=new)
    assert not sets[0].equals(sets[1])


@pytest.mark.parametrize("cov_method", ["fixed", "random"])
def test_cluster_specific_covariances_of_the_joint_model(cov_method):
    frame, _ = _data(n_clusters=15, size=12, seed=3)
    with _quiet():
        imputer = SubstantiveModelImputer(
            FORMULA,
            model="ordinal",
            cov_method=cov_method,
            n_burn=50,
            n_between=5,
            n_imputations=2,
            random_state=0,
        ).fit(frame)
    assert imputer.cluster_covariances_.shape == (15, 1, 1)
    assert not imputer.sample()[0].isna().any().any()


def test_random_slope_of_an_imputed_covariate():
    """Random slope of x (variance 0.8) in 60 clusters of 40 rows."""
    frame, _ = _data(n_clusters=60, size=40, seed=2, slope=0.8)
    with _quiet():
        imputer = SubstantiveModelImputer(
            "y ~ x + v + (1 + x | g)", model="ordinal", n_burn=300, n_between=5, random_state=1
        ).fit(frame)
    psi = imputer.psi_
    assert list(psi.index) == list(psi.columns) == ["Intercept", "x"]
    assert np.all(np.linalg.eigvalsh(psi.to_numpy()) > 0)
    assert 0.4 < psi.loc["x", "x"] < 1.6
    assert abs(imputer.theta_["x"] - 1.0) < 0.3
    assert imputer.acceptance_rates_["analysis-model coefficients"] > 0.5
    assert not imputer.sample()[0].isna().any().any()


@pytest.mark.slow
def test_ordinal_mixed_study():
    """Known truth, 200 replicates (tests/smc_ordinal_mixed_simulation.py;
    about half an hour): the compatible imputations are as unbiased as the
    complete data (within 3 Monte Carlo SEs of the complete data's bias, which
    holds the Laplace fit's own small-sample bias) and their 95% intervals of
    the coefficients cover at the nominal rate (within [0.91, 0.98], 2.7
    Monte Carlo SEs of a coverage at 200 replicates)."""
    from smc_ordinal_mixed_simulation import study

    table = study(200, seed=1).set_index(["method", "term"])
    print(table.to_string())
    smc, full = table.loc["smc"], table.loc["full"]
    assert np.all(np.abs(smc["bias"] - full["bias"]) < 3 * smc["mcse"])
    assert np.all((smc["coverage"] >= 0.91) & (smc["coverage"] <= 0.98))
    assert abs(smc["variance"].iloc[0] / full["variance"].iloc[0] - 1) < 0.1
