"""Compatible imputation of partially observed level-2 covariates.

In ``"y ~ x * w + (1 | g)"`` with ``w`` measured on clusters, ``w`` is a
level-2 outcome of the joint model drawn per cluster by Metropolis-Hastings
with the whole cluster's likelihood (skjomo/_gibbs/_smc_level2.py). Tested:
which columns go to level 2, the exactness of the step against closed-form
posteriors (continuous and binary ``w``), the estimator's output (constant
within clusters, observed values kept, new clusters), a small known-truth
check and, under ``-m slow``, the study of tests/smc_level2_simulation.py.
"""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from skjomo import SubstantiveModelImputer
from skjomo._analysis_level2 import level2_roles
from skjomo._gibbs._smc import build_analysis_model, initial_analysis_state
from skjomo._gibbs._smc_level2 import draw_level2_covariates

RUN = {"n_burn": 100, "n_between": 10, "n_imputations": 3, "random_state": 0}
FORMULA = "y ~ x * w + (1 | g)"


def _data(n_clusters=30, size=10, seed=0, binary=False):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_clusters), size)
    w = rng.normal(size=n_clusters)
    x = 0.5 * w[g] + rng.normal(size=g.size)
    y = 1 + x + 0.5 * w[g] + 0.5 * x * w[g] + 0.5 * rng.normal(size=n_clusters)[g]
    y = y + rng.normal(size=g.size)
    frame = pd.DataFrame({"y": y, "x": x, "w": w[g], "g": g})
    if binary:
        frame["w"] = pd.Categorical(np.where(w[g] > 0, "high", "low"))
    lost = rng.random(n_clusters) < 0.3
    frame["w"] = frame["w"].mask(lost[g])
    frame.loc[rng.random(g.size) < 0.03, "y"] = np.nan
    return frame


# -------------------------------------------------------------------- roles
def test_level2_columns_found_automatically():
    frame = _data()
    frame["z"] = frame.g % 3  # fully observed, constant within clusters
    frame["aux"] = np.arange(len(frame)) % 7  # level 1
    joint = ["x", "w", "z", "aux"]
    assert level2_roles(frame, "g", joint, ("w",), "auto") == (("w",), ("z",))
    assert level2_roles(frame, "g", joint, ("w",), None) == ((), ())
    assert level2_roles(frame, "g", joint, ("x",), "auto") == ((), ())  # no level-2 outcome
    assert level2_roles(frame, "g", joint, ("w",), ["w"]) == (("w",), ())
    with pytest.raises(ValueError, match="'q'.*not a covariate"):
        level2_roles(frame, "g", joint, ("w",), ["q"])


def test_level2_choice_errors():
    frame = _data()
    with pytest.raises(ValueError, match="'x' varies within cluster"):
        SubstantiveModelImputer(FORMULA, level2_cols=["w", "x"], **RUN).fit(
            frame.assign(x=frame.x.mask(frame.index % 4 == 0))
        )
    with pytest.raises(ValueError, match="needs a two-level analysis model"):
        SubstantiveModelImputer("y ~ x * w", level2_cols=["w"], **RUN).fit(frame)
    only_level2 = frame[["y", "w", "g"]]
    with pytest.raises(ValueError, match="no level-1 covariate"):
        SubstantiveModelImputer("y ~ w + (1 | g)", **RUN).fit(only_level2)


# --------------------------------------------------------------- exactness
def _level2_problem(binary, seed=0):
    """One analysis model ``y ~ x * w + (1 | g)`` in 3 clusters whose ``w``
    is missing, with ``v_j = (u_j, w_j) ~ N(0, Sigma)``: the arrays of the
    step and the exact posterior of every ``w_j`` given the rest."""
    rng = np.random.default_rng(seed)
    cluster = np.repeat(np.arange(3), [3, 6, 12])
    n = cluster.size
    x = rng.normal(size=n)
    theta, sigma2, b = np.array([0.5, 1.0, 0.8, -0.6]), 0.8, np.array([[0.3], [-0.2], [0.1]])
    y = rng.normal(size=n) + 0.5 + x
    xvars = np.column_stack([x, np.full(n, np.nan)])
    am = build_analysis_model(
        np.arange(0),
        np.zeros((n, 1), bool),
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        family=1,
        y=y,
        xvars=xvars,
        var_col=[-1, -1],
        var_block=[-1, -1],
        term_ptr=[0, 0, 1, 2, 4],
        factor_var=[0, 1, 0, 1],
        factor_power=[1, 1, 1, 1],
        factor_level=[-1, 1 if binary else -1, -1, 1 if binary else -1],
        random_effects={
            "cluster": cluster,
            "n_clusters": 3,
            "re_index": [0],
            "prior_df": 2.0,
            "prior_scale": np.eye(1),
        },
        level2={"var_col": [-1, 0], "var_block": [-1, 0 if binary else -1]},
        level2_layout=(
            np.column_stack([np.zeros(3, bool), np.ones(3, bool)]),
            np.array([1] if binary else [], np.int64),
            np.array([1] if binary else [], np.int64),
            1,
        ),
    )
    sigma = np.array([[1.0, 0.6], [0.6, 1.0]])
    level2 = np.column_stack([[0.9, -0.4, 1.5], np.zeros(3)])
    means2 = np.column_stack([np.zeros(3), [0.2, -0.1, 0.0]])
    ast = initial_analysis_state(
        am, np.zeros((0, 1)), theta, sigma2, None, 3, b, np.eye(1), values2=level2
    )
    # prior of w_j (or of its latent) given u_j, and the linear likelihood in w_j
    prior_mean = means2[:, 1] + sigma[1, 0] / sigma[0, 0] * (level2[:, 0] - means2[:, 0])
    prior_var = sigma[1, 1] - sigma[1, 0] ** 2 / sigma[0, 0]
    slope = theta[2] + theta[3] * x  # d eta / d w
    resid = y - theta[0] - theta[1] * x - b[cluster, 0]
    return (
        am,
        ast,
        level2,
        means2,
        np.linalg.inv(sigma),
        cluster,
        prior_mean,
        prior_var,
        slope,
        resid,
    )


def _chain(am, ast, level2, means2, precision, n_draws=15_000, seed=1):
    rng = np.random.default_rng(seed)
    draws, accepted = np.empty((n_draws, 3)), 0
    for t in range(n_draws):
        accepted += draw_level2_covariates(rng, am, ast, level2, means2, precision)
        draws[t] = ast.xvars[[0, 3, 9], 1]
        if t % 1000 == 0:  # the rows of a cluster share the value, the design follows it
            assert np.all(ast.xvars[:, 1] == np.repeat(draws[t], [3, 6, 12]))
            np.testing.assert_array_equal(ast.w[:, 2], ast.xvars[:, 1])
    return draws[200:], accepted / draws.size  # the start is at category 1 / value 0


@pytest.mark.parametrize("seed", [1])
def test_continuous_level2_step_targets_the_posterior(seed):
    """Normal prior from the joint model, linear likelihood of all the
    cluster's rows: the posterior of w_j is normal, in closed form."""
    am, ast, level2, means2, precision, cluster, m0, v0, slope, resid = _level2_problem(False)
    draws, rate = _chain(am, ast, level2, means2, precision, seed=seed)
    sigma2 = ast.sigma2[0]
    for j in range(3):
        rows = cluster == j
        var = 1 / (1 / v0 + slope[rows] @ slope[rows] / sigma2)
        mean = var * (m0[j] / v0 + slope[rows] @ resid[rows] / sigma2)
        # independence sampler: a generous Monte Carlo allowance for autocorrelation
        mcse = np.sqrt(var / draws.shape[0] / rate)
        assert abs(draws[:, j].mean() - mean) < 5 * mcse
        assert abs(draws[:, j].var() / var - 1) < 0.08
    np.testing.assert_array_equal(level2[:, 1], ast.xvars[[0, 3, 9], 1])


@pytest.mark.parametrize("seed", [1])
def test_binary_level2_step_targets_the_posterior(seed):
    """A binary w_j through one latent normal (category 1 when the latent is
    not positive): P(w_j = 1 | rest) enumerates both categories exactly."""
    am, ast, level2, means2, precision, cluster, m0, v0, slope, resid = _level2_problem(True)
    draws, _ = _chain(am, ast, level2, means2, precision, seed=seed)
    sigma2 = ast.sigma2[0]
    for j in range(3):
        rows = cluster == j
        log_lik = [-0.5 * np.sum((resid[rows] - c * slope[rows]) ** 2) / sigma2 for c in (0, 1)]
        prior1 = stats.norm.cdf(-m0[j] / np.sqrt(v0))
        odds = np.exp(log_lik[1] - log_lik[0]) * prior1 / (1 - prior1)
        p1 = odds / (1 + odds)
        mcse = np.sqrt(p1 * (1 - p1) / draws.shape[0])
        assert abs(draws[:, j].mean() - p1) < 6 * mcse


def test_three_category_level2_step_targets_the_posterior():
    """A three-category w_j through two latent normals: the step weights
    each category by its probability under the joint model (Monte Carlo of
    the latent normal) times the cluster's likelihood at that category."""
    rng = np.random.default_rng(4)
    cluster = np.repeat(np.arange(2), [4, 10])
    n = cluster.size
    x = rng.normal(size=n)
    theta, sigma2, b = np.array([0.2, 1.0, 0.6, -0.5]), 1.0, np.array([[0.2], [-0.3]])
    y = rng.normal(size=n) + x
    am = build_analysis_model(
        np.arange(0),
        np.zeros((n, 1), bool),
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        family=1,
        y=y,
        xvars=np.column_stack([x, np.full(n, np.nan)]),
        var_col=[-1, -1],
        var_block=[-1, -1],
        term_ptr=[0, 0, 1, 2, 3],
        factor_var=[0, 1, 1],
        factor_power=[1, 0, 0],
        factor_level=[-1, 1, 2],
        random_effects={
            "cluster": cluster,
            "n_clusters": 2,
            "re_index": [0],
            "prior_df": 2.0,
            "prior_scale": np.eye(1),
        },
        level2={"var_col": [-1, 0], "var_block": [-1, 0]},
        level2_layout=(np.array([[False, True, True]] * 2), np.array([1]), np.array([2]), 1),
    )
    sigma = np.array([[1.0, 0.5, -0.3], [0.5, 1.0, 0.5], [-0.3, 0.5, 1.0]])
    level2 = np.array([[0.8, 0.0, 0.0], [-0.5, 0.0, 0.0]])
    means2 = np.zeros((2, 3))
    ast = initial_analysis_state(
        am, np.zeros((0, 1)), theta, sigma2, None, 2, b, np.eye(1), values2=level2
    )
    draws = np.empty((15_000, 2))
    chain_rng = np.random.default_rng(5)
    for t in range(draws.shape[0]):
        draw_level2_covariates(chain_rng, am, ast, level2, means2, np.linalg.inv(sigma))
        draws[t] = ast.xvars[[0, 4], 1]
    draws = draws[200:]
    cond_cov = sigma[1:, 1:] - np.outer(sigma[1:, 0], sigma[0, 1:]) / sigma[0, 0]
    for j in range(2):
        latents = rng.multivariate_normal(
            sigma[1:, 0] / sigma[0, 0] * level2[j, 0], cond_cov, size=1_000_000
        )
        best = latents.argmax(axis=1)
        category = np.where(latents.max(axis=1) > 0, best, 2)
        prior = np.bincount(category, minlength=3) / latents.shape[0]
        rows = cluster == j
        eta0 = theta[0] + theta[1] * x[rows] + b[j, 0]
        log_lik = np.array(
            [-0.5 * np.sum((y[rows] - eta0 - shift) ** 2) / sigma2 for shift in (0, *theta[2:])]
        )
        posterior = prior * np.exp(log_lik - log_lik.max())
        posterior /= posterior.sum()
        found = np.bincount(draws[:, j].astype(int), minlength=3) / draws.shape[0]
        assert np.all(np.abs(found - posterior) < 5 * np.sqrt(posterior / draws.shape[0]) + 0.005)


# ---------------------------------------------------------------- estimator
def _check_completed(completed, frame):
    assert not completed[["x", "w"]].isna().any().any()
    assert completed.groupby("g").w.nunique().max() == 1  # one value per cluster
    observed = frame.w.notna()
    pd.testing.assert_series_equal(completed.w[observed], frame.w[observed])  # bit for bit
    pd.testing.assert_series_equal(completed.x, frame.x)
    assert completed.y[frame.y.notna()].equals(frame.y[frame.y.notna()])


@pytest.mark.parametrize("binary", [False, True])
def test_level2_covariate_constant_within_clusters(binary):
    frame = _data(binary=binary)
    before = frame.copy()
    imputer = SubstantiveModelImputer(FORMULA, **RUN).fit(frame)
    assert imputer.level2_cols_ == ["w"]
    sets = imputer.sample()
    pd.testing.assert_frame_equal(frame, before)  # the user's frame is untouched
    for completed in sets:
        _check_completed(completed, frame)
    assert not sets[0].w.equals(sets[1].w)
    assert imputer.acceptance_rates_["analysis-model covariates"] > 0.1
    # the joint model's level-2 block: w with the random intercept of x
    assert list(imputer.sigma_.columns) == ["x|(Intercept)", "w[high]" if binary else "w"]
    assert imputer.beta2_.shape == (1, 1)
    again = SubstantiveModelImputer(FORMULA, **RUN).fit(frame).sample()
    pd.testing.assert_frame_equal(sets[0], again[0])


@pytest.mark.parametrize("model", ["logit", "ordinal"])
def test_mixed_logistic_models_with_level2_covariate(model):
    frame = _data(n_clusters=40)
    cuts = frame.y.quantile([0.5] if model == "logit" else [0.3, 0.7]).to_numpy()
    frame["y"] = np.searchsorted(cuts, frame.y).astype(float)
    frame["y"] = frame.y.mask(_data(n_clusters=40).y.isna())
    imputer = SubstantiveModelImputer(FORMULA, model=model, **RUN).fit(frame)
    assert imputer.level2_cols_ == ["w"]
    for completed in imputer.sample():
        _check_completed(completed, frame)


def test_level2_cols_none_keeps_level1_model():
    """level2_cols=None: w is a level-1 variable of the joint model (the
    imputations may then vary within clusters)."""
    with pytest.warns(UserWarning, match="'w' is constant within every cluster"):
        imputer = SubstantiveModelImputer(FORMULA, level2_cols=None, **RUN).fit(_data())
    assert imputer.level2_cols_ == []
    assert "w" in imputer.omega_.columns


def test_new_clusters_with_missing_level2_covariate():
    frame = _data()
    imputer = SubstantiveModelImputer(FORMULA, **RUN).fit(frame)
    new = _data(n_clusters=6, seed=5)
    new["g"] += 100
    new.loc[new.g == 100, "w"] = np.nan  # a new cluster without w
    new.loc[new.g == 101, "w"] = new.loc[new.g == 101, "w"].iloc[0]  # one with it
    completed = imputer.transform(new)
    _check_completed(completed, new)
    # a known cluster, w missing on some rows only: its own value is used
    known = frame[frame.g.isin([0, 1, 2, 3])].copy()
    observed_w = known.groupby("g").w.first()
    known.loc[known.index[::2], "w"] = np.nan
    filled = imputer.transform(known)
    for g, value in observed_w.dropna().items():
        assert (filled.w[filled.g == g] == value).all()
    sets = imputer.sample(n_imputations=2, X=new)
    assert sets[0].w[new.g == 100].iloc[0] != sets[1].w[new.g == 100].iloc[0]


def test_cross_level_interaction_recovers_the_complete_data_fit():
    """Small known-truth check (the study is the slow test below): with 40%
    of the clusters missing w (MAR given the cluster mean of y), the pooled
    interaction of compatible imputation is within its pooled SE of the
    complete-data estimate, and far closer than the listwise-deletion
    estimate is."""
    from smc_level2_simulation import analyse, cross_level, rubin

    rng = np.random.default_rng(11)
    frame, full = cross_level(rng, n_clusters=40, size=15)
    complete = analyse(full)[0]
    imputer = SubstantiveModelImputer(
        "y ~ x * w + (1 | cluster)", n_burn=200, n_between=20, n_imputations=5, random_state=1
    )
    pooled, se, _ = rubin(imputer.fit(frame).sample())
    assert np.all(np.abs(pooled[:4] - complete[:4]) < se[:4])
    assert abs(pooled[3] - 0.5) < 2.5 * se[3]


@pytest.mark.slow
def test_cross_level_interaction_study():
    """Scenario 2 of issue 13, 200 replicates (figures in doc/smc.rst,
    "Level-2 covariates"): compatible imputation is unbiased with 95%
    intervals covering 93-97% of the time for every fixed effect and
    variance component; the plain joint model attenuates the interaction."""
    from smc_level2_simulation import study

    table = study(200).set_index(["method", "term"])
    smc, full, jm = table.loc["smc"], table.loc["full"], table.loc["jm"]
    for term in smc.index:
        assert abs(smc.loc[term, "bias"]) < 3 * smc.loc[term, "mcse"] + 0.01
        assert 0.93 <= smc.loc[term, "coverage"] <= 0.97
    for term in ("tau2", "sigma2"):  # as unbiased as the complete-data REML fit
        assert abs(smc.loc[term, "bias"] - full.loc[term, "bias"]) < 0.02
    assert jm.loc["x:w", "bias"] < -0.05 and jm.loc["x:w", "coverage"] < 0.85
