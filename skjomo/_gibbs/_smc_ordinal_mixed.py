"""The ordinal mixed model of compatible imputation (numba).

Cumulative logit with cluster random effects (doc/smc.rst, "Ordinal mixed
model"):

``P(y_ij <= c | w_ij, b_j) = F(alpha_{c+1} - w_ij' theta - z_ij' b_j)``,
``b_j ~ N(0, Psi)``,

with the cut-points ``alpha`` in place of the intercept; a random intercept
is the random-effect column without a design column (``re_index`` -1,
:mod:`._smc_mixed`). Given the completed data one scan draws

* ``(theta, alpha) | b`` with ``z_ij' b_j`` as an offset
  (:func:`random_offsets`) by an independence Metropolis-Hastings step: in
  the first chunk of the burn-in with a multivariate t proposal at the
  conditional's mode (:func:`draw_ordinal_parameters_at_mode`): the
  conditional moves with ``b``, at times by many of its standard deviations
  from one iteration to the next (the coefficients of a mixed model grow
  with ``Psi``), which the single-level step's proposal from the current
  value cannot follow; from the first adaptation on with the reference-point
  step of :mod:`._smc_ordinal_step`, its reference moving with the mean of
  the random effects (:func:`mean_effect_shift`) and the fixed rows' score
  following them to first order (:func:`reference_cross`);
* every ``b_j | theta, alpha, Psi`` by one Metropolis-Hastings move with a
  Newton proposal (:func:`draw_ordinal_effects`, the move of
  :func:`._smc_mixed.draw_newton_effects` with the rows' probabilities and
  predictors kept in the state);
* the mean of the random effects jointly with the fixed effects it is
  confounded with (:func:`recentre_random_effects`);
* ``Psi | b`` (inverse-Wishart, :func:`._smc_mixed.draw_effect_covariance`).
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
from ._smc_ordinal import (
    add_log_probability,
    category_terms,
    draw_ordinal_parameters,
    from_unconstrained,
    likelihood_derivatives,
    probability_terms,
    to_unconstrained,
    unconstrained_jacobian,
)
from ._smc_ordinal_independence import independence_move
from ._smc_ordinal_kept import cut_factors, kept_derivatives, product_terms

# Newton iterations to the mode of (theta, alpha) | b, and the largest
# remaining step (in the unconstrained coordinates) at which it counts as found.
MODE_ITERATIONS = 50
MODE_TOLERANCE = 1e-9


@kernel
def random_offsets(re, b, w):
    """``z_ij' b_j`` of every row (zeros without random effects); a random
    intercept alone is ``b_j`` itself, read in a loop without a branch (a
    quarter of the general loop's time)."""
    n = w.shape[0]
    kz = re.re_index.shape[0]
    if kz == 1 and re.re_index[0] < 0:
        offset = np.empty(n)
        for i in range(n):
            offset[i] = b[re.cluster[i], 0]
        return offset
    offset = np.zeros(n)
    if kz > 0:
        for i in range(n):
            offset[i] = random_part_at(re, b, i, w)
    return offset


@kernel
def exact_newton_step(w, y, offset, psi, chol, step, kept):
    """The Newton step ``step = P^{-1} g`` at ``psi`` for the log target of
    :func:`._smc_ordinal.newton_point` (posterior of ``psi``), ``g`` its
    gradient, with the exact curvature: ``P = J' (-H) J - diag(e)``, ``e_m =
    exp(psi_m) sum_{j >= m} dl/d alpha_j`` (the second derivative of
    ``phi_m -> alpha``, ``m >= 2``), where ``e_m`` is left out if positive so
    that ``P`` stays positive definite. At the mode ``e_m = -1`` (the score
    ``e_m + 1`` vanishes), so there ``P`` is minus the Hessian of the log
    target and the steps converge quadratically. Writes the lower Cholesky
    factor of ``P`` into ``chol``. With ``kept`` (a two-level model) the
    rows' terms come from one exponential per row
    (:func:`._smc_ordinal_kept.kept_derivatives`), else from the stable
    forms of :func:`._smc_ordinal.likelihood_derivatives`. Returns False if
    ``P`` is singular."""
    k = w.shape[1]
    r = psi.shape[0]
    theta = np.empty(r)
    from_unconstrained(psi, k, theta)
    grad = np.empty(r)
    info = np.empty((r, r))
    if kept:
        kept_derivatives(w, y, offset, theta, grad, info)
    else:
        likelihood_derivatives(w, y, offset, theta, grad, info, None)
    jac = unconstrained_jacobian(psi, k)
    precision = jac.T @ info @ jac
    for s in range(r):
        score = 0.0
        for j in range(r):
            score += jac[j, s] * grad[j]
        step[s] = score
    for m in range(k + 1, r):
        curvature = step[m]  # e_m
        step[m] += 1.0
        if curvature < 0.0:
            precision[m, m] -= curvature
    if not cholesky_lower(precision, chol):
        return False
    solve_lower(chol, step)
    solve_lower_transpose(chol, step)
    return True


@kernel
def _conditional_mode(w, y, offset, psi, chol, kept):
    """Move ``psi`` to the mode of the log target of
    :func:`._smc_ordinal.newton_point` by the Newton steps of
    :func:`exact_newton_step` (each coordinate's step clipped to 2; the
    target is unimodal) until the largest step is below
    :data:`MODE_TOLERANCE`; ``chol`` gets the Cholesky factor of the
    precision there; ``kept`` as in :func:`exact_newton_step`. Returns
    whether the mode was found."""
    step = np.empty(psi.shape[0])
    for _ in range(MODE_ITERATIONS):
        if not exact_newton_step(w, y, offset, psi, chol, step, kept):
            return False
        largest = 0.0
        for t in range(psi.shape[0]):
            move = min(max(step[t], -2.0), 2.0)
            largest = max(largest, abs(move))
            psi[t] += move
        if largest < MODE_TOLERANCE:
            return True
    return False


@kernel
def draw_ordinal_parameters_at_mode(rng, ast, offset, derivatives):
    """Independence Metropolis-Hastings move of ``(theta, alpha)`` given the
    rows' offsets: propose ``psi*`` from the multivariate t with
    :data:`._smc_logistic.PROPOSAL_DF` degrees of freedom centred at the mode ``m`` of the
    conditional (in the unconstrained coordinates of :mod:`._smc_ordinal`)
    with the precision ``P(m)`` there, accept with ``p(psi*) q(psi) / (p(psi)
    q(psi*))`` (:func:`._smc_ordinal_independence.independence_move`: the
    target at the current value from the rows' kept probabilities, which
    must be current, and the rows' values at the proposal kept if it is
    accepted; ``derivatives`` as there). The proposal does not depend on the
    current value (the mode is found to :data:`MODE_TOLERANCE`). If the mode
    is not found, the single-level step from the current value is made
    instead, which leaves the rows' kept values to the caller. Returns
    ``(accepted, found)``."""
    k = ast.w.shape[1]
    r = ast.theta.shape[0]
    mode = np.empty(r)
    to_unconstrained(ast.theta, k, mode)
    chol = np.empty((r, r))
    if not _conditional_mode(ast.w, ast.y, offset, mode, chol, ast.exp_eta.shape[0] > 0):
        return draw_ordinal_parameters(rng, ast, offset), False
    return independence_move(rng, ast, offset, chol, mode, derivatives), True


@kernel
def recentre_random_effects(rng, re, st, theta, k, eta, exp_eta):
    """Draw the mean of the random effects jointly with the fixed effects.

    The move ``b_j -> b_j + delta`` (every cluster) with ``alpha -> alpha +
    delta_0`` for a random intercept and ``theta_c -> theta_c - delta_t`` for
    the random slope ``t`` of design column ``c`` leaves every linear
    predictor minus the cut-points, hence the likelihood, unchanged; under the
    flat priors on ``theta`` and ``alpha`` only ``prod_j N(b_j + delta; 0,
    Psi)`` depends on ``delta``, so its conditional is ``N(-mean(b), Psi /
    J)`` (a translation has Jacobian 1: the draw leaves the posterior
    invariant). The new mean of the ``b_j`` is then a draw from
    ``N(0, Psi / J)``. ``theta`` holds the ``k`` coefficients, then the
    cut-points; the rows' linear predictors ``eta`` and their exponentials
    ``exp_eta`` (empty: not kept) move with a random intercept (a random
    slope's move leaves them unchanged), their probabilities do not change.
    """
    n_clusters, kz = st.b.shape
    chol = np.empty((kz, kz))
    cholesky_lower(st.psi, chol)
    noise = np.empty(kz)
    for t in range(kz):
        noise[t] = rng.standard_normal() / np.sqrt(n_clusters)
    for t in range(kz):
        mean = 0.0
        for j in range(n_clusters):
            mean += st.b[j, t]
        mean /= n_clusters
        delta = -mean
        for c in range(t + 1):
            delta += chol[t, c] * noise[c]
        for j in range(n_clusters):
            st.b[j, t] += delta
        column = re.re_index[t]
        if column < 0:
            for c in range(k, theta.shape[0]):
                theta[c] += delta
            for i in range(eta.shape[0]):
                eta[i] += delta
            if exp_eta.shape[0] > 0:
                factor = np.exp(delta)
                for i in range(exp_eta.shape[0]):
                    exp_eta[i] *= factor
        else:
            theta[column] -= delta


@kernel
def mean_effect_shift(re, b, k, r):
    """The move of ``(theta, alpha)`` (length ``r``, ``k`` coefficients) that
    goes with the mean ``m`` of the clusters' random effects along the
    likelihood's ridge of :func:`recentre_random_effects`: ``+m_t`` on every
    cut-point for the random intercept ``t``, ``-m_t`` on the coefficient of
    the design column of the random slope ``t``. The likelihood at ``(theta,
    alpha) + shift`` with the random effects ``b`` is that at ``(theta,
    alpha)`` with ``b - m``."""
    n_clusters, kz = b.shape
    shift = np.zeros(r)
    for t in range(kz):
        mean = 0.0
        for j in range(n_clusters):
            mean += b[j, t]
        mean /= n_clusters
        column = re.re_index[t]
        if column < 0:
            for c in range(k, r):
                shift[c] += mean
        else:
            shift[column] -= mean
    return shift


@kernel
def reference_cross(re, ast, rows, offset):
    """At the reference point of the ``(theta, alpha)`` step
    (:mod:`._smc_ordinal_step`, rows' random effects ``offset``): the
    derivative ``C_j`` (``r x kz``) of the score in ``(theta, alpha)`` of the
    fixed rows ``rows`` with respect to ``b_j`` (``ref_cross``), and the
    centred random effects ``b_j - mean(b)`` (``ref_effects``). The step adds
    ``C_j`` times their change since to the fixed rows' score there
    (:func:`._smc_ordinal_step.add_score_change`); the rows whose design or
    outcome can change are summed exactly. A row's score depends on ``b_j``
    through ``eta``: ``d g / d eta`` is ``h_ee w`` on ``theta``, ``h_eu`` on
    ``alpha_{c+1}`` and ``h_el`` on ``alpha_c`` (the terms of
    :func:`._smc_ordinal.add_row_derivatives`), times ``z_ij``."""
    k = ast.w.shape[1]
    n_clusters, kz = ast.random.b.shape
    r = ast.theta_ref.shape[0]
    # the reference with the shift of the current mean random effect: the
    # rows' eta there with ``offset`` are those of the step at the current b
    theta = ast.theta_ref + mean_effect_shift(re, ast.random.b, k, r)
    cross = ast.ref_cross
    cross[:, :, :] = 0.0
    for i in rows:
        j = re.cluster[i]
        eta = offset[i]
        for t in range(k):
            eta += ast.w[i, t] * theta[t]
        d_uu, d_ll, d_ul = category_terms(ast.y[i], eta, theta, k, None)[3:]
        c = int(ast.y[i])
        for t in range(kz):
            z = effect_design_at(re, ast.w, i, t)
            h_ee = (d_uu + d_ll + 2.0 * d_ul) * z
            for s in range(k):
                cross[j, s, t] += h_ee * ast.w[i, s]
            if c < r - k:
                cross[j, k + c, t] -= (d_uu + d_ul) * z  # alpha_{c+1}
            if c > 0:
                cross[j, k + c - 1, t] -= (d_ll + d_ul) * z  # alpha_c
    mean = np.zeros(kz)
    for j in range(n_clusters):
        for t in range(kz):
            mean[t] += ast.random.b[j, t] / n_clusters
    for j in range(n_clusters):
        for t in range(kz):
            ast.ref_effects[j, t] = ast.random.b[j, t] - mean[t]


@kernel
def _ordinal_cluster_newton(re, j, b_j, w, y, theta, psi_inv, work, rows, cuts, mode, fresh, deriv):
    """Log posterior of ``b_j`` (the cluster's ordinal likelihood times
    ``N(0, Psi)``), the Cholesky factor of its negative Hessian ``Z_j'D Z_j +
    Psi^{-1}`` and the Newton point, as :func:`._smc_mixed._cluster_newton`.
    ``rows = (eta, lik, e)``: the rows' linear predictors, probabilities and
    ``exp(eta)``; ``cuts``: the :func:`._smc_ordinal_kept.cut_factors` of
    ``theta``. ``mode`` 0: ``rows`` are read (the state's, at the current
    ``b_j``) and the rows' derivatives in ``eta`` computed from them (no
    elementary function, :func:`._smc_ordinal_kept.product_terms`); 1: the
    derivatives too are read, from ``deriv = (slope, weight)``; 2: all are
    computed at ``b_j`` and ``rows`` written, with ``fresh = (fixed,
    e_current, scale, delta)``: for a random intercept alone, ``eta = fixed
    + delta`` and ``e = e_current scale`` (``fixed`` the rows' current
    ``eta``, ``delta = b_j - b_j current``, ``scale = exp(delta)``: the
    rows' values move with the intercept as in
    :func:`recentre_random_effects`), else ``eta = fixed + z' b_j``
    (``fixed[i] = w_i' theta``) and ``e = exp(eta)``. ``work`` is ``(info,
    score, chol, center)``. Returns ``(log posterior, ok)``."""
    info, score, chol, center = work
    eta, lik, e = rows
    fixed, e_current, scale, delta = fresh
    kz = b_j.shape[0]
    k = w.shape[1]
    log_post = 0.0
    for a in range(kz):
        score[a] = 0.0
        for c in range(kz):
            info[a, c] = psi_inv[a, c]
            score[a] -= psi_inv[a, c] * b_j[c]
            log_post -= 0.5 * b_j[a] * psi_inv[a, c] * b_j[c]
    # a random intercept alone (z = 1) sums two scalars per row instead of
    # updating the arrays (a third of the pass's time)
    intercept = kz == 1 and re.re_index[0] < 0
    sum_slope, sum_weight = 0.0, 0.0
    logs, product = 0.0, 1.0
    for r in range(re.cluster_ptr[j], re.cluster_ptr[j + 1]):
        i = re.cluster_rows[r]
        if mode == 1:
            p, slope, weight = lik[i], deriv[0][i], deriv[1][i]
        else:
            if mode == 2:
                if intercept:
                    eta[i] = fixed[i] + delta
                    e[i] = e_current[i] * scale
                else:
                    random = 0.0
                    for a in range(kz):
                        random += effect_design_at(re, w, i, a) * b_j[a]
                    eta[i] = fixed[i] + random
                    e[i] = np.exp(eta[i])
            if cuts[2] < e[i] < cuts[3]:  # _smc_ordinal_kept.py
                p, da, db, d_uu, d_ll, d_ul = product_terms(y[i], e[i], cuts[0], cuts[1])
            else:
                p, da, db, d_uu, d_ll, d_ul = probability_terms(y[i], eta[i], theta, k)
            if mode == 2:
                lik[i] = p
            else:
                p = lik[i]
            slope = db - da  # d log P / d eta: u and l fall by one as eta rises by one
            weight = -(d_uu + d_ll + 2.0 * d_ul)
        logs, product = add_log_probability(p, y[i], eta[i], theta, k, logs, product)
        if intercept:
            sum_slope += slope
            sum_weight += weight
        else:
            for a in range(kz):
                za = effect_design_at(re, w, i, a)
                score[a] += za * slope
                for c in range(a + 1):
                    info[a, c] += weight * za * effect_design_at(re, w, i, c)
    if intercept:
        score[0] += sum_slope
        info[0, 0] += sum_weight
    log_post += logs + np.log(product)
    return log_post, newton_center(info, chol, score, b_j, center)


@kernel
def draw_ordinal_effects(rng, re, st, w, y, theta, rows, deriv, known):
    """``b_j | theta, Psi`` of every cluster by the Metropolis-Hastings move
    of :func:`._smc_mixed.draw_newton_effects` (Newton proposal at ``b_j``,
    the reverse one at the proposed value), from the rows' linear
    predictors, probabilities and their ``exp(eta)``, ``rows = (eta, lik,
    exp_eta)``, at the current values, which are kept current: the move at
    ``b_j`` takes the derivatives only (no elementary function,
    :mod:`._smc_ordinal_kept`; none at all if ``known``: ``deriv = (slope,
    weight)`` holds them, as :func:`._smc_ordinal_step.draw_ordinal_independence`
    leaves them when its move is accepted), the proposal's replace the
    current ones if it is accepted. Returns the accepted moves."""
    n, k = w.shape
    n_clusters, kz = st.b.shape
    eta, lik, exp_eta = rows
    # a random intercept alone moves its rows' eta by the change of b_j (as
    # exp_eta by its exponential) and needs no w' theta
    fixed = eta if kz == 1 and re.re_index[0] < 0 else fixed_part(w, theta)
    cuts = cut_factors(theta, k)
    psi_inv = spd_inverse(st.psi)
    work0 = (np.empty((kz, kz)), np.empty(kz), np.empty((kz, kz)), np.empty(kz))
    work1 = (np.empty((kz, kz)), np.empty(kz), np.empty((kz, kz)), np.empty(kz))
    proposal = np.empty(kz)
    # at the proposals (each cluster's rows)
    proposed = (np.empty(n), np.empty(n), np.empty(n))
    accepted = 0
    for j in range(n_clusters):
        current = (fixed, exp_eta, 1.0, 0.0)
        log0, ok = _ordinal_cluster_newton(
            re,
            j,
            st.b[j],
            w,
            y,
            theta,
            psi_inv,
            work0,
            rows,
            cuts,
            1 if known else 0,
            current,
            deriv,
        )
        if not ok:
            continue
        draw_normal_precision(rng, work0[2], work0[3], proposal)
        delta = proposal[0] - st.b[j, 0]
        fresh = (fixed, exp_eta, np.exp(delta), delta)
        log1, ok = _ordinal_cluster_newton(
            re, j, proposal, w, y, theta, psi_inv, work1, proposed, cuts, 2, fresh, deriv
        )
        if not ok:
            continue
        log_ratio = (
            log1
            - log0
            + log_normal_precision(work1[2], work1[3], st.b[j])
            - log_normal_precision(work0[2], work0[3], proposal)
        )
        if np.log(rng.random()) < log_ratio:
            st.b[j, :] = proposal
            for r in range(re.cluster_ptr[j], re.cluster_ptr[j + 1]):
                i = re.cluster_rows[r]
                eta[i] = proposed[0][i]
                lik[i] = proposed[1][i]
                exp_eta[i] = proposed[2][i]
            accepted += 1
    return accepted


@kernel
def draw_mixed_ordinal(rng, re, st, w, y, theta, rows, deriv, known):
    """The random effects, their mean (with the fixed effects) and ``Psi`` of
    an ordinal mixed model given ``(theta, alpha)`` (drawn before with
    ``Z b`` as offset); the rows' linear predictors, probabilities and
    exponentials ``rows = (eta, lik, exp_eta)`` are kept current; ``deriv``
    and ``known`` as in :func:`draw_ordinal_effects`. Returns the accepted
    random-effect moves."""
    accepted = draw_ordinal_effects(rng, re, st, w, y, theta, rows, deriv, known)
    recentre_random_effects(rng, re, st, theta, w.shape[1], rows[0], rows[2])
    draw_effect_covariance(rng, re, st)
    return accepted
