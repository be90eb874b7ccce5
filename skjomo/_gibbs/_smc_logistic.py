"""The coefficient step of the single-level logistic analysis model (numba).

``theta`` of ``logit P(y_i = 1) = eta_i = w_i' theta`` (flat prior) moves by
an independence Metropolis-Hastings step (doc/smc.rst, "Logistic model"):

* the proposal is a multivariate t with ``PROPOSAL_DF`` degrees of freedom,
  centred at one Newton (IWLS) step ``m = theta_ref + I^{-1} U`` from a
  reference point ``theta_ref``, with scale matrix ``I^{-1}``, where ``U``
  and ``I`` are the score and information of the completed data at
  ``theta_ref``. It depends on the completed data only, not on the current
  ``theta``, so the acceptance ratio needs the log-likelihood at the
  proposal and at the current value but no second Newton step;
* ``theta_ref`` starts at the chain's starting value and, between the
  chunks of the burn-in only, moves to near the mode of the current
  posterior (:func:`recentre_reference`), where the proposal fits best
  (acceptance about 0.9 at a few hundred rows); after the burn-in it is
  fixed, so every kept iteration uses one fixed Metropolis-Hastings kernel;
* the log-concave logistic likelihood has tails no heavier than
  exponential, the t proposal polynomial ones, so the ratio of target to
  proposal is bounded and the step is uniformly ergodic;
* rows whose design and outcome never change (no missing cell in the
  analysis model, observed outcome) add a fixed amount to ``U`` and ``I``
  at the fixed ``theta_ref``: it is summed once (:func:`reference_statistics`)
  and only the other rows are added at every step.

The analysis state caches ``exp(eta_i)`` of every row (``exp_eta``, set
with ``eta``), so the log-likelihood difference costs one exponential per
row: ``sum_i y_i (eta*_i - eta_i) - log prod_i (1 + e*_i) / (1 + e_i)``, the
product taken in stretches that cannot overflow.
"""

import numpy as np

from ._jit import kernel
from ._linalg import cholesky_lower, solve_lower, solve_lower_transpose
from ._logistic import log1pexp

PROPOSAL_DF = 10.0


@kernel
def reference_statistics(w, y, rows, theta_ref, info, score):
    """Add the score and the lower triangle of the information of the
    logistic log-likelihood at ``theta_ref`` of rows ``rows``."""
    k = w.shape[1]
    for i in rows:
        eta = 0.0
        for a in range(k):
            eta += w[i, a] * theta_ref[a]
        prob = 1.0 / (1.0 + np.exp(-eta))
        weight = prob * (1.0 - prob)
        resid = y[i] - prob
        for a in range(k):
            score[a] += w[i, a] * resid
            wa = weight * w[i, a]
            for b in range(a + 1):
                info[a, b] += wa * w[i, b]


@kernel(inline=True)
def draw_t_proposal(rng, chol, centre, out):
    """``out`` ~ multivariate t with ``PROPOSAL_DF`` degrees of freedom,
    location ``centre`` and precision ``chol chol'`` (``chol`` lower)."""
    r = out.shape[0]
    for t in range(r):
        out[t] = rng.standard_normal()
    solve_lower_transpose(chol, out)
    scale = np.sqrt(PROPOSAL_DF / (2.0 * rng.standard_gamma(0.5 * PROPOSAL_DF)))
    for t in range(r):
        out[t] = centre[t] + scale * out[t]


@kernel
def _log_proposal(chol, centre, theta, df):
    """Log density of the t proposal at ``theta`` up to its constant:
    ``-(df + k) / 2 log(1 + |L'(theta - m)|^2 / df)``, ``L L' = I``."""
    k = theta.shape[0]
    quad = 0.0
    for b in range(k):
        s = 0.0
        for a in range(b, k):
            s += chol[a, b] * (theta[a] - centre[a])
        quad += s * s
    return -0.5 * (df + k) * np.log1p(quad / df)


@kernel
def log_likelihood_change(y, eta, exp_eta, eta_new, exp_new):
    """``sum_i log f(y_i | eta_new_i) - log f(y_i | eta_i)`` of the logistic
    model from the linear predictors and their exponentials."""
    linear = 0.0
    logs = 0.0
    product = 1.0
    for i in range(y.shape[0]):
        linear += y[i] * (eta_new[i] - eta[i])
        ratio = (1.0 + exp_new[i]) / (1.0 + exp_eta[i])
        if 1e-30 < ratio < 1e30:  # False for NaN (an infinite exponential)
            product *= ratio
            if not 1e-200 < product < 1e200:
                logs += np.log(product)
                product = 1.0
        else:
            logs += log1pexp(eta_new[i]) - log1pexp(eta[i])
    return linear - logs - np.log(product)


@kernel
def draw_logistic_independence(rng, rows, ast):
    """The independence Metropolis-Hastings step of ``theta`` (module
    docstring); ``rows`` are the rows whose design or outcome can change.
    Updates ``theta``, ``eta`` and ``exp_eta``. Returns ``(accepted, ok)``;
    ``ok`` is False (and nothing moves) when the information at
    ``theta_ref`` is singular."""
    n, k = ast.w.shape
    info = ast.ref_info.copy()
    score = ast.ref_score.copy()
    reference_statistics(ast.w, ast.y, rows, ast.theta_ref, info, score)
    for a in range(k):
        for b in range(a):
            info[b, a] = info[a, b]
    chol = np.empty((k, k))
    if not cholesky_lower(info, chol):
        return 0, False
    solve_lower(chol, score)
    solve_lower_transpose(chol, score)
    centre = ast.theta_ref + score
    proposal = np.empty(k)
    draw_t_proposal(rng, chol, centre, proposal)
    eta_new = np.empty(n)
    exp_new = np.empty(n)
    for i in range(n):
        eta = 0.0
        for a in range(k):
            eta += ast.w[i, a] * proposal[a]
        eta_new[i] = eta
        exp_new[i] = np.exp(eta)
    log_ratio = (
        log_likelihood_change(ast.y, ast.eta, ast.exp_eta, eta_new, exp_new)
        + _log_proposal(chol, centre, ast.theta, PROPOSAL_DF)
        - _log_proposal(chol, centre, proposal, PROPOSAL_DF)
    )
    if np.log(rng.random()) < log_ratio:
        ast.theta[:] = proposal
        ast.eta[:] = eta_new
        ast.exp_eta[:] = exp_new
        return 1, True
    return 0, True


@kernel
def accept_logistic_move(u, y, eta, exp_eta, eta_new, exp_new):
    """Metropolis-Hastings decision ``u < f(y | eta_new) / f(y | eta)`` of the
    logistic model for a uniform ``u``, from the linear predictors and their
    exponentials (the logarithms only when an exponential over- or
    underflows)."""
    num = 1.0 + exp_eta
    den = 1.0 + exp_new
    if y > 0.0:
        num *= exp_new
        den *= exp_eta
    if 0.0 < den < np.inf and num < np.inf:
        return u * den < num
    return np.log(u) < y * (eta_new - eta) - log1pexp(eta_new) + log1pexp(eta)


@kernel
def recentre_reference(rows, ast):
    """Move ``theta_ref`` to one Newton step from the current ``theta`` on the
    completed data (close to the mode of the current posterior) and sum the
    fixed rows' statistics there; ``rows`` are the fixed rows. Called
    between the chunks of the burn-in only, so the step's kernel is fixed
    for every iteration that is kept. Does nothing if the information is
    singular."""
    n, k = ast.w.shape
    info = np.zeros((k, k))
    score = np.zeros(k)
    reference_statistics(ast.w, ast.y, np.arange(n), ast.theta, info, score)
    for a in range(k):
        for b in range(a):
            info[b, a] = info[a, b]
    chol = np.empty((k, k))
    if not cholesky_lower(info, chol):
        return
    solve_lower(chol, score)
    solve_lower_transpose(chol, score)
    ast.theta_ref[:] = ast.theta + score
    ast.ref_info[:] = 0.0
    ast.ref_score[:] = 0.0
    reference_statistics(ast.w, ast.y, rows, ast.theta_ref, ast.ref_info, ast.ref_score)
