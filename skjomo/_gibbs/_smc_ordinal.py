"""The ordinal analysis model of compatible imputation (numba).

Proportional-odds cumulative logit model (doc/smc.rst, "Ordinal model"):
categories coded ``0 .. K-1`` and

    P(y <= c | w) = F(alpha_{c+1} - w' theta),   F(z) = 1 / (1 + exp(-z)),

with cut-points ``alpha_1 < ... < alpha_{K-1}`` (``alpha_0 = -inf``,
``alpha_K = +inf``) and no intercept in ``w``. The analysis state keeps the
``k`` coefficients and then the ``K - 1`` cut-points in one vector
``theta`` (length ``k + K - 1``); the linear predictor ``eta = w' theta``
uses the first ``k`` entries.

The parameters move by Metropolis-Hastings in the unconstrained coordinates
``psi = (theta, phi)``, ``phi_1 = alpha_1`` and ``phi_j = log(alpha_j -
alpha_{j-1})``, with a normal proposal centred at one Newton step from the
current point (:func:`draw_ordinal_parameters`).
"""

import numpy as np

from ._jit import kernel
from ._linalg import (
    cholesky_lower,
    draw_normal_precision,
    log_normal_precision,
    solve_lower,
    solve_lower_transpose,
)

ORDINAL = 3


@kernel(inline=True)
def _cdf(z):
    """Logistic distribution function (0 and 1 at the infinite cut-points)."""
    return 1.0 / (1.0 + np.exp(-z))


@kernel(inline=True)
def _cdf_pair(z):
    """``(F(z), 1 - F(z), exp(-|z|))``, each without cancellation."""
    if z >= 0.0:
        e = np.exp(-z)
        return 1.0 / (1.0 + e), e / (1.0 + e), e
    e = np.exp(z)
    return e / (1.0 + e), 1.0 / (1.0 + e), e


@kernel(inline=True)
def _log_cdf(z, e):
    """``log F(z)`` given ``e = exp(-|z|)``."""
    return -np.log1p(e) if z >= 0.0 else z - np.log1p(e)


# A middle category's P = F(u) - F(l) = (1 - F(l)) - (1 - F(u)) is formed as
# the difference of the pair below 1/2 when it is at least this fraction of
# the larger term (a relative rounding error below ten units in the last
# place), else as a product.
_DIRECT_DIFFERENCE = 0.1


@kernel(inline=True)
def _category(y, eta, theta, k, with_log):
    """:func:`category_terms` with ``P(y | eta)`` itself appended (as
    :func:`row_likelihood` forms it, without an elementary function more)."""
    n_cuts = theta.shape[0] - k
    c = int(y)
    if c == 0:  # P = F(u)
        u = theta[k] - eta
        f_u, s_u, e = _cdf_pair(u)
        log_p = _log_cdf(u, e) if with_log is not None else 0.0
        a, b, f_l = s_u, 0.0, 0.0
        p = f_u
    elif c == n_cuts:  # P = 1 - F(l)
        l = theta[k + c - 1] - eta
        f_l, s_l, e = _cdf_pair(l)
        log_p = _log_cdf(-l, e) if with_log is not None else 0.0  # 1 - F(l) = F(-l)
        a, b, f_u = 0.0, f_l, 1.0
        p = s_l
    else:
        u, l = theta[k + c] - eta, theta[k + c - 1] - eta
        f_u, s_u, e_u = _cdf_pair(u)
        f_l, s_l, e_l = _cdf_pair(l)
        if f_u <= 0.5:  # difference of the smaller of F and 1 - F, relatively exact
            p, scale = f_u - f_l, f_u
        else:
            p, scale = s_l - s_u, s_l
        if p >= _DIRECT_DIFFERENCE * scale:
            log_p = np.log(p) if with_log is not None else 0.0
            a = f_u * s_u / p
            b = f_l * s_l / p
        else:
            gap = -np.expm1(l - u)
            p = f_u * s_l * gap
            log_p = 0.0
            if with_log is not None:
                log_p = _log_cdf(u, e_u) + _log_cdf(-l, e_l) + np.log(gap)
            a = s_u / (s_l * gap)
            b = f_l / (f_u * gap)
    d_uu = a * (1.0 - 2.0 * f_u) - a * a
    d_ll = -b * (1.0 - 2.0 * f_l) - b * b
    return log_p, a, b, d_uu, d_ll, a * b, p


@kernel(inline=True)
def category_terms(y, eta, theta, k, with_log):
    """``log P(y | eta)`` and the derivatives of the row's log-likelihood.

    With ``u = alpha_{c+1} - eta`` and ``l = alpha_c - eta`` (``c = y``),
    ``P = F(u) - F(l)``; returns ``(log P, a, b, d_uu, d_ll, d_ul)`` where
    ``a = f(u) / P`` and ``b = f(l) / P`` (``f = F'``) are the derivatives
    of ``log P`` in ``u`` and ``-l``, and ``d_..`` its second derivatives.
    No difference of nearly equal probabilities is formed: a middle
    category's ``P`` is ``F(u) (1 - F(l)) (1 - exp(l - u))`` unless the
    difference is well conditioned (:data:`_DIRECT_DIFFERENCE`). Three
    elementary functions per row in the common case; two, and ``log P = 0``,
    with ``with_log`` None (numba drops the logarithms at compile time).
    """
    return _category(y, eta, theta, k, with_log)[:6]


@kernel(inline=True)
def probability_terms(y, eta, theta, k):
    """``(P(y | eta), a, b, d_uu, d_ll, d_ul)``: the row's probability (the
    value of :func:`row_likelihood`) and the derivatives of
    :func:`category_terms`, from two elementary functions in the common
    case."""
    terms = _category(y, eta, theta, k, None)
    return terms[6], terms[1], terms[2], terms[3], terms[4], terms[5]


@kernel(inline=True)
def ordinal_eta_terms(y, eta, theta, k):
    """``log P(y | eta)``, its derivative in ``eta`` and minus its second
    derivative (``u`` and ``l`` both fall by one as ``eta`` rises by one)."""
    log_p, a, b, d_uu, d_ll, d_ul = category_terms(y, eta, theta, k, True)
    return log_p, b - a, -(d_uu + d_ll + 2.0 * d_ul)


@kernel(inline=True)
def ordinal_row_log_likelihood(y, eta, theta, k):
    """``log P(y | eta)`` of one row."""
    return category_terms(y, eta, theta, k, True)[0]


# Below this a row's probability is not used as a factor of a product (the
# log-likelihood takes its logarithm from category_terms): a product of
# factors above it stays a normal number for one more factor.
TINY_PROBABILITY = 1e-100


@kernel(inline=True)
def row_likelihood(y, eta, theta, k):
    """``P(y | eta)`` itself (as :func:`category_terms`, without a
    logarithm): ``F(u)``, ``1 - F(l)``, or for a middle category the
    difference of the pair below 1/2 when it is well conditioned
    (:data:`_DIRECT_DIFFERENCE`), else ``F(u) (1 - F(l)) (1 - exp(l - u))``.
    Two exponentials and no logarithm in the common case; 0 where the
    probability underflows (use :func:`category_terms` there)."""
    n_cuts = theta.shape[0] - k
    c = int(y)
    if c == 0:
        return _cdf_pair(theta[k] - eta)[0]
    if c == n_cuts:
        return _cdf_pair(theta[k + c - 1] - eta)[1]
    u, l = theta[k + c] - eta, theta[k + c - 1] - eta
    f_u, s_u, _ = _cdf_pair(u)
    f_l, s_l, _ = _cdf_pair(l)
    if f_u <= 0.5:
        p, scale = f_u - f_l, f_u
    else:
        p, scale = s_l - s_u, s_l
    if p >= _DIRECT_DIFFERENCE * scale:
        return p
    return f_u * s_l * -np.expm1(l - u)


# A product of probabilities below this takes its logarithm and restarts at
# 1: times a factor above TINY_PROBABILITY it stays a normal number.
_SMALL_PRODUCT = 1e-200


@kernel(inline=True)
def add_log_probability(p, y, eta, theta, k, logs, product):
    """Add ``log p`` (``p = P(y | eta)``) to the running sum ``logs +
    log(product)``: ``p`` joins the product, or below
    :data:`._smc_ordinal.TINY_PROBABILITY` its logarithm comes from the
    stable form of :func:`._smc_ordinal.category_terms`."""
    if p > TINY_PROBABILITY:
        product *= p
        if product < _SMALL_PRODUCT:
            logs += np.log(product)
            product = 1.0
    else:
        logs += ordinal_row_log_likelihood(y, eta, theta, k)
    return logs, product


@kernel
def current_log_likelihood(y, eta, lik, theta, k):
    """``sum_i log P(y_i | eta_i)`` from the rows' probabilities ``lik``."""
    logs, product = 0.0, 1.0
    for i in range(y.shape[0]):
        logs, product = add_log_probability(lik[i], y[i], eta[i], theta, k, logs, product)
    return logs + np.log(product)


@kernel(inline=True)
def accept_ordinal_move(u, y, eta, eta_new, p, p_new, theta, k):
    """Metropolis-Hastings decision ``u < P(y | eta_new) / P(y | eta)`` for
    a uniform ``u`` from the two probabilities ``p`` and ``p_new``
    (:func:`row_likelihood`): ``u p < p_new`` without a logarithm unless
    ``p`` is below :data:`TINY_PROBABILITY`."""
    if p > TINY_PROBABILITY:
        return u * p < p_new
    return np.log(u) < ordinal_row_log_likelihood(y, eta_new, theta, k) - (
        ordinal_row_log_likelihood(y, eta, theta, k)
    )


@kernel
def draw_ordinal_outcome(rng, eta, theta, k):
    """A category from ``P(y | eta)`` by inverting the cumulative probabilities."""
    n_cuts = theta.shape[0] - k
    target = rng.random()
    for c in range(n_cuts):
        if target < _cdf(theta[k + c] - eta):
            return float(c)
    return float(n_cuts)


# ----------------------------------------------------- unconstrained scale
@kernel
def to_unconstrained(theta, k, psi):
    """``psi = (theta, alpha_1, log(alpha_2 - alpha_1), ...)``."""
    psi[:k] = theta[:k]
    psi[k] = theta[k]
    for j in range(k + 1, theta.shape[0]):
        psi[j] = np.log(theta[j] - theta[j - 1])


@kernel
def from_unconstrained(psi, k, theta):
    """Inverse of :func:`to_unconstrained`."""
    theta[: k + 1] = psi[: k + 1]
    for j in range(k + 1, psi.shape[0]):
        theta[j] = theta[j - 1] + np.exp(psi[j])


@kernel(inline=True)
def add_row_derivatives(w, i, y_i, eta, theta, grad, info, with_log):
    """Add row ``i``'s gradient in ``(theta, alpha)`` to ``grad`` and its
    part of minus the Hessian to the lower triangle of ``info`` (outcome
    ``y_i``, linear predictor ``eta``); returns the row's ``log P`` (0 with
    ``with_log`` None, :func:`category_terms`)."""
    log_p, a, b, d_uu, d_ll, d_ul = category_terms(y_i, eta, theta, w.shape[1], with_log)
    add_row_terms(w, i, y_i, theta.shape[0], a, b, d_uu, d_ll, d_ul, grad, info)
    return log_p


@kernel(inline=True)
def add_row_terms(w, i, y_i, r, a, b, d_uu, d_ll, d_ul, grad, info):
    """Add row ``i``'s gradient in the ``r`` coefficients and cut-points to
    ``grad`` and its part of minus the Hessian to the lower triangle of
    ``info``, given its :func:`category_terms` ``(a, b, d_uu, d_ll, d_ul)``."""
    k = w.shape[1]
    c = int(y_i)
    up = k + c if c < r - k else -1  # index of alpha_{c+1}
    lo = k + c - 1 if c > 0 else -1  # index of alpha_c
    h_ee = d_uu + d_ll + 2.0 * d_ul
    h_eu = -(d_uu + d_ul)
    h_el = -(d_ll + d_ul)
    for s in range(k):
        grad[s] -= (a - b) * w[i, s]
        for t in range(s + 1):
            info[s, t] -= h_ee * w[i, s] * w[i, t]
        if up >= 0:
            info[up, s] -= h_eu * w[i, s]
        if lo >= 0:
            info[lo, s] -= h_el * w[i, s]
    if up >= 0:
        grad[up] += a
        info[up, up] -= d_uu
    if lo >= 0:
        grad[lo] -= b
        info[lo, lo] -= d_ll
    if up >= 0 and lo >= 0:
        info[up, lo] -= d_ul


@kernel(inline=True)
def symmetrize_lower(info):
    """Copy the lower triangle of ``info`` into its upper triangle."""
    for s in range(info.shape[0]):
        for t in range(s):
            info[t, s] = info[s, t]


@kernel
def unconstrained_jacobian(psi, k):
    """Jacobian ``J`` of ``psi -> (theta, alpha)``: identity on ``theta``,
    ``d alpha_j / d phi_1 = 1`` and ``d alpha_j / d phi_m = exp(phi_m)`` for
    ``2 <= m <= j``."""
    r = psi.shape[0]
    jac = np.zeros((r, r))
    for s in range(k):
        jac[s, s] = 1.0
    for j in range(k, r):
        jac[j, k] = 1.0
        for m in range(k + 1, j + 1):
            jac[j, m] = np.exp(psi[m])
    return jac


@kernel
def likelihood_derivatives(w, y, offset, theta, grad, info, with_log):
    """Log-likelihood of the completed data at ``theta`` (coefficients, then
    cut-points; row ``i``'s linear predictor ``w_i' theta + offset[i]``);
    writes its gradient in ``(theta, alpha)`` into ``grad`` and minus its
    Hessian into ``info`` (both zeroed here). With ``with_log`` None the
    returned log-likelihood is 0 and no logarithm is taken."""
    n, k = w.shape
    grad[:] = 0.0
    info[:, :] = 0.0
    loglik = 0.0
    for i in range(n):
        eta = offset[i]
        for t in range(k):
            eta += w[i, t] * theta[t]
        loglik += add_row_derivatives(w, i, y[i], eta, theta, grad, info, with_log)
    symmetrize_lower(info)
    return loglik


@kernel
def rows_derivatives(w, y, rows, offset, theta, grad, info):
    """Add the gradient and the lower triangle of minus the Hessian of the
    log-likelihood of rows ``rows`` at ``theta`` to ``grad`` and ``info``;
    row ``i``'s linear predictor is ``w_i' theta + offset[i]`` (no offset if
    ``offset`` is empty)."""
    k = w.shape[1]
    for i in rows:
        eta = offset[i] if offset.shape[0] > 0 else 0.0
        for t in range(k):
            eta += w[i, t] * theta[t]
        add_row_derivatives(w, i, y[i], eta, theta, grad, info, None)


@kernel
def rows_score(w, y, rows, offset, theta, grad):
    """Add the gradient in ``(theta, alpha)`` of the log-likelihood of rows
    ``rows`` at ``theta`` to ``grad`` (``offset`` as in
    :func:`rows_derivatives`)."""
    k = w.shape[1]
    r = theta.shape[0]
    for i in rows:
        eta = offset[i] if offset.shape[0] > 0 else 0.0
        for t in range(k):
            eta += w[i, t] * theta[t]
        a, b = category_terms(y[i], eta, theta, k, None)[1:3]
        add_row_score(w, i, y[i], r, a, b, grad)


@kernel(inline=True)
def add_row_score(w, i, y_i, r, a, b, grad):
    """Add row ``i``'s gradient in the ``r`` coefficients and cut-points to
    ``grad``, given the ``a``, ``b`` of :func:`category_terms` (the gradient
    part of :func:`add_row_terms`)."""
    k = w.shape[1]
    c = int(y_i)
    for s in range(k):
        grad[s] -= (a - b) * w[i, s]
    if c < r - k:
        grad[k + c] += a  # alpha_{c+1}
    if c > 0:
        grad[k + c - 1] -= b  # alpha_c


@kernel
def ordinal_log_likelihood(w, y, offset, theta):
    """Log-likelihood of the completed data at ``theta`` (as
    :func:`likelihood_derivatives`, without the derivatives)."""
    k = w.shape[1]
    loglik = 0.0
    for i in range(w.shape[0]):
        eta = offset[i]
        for t in range(k):
            eta += w[i, t] * theta[t]
        loglik += ordinal_row_log_likelihood(y[i], eta, theta, k)
    return loglik


@kernel
def newton_point(w, y, offset, psi, chol, center, log_jacobian):
    """Log target, Newton precision and Newton point at ``psi``.

    The linear predictor of row ``i`` is ``w_i' theta + offset[i]`` (the
    random effects ``z_i' b_j`` of a two-level model, :mod:`._smc_ordinal_mixed`;
    zeros otherwise). The target is the log-likelihood of the completed data plus, if
    ``log_jacobian``, the log Jacobian ``sum_{j >= 2} phi_j`` of the map
    ``phi -> alpha`` (the posterior under the flat prior on ``(theta,
    alpha)``; without it, the likelihood, whose maximum is the MLE). The precision is ``J' (-H) J``, with
    ``H`` the Hessian of the log-likelihood in ``(theta, alpha)`` (negative
    definite: the model is log-concave there) and ``J`` the Jacobian of
    ``psi -> (theta, alpha)``. Writes its lower Cholesky factor into
    ``chol`` and ``psi + precision^{-1} gradient`` into ``center``. Returns
    ``(log target, ok)``; ``ok`` is False if the precision is singular.
    """
    n, k = w.shape
    r = psi.shape[0]
    theta = np.empty(r)
    from_unconstrained(psi, k, theta)
    grad = np.zeros(r)
    info = np.zeros((r, r))  # -H in (theta, alpha)
    target = likelihood_derivatives(w, y, offset, theta, grad, info, True)
    if log_jacobian:
        for j in range(k + 1, r):
            target += psi[j]
    jac = unconstrained_jacobian(psi, k)
    precision = jac.T @ info @ jac
    score = jac.T @ grad
    if log_jacobian:
        for j in range(k + 1, r):
            score[j] += 1.0
    if not cholesky_lower(precision, chol):
        return target, False
    solve_lower(chol, score)
    solve_lower_transpose(chol, score)
    for s in range(r):
        center[s] = psi[s] + score[s]
    return target, True


@kernel
def draw_ordinal_parameters(rng, ast, offset):
    """Metropolis-Hastings move of ``(theta, alpha)`` (flat prior) given the
    rows' offsets ``offset`` (see :func:`newton_point`): propose
    ``psi* ~ N(m(psi), P(psi)^{-1})`` from the Newton point and precision of
    :func:`newton_point`, accept with the reverse proposal density at
    ``psi*``. Returns 1 if accepted."""
    k = ast.w.shape[1]
    r = ast.theta.shape[0]
    psi = np.empty(r)
    to_unconstrained(ast.theta, k, psi)
    chol0, center0 = np.empty((r, r)), np.empty(r)
    target0, ok = newton_point(ast.w, ast.y, offset, psi, chol0, center0, True)
    if not ok:
        raise ValueError(
            "The design of the ordinal analysis model is singular in the completed "
            "data (a category without rows, or collinear terms)."
        )
    proposal = np.empty(r)
    draw_normal_precision(rng, chol0, center0, proposal)
    chol1, center1 = np.empty((r, r)), np.empty(r)
    target1, ok = newton_point(ast.w, ast.y, offset, proposal, chol1, center1, True)
    if not ok or not np.isfinite(target1):
        return 0
    log_ratio = (
        target1
        - target0
        + log_normal_precision(chol1, center1, psi)
        - log_normal_precision(chol0, center0, proposal)
    )
    if np.log(rng.random()) < log_ratio:
        from_unconstrained(proposal, k, ast.theta)
        return 1
    return 0


def ordinal_starting_fit(w, y, n_cuts):
    """Maximum-likelihood fit of the ordinal model by damped Newton steps in
    ``psi`` (the chain's starting value): cut-points start at the logits of
    the cumulative observed proportions, coefficients at 0. Returns
    ``(coefficients, cut-points)`` concatenated."""
    k = w.shape[1]
    counts = np.bincount(y.astype(np.int64), minlength=n_cuts + 1)[: n_cuts + 1] + 0.5
    cumulative = np.cumsum(counts)[:-1] / counts.sum()
    theta = np.concatenate([np.zeros(k), np.log(cumulative / (1 - cumulative))])
    psi = np.empty(k + n_cuts)
    to_unconstrained(theta, k, psi)
    chol, center = np.empty((k + n_cuts,) * 2), np.empty(k + n_cuts)
    for _ in range(50):
        _, ok = newton_point(w, y, np.zeros(w.shape[0]), psi, chol, center, False)
        if not ok:
            break
        step = np.clip(center - psi, -2.0, 2.0)
        psi += step
        if np.max(np.abs(step)) < 1e-8:
            break
    from_unconstrained(psi, k, theta)
    return theta


def ordinal_fit(w, y, n_cuts):
    """Maximum-likelihood estimates ``(coefficients, cut-points)`` and their
    covariance, the inverse observed information in ``(theta, alpha)``: at
    the maximum, ``J P^{-1} J'`` with ``P`` the precision of
    :func:`newton_point` in ``psi`` (the term it leaves out vanishes there)."""
    k = w.shape[1]
    r = k + n_cuts
    theta = ordinal_starting_fit(w, y, n_cuts)
    psi = np.empty(r)
    to_unconstrained(theta, k, psi)
    chol, center = np.empty((r, r)), np.empty(r)
    newton_point(w, y, np.zeros(w.shape[0]), psi, chol, center, False)
    jac = np.eye(r)
    for j in range(k, r):
        jac[j, k] = 1.0
        jac[j, k + 1 : j + 1] = np.exp(psi[k + 1 : j + 1])
    chol_inv = np.linalg.inv(np.tril(chol))
    return theta, jac @ chol_inv.T @ chol_inv @ jac.T
