"""The Metropolis-Hastings moves of a mixed logistic analysis model (numba).

Same moves as :func:`._smc._draw_newton_mh` (``theta`` given the random
effects as offset) and :func:`._smc_mixed.draw_newton_effects` (each
cluster's ``b_j`` given ``theta`` and ``Psi``): a Newton proposal
``N(x + H^{-1} g, H^{-1})`` at the current value and the reverse proposal
at the proposed one in the acceptance (doc/smc.rst). Only the arithmetic
of the row terms differs, so the chain's law is unchanged:

* one exponential per row and pass: with ``e = exp(eta)`` and ``q = 1 + e``
  the probability is ``e / q``, the IWLS weight ``e / q^2`` and
  ``log(1 + e^eta) = log q``;
* the ``log q`` of the rows are summed as the logarithm of their product,
  taken in stretches that cannot overflow (``q >= 1``): one logarithm per
  stretch instead of one per row (rows with ``eta >= 30`` take the usual
  ``eta + log1p(e^-eta)``);
* the fixed part ``w_i' theta`` of every row is computed once per scan of
  the random effects, not once per pass;
* the linear predictors and their exponentials at the current values are
  those the analysis state keeps (``eta``, ``exp_eta``, set with every
  change of a row's design, outcome or parameters): each move computes them
  only at its proposal, and keeps them if it is accepted, so the scan takes
  two exponentials per row (the proposals of ``theta`` and of the ``b_j``)
  instead of five (the Newton passes at the current and proposed values of
  both moves, then the refresh of ``exp_eta``).
"""

import numpy as np

from ._jit import kernel
from ._linalg import (
    cholesky_lower,
    draw_normal_precision,
    log_normal_precision,
    solve_lower,
    solve_lower_transpose,
    spd_inverse,
)
from ._smc_mixed import (
    draw_effect_covariance,
    effect_design_at,
    fixed_part,
    newton_center,
    random_part_at,
)

_LARGE_ETA = 30.0  # beyond it exp(eta) is not used (it overflows at 709)
_PRODUCT_LIMIT = 1e200  # q <= 1 + e^30 < 1e14, so the product stays finite


@kernel
def _row_terms(eta, e, logs, product):
    """Probability and IWLS weight of a row at ``eta`` (``e = exp(eta)``,
    unused beyond ``_LARGE_ETA``), and the running sums ``(logs, product)``
    with ``log(1 + e^eta)`` added: returns ``(prob, weight, logs,
    product)``."""
    if eta < _LARGE_ETA:
        q = 1.0 + e
        prob = e / q
        product *= q
        if product > _PRODUCT_LIMIT:
            logs += np.log(product)
            product = 1.0
        return prob, prob / q, logs, product
    e = np.exp(-eta)
    prob = 1.0 / (1.0 + e)
    return prob, prob * (1.0 - prob), logs + eta + np.log1p(e), product


@kernel
def theta_newton(w, y, offset, theta, chol, center):
    """Logistic log-likelihood at ``theta`` with ``offset`` added to every
    linear predictor, the Cholesky factor of the information ``W'DW`` and
    the Newton point ``theta + (W'DW)^{-1} W'(y - p)``.
    Returns ``(log-likelihood, ok)``."""
    eta = np.empty(w.shape[0])
    e = np.empty(w.shape[0])
    _predictors(w, offset, theta, eta, e)
    return predictor_newton(w, y, eta, e, theta, chol, center)


@kernel(inline=True)
def _predictors(w, offset, theta, eta, e):
    """``eta = offset + w theta`` and ``e = exp(eta)``."""
    n, k = w.shape
    for i in range(n):
        s = offset[i]
        for a in range(k):
            s += w[i, a] * theta[a]
        eta[i] = s
    for i in range(n):
        e[i] = np.exp(eta[i])


@kernel
def predictor_newton(w, y, eta, e, theta, chol, center):
    """:func:`theta_newton` given the rows' linear predictors ``eta`` at
    ``theta`` and their exponentials ``e``."""
    n, k = w.shape
    info = np.zeros((k, k))
    score = np.zeros(k)
    logs, product = 0.0, 1.0
    linear = 0.0
    for i in range(n):
        linear += y[i] * eta[i]
        prob, weight, logs, product = _row_terms(eta[i], e[i], logs, product)
        resid = y[i] - prob
        for a in range(k):
            score[a] += w[i, a] * resid
            wa = weight * w[i, a]
            for b in range(a + 1):
                info[a, b] += wa * w[i, b]
    loglik = linear - logs - np.log(product)
    if not cholesky_lower(info, chol):
        return loglik, False
    solve_lower(chol, score)
    solve_lower_transpose(chol, score)
    for a in range(k):
        center[a] = theta[a] + score[a]
    return loglik, True


@kernel(internal=True)
def draw_theta_given_effects(rng, re, b, w, y, theta, eta, exp_eta):
    """Metropolis-Hastings move of ``theta`` (flat prior) with the Newton
    proposal at the current value and the reverse one at the proposed value,
    the random effects ``b`` as offset; ``eta`` and ``exp_eta`` are the
    rows' linear predictors at the current values and their exponentials
    (updated if the move is accepted). Returns 1 if accepted; raises if the
    information at the current value is singular."""
    n, k = w.shape
    offset = np.empty(n)
    for i in range(n):
        offset[i] = random_part_at(re, b, i, w)
    chol0, center0 = np.empty((k, k)), np.empty(k)
    loglik0, ok = predictor_newton(w, y, eta, exp_eta, theta, chol0, center0)
    if not ok:
        raise ValueError(
            "The design of the analysis model is singular in the completed "
            "data (a category without rows, or collinear terms)."
        )
    proposal = np.empty(k)
    draw_normal_precision(rng, chol0, center0, proposal)
    chol1, center1 = np.empty((k, k)), np.empty(k)
    eta1, exp1 = np.empty(n), np.empty(n)
    _predictors(w, offset, proposal, eta1, exp1)
    loglik1, ok = predictor_newton(w, y, eta1, exp1, proposal, chol1, center1)
    if not ok:
        return 0
    log_ratio = (
        loglik1
        - loglik0
        + log_normal_precision(chol1, center1, theta)
        - log_normal_precision(chol0, center0, proposal)
    )
    if np.log(rng.random()) < log_ratio:
        theta[:] = proposal
        eta[:] = eta1
        exp_eta[:] = exp1
        return 1
    return 0


@kernel(internal=True)
def _cluster_newton(re, j, b_j, w, y, fixed, psi_inv, info, score, chol, center, eta, e, fresh):
    """Log posterior of ``b_j`` (the cluster's logistic likelihood times
    ``N(0, Psi)``; ``fixed[i] = w_i' theta``), the Cholesky factor of its
    negative Hessian ``Z_j'D Z_j + Psi^{-1}`` and the Newton point
    (``info``, ``score``: work space). The rows' linear predictors and their
    exponentials are read from ``eta`` and ``e``, or, if ``fresh``, computed
    at ``b_j`` and written there. Returns ``(log posterior, ok)``."""
    kz = b_j.shape[0]
    logs, product = 0.0, 1.0
    log_post = 0.0
    for a in range(kz):
        score[a] = 0.0
        for c in range(kz):
            info[a, c] = psi_inv[a, c]
            score[a] -= psi_inv[a, c] * b_j[c]
            log_post -= 0.5 * b_j[a] * psi_inv[a, c] * b_j[c]
    for r in range(re.cluster_ptr[j], re.cluster_ptr[j + 1]):
        i = re.cluster_rows[r]
        if fresh:
            s = fixed[i]
            for a in range(kz):
                s += effect_design_at(re, w, i, a) * b_j[a]
            eta[i] = s
            e[i] = np.exp(s)
        log_post += y[i] * eta[i]
        prob, weight, logs, product = _row_terms(eta[i], e[i], logs, product)
        resid = y[i] - prob
        for a in range(kz):
            za = effect_design_at(re, w, i, a)
            score[a] += za * resid
            for c in range(a + 1):
                info[a, c] += weight * za * effect_design_at(re, w, i, c)
    log_post -= logs + np.log(product)
    return log_post, newton_center(info, chol, score, b_j, center)


@kernel(internal=True)
def draw_logistic_effects(rng, re, st, w, y, theta, update, eta, exp_eta):
    """``b_j | theta, Psi`` of the clusters with ``update[j]``: one
    Metropolis-Hastings move each with the Newton proposal at ``b_j`` and the
    reverse one at the proposed value; ``eta`` and ``exp_eta`` as in
    :func:`draw_theta_given_effects`. Returns the accepted moves."""
    n, k = w.shape
    n_clusters, kz = st.b.shape
    fixed = fixed_part(w, theta)
    psi_inv = spd_inverse(st.psi)
    chol0, chol1 = np.empty((kz, kz)), np.empty((kz, kz))
    center0, center1 = np.empty(kz), np.empty(kz)
    info, score = np.empty((kz, kz)), np.empty(kz)
    proposal = np.empty(kz)
    eta1, exp1 = np.empty(n), np.empty(n)  # at the proposals (each cluster's rows)
    accepted = 0
    for j in range(n_clusters):
        if not update[j]:
            continue
        log0, ok = _cluster_newton(
            re, j, st.b[j], w, y, fixed, psi_inv, info, score, chol0, center0, eta, exp_eta, False
        )
        if not ok:
            continue
        draw_normal_precision(rng, chol0, center0, proposal)
        log1, ok = _cluster_newton(
            re, j, proposal, w, y, fixed, psi_inv, info, score, chol1, center1, eta1, exp1, True
        )
        if not ok:
            continue
        log_ratio = (
            log1
            - log0
            + log_normal_precision(chol1, center1, st.b[j])
            - log_normal_precision(chol0, center0, proposal)
        )
        if np.log(rng.random()) < log_ratio:
            st.b[j, :] = proposal
            for r in range(re.cluster_ptr[j], re.cluster_ptr[j + 1]):
                i = re.cluster_rows[r]
                eta[i] = eta1[i]
                exp_eta[i] = exp1[i]
            accepted += 1
    return accepted


@kernel(internal=True)
def draw_mixed_logistic(rng, re, st, w, y, theta, eta, exp_eta):
    """``theta`` given the random effects, then the random effects and
    ``Psi`` given ``theta``; ``eta`` and ``exp_eta``, the rows' linear
    predictors and their exponentials, are kept current. Returns the
    accepted moves of ``theta`` and of the random effects."""
    accepted_theta = draw_theta_given_effects(rng, re, st.b, w, y, theta, eta, exp_eta)
    update = np.ones(st.b.shape[0], np.bool_)
    accepted = draw_logistic_effects(rng, re, st, w, y, theta, update, eta, exp_eta)
    draw_effect_covariance(rng, re, st)
    return accepted_theta, accepted
