"""Statistical checks of the Gibbs steps against closed forms."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from jomo_compare import batch_means_se
from scipy import stats

from skjomo import JointModelImputer
from skjomo._gibbs._chain import build_model, impute_given_parameters, initial_state


@pytest.fixture(scope="module")
def complete_continuous():
    rng = np.random.default_rng(42)
    n = 120
    x = rng.normal(size=n)
    y = np.column_stack([1 + 0.5 * x, -1 + 2 * x]) + rng.multivariate_normal(
        [0, 0], [[1.0, 0.6], [0.6, 2.0]], size=n
    )
    return pd.DataFrame({"y1": y[:, 0], "y2": y[:, 1], "x": x})


def test_conjugate_draws_match_closed_form(complete_continuous):
    """Complete data, flat prior on B, IW(nu0, S0) on Omega: the marginal
    posterior of Omega is IW(nu0 + N - m, S0 + S_ols) and B | Omega is matrix
    normal around the OLS fit, so E[B] = B_ols and
    Var(B[a, t]) = E[Omega_tt] (X'X)^{-1}_aa."""
    frame = complete_continuous
    nu0, scale0 = 3.5, np.array([[2.0, 0.3], [0.3, 1.0]])
    imputer = JointModelImputer(
        covariate_cols=["x"],
        n_burn=200,
        n_between=30000,
        n_imputations=1,
        prior_df=nu0,
        prior_scale=scale0,
        random_state=0,
    ).fit(frame)
    beta = imputer.chains_["beta"][0]
    omega = imputer.chains_["omega"][0]
    X = np.column_stack([np.ones(len(frame)), frame["x"]])
    Y = frame[["y1", "y2"]].to_numpy()
    n, m, p = len(frame), 2, 2
    b_ols = np.linalg.solve(X.T @ X, X.T @ Y)
    resid = Y - X @ b_ols
    df_post, scale_post = nu0 + n - m, scale0 + resid.T @ resid
    omega_mean = scale_post / (df_post - p - 1)
    # element variances of an inverse-Wishart
    d = df_post - p - 1
    omega_var = (
        (df_post - p + 1) * scale_post**2
        + (df_post - p - 1) * np.outer(np.diag(scale_post), np.diag(scale_post))
    ) / ((df_post - p) * d**2 * (df_post - p - 3))
    beta_var = np.outer(np.diag(np.linalg.inv(X.T @ X)), np.diag(omega_mean))

    def z(draws, target):
        return np.abs(draws.mean(axis=0) - target) / batch_means_se(draws)

    assert np.all(z(beta, b_ols) < 4.5)
    assert np.all(z(omega, omega_mean) < 4.5)
    assert np.allclose(beta.var(axis=0), beta_var, rtol=0.06)
    assert np.allclose(omega.var(axis=0), omega_var, rtol=0.08)


def test_probit_posterior_matches_maximum_likelihood():
    """A binary outcome alone is a probit regression with a flat prior: for
    large N the posterior mean and sd of B are the ML estimate and its SE.
    The first category corresponds to a positive latent."""
    rng = np.random.default_rng(1)
    n = 3000
    x = rng.normal(size=n)
    yes = (0.3 + 0.8 * x + rng.normal(size=n)) > 0
    frame = pd.DataFrame(
        {"b": pd.Categorical(np.where(yes, "yes", "no"), categories=["yes", "no"]), "x": x}
    )
    imputer = JointModelImputer(
        covariate_cols=["x"], n_burn=300, n_between=4000, n_imputations=1, random_state=3
    ).fit(frame)
    fit = sm.Probit(yes.astype(float), sm.add_constant(x)).fit(disp=0)
    draws = imputer.chains_["beta"][0][:, :, 0]
    assert np.all(np.abs(draws.mean(axis=0) - fit.params) < 4 * batch_means_se(draws) + 0.01)
    assert np.allclose(draws.std(axis=0), fit.bse, rtol=0.1)
    # the latent variance block is fixed at 1
    assert np.all(imputer.chains_["omega"][0] == 1.0)


def test_observed_latents_follow_truncated_conditional():
    """With fixed parameters, the latent of an observed binary value given
    its category is N(mu, 1) truncated to the category's half line."""
    n = 4000
    codes = np.where(np.arange(n) % 2 == 0, 0, 1).astype(np.int64)[:, None]
    values = np.full((n, 1), np.nan)
    missing = np.zeros((n, 1), dtype=bool)
    design = np.ones((n, 1))
    model, dynamic = build_model(
        design, values, missing, codes, np.array([0]), np.array([1]), 1.0, np.eye(1), fit=False
    )
    state = initial_state(model, values[dynamic], beta=np.array([[0.7]]), cov=np.eye(1))
    rng = np.random.default_rng(5)
    impute_given_parameters(rng, model, state, 3, np.zeros(1, dtype=bool))
    z = state.values[:, 0]
    positive, negative = z[codes[:, 0] == 0], z[codes[:, 0] == 1]
    assert positive.min() > 0 and negative.max() < 0
    upper = stats.truncnorm(a=-0.7, b=np.inf, loc=0.7)
    lower = stats.truncnorm(a=-np.inf, b=-0.7, loc=0.7)
    assert stats.kstest(positive, upper.cdf).pvalue > 0.001
    assert stats.kstest(negative, lower.cdf).pvalue > 0.001


def test_missing_values_follow_conditional_normal():
    """For fixed parameters, a missing y2 given observed y1 is
    N(mu2 + s12/s11 (y1 - mu1), s22 - s12^2/s11)."""
    n = 5000
    values = np.column_stack([np.full(n, 1.5), np.full(n, np.nan)])
    missing = np.isnan(values)
    design = np.ones((n, 1))
    cov = np.array([[2.0, 0.8], [0.8, 1.0]])
    model, dynamic = build_model(
        design,
        values,
        missing,
        np.zeros((n, 0), np.int64),
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        2.0,
        np.eye(2),
        fit=False,
    )
    state = initial_state(model, values[dynamic], beta=np.array([[0.5, -1.0]]), cov=cov)
    impute_given_parameters(np.random.default_rng(7), model, state, 1, np.zeros(1, dtype=bool))
    draws = state.values[:, 1]
    mean = -1.0 + 0.8 / 2.0 * (1.5 - 0.5)
    sd = np.sqrt(1.0 - 0.8**2 / 2.0)
    assert stats.kstest(draws, stats.norm(mean, sd).cdf).pvalue > 0.001


def test_categorical_imputations_are_valid_categories():
    rng = np.random.default_rng(2)
    n = 300
    x = rng.normal(size=n)
    cat = pd.Categorical(
        rng.choice(["low", "mid", "high"], size=n), categories=["low", "mid", "high"]
    )
    frame = pd.DataFrame(
        {
            "c": cat,
            "d": rng.choice(["u", "v"], size=n).astype(object),
            "y": x + rng.normal(size=n),
            "x": x,
        }
    )
    frame.loc[rng.uniform(size=n) < 0.3, "c"] = np.nan
    frame.loc[rng.uniform(size=n) < 0.3, "d"] = None
    imputer = JointModelImputer(
        covariate_cols=["x"], n_burn=100, n_between=10, n_imputations=4, random_state=0
    ).fit(frame)
    for completed in imputer.sample():
        assert set(completed["c"]) <= {"low", "mid", "high"}
        assert set(completed["d"]) <= {"u", "v"}
        assert completed["c"].dtype == frame["c"].dtype
    # every imputed category occurs over the imputations
    imputed = pd.concat([d.loc[frame["c"].isna(), "c"] for d in imputer.sample()])
    assert set(imputed) == {"low", "mid", "high"}
    # latent blocks of the covariance stay fixed at C_K
    omega = imputer.chains_["omega"][0]
    labels = imputer.omega_.index.tolist()
    block = [labels.index("c[low]"), labels.index("c[mid]")]
    assert np.all(omega[:, block, block] == 1.0)
    assert np.all(omega[:, block[0], block[1]] == 0.5)
