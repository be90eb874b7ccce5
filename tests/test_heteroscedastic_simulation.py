"""Simulations with a known truth for cluster-specific covariances.

1. IPD meta-analysis (skjomo.datasets.make_ipd_data): six studies of 200
   people whose x-y correlations range from 0 to 0.9, x missing at random
   given y, more often in the strongly correlated studies. Estimand: the
   pooled within-study slope of y on x (average of the study slopes, 0.506),
   estimated by the average of per-study least-squares slopes and pooled
   over m = 5 imputations with Rubin's rules. A joint model with one common
   level-1 covariance (MultilevelJointImputer) imputes x in every study with
   the pooled x-y relation and biases the slope; HeteroscedasticMultilevelImputer
   ("fixed" and "random") recovers it with 95% intervals that cover.
2. The degrees of freedom ``a`` of the "random" method: data drawn from the
   hierarchical model with known ``a`` (make_hierarchical_covariance_data), and
   the a-then-A update checked on its own against the exact conditional of
   ``a`` computed by numerical integration.

Figures (seed 2024, 200 replicates, printed with ``pytest -s``; truth 0.506,
Monte Carlo se of a bias about 0.002): bias of the slope / coverage of 95%
intervals: common covariance -0.074 (-14.6%) / 49.5%, fixed -0.004 / 95.0%,
random -0.003 / 96.5% (complete cases -0.066 / 35%). About 30 s, so the
200-replicate study runs with ``-m slow``; the default suite runs 20
replicates and checks the biases only.

With few clusters the update of ``a`` used to get stuck, when its mode
search started from the current value (``test_a_keeps_moving_with_few_clusters``).
With the search independent of the current value, the chain of ``a`` on the
IPD data (6 studies) moves freely: posterior mean about 5.4, 87% of the
proposals accepted.
"""

import time

import numpy as np
import pytest
from jomo_compare import batch_means_se
from scipy import stats

from skjomo import HeteroscedasticMultilevelImputer, MultilevelJointImputer
from skjomo.datasets import make_hierarchical_covariance_data, make_ipd_data
from skjomo.pooling import pool_estimates

N_REPLICATES = 200
M = 5
SAMPLER = dict(n_burn=200, n_between=20, n_imputations=M)


def within_study_slope(frame):
    """Average of the per-study least-squares slopes of y on x and its variance."""
    codes = np.unique(frame["study"].to_numpy(), return_inverse=True)[1]
    x = frame["x"].to_numpy(float)
    y = frame["y"].to_numpy(float)
    slopes, variances = [], []
    for j in range(codes.max() + 1):
        xs, ys = x[codes == j], y[codes == j]
        xc, yc = xs - xs.mean(), ys - ys.mean()
        sxx = xc @ xc
        slope = (xc @ yc) / sxx
        resid = yc - slope * xc
        slopes.append(slope)
        variances.append(resid @ resid / (xs.size - 2) / sxx)
    n_studies = len(slopes)
    return np.mean(slopes), np.sum(variances) / n_studies**2


def _imputer(method, seed):
    if method == "common":
        return MultilevelJointImputer(cluster_col="study", random_state=seed, **SAMPLER)
    return HeteroscedasticMultilevelImputer(
        cluster_col="study", cov_method=method, random_state=seed, **SAMPLER
    )


def _interval(estimates, variances):
    pooled = pool_estimates(
        estimates=[[e] for e in estimates], covariances=[[v] for v in variances], names=["slope"]
    )
    est, se, df = pooled.estimate.iloc[0], pooled.std_error.iloc[0], pooled.df.iloc[0]
    half = stats.t.ppf(0.975, df) * se
    return est, est - half, est + half


def run_ipd_study(n_replicates, seed=2024):
    """Bias, its Monte Carlo error, coverage and mean width of each method."""
    truth = make_ipd_data(random_state=0).truth["slope"]
    seeds = np.random.SeedSequence(seed).generate_state(n_replicates)
    results = {k: [] for k in ("complete_cases", "common", "fixed", "random")}
    start = time.perf_counter()
    for r, seed in enumerate(seeds):
        data = make_ipd_data(random_state=int(seed))
        est, var = within_study_slope(data.frame.dropna())
        half = stats.norm.ppf(0.975) * np.sqrt(var)
        results["complete_cases"].append((est, est - half, est + half))
        for method in ("common", "fixed", "random"):
            completed = _imputer(method, int(seed) + r).fit(data.frame).sample()
            fits = [within_study_slope(frame) for frame in completed]
            results[method].append(_interval(*zip(*fits)))
    seconds = time.perf_counter() - start
    summary = {}
    for name, rows in results.items():
        rows = np.asarray(rows)
        bias = rows[:, 0].mean() - truth
        mcse = rows[:, 0].std(ddof=1) / np.sqrt(len(rows))
        cover = np.mean((rows[:, 1] <= truth) & (truth <= rows[:, 2]))
        width = np.mean(rows[:, 2] - rows[:, 1])
        summary[name] = dict(bias=bias, mcse=mcse, coverage=cover, width=width)
        print(
            f"\n{name:15s} bias {bias:+.4f} (mcse {mcse:.4f}, relative {bias / truth:+.1%}) "
            f"coverage {cover:.3f} mean width {width:.3f}",
            end="",
        )
    print(f"\n{n_replicates} replicates x 3 imputation models in {seconds:.0f} s")
    return truth, summary


@pytest.fixture(scope="module")
def ipd_study():
    return run_ipd_study(N_REPLICATES)


def test_ipd_few_replicates_common_covariance_biased_cluster_specific_not():
    """20 replicates: Monte Carlo se of each bias about 0.007 (0.002 at 200)."""
    truth, summary = run_ipd_study(20, seed=7)
    assert summary["common"]["bias"] < -0.08 * truth
    assert summary["common"]["bias"] < -4 * summary["common"]["mcse"]
    for method in ("fixed", "random"):
        assert abs(summary[method]["bias"]) <= 4 * summary[method]["mcse"], method
        assert abs(summary[method]["bias"]) < abs(summary["common"]["bias"]) / 2, method


@pytest.mark.slow
def test_ipd_common_covariance_biases_the_pooled_slope(ipd_study):
    truth, summary = ipd_study
    common = summary["common"]
    assert common["bias"] < -0.08 * truth
    assert common["bias"] < -8 * common["mcse"]
    assert common["coverage"] < 0.75
    # the simulation's MAR mechanism matters: complete cases are biased too
    assert summary["complete_cases"]["bias"] < -8 * summary["complete_cases"]["mcse"]


@pytest.mark.slow
@pytest.mark.parametrize("method", ["fixed", "random"])
def test_ipd_cluster_specific_covariances_recover_the_slope(ipd_study, method):
    truth, summary = ipd_study
    result = summary[method]
    assert abs(result["bias"]) <= 3.5 * result["mcse"]
    assert abs(result["bias"]) <= 0.02 * truth
    # 200 replicates: the binomial sd of a 95% coverage is 1.5 points
    assert 0.91 <= result["coverage"] <= 0.985, result["coverage"]


# ------------------------------------------------------------ degrees of freedom
def test_posterior_of_a_concentrates_near_the_truth():
    """150 clusters of 30 rows, covariances from IW(a = 8, A), 20% of each
    outcome missing at random: the posterior of a covers 8 and is narrow."""
    a_true = 8.0
    data = make_hierarchical_covariance_data(
        n_clusters=150, cluster_size=30, a=a_true, random_state=7
    )
    imputer = HeteroscedasticMultilevelImputer(
        cluster_col="cluster",
        covariate_cols=["x"],
        cov_method="random",
        n_burn=500,
        n_between=3000,
        n_imputations=1,
        random_state=3,
    ).fit(data.frame)
    draws = imputer.chains_["a"][0]
    lower, upper = np.quantile(draws, [0.025, 0.975])
    print(
        f"\na: truth {a_true}, posterior mean {draws.mean():.2f} "
        f"(mcse {batch_means_se(draws[:, None])[0]:.3f}), 95% interval "
        f"[{lower:.2f}, {upper:.2f}]"
    )
    assert lower <= a_true <= upper
    # the posterior mean within two posterior SDs of the truth (a tolerance in
    # units of a is luck of the random numbers: it failed on numba 0.58's)
    assert abs(draws.mean() - a_true) <= 2 * draws.std()
    assert upper - lower <= 0.5 * a_true
    # the cluster covariances are recovered too (posterior means vs the truth)
    true_covs = data.truth["cluster_covariances"]
    err = imputer.cluster_covariances_ - true_covs
    assert np.mean(np.abs(err[:, 0, 0])) < 0.25 * np.mean(true_covs[:, 0, 0])
    # their average over clusters within 4 standard errors of the sampling
    # error of an average of 150 covariances each estimated from 30 rows,
    # var(S_kl) ~ (s_kk s_ll + s_kl^2) / (n - 2): about 0.03 here. (A fixed
    # atol = 0.1, 3.2 of these standard errors, failed on numba 0.58's streams;
    # the seed on numba 0.68 gives -2.4 on the (0, 0) element, partly the
    # prior's expected shrinkage of about 1 standard error.)
    sd = np.diagonal(true_covs, axis1=1, axis2=2)
    sampling_var = sd[:, :, None] * sd[:, None, :] + true_covs**2
    standard_error = np.sqrt(sampling_var.mean(axis=0) / (30 - 2) / true_covs.shape[0])
    average_error = imputer.cluster_covariances_.mean(axis=0) - true_covs.mean(axis=0)
    assert np.all(np.abs(average_error) <= 4 * standard_error), average_error / standard_error


@pytest.mark.parametrize("a_true", [5.0, 12.0])
def test_posterior_of_a_other_values(a_true):
    data = make_hierarchical_covariance_data(
        n_clusters=100, cluster_size=30, a=a_true, missing_fraction=0.1, random_state=11
    )
    imputer = HeteroscedasticMultilevelImputer(
        cluster_col="cluster",
        covariate_cols=["x"],
        cov_method="random",
        n_burn=300,
        n_between=2000,
        n_imputations=1,
        random_state=4,
    ).fit(data.frame)
    draws = imputer.chains_["a"][0]
    lower, upper = np.quantile(draws, [0.025, 0.975])
    print(
        f"\na: truth {a_true}, posterior mean {draws.mean():.2f}, "
        f"95% interval [{lower:.2f}, {upper:.2f}]"
    )
    assert lower <= a_true <= upper
    # within 2 posterior sd (one data set: the distance is mostly sampling
    # variation). Measured, a = 5: posterior mean 5.77, sd 0.46 with the default
    # (flat-like) prior of A, 5.71 with prior_scale = the observed variances;
    # over data seeds 11-14 the two priors differ by 0.06 (a = 5) and 0.8
    # (a = 12, where the posterior sd is about 1.2), doc/model.rst "Priors".
    assert abs(draws.mean() - a_true) <= 2 * draws.std()


def test_a_then_A_update_has_the_exact_conditional():
    """The a-then-A step alone, with the cluster covariances held fixed.

    Its stationary distribution must be ``p(a | {Omega_j})`` (A integrated
    out) times ``A | a ~ Wishart(p + 1 + J a, M^{-1})``. The density of ``a``
    is computed independently (tests/hr_reference.py) and integrated on a
    fine grid; the chain's mean and quantiles of ``a`` and mean of ``A`` must
    match within Monte Carlo error. jomo's variant (exponent -2 in the
    proposal density) has the target times ``(1 + z^2/4)^(-1/2)`` as its
    stationary distribution and would fail the mean check.
    """
    from hr_reference import _ATarget

    from skjomo._gibbs._hierarchical import draw_covariance_hyperparameters

    rng = np.random.default_rng(0)
    p, n_clusters, eta = 2, 25, 2.0
    scale0 = np.array([[3.0, 1.0], [1.0, 2.0]])
    covs = stats.invwishart(df=6.0, scale=scale0).rvs(size=n_clusters, random_state=rng)
    precision = np.linalg.inv(covs)
    chol = np.linalg.cholesky(covs)
    prior_scale_inv = np.eye(p)
    m_matrix = prior_scale_inv + precision.sum(axis=0)
    target = _ATarget(
        p,
        n_clusters,
        eta,
        p + 1.0,
        np.linalg.slogdet(covs)[1].sum(),
        np.linalg.slogdet(m_matrix)[1],
    )
    v = np.linspace(-12, 5, 200001)
    a_grid = p + np.exp(v)
    logf = target.log_a(a_grid) + v
    w = np.exp(logf - logf.max())
    w /= w.sum()
    exact_mean = w @ a_grid
    exact_cdf = np.cumsum(w)
    exact_q = np.interp([0.1, 0.5, 0.9], exact_cdf, a_grid)

    n_draws = 40000
    a = np.array([p + 50.0])
    scale_out = np.empty((p, p))
    gen = np.random.default_rng(1)
    a_draws = np.empty(n_draws)
    A_sum = np.zeros((p, p))
    for k in range(n_draws):
        draw_covariance_hyperparameters(
            gen, covs, chol, precision, np.linalg.inv(prior_scale_inv), eta, p, a, scale_out
        )
        a_draws[k] = a[0]
        A_sum += scale_out
    a_draws = a_draws[1000:]
    mcse = batch_means_se(a_draws[:, None])[0]
    assert abs(a_draws.mean() - exact_mean) <= 4 * mcse, (a_draws.mean(), exact_mean, mcse)
    assert np.allclose(np.quantile(a_draws, [0.1, 0.5, 0.9]), exact_q, rtol=0.02)
    # E[A] = E[p + 1 + J a] M^{-1}
    expected_A = (p + 1 + n_clusters * exact_mean) * np.linalg.inv(m_matrix)
    assert np.allclose(A_sum / n_draws, expected_A, rtol=0.02)


def test_a_keeps_moving_with_few_clusters():
    """20 clusters of 15 rows, covariances from IW(6, A). The exact posterior
    of a (reference sampler, tests/hr_reference.py, 20000 draws) has mean 5.26
    and 95% interval [3.6, 7.4]. When the mode search of the proposal
    started from the current value, skjomo's chain sat at a = 2.32 for 19957
    of 20000 iterations, and its average covariance was 13% too large (1.58
    against 1.40 for the variance of y1); the chain must now move and find
    the posterior."""
    data = make_hierarchical_covariance_data(n_clusters=20, cluster_size=15, a=6.0, random_state=2)
    imputer = HeteroscedasticMultilevelImputer(
        cluster_col="cluster",
        covariate_cols=["x"],
        cov_method="random",
        n_burn=1000,
        n_between=5000,
        n_imputations=1,
        random_state=0,
    ).fit(data.frame)
    draws = imputer.chains_["a"][0]
    runs = np.diff(np.flatnonzero(np.diff(np.r_[np.nan, draws, np.nan]) != 0))
    assert runs.max() < 200, f"a stayed at one value for {runs.max()} iterations"
    assert 3.6 < draws.mean() < 7.4, draws.mean()
