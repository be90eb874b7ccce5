"""Cox proportional-hazards analysis model of compatible imputation (numba).

The analysis model is ``h(t | x) = h0(t) exp(eta)``, ``eta = w(x)' theta``
(no intercept: ``h0`` absorbs it). Given the baseline cumulative hazard
``H0``, a row with time ``t_i`` and event indicator ``d_i`` contributes

``log f(t_i, d_i | eta_i) = d_i (log h0(t_i) + eta_i) - H0(t_i) exp(eta_i)``

(doc/smc.rst, "Cox proportional-hazards model"). Each iteration draws
``theta`` by Metropolis-Hastings targeting the Cox partial likelihood of the
completed data (flat prior; Newton proposal, shared with the logistic
model in :mod:`._smc`), then sets ``H0`` to the Breslow estimate at the
new ``theta``; the covariate step then uses the row log-likelihood above
(``log h0(t_i)`` does not depend on ``x`` and cancels).

Times are sorted once when the model is built: ``order`` lists the rows by
increasing time and ``group_ptr`` delimits the runs of tied times in that
order. Risk-set sums are then suffix sums over the groups, so the partial
likelihood, its derivatives and the Breslow estimate cost ``O(N k^2)``
and ``O(N)`` per iteration, with no ``N``-by-``N`` matrix.
"""

from collections import namedtuple

import numpy as np

from ._jit import kernel
from ._linalg import cholesky_lower, solve_lower, solve_lower_transpose

COX = 4

CoxData = namedtuple(
    "CoxData",
    [
        "time",  # (N,) survival or censoring time of every row
        "order",  # (N,) rows by increasing time
        "group_ptr",  # (G + 1,) runs of tied times in `order`
        "grid",  # (E,) distinct event times of the training data
    ],
)

CoxState = namedtuple(
    "CoxState",
    [
        "cumhaz",  # (N,) H0(t_i) of every row
        "baseline",  # (E,) H0 at the grid (what a stored draw keeps)
    ],
)


def build_cox_data(time=None, grid=None):
    """The :data:`CoxData` of the times ``time`` (``None``: empty arrays),
    with the event-time grid ``grid`` of the training data."""
    if time is None:
        empty = np.zeros(0, np.int64)
        return CoxData(np.zeros(0), empty, np.zeros(1, np.int64), np.zeros(0))
    time = np.ascontiguousarray(time, dtype=np.float64)
    order = np.argsort(time, kind="stable")
    sorted_time = time[order]
    starts = np.flatnonzero(np.r_[True, sorted_time[1:] != sorted_time[:-1]])
    return CoxData(
        time=time,
        order=order.astype(np.int64),
        group_ptr=np.r_[starts, time.shape[0]].astype(np.int64),
        grid=np.ascontiguousarray(grid, dtype=np.float64),
    )


def empty_cox_state(cox):
    """Zero baseline hazard for the rows and the grid of ``cox``."""
    return CoxState(np.zeros(cox.time.shape[0]), np.zeros(cox.grid.shape[0]))


@kernel
def cox_row_log_likelihood(event, cumhaz, eta):
    """``d (log h0(t) + eta) - H0(t) exp(eta)`` up to the term free of ``eta``."""
    return event * eta - cumhaz * np.exp(eta)


@kernel(internal=True)
def cox_newton_point(cox, ast, theta, chol, center):
    """Breslow partial log-likelihood at ``theta``, the Cholesky factor of its
    information and the Newton point ``theta + I^{-1} U``.

    With ``D_g`` events among the rows of tied-time group ``g`` and the
    risk-set sums ``R_g = sum exp(eta_j)``, ``S_g = sum exp(eta_j) w_j``,
    ``Q_g = sum exp(eta_j) w_j w_j'`` over rows with ``t_j >= t_g``:
    ``l = sum_events eta_i - sum_g D_g log R_g``, ``U = sum_events w_i -
    sum_g D_g S_g / R_g`` and ``I = sum_g D_g (Q_g / R_g - S_g S_g' / R_g^2)``.
    Returns ``(log-likelihood, ok)``.
    """
    k = theta.shape[0]
    info = np.zeros((k, k))
    score = np.zeros(k)
    risk_w = np.zeros(k)
    risk_ww = np.zeros((k, k))
    risk = 0.0
    loglik = 0.0
    for g in range(cox.group_ptr.shape[0] - 2, -1, -1):
        events = 0.0
        for pos in range(cox.group_ptr[g], cox.group_ptr[g + 1]):
            i = cox.order[pos]
            eta = 0.0
            for a in range(k):
                eta += ast.w[i, a] * theta[a]
            e = np.exp(eta)
            risk += e
            for a in range(k):
                risk_w[a] += e * ast.w[i, a]
                for b in range(a + 1):
                    risk_ww[a, b] += e * ast.w[i, a] * ast.w[i, b]
            if ast.y[i] > 0.0:
                events += 1.0
                loglik += eta
                for a in range(k):
                    score[a] += ast.w[i, a]
        if events > 0.0:
            loglik -= events * np.log(risk)
            for a in range(k):
                mean_a = risk_w[a] / risk
                score[a] -= events * mean_a
                for b in range(a + 1):
                    info[a, b] += events * (risk_ww[a, b] / risk - mean_a * risk_w[b] / risk)
    for a in range(k):
        for b in range(a):
            info[b, a] = info[a, b]
    if not cholesky_lower(info, chol):
        return loglik, False
    solve_lower(chol, score)
    solve_lower_transpose(chol, score)
    for a in range(k):
        center[a] = theta[a] + score[a]
    return loglik, True


@kernel
def update_baseline(cox, ast):
    """Breslow estimate of ``H0`` at the current linear predictors:
    ``H0(t) = sum_{g: t_g <= t} D_g / R_g``, at every row and at the grid."""
    n_groups = cox.group_ptr.shape[0] - 1
    risk = np.empty(n_groups)
    total = 0.0
    for g in range(n_groups - 1, -1, -1):
        for pos in range(cox.group_ptr[g], cox.group_ptr[g + 1]):
            total += np.exp(ast.eta[cox.order[pos]])
        risk[g] = total
    cumhaz = 0.0
    e = 0
    for g in range(n_groups):
        events = 0.0
        for pos in range(cox.group_ptr[g], cox.group_ptr[g + 1]):
            events += ast.y[cox.order[pos]]
        if events > 0.0:
            cumhaz += events / risk[g]
            if e < ast.cox.baseline.shape[0]:
                ast.cox.baseline[e] = cumhaz
            e += 1
        for pos in range(cox.group_ptr[g], cox.group_ptr[g + 1]):
            ast.cox.cumhaz[cox.order[pos]] = cumhaz


def baseline_at_times(cox, baseline):
    """``H0`` at every row's time from its values ``baseline`` at the grid (a
    step function, 0 before the first event time)."""
    index = np.searchsorted(cox.grid, cox.time, side="right") - 1
    return np.where(index >= 0, np.asarray(baseline)[np.maximum(index, 0)], 0.0)


def cox_starting_fit(cox, ast, n_steps=25):
    """Damped Newton maximisation of the partial likelihood from ``theta = 0``
    (the starting value of the chain)."""
    k = ast.w.shape[1]
    theta = np.zeros(k)
    chol, center = np.empty((k, k)), np.empty(k)
    for _ in range(n_steps):
        _, ok = cox_newton_point(cox, ast, theta, chol, center)
        if not ok:
            break
        step = np.clip(center - theta, -2.0, 2.0)
        theta += step
        if np.max(np.abs(step), initial=0.0) < 1e-8:
            break
    return theta
