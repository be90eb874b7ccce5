"""Mixing moves of categorical latents (skjomo/_gibbs/_latent_scale.py,
skjomo/_gibbs/_latent_shift.py, skjomo/_gibbs/_latent_regressions.py).

* The moves keep the posterior exact: on a probit model whose posterior is
  known by quadrature; against long runs of the sampler without the moves
  on two-level models with categorical outcomes at both levels, random
  effects and a level-2 covariance, with a common level-1 covariance (with
  and without jomo's latent box) and with cluster covariances ("fixed" and
  "random"); and the translation of the "random" method against its
  conditional computed by brute force.
* Under ``-m slow``: the smallest bulk ESS of every parameter of the JSPmiss
  mixed model (2 chains x 1,000 draws 20 iterations apart) is at least 400
  for the single-level model and every ``cov_method``
  (benchmarks/bench_ess.py).
* The cluster shift of the latents with their random effects, applied once
  to exact draws of independent clusters, keeps them exact.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from jomo_compare import batch_means_se
from scipy import integrate, stats

from skjomo import HeteroscedasticMultilevelImputer, JointModelImputer, MultilevelJointImputer
from skjomo._gibbs._chain import dimensions, initial_state, new_tally, new_trace, run_chain
from skjomo._gibbs._latent_scale import (
    cross_products_from_statistics,
    log_scale_density,
    rescale_single_level,
    residual_cross_products,
    residual_statistics,
    slice_log_scale,
)
from skjomo._gibbs._suffstats import refresh_statistics

Z_TOL = 4.5


def _chain(imputer, frame, n_iter, seed, moves=True):
    """Trace of ``n_iter`` iterations after 500 burn-in of the fitted model of
    ``imputer`` on ``frame``, with or without the scale moves."""
    imputer.set_params(n_burn=0, n_between=1, n_imputations=1).fit(frame)
    encoded = imputer._encoded
    model = encoded.model._replace(latent_scale_moves=moves)
    state = initial_state(model, encoded.values, encoded.values2)
    rng = np.random.default_rng(seed)
    trace = new_trace(n_iter, dimensions(model))
    tally = new_tally(state)
    run_chain(rng, model, state, tally, 500, new_trace(0, dimensions(model)), 0)
    run_chain(rng, model, state, tally, n_iter, trace, 0)
    return trace


def _flat(trace):
    parts = [trace.beta, trace.cov, trace.sigma, trace.beta2, trace.a[:, None]]
    return np.concatenate([a.reshape(a.shape[0], -1) for a in parts], axis=1)


@pytest.mark.parametrize("first, start, size", [(0, 0, 3), (2, 2, 3), (2, 5, 2), (1, 3, 2)])
def test_residual_statistics_match_their_definition(first, start, size):
    """A and b of the scale move's Gaussian terms (summed from each group's
    residual cross-products) against their per-row definition
    ``A = sum_i r_iK' P_KK r_iK``, ``b = -sum_i r_iK' P_KR r_iR``."""
    rng = np.random.default_rng(3)
    n, p, n_groups = 57, 7, 3
    values, means = rng.standard_normal((n, p)), rng.standard_normal((n, p))
    group = rng.integers(0, n_groups, n).astype(np.int64)
    width = p - first
    prec = np.empty((n_groups, width, width))
    for g in range(n_groups):
        a = rng.standard_normal((width, width + 2))
        prec[g] = a @ a.T
    coefs = np.array([1.0, 0.5, -0.25, 0.0, 0.0])
    residual_statistics(values, means, prec, group, first, start, size, coefs)
    quad, lin = 0.5, -0.25
    inside = np.zeros(width, bool)
    inside[start - first : start - first + size] = True
    for i in range(n):
        r = (values[i] - means[i])[first:]
        pk = prec[group[i]][inside]
        quad += r[inside] @ pk[:, inside] @ r[inside]
        lin -= r[inside] @ pk[:, ~inside] @ r[~inside]
    np.testing.assert_allclose(coefs[1:3], [quad, lin], rtol=1e-12)
    np.testing.assert_array_equal(coefs[[0, 3, 4]], [1.0, 0.0, 0.0])


@pytest.mark.parametrize("first, start, size", [(0, 0, 3), (2, 2, 3), (2, 5, 2), (1, 3, 2)])
def test_cross_products_from_statistics_match_the_rows(first, start, size):
    """The single-level scale move's residual cross-products from
    ``H = X'Y``, ``K = Y'Y``, ``G = X'X`` and ``B`` equal the pass over the
    rows with ``means = X B``."""
    rng = np.random.default_rng(8)
    n, m, p = 83, 3, 7
    x = np.column_stack([np.ones(n), rng.standard_normal((n, m - 1))])
    y, beta = rng.standard_normal((n, p)) + 2.0, rng.standard_normal((m, p))
    expected = np.empty((1, size, p - first))
    residual_cross_products(y, x @ beta, np.zeros(n, np.int64), first, start, size, expected)
    cross = np.empty((1, size, p - first))
    cross_products_from_statistics(
        (x.T @ y)[None], (y.T @ y)[None], (x.T @ x)[None], beta, first, start, size, cross
    )
    np.testing.assert_allclose(cross, expected, rtol=1e-10, atol=1e-10 * n)


def _single_level_mixed_frame(seed=4, n=150):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    lat = np.array([0.5, -0.3, 0.2, 0.1]) + 0.6 * x[:, None] + rng.standard_normal((n, 4))
    first = np.where((lat[:, 1:3] < 0).all(axis=1), "c", np.where(lat[:, 1] > lat[:, 2], "a", "b"))
    frame = pd.DataFrame(
        {
            "x": x,
            "y": lat[:, 0],
            "c1": pd.Categorical(first, categories=["a", "b", "c"]),
            "c2": pd.Categorical(np.where(lat[:, 3] > 0, "yes", "no"), categories=["yes", "no"]),
        }
    )
    for column in ("y", "c1", "c2"):
        frame.loc[rng.random(n) < 0.15, column] = np.nan
    return frame


def test_single_level_scale_move_keeps_the_statistics_current():
    """After the single-level scale moves, the latents of each categorical
    variable and their columns of B are multiplied by one factor each, and
    the rescaled H and K are those of the new completed data."""
    imputer = JointModelImputer(covariate_cols=["x"], n_burn=20, n_imputations=1, random_state=2)
    imputer.fit(_single_level_mixed_frame())
    model, state = imputer._encoded.model, imputer._chains.final_states[0]
    refresh = (model.static_h, model.static_k, model.w, state.values)
    refresh += (model.cluster_rows, model.cluster_ptr, state.h, state.k)
    refresh_statistics(*refresh)
    values, beta = state.values.copy(), state.beta.copy()
    rescale_single_level(np.random.default_rng(0), model, state)
    np.testing.assert_array_equal(state.values[:, : model.n_free], values[:, : model.n_free])
    factors = state.values / values
    for start, size in zip(model.cat_start, model.cat_size):
        block = slice(start, start + size)
        g = factors[0, start]
        assert g > 0 and g != 1.0
        np.testing.assert_allclose(factors[:, block], g, rtol=1e-14)
        np.testing.assert_allclose(state.beta[:, block], g * beta[:, block], rtol=1e-14)
    h, k = state.h.copy(), state.k.copy()
    refresh_statistics(*refresh)
    np.testing.assert_allclose(h, state.h, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(k, state.k, rtol=1e-12, atol=1e-12)
    # the covariance still has the fixed latent blocks and is positive definite
    np.testing.assert_allclose(np.linalg.inv(state.precision[0]), state.cov[0], atol=1e-10)


@pytest.mark.parametrize("bounds", [None, (-3.0, 4.0)])
def test_single_level_posterior_unchanged(bounds):
    """A continuous and two categorical outcomes (the scale moves from the
    sufficient statistics, one after the other), with and without jomo's
    latent box, against the sampler without the moves."""
    imputer = JointModelImputer(covariate_cols=["x"], latent_bounds=bounds)
    _assert_same_posterior(imputer, _single_level_mixed_frame())


def test_slice_step_targets_its_density():
    """The slice update of log g, iterated, samples log_scale_density
    (compared by quadrature; the density has every term)."""
    coefs = np.array([40.0, 30.0, 5.0, 2.0, -1.0])
    rng = np.random.default_rng(1)
    s, draws = 0.0, np.empty(20000)
    for i in range(draws.size):
        # one update from 0 of the density re-centred at the current point
        shifted = np.array(
            [
                coefs[0],
                coefs[1] * np.exp(2 * s),
                coefs[2] * np.exp(s),
                coefs[3] * np.exp(-2 * s),
                coefs[4] * np.exp(-s),
            ]
        )
        s += slice_log_scale(rng, shifted, np.inf)
        draws[i] = s
    grid = np.linspace(-3, 3, 4001)
    dens = np.exp([log_scale_density(v, coefs, np.inf) for v in grid])
    dens /= integrate.trapezoid(dens, grid)
    mean = integrate.trapezoid(grid * dens, grid)
    sd = np.sqrt(integrate.trapezoid((grid - mean) ** 2 * dens, grid))
    se = batch_means_se(draws[:, None])[0]
    assert abs(draws.mean() - mean) < Z_TOL * se, (draws.mean(), mean, se)
    assert abs(draws.std() - sd) < 0.05 * sd, (draws.std(), sd)


def test_probit_intercept_matches_quadrature():
    """Binary outcome, intercept only, flat prior: the posterior of the
    intercept is proportional to Phi(mu)^6 Phi(-mu)^54 (first category when
    the latent is positive). Rare category, where the scale move matters."""
    y = pd.Categorical(["a"] * 6 + ["b"] * 54 + [None] * 4, categories=["a", "b"])
    frame = pd.DataFrame({"y": y})
    trace = _chain(JointModelImputer(random_state=0), frame, 30000, seed=3)
    mu = trace.beta[:, 0, 0]
    grid = np.linspace(-4, 1, 20001)
    log_post = 6 * stats.norm.logcdf(grid) + 54 * stats.norm.logcdf(-grid)
    dens = np.exp(log_post - log_post.max())
    dens /= integrate.trapezoid(dens, grid)
    mean = integrate.trapezoid(grid * dens, grid)
    sd = np.sqrt(integrate.trapezoid((grid - mean) ** 2 * dens, grid))
    se = batch_means_se(mu[:, None])[0]
    assert abs(mu.mean() - mean) < Z_TOL * se, (mu.mean(), mean, se)
    assert abs(mu.std() - sd) < 0.05 * sd, (mu.std(), sd)


def _two_level_frame(seed=0, n_clusters=12, size=12):
    rng = np.random.default_rng(seed)
    cluster = np.repeat(np.arange(n_clusters), size)
    x = rng.standard_normal(cluster.size)
    u = rng.standard_normal((n_clusters, 3)) * 0.5
    lat = (
        np.array([0.0, -1.0, -0.5])
        + 0.5 * x[:, None]
        + u[cluster]
        + rng.standard_normal((cluster.size, 3))
    )
    y = lat[:, 0]
    cat = np.where((lat[:, 1:] < 0).all(axis=1), "c", np.where(lat[:, 1] > lat[:, 2], "a", "b"))
    level2 = np.where(rng.standard_normal(n_clusters) + u[:, 0] > 0.3, "yes", "no")
    frame = pd.DataFrame(
        {
            "cluster": cluster,
            "x": x,
            "y": y,
            "cat": pd.Categorical(cat, categories=["a", "b", "c"]),
            "l2": pd.Categorical(level2[cluster], categories=["yes", "no"]),
        }
    )
    frame.loc[rng.random(cluster.size) < 0.15, "y"] = np.nan
    frame.loc[rng.random(cluster.size) < 0.15, "cat"] = np.nan
    frame.loc[np.isin(cluster, [2, 7]), "l2"] = np.nan
    return frame


def _assert_same_posterior(imputer, frame, n_iter=20000):
    """Posterior means and sds of B, Omega (mean over covariance groups),
    Sigma, B2 and ``a`` with the moves agree with the sampler without them,
    each within ``Z_TOL`` Monte Carlo errors of the two chains (batch means;
    for an sd, of the squared deviations)."""
    new = _flat(_chain(imputer, frame, n_iter, seed=11))
    old = _flat(_chain(imputer, frame, 2 * n_iter, seed=12, moves=False))
    free = old.std(axis=0) > 0
    new, old = new[:, free], old[:, free]
    se = np.hypot(batch_means_se(new), batch_means_se(old))
    z = (new.mean(axis=0) - old.mean(axis=0)) / se
    assert np.max(np.abs(z)) < Z_TOL, np.max(np.abs(z))
    (sd_new, se_new), (sd_old, se_old) = _sd_with_error(new), _sd_with_error(old)
    z_sd = (sd_new - sd_old) / np.hypot(se_new, se_old)
    assert np.max(np.abs(z_sd)) < Z_TOL, (np.max(np.abs(z_sd)), sd_new / sd_old)


def _sd_with_error(draws):
    """Posterior sd of each column and its Monte Carlo error: the error of
    the variance (batch means of the squared deviations) over ``2 sd``."""
    sd = draws.std(axis=0)
    return sd, batch_means_se((draws - draws.mean(axis=0)) ** 2) / (2 * sd)


@pytest.mark.parametrize("bounds", [None, (-3.0, 4.0)])
def test_two_level_posterior_unchanged(bounds):
    """Common covariance, categorical outcomes at both levels, with and
    without jomo's latent box."""
    imputer = MultilevelJointImputer(
        cluster_col="cluster",
        covariate_cols=["x"],
        level2_cols=["l2"],
        latent_bounds=bounds,
        random_state=0,
    )
    _assert_same_posterior(imputer, _two_level_frame())


@pytest.mark.parametrize("cov_method", ["fixed", "random"])
def test_cluster_covariances_posterior_unchanged(cov_method):
    """Cluster-specific covariances: the moves also rescale each
    ``Omega_j``'s regression of ``y`` on the latents and, under "random",
    that of the inverse-Wishart scale ``A`` (and ``a`` is compared too)."""
    imputer = HeteroscedasticMultilevelImputer(
        cluster_col="cluster",
        covariate_cols=["x"],
        level2_cols=["l2"],
        cov_method=cov_method,
        random_state=0,
    )
    _assert_same_posterior(imputer, _two_level_frame(n_clusters=8, size=15))


def _bench():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_ess.py"
    spec = importlib.util.spec_from_file_location("bench_ess", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.parametrize("model", ["single", "common", "fixed", "random"])
def test_smallest_bulk_ess_on_jspmiss(model):
    """Every parameter of the JSPmiss mixed model reaches bulk ESS 400 from
    2 chains x 1,000 draws 20 iterations apart (issue 16)."""
    result = _bench().measure(model)
    assert result["ess_bulk_min"] >= 400, result["groups"]


def _with_regression(cov, n_free, reg):
    """``cov`` with its regression of the free columns on the latents
    replaced by ``reg`` (``Omega_11`` and ``Omega_22.1`` kept)."""
    c11, c12 = cov[n_free:, n_free:], cov[n_free:, :n_free]
    cond = cov[:n_free, :n_free] - c12.T @ np.linalg.solve(c11, c12)
    out = cov.copy()
    out[n_free:, :n_free] = c11 @ reg
    out[:n_free, n_free:] = (c11 @ reg).T
    out[:n_free, :n_free] = cond + reg.T @ c11 @ reg
    return out


def test_translation_draws_its_exact_conditional():
    """The translation of the "random" method's cluster regressions draws
    ``Delta`` from the conditional of the posterior along the translations,
    computed here by brute force from the normal likelihood of the rows, the
    inverse-Wishart densities of the ``Omega_j`` given ``a, A`` and the
    Wishart prior of ``A`` (exactly quadratic in ``Delta``, so its mean and
    covariance come from central differences); few rows, so that the prior
    of ``A`` matters."""
    from skjomo._gibbs._latent_regressions import regression_on_latents, shift_regressions

    rng = np.random.default_rng(5)
    n_free, p, n_groups, per = 2, 4, 3, 4
    latent = 0.5 + 0.5 * np.eye(2)

    def random_cov():
        w = stats.wishart.rvs(df=8, scale=np.eye(p) / 8, random_state=rng)
        c11_half = np.linalg.cholesky(latent) @ np.linalg.inv(np.linalg.cholesky(w[2:, 2:]))
        t = np.eye(p)
        t[2:, 2:] = c11_half
        return t @ w @ t.T

    covs = np.array([random_cov() for _ in range(n_groups)])
    hyper = stats.wishart.rvs(df=p + 1, scale=np.eye(p), random_state=rng)
    prior = np.eye(p) + 0.3
    a = 7.0
    row_group = np.repeat(np.arange(n_groups), per)
    values = rng.standard_normal((row_group.size, p))
    means = np.zeros_like(values)
    regs = np.empty((n_groups, 2, n_free))
    lam = np.empty((n_groups, 2, 2))
    cond_prec = np.empty((n_groups, n_free, n_free))
    for h in range(n_groups):
        regression_on_latents(covs[h], n_free, lam[h], regs[h], cond_prec[h])
    hyper_reg = np.linalg.solve(hyper[2:, 2:], hyper[2:, :2])

    def log_post(delta):
        delta = delta.reshape(2, n_free)
        new_hyper = _with_regression(hyper, n_free, hyper_reg + delta)
        total = stats.wishart.logpdf(new_hyper, df=p + 1, scale=prior)
        for h in range(n_groups):
            cov = _with_regression(covs[h], n_free, regs[h] + delta)
            total += stats.multivariate_normal.logpdf(values[row_group == h], cov=cov).sum()
            total += stats.invwishart.logpdf(cov, df=a, scale=new_hyper)
        return total

    k = 2 * n_free
    basis = np.eye(k)
    grad = np.array([(log_post(e) - log_post(-e)) / 2 for e in basis])
    hess = np.array(
        [
            [
                (log_post(e + f) - log_post(e - f) - log_post(f - e) + log_post(-e - f)) / 4
                for f in basis
            ]
            for e in basis
        ]
    )
    cov_exact = np.linalg.inv(-hess)
    mean_exact = cov_exact @ grad

    n_draws = 20000
    draws = np.empty((n_draws, k))
    gen = np.random.default_rng(9)
    for i in range(n_draws):
        new_regs, new_covs, new_hyper = regs.copy(), covs.copy(), hyper.copy()
        shift_regressions(
            gen, values, means, row_group, n_free, new_regs, cond_prec, new_covs, new_hyper, prior
        )
        draws[i] = (new_regs[0] - regs[0]).ravel()
        # every regression, the covariances and A moved by the same Delta
        assert np.allclose(new_regs - regs, draws[i].reshape(2, n_free))
        assert np.allclose(new_covs[1], _with_regression(covs[1], n_free, new_regs[1]))
        assert np.allclose(
            new_hyper, _with_regression(hyper, n_free, hyper_reg + new_regs[0] - regs[0])
        )
    z = (draws.mean(axis=0) - mean_exact) / np.sqrt(np.diag(cov_exact) / n_draws)
    assert np.max(np.abs(z)) < Z_TOL, z
    sd_ratio = draws.std(axis=0) / np.sqrt(np.diag(cov_exact))
    assert np.all(np.abs(sd_ratio - 1) < 0.05), sd_ratio


def _exact_cluster_draws(rng, n_clusters, sigma, omega, z, codes, box):
    """Exact draws of ``(u_j, rows)`` of independent clusters given the
    observed categories (rejection from the joint normal): column 0 is
    continuous, column 1 the latent of a binary variable (category 0 when
    positive), random effects ``u_j = (u_j0, u_j1)`` of both columns with
    design ``z`` (one row per row of the cluster)."""
    n_rows, q = z.shape
    observed = codes >= 0
    kept_u, kept_rows, n_kept = [], [], 0
    while n_kept < n_clusters:
        u = rng.multivariate_normal(np.zeros(2 * q), sigma, size=4 * n_clusters)
        u = u.reshape(-1, 2, q)
        means = np.einsum("rc,jtc->jrt", z, u)
        rows = means + rng.multivariate_normal(np.zeros(2), omega, size=means.shape[:2])
        lat = rows[:, observed, 1]
        ok = np.where(codes[observed] == 0, lat > 0, lat < 0)
        ok &= (lat > box[0]) & (lat < box[1])
        ok = ok.all(axis=1)
        kept_u.append(u[ok])
        kept_rows.append(rows[ok])
        n_kept += ok.sum()
    return np.concatenate(kept_u)[:n_clusters], np.concatenate(kept_rows)[:n_clusters]


@pytest.mark.parametrize("box", [(-np.inf, np.inf), (-2.0, 3.0)])
def test_cluster_shift_keeps_the_exact_posterior(box):
    """The cluster shift of the latents with their random effects
    (skjomo/_gibbs/_latent_shift.py), applied once to exact draws of many
    independent clusters, gives exact draws again: a random intercept and a
    slope on a covariate of both signs, correlated random effects, a
    continuous column correlated with the latent, one row of missing
    category, with and without jomo's box. The move must move ``u``, keep
    every observed category (and the box), and leave the continuous column."""
    from skjomo._gibbs._latent_shift import shift_cluster_latents

    rng = np.random.default_rng(4)
    n_clusters = 20000
    z = np.column_stack([np.ones(5), [-1.5, -0.4, 0.3, 0.9, 1.6]])
    codes = np.array([0, 1, 1, -1, 1])
    root = np.array([[1.0, 0, 0, 0], [0.3, 0.5, 0, 0], [1.2, -0.4, 0.6, 0], [0.2, 0.5, -0.4, 0.5]])
    sigma = root @ root.T
    omega = np.array([[1.5, 0.6], [0.6, 1.0]])
    box = np.array(box)
    u, rows = _exact_cluster_draws(rng, n_clusters, sigma, omega, z, codes, box)
    fresh_u, fresh_rows = _exact_cluster_draws(rng, n_clusters, sigma, omega, z, codes, box)

    values = rows.reshape(-1, 2).copy()
    means = np.einsum("rc,jtc->jrt", z, u).reshape(-1, 2)
    cluster = np.repeat(np.arange(n_clusters), z.shape[0])
    level2 = u.reshape(n_clusters, -1).copy()
    new_u = u.copy()
    shift_cluster_latents(
        np.random.default_rng(7),
        values,
        means,
        np.tile(codes, n_clusters)[:, None],
        cluster,
        np.tile(z, (n_clusters, 1)),
        box,
        0,
        1,
        1,
        new_u,
        level2,
        np.zeros_like(level2),
        np.linalg.inv(sigma),
        np.empty((3, n_clusters)),
    )
    new_rows = values.reshape(rows.shape)
    assert np.allclose(level2, new_u.reshape(n_clusters, -1))
    assert np.allclose(means, np.einsum("rc,jtc->jrt", z, new_u).reshape(-1, 2))
    assert np.array_equal(new_u[:, 0], u[:, 0]) and np.array_equal(new_rows[..., 0], rows[..., 0])
    lat = new_rows[:, codes >= 0, 1]
    assert np.all(np.where(codes[codes >= 0] == 0, lat > 0, lat < 0))
    assert np.all((lat >= box[0]) & (lat <= box[1]))
    # it moves: the latent random effects are far from their old values
    for c in range(2):
        assert np.corrcoef(u[:, 1, c], new_u[:, 1, c])[0, 1] < 0.9
    # and keeps the posterior: every latent random effect and latent against
    # fresh exact draws
    for name, new, ref in [
        ("u intercept", new_u[:, 1, 0], fresh_u[:, 1, 0]),
        ("u slope", new_u[:, 1, 1], fresh_u[:, 1, 1]),
    ] + [(f"latent {r}", new_rows[:, r, 1], fresh_rows[:, r, 1]) for r in range(z.shape[0])]:
        assert stats.ks_2samp(new, ref).pvalue > 1e-3, name
        se = np.hypot(new.std(), ref.std()) / np.sqrt(n_clusters)
        assert abs(new.mean() - ref.mean()) < Z_TOL * se, name
