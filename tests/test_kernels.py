"""Tests of the numba sampling kernels (skjomo._gibbs._truncnorm, _wishart,
_linalg, _regression).

Monte Carlo checks use fixed seeds and tolerances of about 4.5 standard
errors, so they are deterministic and would fail for a wrong formula (for
example a degrees of freedom off by the size of a block).
"""

import numpy as np
import pytest
from scipy import linalg, special, stats
from stream_draws import stream_draws

from skjomo._gibbs._linalg import gaussian_from_precision
from skjomo._gibbs._missing import draw_missing_from, missingness_groups
from skjomo._gibbs._regression import draw_random_effects
from skjomo._gibbs._truncnorm import (
    standard_normal_above,
    standard_normal_below,
    truncated_normal,
    truncated_normal_above,
    truncated_normal_below,
    truncated_standard_normal,
)
from skjomo._gibbs._wishart import (
    _complete_from_latent_block,
    constrained_inverse_wishart,
    inverse_wishart,
    iw_logpdf,
    log_multigamma,
    split_constrained_inverse_wishart,
    wishart,
    work_space,
)

INF = np.inf
Z_TOL = 4.5  # tolerance in standard errors for Monte Carlo comparisons


def _close(estimate, target, se, tol=Z_TOL):
    estimate, target, se = np.broadcast_arrays(estimate, target, se)
    z = np.abs(estimate - target) / se
    assert np.all(z < tol), f"max z = {z.max():.2f}\n{estimate}\n{target}"


def _mean_and_var_close(draws, mean, var, tol=Z_TOL):
    """Sample mean and variance of ``draws`` (n, ...) against closed forms.

    The standard error of the variance estimate uses the sample fourth
    central moment.
    """
    n = draws.shape[0]
    centred = draws - draws.mean(axis=0)
    m2 = (centred**2).mean(axis=0)
    m4 = (centred**4).mean(axis=0)
    _close(draws.mean(axis=0), mean, np.sqrt(var / n), tol)
    _close(m2, var, np.sqrt((m4 - m2**2) / n), tol)


def _two_sample_close(a, b, tol=Z_TOL):
    """Means and variances of two independent samples agree, and KS finds
    no difference in any coordinate."""
    se = np.sqrt(a.var(axis=0) / a.shape[0] + b.var(axis=0) / b.shape[0])
    _close(a.mean(axis=0), b.mean(axis=0), se, tol)
    # variances, with standard errors from the fourth central moments
    va, vb = a.var(axis=0), b.var(axis=0)
    m4a = ((a - a.mean(axis=0)) ** 4).mean(axis=0)
    m4b = ((b - b.mean(axis=0)) ** 4).mean(axis=0)
    se = np.sqrt((m4a - va**2) / a.shape[0] + (m4b - vb**2) / b.shape[0])
    _close(va, vb, np.where(se > 0, se, 1.0), tol)
    a2 = a.reshape(a.shape[0], -1)
    b2 = b.reshape(b.shape[0], -1)
    for k in range(a2.shape[1]):
        if np.ptp(a2[:, k]) == 0 and np.ptp(b2[:, k]) == 0:
            assert a2[0, k] == b2[0, k]
            continue
        pvalue = stats.ks_2samp(a2[:, k], b2[:, k]).pvalue
        assert pvalue > 1e-4, f"entry {k}: KS p-value {pvalue:.2e}"


def _assert_symmetric_pd(draws):
    """Exactly symmetric; positive definite up to rounding (tiny chi-square
    variates at small df can make the smallest eigenvalue round to ~0)."""
    assert np.all(draws == np.swapaxes(draws, -1, -2))
    eig = np.linalg.eigvalsh(draws)
    assert np.all(eig > -1e-12 * eig[..., -1:])
    assert np.mean(eig[..., 0] > 0) > 0.99


def _scale(p, seed):
    """A fixed, well-conditioned SPD matrix with sizeable correlations."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((p, p + 2))
    s = a @ a.T / (p + 2) + 0.5 * np.eye(p)
    return 0.5 * (s + s.T)


# ---------------------------------------------------------------------------
# truncated normal

INTERVALS = [
    (-INF, INF),
    (0.0, INF),
    (2.0, INF),
    (8.0, INF),
    (40.0, INF),
    (-INF, -5.0),
    (-0.1, 0.1),
    (1.0, 1.01),
    (3.0, 5.0),
    (-2.0, 3.0),
    (5.0, 5.0001),
    (-INF, 0.5),
    (-3.0, -2.5),
    (0.0, 0.5),
    (0.1, 10.0),
    (-40.0, -39.0),
    (-0.5, INF),
    (-7.0, 8.0),
    # 0 <= lower < 0.6 with upper - lower >= 1: half-normal rejection
    (0.3, INF),
    (0.59, INF),
    (0.0, 1.0),
    (0.3, 1.3),
    (0.59, 1.59),
    (-INF, -0.3),
    (-1.45, -0.45),
    # just outside it: exponential or uniform proposals
    (0.6, INF),
    (0.3, 1.29),
]


@pytest.mark.parametrize("lower, upper", INTERVALS)
def test_truncated_standard_normal_ks(lower, upper):
    rng = np.random.default_rng(12345)
    draws = np.array([truncated_standard_normal(rng, lower, upper) for _ in range(4000)])
    assert np.all(draws > lower) and np.all(draws < upper)
    pvalue = stats.kstest(draws, stats.truncnorm(lower, upper).cdf).pvalue
    assert pvalue > 1e-3


@pytest.mark.parametrize("lower", [8.0, 40.0, 1e3])
def test_truncated_standard_normal_extreme_tail_mean(lower):
    rng = np.random.default_rng(7)
    n = 20000
    draws = np.array([truncated_standard_normal(rng, lower, INF) for _ in range(n)])
    assert draws.min() > lower
    # E[Z | Z > a] = a + 1/a - 2/a^3 + ..., sd about 1/a
    expected = lower + 1 / lower - 2 / lower**3
    _close(draws.mean(), expected, 1 / lower / np.sqrt(n))
    mirrored = np.array([truncated_standard_normal(rng, -INF, -lower) for _ in range(n)])
    _close(mirrored.mean(), -expected, 1 / lower / np.sqrt(n))


# one-sided bounds of every branch: normal rejection (a < 0), half-normal
# rejection (0 <= a < 0.6), exponential proposal (a >= 0.6), far tail
ONE_SIDED = [-2.5, -0.4, 0.0, 0.3, 0.59, 0.6, 1.7, 6.0]


@pytest.mark.parametrize("a", ONE_SIDED)
def test_one_sided_standard_normal_ks(a):
    """standard_normal_above draws Z | Z > a, standard_normal_below its mirror."""
    rng = np.random.default_rng(2024)
    above = np.array([standard_normal_above(rng, a) for _ in range(4000)])
    below = np.array([standard_normal_below(rng, -a) for _ in range(4000)])
    assert above.min() > a and below.max() < -a
    assert stats.kstest(above, stats.truncnorm(a, INF).cdf).pvalue > 1e-3
    assert stats.kstest(below, stats.truncnorm(-INF, -a).cdf).pvalue > 1e-3
    # first two moments against the closed forms, within 4.5 standard errors
    for draws, dist in ((above, stats.truncnorm(a, INF)), (below, stats.truncnorm(-INF, -a))):
        _close(draws.mean(), dist.mean(), dist.std() / np.sqrt(draws.size))
        fourth = (dist.stats(moments="k") + 3.0) * dist.var() ** 2
        _close(draws.var(), dist.var(), np.sqrt((fourth - dist.var() ** 2) / draws.size))


@pytest.mark.parametrize(
    "mean, sd, bound",
    [(0.3, 2.0, -1.0), (-5.0, 0.5, 2.0), (1.0, 0.7, 1.2), (2.0, 1.5, 0.0), (0.0, 1.0, 40.0)],
)
def test_one_sided_draws_are_those_of_the_two_sided_sampler(mean, sd, bound):
    """The one-sided kernels of the latent step make the draws of
    truncated_normal with an infinite bound, draw for draw (same random
    stream), so the latent step's output did not change with them."""
    for one_sided, lower, upper in (
        (truncated_normal_above, bound, INF),
        (truncated_normal_below, -INF, bound),
    ):
        rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
        ours = [one_sided(rng_a, mean, sd, 1.0 / sd, bound) for _ in range(500)]
        two_sided = [truncated_normal(rng_b, mean, sd, lower, upper) for _ in range(500)]
        np.testing.assert_array_equal(ours, two_sided)


def test_one_sided_kernels_with_nan_or_infinite_bounds_match_the_two_sided_one():
    rng_a, rng_b = np.random.default_rng(1), np.random.default_rng(1)
    assert np.isnan(truncated_normal_above(rng_a, 0.0, 1.0, 1.0, np.nan))
    assert np.isnan(truncated_normal_below(rng_a, 0.0, 1.0, 1.0, np.nan))
    assert np.isnan(truncated_normal_above(rng_a, 0.0, 1.0, 1.0, INF))
    assert truncated_normal_below(rng_a, 0.0, 1.0, 1.0, INF) == truncated_normal(
        rng_b, 0.0, 1.0, -INF, INF
    )


@pytest.mark.parametrize(
    "mean, sd, lower, upper",
    [
        (0.3, 2.0, -1.0, 4.0),
        (-5.0, 0.5, 2.0, INF),
        (10.0, 3.0, -INF, 1.0),
        (1.0, 1e-3, 1.0, 1.0005),
        (0.0, 1.0, -INF, INF),
    ],
)
def test_truncated_normal_affine(mean, sd, lower, upper):
    rng = np.random.default_rng(99)
    draws = np.array([truncated_normal(rng, mean, sd, lower, upper) for _ in range(4000)])
    assert np.all(draws >= lower) and np.all(draws <= upper)
    dist = stats.truncnorm((lower - mean) / sd, (upper - mean) / sd, loc=mean, scale=sd)
    assert stats.kstest(draws, dist.cdf).pvalue > 1e-3


@pytest.mark.parametrize(
    "lower, upper",
    [
        (1e10, INF),
        (1e200, INF),
        (1e308, INF),
        (-INF, -1e300),
        (5.0, np.nextafter(5.0, INF)),
        (1e8, 1e8 + 1e-8),
        (-1e-300, 1e-300),
    ],
)
def test_truncated_standard_normal_terminates_at_extreme_bounds(lower, upper):
    rng = np.random.default_rng(3)
    draws = np.array([truncated_standard_normal(rng, lower, upper) for _ in range(200)])
    assert np.all(draws >= lower) and np.all(draws <= upper)


def test_truncated_normal_empty_interval_is_nan():
    rng = np.random.default_rng(0)
    assert np.isnan(truncated_standard_normal(rng, 1.0, 1.0))
    assert np.isnan(truncated_standard_normal(rng, 2.0, 1.0))
    assert np.isnan(truncated_standard_normal(rng, np.nan, 1.0))
    assert np.isnan(truncated_normal(rng, 0.0, 1.0, 3.0, -3.0))


# ---------------------------------------------------------------------------
# Wishart and inverse-Wishart


def _draws(sampler, df, scale, n, seed):
    rng = np.random.default_rng(seed)
    p = scale.shape[0]
    out = np.empty((n, p, p))
    for k in range(n):
        sampler(rng, df, scale, out[k])
    return out


@pytest.mark.parametrize("df", [2.5, 3.5, 6.0, 10.3])
def test_wishart_moments(df):
    # p = 3: df = p - 0.5, p + 0.5, integer, p + 7.3
    scale = _scale(3, 1)
    draws = _draws(wishart, df, scale, 20000, 2)
    _assert_symmetric_pd(draws)
    d = np.diag(scale)
    var = df * (scale**2 + np.outer(d, d))
    _mean_and_var_close(draws, df * scale, var)


@pytest.mark.parametrize("df", [15.0, 15.3])
def test_inverse_wishart_moments(df):
    p = 3
    scale = _scale(p, 3)
    draws = _draws(inverse_wishart, df, scale, 30000, 4)
    _assert_symmetric_pd(draws)
    d = np.diag(scale)
    var = ((df - p + 1) * scale**2 + (df - p - 1) * np.outer(d, d)) / (
        (df - p) * (df - p - 1) ** 2 * (df - p - 3)
    )
    _mean_and_var_close(draws, scale / (df - p - 1), var)


@pytest.mark.parametrize("df", [3.0, 3.5, 4.2, 10.3])
def test_inverse_wishart_small_df(df):
    """Moments that exist for any df > p - 1: W^{-1} ~ Wishart(df, Psi^{-1}),
    log|Psi| - log|W| is a sum of log chi2(df - i), and W_11 is inverse-gamma."""
    p = 3
    scale = _scale(p, 5)
    draws = _draws(inverse_wishart, df, scale, 20000, 6)
    _assert_symmetric_pd(draws)
    sigma = np.linalg.inv(scale)
    d = np.diag(sigma)
    _mean_and_var_close(np.linalg.inv(draws), df * sigma, df * (sigma**2 + np.outer(d, d)))
    k = df - np.arange(p)
    log_ratio = np.linalg.slogdet(scale)[1] - np.linalg.slogdet(draws)[1]
    _mean_and_var_close(
        log_ratio, np.sum(special.digamma(k / 2) + np.log(2)), np.sum(special.polygamma(1, k / 2))
    )
    inv_gamma = stats.invgamma((df - p + 1) / 2, scale=scale[0, 0] / 2)
    assert stats.kstest(draws[:, 0, 0], inv_gamma.cdf).pvalue > 1e-3


def test_inverse_wishart_matches_scipy_in_distribution():
    scale = _scale(4, 8)
    df = 5.7
    ours = _draws(inverse_wishart, df, scale, 8000, 9)
    ref = stats.invwishart(df, scale).rvs(8000, random_state=10)
    _two_sample_close(np.log(np.abs(ours)), np.log(np.abs(ref)))


def test_invalid_arguments_raise():
    rng = np.random.default_rng(0)
    out = np.empty((3, 3))
    with pytest.raises(ValueError):
        inverse_wishart(rng, 2.0, np.eye(3), out)
    with pytest.raises(ValueError):
        wishart(rng, 1.5, np.eye(3), out)
    with pytest.raises(ValueError):
        inverse_wishart(rng, 5.0, -np.eye(3), out)
    with pytest.raises(ValueError):
        constrained_inverse_wishart(rng, 5.0, np.eye(3), 1, np.array([2, 3]), np.eye(3), out, 2.0)


def test_log_multigamma_and_iw_logpdf():
    for p, x in [(1, 0.7), (3, 2.1), (5, 7.25)]:
        assert log_multigamma(p, x) == pytest.approx(special.multigammaln(x, p), rel=1e-12)
    rng = np.random.default_rng(11)
    scale = _scale(4, 12)
    w = np.empty((4, 4))
    for df in [3.5, 4.0, 9.9]:
        inverse_wishart(rng, df, scale, w)
        assert iw_logpdf(w, df, scale) == pytest.approx(
            stats.invwishart(df, scale).logpdf(w), rel=1e-10, abs=1e-10
        )
    not_pd = np.eye(4)
    not_pd[0, 1] = not_pd[1, 0] = 1.5
    assert iw_logpdf(not_pd, 6.0, scale) == -np.inf


# ---------------------------------------------------------------------------
# partition of the inverse-Wishart (basis of constrained_inverse_wishart)

P_FREE = 2  # block 2 = first two columns; block 1 = the last three


def _partition(omega, n_free):
    o11 = omega[..., n_free:, n_free:]
    o12 = omega[..., n_free:, :n_free]
    o22 = omega[..., :n_free, :n_free]
    beta = np.linalg.solve(o11, o12)
    o22_1 = o22 - np.swapaxes(o12, -1, -2) @ beta
    return o11, beta, o22_1


def test_inverse_wishart_partition_degrees_of_freedom():
    """For Omega ~ IW(nu, Psi): Omega11 ~ IW(nu - p2, Psi11),
    Omega22.1 ~ IW(nu, Psi22.1), beta | Omega22.1 ~
    MN(Psi11^{-1} Psi12, Psi11^{-1}, Omega22.1), and Omega11 independent of
    (beta, Omega22.1)."""
    p, p2 = 5, P_FREE
    p1 = p - p2
    nu = 15.5
    psi = _scale(p, 13)
    n = 30000
    draws = _draws(inverse_wishart, nu, psi, n, 14)
    o11, beta, o22_1 = _partition(draws, p2)
    psi11, beta0, psi22_1 = _partition(psi, p2)

    def iw_var(df, s):
        q = s.shape[0]
        d = np.diag(s)
        return ((df - q + 1) * s**2 + (df - q - 1) * np.outer(d, d)) / (
            (df - q) * (df - q - 1) ** 2 * (df - q - 3)
        )

    _mean_and_var_close(o11, psi11 / (nu - p2 - p1 - 1), iw_var(nu - p2, psi11))
    _mean_and_var_close(o22_1, psi22_1 / (nu - p2 - 1), iw_var(nu, psi22_1))
    # beta: mean Psi11^{-1} Psi12, Cov(beta_ij, beta_il) = (Psi11^{-1})_ii E[Omega22.1]_jl
    psi11_inv = np.linalg.inv(psi11)
    mean22_1 = psi22_1 / (nu - p2 - 1)
    _mean_and_var_close(beta, beta0, np.outer(np.diag(psi11_inv), np.diag(mean22_1)))
    # independence of Omega11 and (beta, Omega22.1): correlations near 0
    left = o11.reshape(n, -1)[:, [0, 1, 2, 4, 5, 8]]
    right = np.hstack([beta.reshape(n, -1), o22_1.reshape(n, -1)[:, [0, 1, 3]]])
    left = (left - left.mean(0)) / left.std(0)
    right = (right - right.mean(0)) / right.std(0)
    corr = left.T @ right / n
    assert np.all(np.abs(corr) < Z_TOL / np.sqrt(n))


@pytest.mark.parametrize("nu", [5.5, 9.0])
def test_complete_from_latent_block_reproduces_inverse_wishart(nu):
    """Omega11 ~ IW(nu - p2, Psi11) followed by the exact conditional draw of
    the free part is the unrestricted IW(nu, Psi)."""
    p, p2 = 5, P_FREE
    psi = _scale(p, 15)
    n = 10000
    ref = _draws(inverse_wishart, nu, psi, n, 16)
    rng = np.random.default_rng(17)
    psi11 = np.ascontiguousarray(psi[p2:, p2:])
    ours = np.empty((n, p, p))
    o11 = np.empty((p - p2, p - p2))
    for k in range(n):
        inverse_wishart(rng, nu - p2, psi11, o11)
        _complete_from_latent_block(rng, nu, psi, p2, o11, ours[k], work_space(p))
    _assert_symmetric_pd(ours)
    iu = np.triu_indices(p)
    _two_sample_close(ours[:, iu[0], iu[1]], ref[:, iu[0], iu[1]])


# ---------------------------------------------------------------------------
# constrained (restricted) inverse-Wishart


def _fixed_mask(p, n_free, block_ptr):
    """True for entries fixed by the latent-block constraint."""
    fixed = np.zeros((p, p), dtype=bool)
    for a, b in zip(block_ptr[:-1], block_ptr[1:]):
        fixed[a:b, a:b] = True
    return fixed


def _fixed_values(p, block_ptr):
    c = np.zeros((p, p))
    for a, b in zip(block_ptr[:-1], block_ptr[1:]):
        c[a:b, a:b] = 0.5 + 0.5 * np.eye(b - a)
    return c


def _batched_cholesky(m):
    """Lower Cholesky factors of ``m`` (q, q, chains); NaN where not PD."""
    q = m.shape[0]
    lower = np.zeros_like(m)
    with np.errstate(invalid="ignore"):
        for j in range(q):
            s = m[j, j] - (lower[j, :j] ** 2).sum(0)
            lower[j, j] = np.sqrt(np.where(s > 0, s, np.nan))
            for i in range(j + 1, q):
                lower[i, j] = (m[i, j] - (lower[i, :j] * lower[j, :j]).sum(0)) / lower[j, j]
    return lower


def _reference_restricted_iw(
    nu, psi, n_free, block_ptr, seed, n_chains=3000, n_adapt=400, n_steps=400
):
    """Brute-force sampler of the restricted inverse-Wishart (pure numpy).

    Target: |Omega|^{-(nu+p+1)/2} exp(-tr(Psi Omega^{-1})/2) with respect to
    Lebesgue measure on the free entries of Omega, over positive definite
    matrices whose latent diagonal blocks are fixed to C_k. Many independent
    random-walk Metropolis chains run in the unconstrained coordinates

    * the free cross-block entries of Omega11 (latent block, as is),
    * L21 and L22 of the Cholesky factor [[L11, 0], [L21, L22]] of Omega
      with the latent columns first (log of the diagonal of L22),

    with the Jacobian of (Omega21, Omega22) -> (L21, L22) from textbook
    results only: |L11|^p2 for Omega21 = L21 L11', and
    2^p2 prod_k L22_kk^(p2-k) (k = 0..p2-1) for the Cholesky map, times
    prod_k L22_kk for the log diagonal. No partition result of the
    inverse-Wishart is used. The joint Gaussian proposal (ensemble
    covariance times a factor tuned to acceptance ~0.3) adapts during the
    first ``n_adapt`` steps, then is frozen; the final states of the chains
    are (approximately) independent draws. Arrays are (rows, cols, chains).
    With ``n_free == p`` the target is IW(nu, Psi), which checks this code
    against exact draws.
    """
    rng = np.random.default_rng(seed)
    p = psi.shape[0]
    p2 = n_free
    p1 = p - p2
    perm = np.r_[np.arange(p2, p), np.arange(p2)]  # latent columns first
    psi_perm = psi[np.ix_(perm, perm)]
    chol_psi = np.linalg.cholesky(psi_perm)
    c = _fixed_values(p, block_ptr)[p2:, p2:]
    fixed = _fixed_mask(p, n_free, block_ptr)[p2:, p2:]
    cross = [(i, j) for i in range(p1) for j in range(i + 1, p1) if not fixed[i, j]]
    n_cross = len(cross)
    tril = np.tril_indices(p2)
    diag22 = tril[0] == tril[1]
    d = n_cross + p2 * p1 + tril[0].size
    k_diag = np.arange(p2)

    def unpack(theta):
        n = theta.shape[1]
        o11 = np.repeat(c[:, :, None], n, axis=2)
        for k, (i, j) in enumerate(cross):
            o11[i, j] = o11[j, i] = theta[k]
        lower = np.zeros((p, p, n))
        lower[:p1, :p1] = _batched_cholesky(o11)
        lower[p1:, :p1] = theta[n_cross : n_cross + p2 * p1].reshape(p2, p1, n)
        l22 = theta[n_cross + p2 * p1 :]
        lower[p1 + tril[0], p1 + tril[1]] = np.where(diag22[:, None], np.exp(l22), l22)
        return lower, l22[diag22]

    def log_target(theta):
        lower, log_diag22 = unpack(theta)
        log_diag = np.log(lower[np.arange(p), np.arange(p)])
        solved = np.empty_like(lower)  # L^{-1} chol(Psi): tr(Psi Omega^{-1}) = ||.||^2
        for i in range(p):
            acc = chol_psi[i][:, None] - (lower[i, :i, None, :] * solved[:i]).sum(0)
            solved[i] = acc / lower[i, i]
        out = (
            -(nu + p + 1) * log_diag.sum(0)
            - 0.5 * (solved**2).sum(axis=(0, 1))
            + p2 * log_diag[:p1].sum(0)
            + ((p2 - k_diag + 1)[:, None] * log_diag22).sum(0)
        )
        return np.where(np.isnan(out), -np.inf, out)

    # start: Omega11 block diagonal, Omega21 = 0, Omega22 at Psi22 / (nu + p + 1)
    theta0 = np.zeros(d)
    if p2:
        l22 = np.linalg.cholesky(psi[:p2, :p2] / (nu + p + 1))[tril]
        theta0[n_cross + p2 * p1 :] = np.where(diag22, np.log(np.abs(l22)), l22)
    theta = theta0[:, None] + 0.05 * rng.standard_normal((d, n_chains))
    current = log_target(theta)
    assert np.all(np.isfinite(current))
    chol = 0.05 * np.eye(d)
    factor = 2.38**2 / d
    window = 0
    accepted = 0
    for step in range(n_adapt + n_steps):
        if step < n_adapt and step % 25 == 24:
            factor *= np.exp(2 * (window / (25 * n_chains) - 0.3))
            window = 0
            chol = np.linalg.cholesky(factor * np.cov(theta) + 1e-12 * np.eye(d))
        prop = theta + chol @ rng.standard_normal((d, n_chains))
        proposed = log_target(prop)
        accept = np.log(rng.random(n_chains)) < proposed - current
        theta = np.where(accept, prop, theta)
        current = np.where(accept, proposed, current)
        window += accept.sum()
        if step >= n_adapt:
            accepted += accept.sum()
    assert 0.1 < accepted / (n_chains * n_steps) < 0.6
    lower = unpack(theta)[0]
    omega_perm = np.einsum("ikn,jkn->nij", lower, lower)
    out = np.empty_like(omega_perm)
    out[:, perm[:, None], perm[None, :]] = omega_perm
    return out


def _run_constrained(nu, psi, n_free, block_ptr, mh_scale, seed, n_chains=4000, n_calls=25):
    """Final states of independent chains of constrained_inverse_wishart."""
    rng = np.random.default_rng(seed)
    p = psi.shape[0]
    block_ptr = np.asarray(block_ptr, dtype=np.int64)
    draws = np.empty((n_chains, p, p))
    accepted = 0
    for c in range(n_chains):
        state = np.eye(p)
        for _ in range(n_calls):
            accepted += constrained_inverse_wishart(
                rng, nu, psi, n_free, block_ptr, state, state, mh_scale
            )
        draws[c] = state
    return draws, accepted / (n_chains * n_calls)


def test_constrained_without_latents_is_inverse_wishart():
    p = 4
    psi = _scale(p, 18)
    bp = np.array([p], dtype=np.int64)
    out_a = np.empty((p, p))
    out_b = np.empty((p, p))
    rng_a = np.random.default_rng(19)
    rng_b = np.random.default_rng(19)
    for _ in range(50):
        n_acc = constrained_inverse_wishart(rng_a, 7.5, psi, p, bp, np.eye(p), out_a, 2.0)
        inverse_wishart(rng_b, 7.5, psi, out_b)
        assert n_acc == 0
        np.testing.assert_array_equal(out_a, out_b)
    # and in distribution (moments of the unrestricted IW)
    df = 14.2
    rng = np.random.default_rng(20)
    draws = np.empty((20000, p, p))
    for k in range(draws.shape[0]):
        constrained_inverse_wishart(rng, df, psi, p, bp, np.eye(p), draws[k], 2.0)
    d = np.diag(psi)
    var = ((df - p + 1) * psi**2 + (df - p - 1) * np.outer(d, d)) / (
        (df - p) * (df - p - 1) ** 2 * (df - p - 3)
    )
    _mean_and_var_close(draws, psi / (df - p - 1), var)


def _log_sd_and_correlations(draws):
    """Bijective transform of covariance draws with all moments finite:
    log standard deviations (diagonal) and correlations (upper triangle)."""
    sd = np.sqrt(np.diagonal(draws, axis1=1, axis2=2))
    corr = draws / sd[:, :, None] / sd[:, None, :]
    iu, ju = np.triu_indices(draws.shape[1], 1)
    return np.log(sd), corr[:, iu, ju]


# small degrees of freedom, so that a degrees of freedom off by the size of a
# block changes the distribution a lot
CONFIGS = [
    # (p, n_free, block_ptr, nu)
    pytest.param(4, 2, [2, 4], 8.0, id="one-block"),
    pytest.param(5, 2, [2, 4, 5], 9.0, id="two-blocks-plus-free"),
    pytest.param(5, 3, [3, 4, 5], 9.0, id="two-binary-plus-free"),
    pytest.param(3, 0, [0, 2, 3], 5.0, id="two-blocks-no-free"),
]


def test_brute_force_reference_without_latents_is_inverse_wishart():
    """The reference sampler below (and its Jacobian) reproduces IW(nu, Psi)."""
    p, nu = 5, 9.0
    psi = nu * _scale(p, 40)
    ref = _reference_restricted_iw(nu, psi, p, [p], 41)
    exact = _draws(inverse_wishart, nu, psi, 3000, 42)
    for a, b in zip(_log_sd_and_correlations(ref), _log_sd_and_correlations(exact)):
        _two_sample_close(a, b)


@pytest.mark.parametrize("p, n_free, block_ptr, nu", CONFIGS)
def test_constrained_inverse_wishart_matches_brute_force(p, n_free, block_ptr, nu):
    psi = _scale(p, 21 + p + n_free)  # small Psi: the df terms dominate
    ours, acceptance = _run_constrained(nu, psi, n_free, block_ptr, 2.0, 22)
    fixed = _fixed_mask(p, n_free, block_ptr)
    c = _fixed_values(p, block_ptr)
    # the latent diagonal blocks are exactly C_k; draws symmetric and PD
    assert np.all(ours[:, fixed] == c[fixed])
    _assert_symmetric_pd(ours)
    n_cross = sum(
        1
        for i in range(p)
        for j in range(i + 1, p)
        if i >= n_free and j >= n_free and not fixed[i, j]
    )
    if n_cross:
        rate = acceptance / (3 * n_cross)
        print(f"Metropolis acceptance rate: {rate:.3f}")
        assert 0.15 < rate < 0.7
    else:
        assert acceptance == 0
    ref = _reference_restricted_iw(nu, psi, n_free, block_ptr, 23)
    log_sd_ours, corr_ours = _log_sd_and_correlations(ours)
    log_sd_ref, corr_ref = _log_sd_and_correlations(ref)
    iu, ju = np.triu_indices(p, 1)
    free = ~fixed[iu, ju]
    _two_sample_close(corr_ours[:, free], corr_ref[:, free])
    if n_free:
        _two_sample_close(log_sd_ours[:, :n_free], log_sd_ref[:, :n_free])


def test_constrained_start_is_repaired_and_out_may_alias_current():
    p, n_free = 5, 2
    bp = np.array([2, 4, 5], dtype=np.int64)
    psi = 20 * _scale(p, 30)
    state = np.full((p, p), 0.9)  # latent block not PD once C_k is imposed
    np.fill_diagonal(state, 3.0)
    rng = np.random.default_rng(31)
    n_acc = constrained_inverse_wishart(rng, 20.0, psi, n_free, bp, state, state, 2.0, 10)
    assert 0 < n_acc <= 10 * 2  # two cross-block pairs, ten sweeps
    c = _fixed_values(p, bp)
    fixed = _fixed_mask(p, n_free, bp)
    assert np.all(state[fixed] == c[fixed])
    assert np.all(np.linalg.eigvalsh(state) > 0)


def test_split_move_takes_each_part_from_its_own_inverse_wishart():
    """split_constrained_inverse_wishart: the latent block from the restricted
    IW(latent_df, latent_scale), (beta, Omega22.1) from IW(df, scale), and the
    two independent. Two binary latents and two free columns; the latent
    block is compared with constrained_inverse_wishart on (latent_df,
    latent_scale), the rest with closed forms."""
    p, n_free = 4, 2
    block_ptr = np.array([2, 3, 4], dtype=np.int64)
    latent_df, latent_scale = (
        6.0,
        np.array(
            [
                [3.0, 0.2, 0.1, 0.0],
                [0.2, 2.0, 0.3, 0.1],
                [0.1, 0.3, 1.0, -0.7],
                [0.0, 0.1, -0.7, 1.2],
            ]
        ),
    )
    df, scale = 11.0, _scale(p, 31)
    rng = np.random.default_rng(32)
    n_chains, n_calls = 4000, 25
    draws = np.empty((n_chains, p, p))
    for c in range(n_chains):
        state = np.eye(p)
        for _ in range(n_calls):
            split_constrained_inverse_wishart(
                rng,
                latent_df,
                latent_scale,
                df,
                scale,
                n_free,
                block_ptr,
                state,
                state,
                2.0,
                3,
                work_space(p),
            )
        draws[c] = state
    reference, _ = _run_constrained(
        latent_df, latent_scale, n_free, block_ptr, 2.0, 33, n_chains=n_chains
    )
    _two_sample_close(draws[:, 2, 3], reference[:, 2, 3])
    omega11 = draws[:, 2:, 2:]
    beta = np.linalg.solve(omega11, draws[:, 2:, :2])
    cond = draws[:, :2, :2] - np.swapaxes(draws[:, 2:, :2], 1, 2) @ beta
    b_true = np.linalg.solve(scale[2:, 2:], scale[2:, :2])
    cond_scale = scale[:2, :2] - scale[:2, 2:] @ b_true
    _close(beta.mean(axis=0), b_true, beta.std(axis=0) / np.sqrt(n_chains))
    _close(cond.mean(axis=0), cond_scale / (df - n_free - 1), cond.std(axis=0) / np.sqrt(n_chains))
    # beta does not depend on the latent block
    r = np.corrcoef(draws[:, 2, 3], beta[:, 0, 0])[0, 1]
    assert abs(r) < Z_TOL / np.sqrt(n_chains)


def _spd_matrix(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T + d * np.eye(d)


def test_gaussian_from_precision_is_mean_plus_back_substituted_noise():
    rng = np.random.default_rng(11)
    precision = _spd_matrix(rng, 5)
    chol = np.linalg.cholesky(precision)
    rhs, noise = rng.normal(size=5), rng.normal(size=5)
    draw = rhs.copy()
    # only the lower triangle of the precision is read
    assert gaussian_from_precision(np.tril(precision), np.empty((5, 5)), np.empty(5), draw, noise)
    expected = np.linalg.solve(precision, rhs) + linalg.solve_triangular(chol.T, noise)
    np.testing.assert_allclose(draw, expected, rtol=1e-12, atol=1e-12)
    not_positive = -np.eye(5)
    assert not gaussian_from_precision(not_positive, np.empty((5, 5)), np.empty(5), rhs, noise)


def test_random_effects_draw_is_the_closed_form_conditional():
    """Each selected cluster gets ``P_j^{-1} r_j + L_j^{-T} z_j`` (doc/sampler.rst,
    "Random effects"), with ``z`` the standard normals of the selected
    clusters in cluster order; the others keep their value."""
    rng = np.random.default_rng(5)
    n_clusters, m, p, q = 4, 2, 2, 2
    r = m + q
    gram = np.stack([_spd_matrix(rng, r) for _ in range(n_clusters)])
    h = rng.normal(size=(n_clusters, r, p))
    beta = rng.normal(size=(m, p))
    shift = rng.normal(size=(n_clusters, p * q))
    prior = _spd_matrix(rng, p * q)
    precisions = np.stack([_spd_matrix(rng, p), _spd_matrix(rng, p)])
    cov_group = np.array([0, 1, 1, 0])
    selected = np.array([True, False, True, True])
    u = rng.normal(size=(n_clusters, p, q))
    drawn = u.copy()
    draw_random_effects(
        np.random.default_rng(3),
        gram,
        h,
        beta,
        shift,
        prior,
        precisions,
        cov_group,
        selected,
        drawn,
    )
    normals = np.random.default_rng(3)
    for j in range(n_clusters):
        if not selected[j]:
            assert np.array_equal(drawn[j], u[j])
            continue
        omega_inv = precisions[cov_group[j]]
        zr = h[j, m:] - gram[j, m:, :m] @ beta  # Z_j'R_j, (q, p)
        rhs = (zr @ omega_inv).T.ravel() + shift[j]  # outcome-major: t * q + k
        precision = prior + np.kron(omega_inv, gram[j, m:, m:])
        chol = np.linalg.cholesky(precision)
        expected = np.linalg.solve(precision, rhs) + linalg.solve_triangular(
            chol.T, normals.standard_normal(p * q)
        )
        np.testing.assert_allclose(drawn[j].ravel(), expected, rtol=1e-10, atol=1e-12)


def test_missing_cells_are_the_closed_form_conditional():
    """Each row with missing set ``M`` gets ``mu_M - Q_MM^{-1} Q_MO (y_O - mu_O)
    + L^{-T} z`` (doc/sampler.rst, "Missing values"), ``L L' = Q_MM`` and ``z``
    its standard normals: the next ``|M|`` normals of its task's stream (one
    task per group here, every group shorter than a task); observed cells
    are kept."""
    rng = np.random.default_rng(8)
    n, p = 40, 5
    precisions = np.stack([_spd_matrix(rng, p), _spd_matrix(rng, p)])
    missing = rng.random((n, p)) < 0.4
    missing[0] = True  # a row missing every cell
    missing[1] = False
    missing[2] = False
    missing[2, 3] = True  # one missing cell
    row_group = rng.integers(0, 2, n)
    group_rows, group_ptr, group_cov, group_missing = missingness_groups(missing, row_group)
    assert group_missing.sum(axis=1).max() == p and group_missing.sum(axis=1).min() == 1
    means = rng.normal(size=(n, p))
    values = np.where(missing, np.nan, rng.normal(size=(n, p)))
    key = 20261128
    drawn = values.copy()
    draw_missing_from(
        key, drawn, means, precisions, group_rows, group_ptr, group_cov, group_missing
    )
    for k in range(group_cov.shape[0]):
        mis = np.flatnonzero(group_missing[k])
        obs = np.flatnonzero(~group_missing[k])
        rows = group_rows[group_ptr[k] : group_ptr[k + 1]]
        noise = stream_draws(key, k, rows.size * mis.size)
        q = precisions[group_cov[k]]
        q_mm = q[np.ix_(mis, mis)]
        chol = np.linalg.cholesky(q_mm)
        for i, row in enumerate(rows):
            z = noise[i * mis.size : (i + 1) * mis.size]
            residual = values[row, obs] - means[row, obs]
            expected = (
                means[row, mis]
                - np.linalg.solve(q_mm, q[np.ix_(mis, obs)] @ residual)
                + linalg.solve_triangular(chol.T, z)
            )
            np.testing.assert_allclose(drawn[row, mis], expected, rtol=1e-10, atol=1e-12)
            np.testing.assert_array_equal(drawn[row, obs], values[row, obs])
    assert not np.isnan(drawn).any()
