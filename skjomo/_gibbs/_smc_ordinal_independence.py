"""The accept step shared by the ordinal model's independence moves (numba).

Both independence Metropolis-Hastings moves of ``(theta, alpha)`` in the
unconstrained coordinates ``psi`` of :mod:`._smc_ordinal` (doc/smc.rst,
"Ordinal model" and "Ordinal mixed model") propose ``psi*`` from a
multivariate t with :data:`._smc_logistic.PROPOSAL_DF` degrees of freedom
whose location and precision do not depend on the current value: the
reference-point step of :mod:`._smc_ordinal_step` and the step at the
conditional's mode of the two-level model's first burn-in chunk
(:func:`._smc_ordinal_mixed.draw_ordinal_parameters_at_mode`). Given the
location and the precision, :func:`independence_move` draws the proposal,
takes the target at the proposal in one pass over the rows (keeping the
rows' predictors, probabilities and, where the state keeps them,
exponentials for the accepted case) and at the current value from the
rows' kept probabilities, and accepts with ``p(psi*) q(psi) / (p(psi)
q(psi*))``.
"""

import numpy as np

from ._jit import kernel
from ._smc_logistic import PROPOSAL_DF, _log_proposal, draw_t_proposal
from ._smc_ordinal import (
    add_log_probability,
    current_log_likelihood,
    from_unconstrained,
    probability_terms,
    row_likelihood,
    to_unconstrained,
)
from ._smc_ordinal_kept import cut_factors, product_terms


@kernel
def independence_move(rng, ast, offset, chol, centre, derivatives):
    """Propose ``psi*`` from the t with location ``centre`` and precision
    ``chol chol'`` and accept it with the ratio of the module docstring (the
    log Jacobians ``sum_{m >= 2} phi_m`` of the flat prior on ``(theta,
    alpha)`` included). The target at the current value is the sum of the
    logarithms of the rows' kept probabilities ``ast.lik`` (current with
    ``ast.theta``); row ``i``'s linear predictor is ``w_i' theta +
    offset[i]`` (``offset`` empty: none). On acceptance ``theta``, ``eta``,
    ``lik`` and, where the state keeps it (a two-level model), ``exp_eta``
    take the proposal's values, computed from one exponential per row
    (:mod:`._smc_ordinal_kept`) when ``exp_eta`` is kept. ``derivatives`` is
    None, or ``(slope, weight)``, arrays that get every row's ``d log P / d
    eta`` and minus its second derivative at the proposal. Returns 1 if
    accepted."""
    n, k = ast.w.shape
    r = ast.theta.shape[0]
    proposal = np.empty(r)
    draw_t_proposal(rng, chol, centre, proposal)
    u = rng.random()
    theta_new = np.empty(r)
    from_unconstrained(proposal, k, theta_new)
    if not np.all(np.isfinite(theta_new)):
        return 0
    eta_new = np.empty(n)
    lik_new = np.empty(n)
    exp_new = np.empty(ast.exp_eta.shape[0])  # exp(eta) kept: _smc_ordinal_kept.py
    cuts = cut_factors(theta_new, k)
    logs, product = 0.0, 1.0
    for i in range(n):
        eta = 0.0
        for a in range(k):
            eta += ast.w[i, a] * theta_new[a]
        if offset.shape[0] > 0:
            eta += offset[i]
        eta_new[i] = eta
        if derivatives is None:
            p = row_likelihood(ast.y[i], eta, theta_new, k)
        else:
            e = np.nan
            if exp_new.shape[0] > 0:  # exp(eta) kept: _smc_ordinal_kept.py
                e = np.exp(eta)
                exp_new[i] = e
            if cuts[2] < e < cuts[3]:
                p, a, b, d_uu, d_ll, d_ul = product_terms(ast.y[i], e, cuts[0], cuts[1])
            else:
                p, a, b, d_uu, d_ll, d_ul = probability_terms(ast.y[i], eta, theta_new, k)
            derivatives[0][i] = b - a
            derivatives[1][i] = -(d_uu + d_ll + 2.0 * d_ul)
        lik_new[i] = p
        logs, product = add_log_probability(p, ast.y[i], eta, theta_new, k, logs, product)
    current = np.empty(r)
    to_unconstrained(ast.theta, k, current)
    log_ratio = (
        logs
        + np.log(product)
        - current_log_likelihood(ast.y, ast.eta, ast.lik, ast.theta, k)
        + _log_proposal(chol, centre, current, PROPOSAL_DF)
        - _log_proposal(chol, centre, proposal, PROPOSAL_DF)
    )
    for m in range(k + 1, r):
        log_ratio += proposal[m] - current[m]  # the log Jacobians
    if np.log(u) < log_ratio:
        ast.theta[:] = theta_new
        ast.eta[:] = eta_new
        ast.lik[:] = lik_new
        ast.exp_eta[:] = exp_new
        return 1
    return 0
