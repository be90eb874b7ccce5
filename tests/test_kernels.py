"""Tests of the numba sampling kernels (skjomo._gibbs._truncnorm, _wishart).

Monte Carlo checks use fixed seeds and tolerances of about 4.5 standard
errors, so they are deterministic and would fail for a wrong formula (for
example a degrees of freedom off by the size of a block).
"""

import numpy as np
import pytest
from scipy import special, stats

from skjomo._gibbs._truncnorm import truncated_normal, truncated_standard_normal
from skjomo._gibbs._wishart import (
    _complete_from_latent_block,
    constrained_inverse_wishart,
    inverse_wishart,
    iw_logpdf,
    log_multigamma,
    wishart,
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
    (-INF, INF), (0.0, INF), (2.0, INF), (8.0, INF), (40.0, INF),
    (-INF, -5.0), (-0.1, 0.1), (1.0, 1.01), (3.0, 5.0), (-2.0, 3.0),
    (5.0, 5.0001), (-INF, 0.5), (-3.0, -2.5), (0.0, 0.5), (0.1, 10.0),
    (-40.0, -39.0), (-0.5, INF), (-7.0, 8.0),
]


@pytest.mark.parametrize("lower, upper", INTERVALS)
def test_truncated_standard_normal_ks(lower, upper):
    rng = np.random.default_rng(12345)
    draws = np.array([truncated_standard_normal(rng, lower, upper)
                      for _ in range(4000)])
    assert np.all(draws > lower) and np.all(draws < upper)
    pvalue = stats.kstest(draws, stats.truncnorm(lower, upper).cdf).pvalue
    assert pvalue > 1e-3


@pytest.mark.parametrize("lower", [8.0, 40.0, 1e3])
def test_truncated_standard_normal_extreme_tail_mean(lower):
    rng = np.random.default_rng(7)
    n = 20000
    draws = np.array([truncated_standard_normal(rng, lower, INF)
                      for _ in range(n)])
    assert draws.min() > lower
    # E[Z | Z > a] = a + 1/a - 2/a^3 + ..., sd about 1/a
    expected = lower + 1 / lower - 2 / lower**3
    _close(draws.mean(), expected, 1 / lower / np.sqrt(n))
    mirrored = np.array([truncated_standard_normal(rng, -INF, -lower)
                         for _ in range(n)])
    _close(mirrored.mean(), -expected, 1 / lower / np.sqrt(n))


@pytest.mark.parametrize("mean, sd, lower, upper", [
    (0.3, 2.0, -1.0, 4.0), (-5.0, 0.5, 2.0, INF), (10.0, 3.0, -INF, 1.0),
    (1.0, 1e-3, 1.0, 1.0005), (0.0, 1.0, -INF, INF),
])
def test_truncated_normal_affine(mean, sd, lower, upper):
    rng = np.random.default_rng(99)
    draws = np.array([truncated_normal(rng, mean, sd, lower, upper)
                      for _ in range(4000)])
    assert np.all(draws >= lower) and np.all(draws <= upper)
    dist = stats.truncnorm((lower - mean) / sd, (upper - mean) / sd,
                           loc=mean, scale=sd)
    assert stats.kstest(draws, dist.cdf).pvalue > 1e-3


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
    var = (((df - p + 1) * scale**2 + (df - p - 1) * np.outer(d, d))
           / ((df - p) * (df - p - 1) ** 2 * (df - p - 3)))
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
    _mean_and_var_close(np.linalg.inv(draws), df * sigma,
                        df * (sigma**2 + np.outer(d, d)))
    k = df - np.arange(p)
    log_ratio = np.linalg.slogdet(scale)[1] - np.linalg.slogdet(draws)[1]
    _mean_and_var_close(log_ratio, np.sum(special.digamma(k / 2) + np.log(2)),
                        np.sum(special.polygamma(1, k / 2)))
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
        constrained_inverse_wishart(rng, 5.0, np.eye(3), 1,
                                    np.array([2, 3]), np.eye(3), out, 2.0)


def test_log_multigamma_and_iw_logpdf():
    for p, x in [(1, 0.7), (3, 2.1), (5, 7.25)]:
        assert log_multigamma(p, x) == pytest.approx(
            special.multigammaln(x, p), rel=1e-12)
    rng = np.random.default_rng(11)
    scale = _scale(4, 12)
    w = np.empty((4, 4))
    for df in [3.5, 4.0, 9.9]:
        inverse_wishart(rng, df, scale, w)
        assert iw_logpdf(w, df, scale) == pytest.approx(
            stats.invwishart(df, scale).logpdf(w), rel=1e-10, abs=1e-10)
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
        return (((df - q + 1) * s**2 + (df - q - 1) * np.outer(d, d))
                / ((df - q) * (df - q - 1) ** 2 * (df - q - 3)))

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
        _complete_from_latent_block(rng, nu, psi, p2, o11, ours[k])
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


def _reference_restricted_iw(nu, psi, n_free, block_ptr, seed,
                             n_chains=3000, n_adapt=400, n_steps=400):
    """Brute-force sampler of the restricted inverse-Wishart (pure numpy).

    Many independent random-walk Metropolis chains on the free upper-triangle
    entries, targeting |Omega|^{-(nu+p+1)/2} exp(-tr(Psi Omega^{-1})/2) on
    positive definite matrices with the latent diagonal blocks fixed. It uses
    no partition result. The joint Gaussian proposal (ensemble covariance
    times a factor tuned to acceptance ~0.3) is adapted during the first
    ``n_adapt`` steps, then frozen; the final states of the chains are
    (approximately) independent draws. Arrays are (p, p, chains) so that
    every vectorised operation runs over contiguous chains.
    """
    rng = np.random.default_rng(seed)
    p = psi.shape[0]
    fixed = _fixed_mask(p, n_free, block_ptr)
    iu, ju = np.triu_indices(p)
    keep = ~fixed[iu, ju]
    iu, ju = iu[keep], ju[keep]
    d = iu.size
    start = _fixed_values(p, block_ptr)
    start[:n_free, :n_free] = psi[:n_free, :n_free] / (nu + p + 1)
    theta = np.repeat(start[iu, ju][:, None], n_chains, axis=1)  # (d, chains)
    chol_psi = np.linalg.cholesky(psi)

    def log_target(theta):
        m = np.repeat(start[:, :, None], n_chains, axis=2)
        m[iu, ju] = theta
        m[ju, iu] = theta
        # batched Cholesky (NaN when not positive definite)
        lower = np.zeros_like(m)
        with np.errstate(invalid="ignore"):
            for j in range(p):
                s = m[j, j] - (lower[j, :j] ** 2).sum(0)
                lower[j, j] = np.sqrt(np.where(s > 0, s, np.nan))
                for i in range(j + 1, p):
                    lower[i, j] = (m[i, j] - (lower[i, :j] * lower[j, :j]).sum(0)) / lower[j, j]
        # tr(Psi Omega^{-1}) = ||L^{-1} C||_F^2 with Psi = C C'
        solved = np.empty_like(m)
        for i in range(p):
            acc = chol_psi[i][:, None] - (lower[i, :i, None, :] * solved[:i]).sum(0)
            solved[i] = acc / lower[i, i]
        log_det = 2 * np.log(np.abs(lower[np.arange(p), np.arange(p)])).sum(0)
        out = -0.5 * (nu + p + 1) * log_det - 0.5 * (solved**2).sum(axis=(0, 1))
        return np.where(np.isnan(out), -np.inf, out)

    current = log_target(theta)
    chol = 0.02 * np.eye(d)
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
    out = np.repeat(start[None], n_chains, axis=0)
    out[:, iu, ju] = theta.T
    out[:, ju, iu] = theta.T
    return out


def _run_constrained(nu, psi, n_free, block_ptr, mh_scale, seed,
                     n_chains=4000, n_calls=25):
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
                rng, nu, psi, n_free, block_ptr, state, state, mh_scale)
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
        n_acc = constrained_inverse_wishart(rng_a, 7.5, psi, p, bp, np.eye(p),
                                            out_a, 2.0)
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
    var = (((df - p + 1) * psi**2 + (df - p - 1) * np.outer(d, d))
           / ((df - p) * (df - p - 1) ** 2 * (df - p - 3)))
    _mean_and_var_close(draws, psi / (df - p - 1), var)


CONFIGS = [
    # (p, n_free, block_ptr, nu)
    pytest.param(4, 2, [2, 4], 10.0, id="one-block"),
    pytest.param(5, 2, [2, 4, 5], 10.0, id="two-blocks-plus-free"),
    pytest.param(3, 0, [0, 2, 3], 6.0, id="two-blocks-no-free"),
]


@pytest.mark.parametrize("p, n_free, block_ptr, nu", CONFIGS)
def test_constrained_inverse_wishart_matches_brute_force(p, n_free, block_ptr, nu):
    psi = nu * _scale(p, 21 + p + n_free)
    ours, acceptance = _run_constrained(nu, psi, n_free, block_ptr, 2.0, 22)
    fixed = _fixed_mask(p, n_free, block_ptr)
    c = _fixed_values(p, block_ptr)
    # the latent diagonal blocks are exactly C_k; draws symmetric and PD
    assert np.all(ours[:, fixed] == c[fixed])
    _assert_symmetric_pd(ours)
    n_cross = sum(
        1 for i in range(p) for j in range(i + 1, p)
        if i >= n_free and j >= n_free and not fixed[i, j])
    if n_cross:
        rate = acceptance / (3 * n_cross)
        print(f"Metropolis acceptance rate: {rate:.3f}")
        assert 0.15 < rate < 0.7
    else:
        assert acceptance == 0
    ref = _reference_restricted_iw(nu, psi, n_free, block_ptr, 23)
    iu, ju = np.triu_indices(p)
    free = ~fixed[iu, ju]
    _two_sample_close(ours[:, iu[free], ju[free]], ref[:, iu[free], ju[free]])


def test_constrained_start_is_repaired_and_out_may_alias_current():
    p, n_free = 5, 2
    bp = np.array([2, 4, 5], dtype=np.int64)
    psi = 20 * _scale(p, 30)
    state = np.full((p, p), 0.9)  # latent block not PD once C_k is imposed
    np.fill_diagonal(state, 3.0)
    rng = np.random.default_rng(31)
    constrained_inverse_wishart(rng, 20.0, psi, n_free, bp, state, state, 2.0)
    c = _fixed_values(p, bp)
    fixed = _fixed_mask(p, n_free, bp)
    assert np.all(state[fixed] == c[fixed])
    assert np.all(np.linalg.eigvalsh(state) > 0)
