"""The ordinal mixed model's row terms from the kept exp(eta)
(skjomo/_gibbs/_smc_ordinal_kept.py) and the random-effect moves that use
them (skjomo/_gibbs/_smc_ordinal_mixed.py): the terms against the stable
forms from eta, and the moves' draws against the posterior of b_j by
quadrature (a random intercept, whose proposal scales the kept exp(eta) of
its rows, and a random intercept and slope, which forms it anew)."""

import numpy as np
import pytest
from jomo_compare import ordinal_eta_terms
from scipy.special import expit

from skjomo._gibbs._smc_mixed import RandomEffectsState, build_random_effects
from skjomo._gibbs._smc_ordinal import (
    likelihood_derivatives,
    probability_terms,
    row_likelihood,
    rows_score,
)
from skjomo._gibbs._smc_ordinal_kept import (
    KEPT_HIGH,
    KEPT_LOW,
    cut_factors,
    kept_derivatives,
    kept_rows_score,
    product_terms,
)
from skjomo._gibbs._smc_ordinal_mixed import draw_ordinal_effects, random_offsets


@pytest.mark.parametrize(
    "cuts",
    [
        [-1.0, 0.5, 2.0],
        [-3.0, -3.0 + 1e-7, 4.0],  # a nearly empty middle category: the product form
        [0.2],
    ],
)
def test_product_terms_equal_the_stable_forms(cuts):
    k = 1
    theta = np.concatenate([[0.7], cuts])
    factors, gaps, low, high = cut_factors(theta, k)
    np.testing.assert_allclose(factors, np.exp(-np.array(cuts)), rtol=1e-15)
    for c in range(1, len(cuts)):
        assert gaps[c] == pytest.approx(1 - np.exp(cuts[c - 1] - cuts[c]), rel=1e-12)
    assert low * factors.min() == pytest.approx(KEPT_LOW)
    assert high * factors.max() == pytest.approx(KEPT_HIGH)
    for eta in np.concatenate([np.linspace(-40, 40, 161), [-300.0, 300.0]]):
        e = np.exp(eta)
        assert low < e < high
        for y in range(len(cuts) + 1):
            kept = product_terms(float(y), e, factors, gaps)
            stable = probability_terms(float(y), eta, theta, k)
            # the probability to relative precision (against F(u) (1 - F(l))
            # (1 - exp(alpha_c - alpha_{c+1})), exact for the given
            # cut-points: the stable form's l - u loses digits of a narrow
            # category), the derivatives (sums of terms of order one) to
            # absolute precision
            bounds = np.concatenate([[-np.inf], cuts, [np.inf]])
            gap = -np.expm1(bounds[y] - bounds[y + 1]) if 0 < y < len(cuts) else 1.0
            exact = expit(bounds[y + 1] - eta) * expit(eta - bounds[y]) * gap
            assert kept[0] == pytest.approx(exact, rel=1e-11, abs=0)
            # (the stable form's error of l - u, about 1e-16 |eta|, relative
            # to the gap of a narrow category)
            rtol = max(1e-11, 1e-15 * (abs(eta) + 10) / gap)
            np.testing.assert_allclose(kept[1:], stable[1:], rtol=rtol, atol=1e-13)
            assert stable[0] == pytest.approx(row_likelihood(float(y), eta, theta, k), rel=1e-15)


def test_out_of_range_exponentials_take_the_stable_forms():
    """exp(eta) beyond the range (overflow, underflow, NaN) fails the
    caller's check, which then uses the forms from eta."""
    theta = np.array([0.7, -1.0, 0.5, 2.0])
    low, high = cut_factors(theta, 1)[2:]
    for e in (1e308, 1e-310, np.nan, np.inf, 0.0):
        assert not low < e < high


def _rows_with_tails(rng, n):
    """Design, coefficients (two slopes, three cut-points), offsets and
    outcomes of ``n`` rows, the first three far out in the tails."""
    w = rng.normal(size=(n, 2))
    theta = np.array([0.8, -0.4, -1.0, 0.5, 2.0])
    offset = rng.normal(size=n)
    offset[:3] = [800.0, -800.0, 30.0]
    y = rng.integers(0, 4, n).astype(float)
    return w, theta, offset, y


def test_kept_rows_score_equals_the_stable_score():
    """The moving rows' score of the two-level coefficient step, with one
    exponential per row, against rows_score (two per row), rows far out in
    the tails (out of range: the stable forms) included."""
    rng = np.random.default_rng(5)
    n = 200
    w, theta, offset, y = _rows_with_tails(rng, n)
    rows = np.sort(rng.choice(n, 80, replace=False))
    rows[:3] = [0, 1, 2]
    rows = np.unique(rows)
    kept, stable = np.zeros(5), np.zeros(5)
    kept_rows_score(w, y, rows, offset, theta, kept)
    rows_score(w, y, rows, offset, theta, stable)
    np.testing.assert_allclose(kept, stable, rtol=1e-12, atol=1e-12)


def test_kept_derivatives_equal_the_stable_derivatives():
    """The gradient and information of the mode search of the two-level
    coefficient step, with one exponential per row, against
    likelihood_derivatives (two per row), rows far out in the tails
    included, and against the gradient by central differences."""
    rng = np.random.default_rng(6)
    n = 300
    w, theta, offset, y = _rows_with_tails(rng, n)
    grad, info = np.empty(5), np.empty((5, 5))
    grad0, info0 = np.empty(5), np.empty((5, 5))
    kept_derivatives(w, y, offset, theta, grad, info)
    loglik = likelihood_derivatives(w, y, offset, theta, grad0, info0, True)
    np.testing.assert_allclose(grad, grad0, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(info, info0, rtol=1e-12, atol=1e-10)
    np.testing.assert_array_equal(info, info.T)
    h = 1e-6
    for s in range(5):
        step = np.eye(5)[s] * h
        up = likelihood_derivatives(w, y, offset, theta + step, grad0, info0, True)
        down = likelihood_derivatives(w, y, offset, theta - step, grad0, info0, True)
        assert grad[s] == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-6)
    assert np.isfinite(loglik)


def _effects_problem(kz, seed):
    """Three clusters (3, 10 and 30 rows) of a cumulative logit model."""
    rng = np.random.default_rng(seed)
    cluster = np.repeat(np.arange(3), [3, 10, 30])
    n = cluster.size
    w = rng.normal(size=(n, 1))
    cuts = np.array([-1.0, 0.5, 2.0])
    theta = np.concatenate([[0.8], cuts])
    b_true = rng.normal(size=(3, 2)) * [0.8, 0.6]
    eta = 0.8 * w[:, 0] + b_true[cluster, 0] + (b_true[cluster, 1] * w[:, 0] if kz == 2 else 0)
    y = np.searchsorted(cuts, eta + rng.logistic(size=n)).astype(float)
    re_index = [-1] if kz == 1 else [-1, 0]  # -1: random intercept without a design column
    re = build_random_effects(n, cluster, 3, re_index, kz + 1.0, np.eye(kz))
    psi = np.array([[1.5]]) if kz == 1 else np.array([[1.2, 0.3], [0.3, 0.7]])
    return re, w, y, theta, psi, cluster


@pytest.mark.parametrize("kz", [1, 2])
def test_ordinal_effect_moves_target_the_posterior(kz):
    """draw_ordinal_effects with the rows' eta, probabilities and exp(eta)
    kept: the chain of each b_j has the mean and SD of its posterior by
    quadrature (a grid in one or two dimensions), and the kept rows equal
    their recomputation at the end."""
    re, w, y, theta, psi, cluster = _effects_problem(kz, seed=3 + kz)
    n = y.size
    st = RandomEffectsState(np.zeros((3, kz)), psi.copy())
    k = w.shape[1]
    eta = w @ theta[:k] + random_offsets(re, st.b, w)
    lik = np.array([row_likelihood(y[i], eta[i], theta, k) for i in range(n)])
    rows = (eta, lik, np.exp(eta))
    deriv = (np.empty(n), np.empty(n))
    rng = np.random.default_rng(7)
    draws, accepted = np.empty((20_000, 3, kz)), 0
    for t in range(draws.shape[0]):
        accepted += draw_ordinal_effects(rng, re, st, w, y, theta, rows, deriv, False)
        draws[t] = st.b
    assert accepted / (3 * draws.shape[0]) > 0.7
    expected = w @ theta[:k] + random_offsets(re, st.b, w)
    np.testing.assert_allclose(rows[0], expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(rows[2], np.exp(expected), rtol=1e-12)
    np.testing.assert_allclose(
        rows[1], [row_likelihood(y[i], expected[i], theta, k) for i in range(n)], rtol=1e-12
    )
    axis = np.linspace(-6, 6, 241 if kz == 2 else 2001)
    grid = np.stack(np.meshgrid(*[axis] * kz, indexing="ij"), axis=-1).reshape(-1, kz)
    precision = np.linalg.inv(psi)
    for j in range(3):
        members = np.flatnonzero(cluster == j)
        z = np.column_stack([np.ones(members.size), w[members, 0]])[:, :kz]
        eta_grid = (0.8 * w[members, 0])[:, None] + z @ grid.T
        codes = np.repeat(y[members, None], grid.shape[0], 1).astype(int)
        log_post = ordinal_eta_terms(codes, eta_grid, theta[k:])[0].sum(axis=0)
        log_post -= 0.5 * np.einsum("ga,ab,gb->g", grid, precision, grid)
        weight = np.exp(log_post - log_post.max())
        weight /= weight.sum()
        mean = weight @ grid
        sd = np.sqrt(weight @ (grid - mean) ** 2)
        chain = draws[1000:, j]
        assert np.all(np.abs(chain.mean(axis=0) - mean) < 0.05 * sd), (chain.mean(axis=0), mean)
        assert np.all(np.abs(chain.std(axis=0) / sd - 1) < 0.05), (chain.std(axis=0), sd)
