"""The ``(theta, alpha)`` step of the single-level ordinal analysis model (numba).

The coefficients and cut-points of the cumulative logit model
(:mod:`._smc_ordinal`) move by an independence Metropolis-Hastings step in
the unconstrained coordinates ``psi = (theta, phi)`` (doc/smc.rst,
"Ordinal model"), built as the logistic model's step
(:mod:`._smc_logistic`):

* the proposal is a multivariate t with ``PROPOSAL_DF`` degrees of freedom
  centred at one Newton step ``m = psi_ref + P^{-1} g`` from a reference
  point ``psi_ref``, with scale matrix ``P^{-1}``: ``g = J' U + (0, .., 0,
  1, .., 1)``, where ``U`` is the score in ``(theta, alpha)`` of the
  completed data at the reference point, ``J`` the Jacobian of ``psi ->
  (theta, alpha)`` there and the ones the gradient of the log Jacobian;
  ``P = J' I J`` with ``I`` the information of the completed data at the
  reference point when it was set (fixed with it: the centre follows the
  data, the scale need not). The proposal depends on the completed data
  only, not on the current ``psi``, so the acceptance ratio ``p(psi*)
  q(psi) / (p(psi) q(psi*))`` needs the target at the proposal and at the
  current value but no Newton step at either;
* the reference point starts at the chain's starting value and, between
  the chunks of the burn-in only, moves to the mode of the current
  conditional (:func:`recentre_ordinal_reference`); after the burn-in it and
  ``P`` are fixed, so every kept iteration uses one fixed kernel;
* far from the mode the log target falls at least linearly in every
  direction of ``psi`` (each coefficient and cut-point is pinned by the
  rows on both sides of it; an increment ``phi_m`` by the rows of the
  category between two cut-points as it falls, and doubly exponentially as
  it rises), the log density of the t proposal only logarithmically, so
  the ratio of target to proposal is bounded and the step is uniformly
  ergodic;
* rows whose design and outcome never change (no missing cell in the
  analysis model, observed outcome) add a fixed amount to ``U`` at the
  fixed reference point: it is summed once
  (:func:`ordinal_reference_statistics`) and only the other rows are added
  at every step (on ``sldata``, the centre's following the data raises
  the acceptance from 0.56 to 0.82; following the scale too, 0.85, cost
  a tenth of the iteration's time).

The analysis state keeps every row's probability ``P(y_i | eta_i)``
(``lik``, set with ``eta``), so the log-likelihood at the current value is
a sum over the rows without an elementary function, and that at the
proposal costs two exponentials per row; both sums take the logarithm of a
product of probabilities, in stretches that cannot underflow, instead of
one logarithm per row.
"""

import numpy as np

from ._jit import kernel
from ._linalg import cholesky_lower, solve_lower, solve_lower_transpose
from ._smc_ordinal import (
    from_unconstrained,
    rows_derivatives,
    rows_score,
    symmetrize_lower,
    to_unconstrained,
    unconstrained_jacobian,
)
from ._smc_ordinal_independence import independence_move
from ._smc_ordinal_kept import kept_rows_score
from ._smc_ordinal_mixed import _conditional_mode


@kernel
def ordinal_reference_statistics(w, y, rows, offset, theta_ref, chol, score):
    """At the reference point ``theta_ref``: ``score``, the gradient in
    ``(theta, alpha)`` of the log-likelihood of rows ``rows`` (the fixed
    rows), and ``chol``, the lower Cholesky factor of the proposal precision
    ``J' I J`` with the information ``I`` of all rows (zeros if singular);
    ``offset``: the rows' random effects ``z_ij' b_j`` of a two-level model,
    empty otherwise."""
    n, k = w.shape
    r = theta_ref.shape[0]
    score[:] = 0.0
    rows_score(w, y, rows, offset, theta_ref, score)
    grad = np.zeros(r)
    info = np.zeros((r, r))
    rows_derivatives(w, y, np.arange(n), offset, theta_ref, grad, info)
    symmetrize_lower(info)
    psi_ref = np.empty(r)
    to_unconstrained(theta_ref, k, psi_ref)
    jac = unconstrained_jacobian(psi_ref, k)
    if not cholesky_lower(jac.T @ info @ jac, chol):
        chol[:, :] = 0.0


@kernel
def add_score_change(ast, grad):
    """Add to ``grad`` the first-order change of the fixed rows' score at the
    reference point with the random effects of a two-level model:
    ``sum_j C_j (c_j - c_j,ref)``, ``c_j = b_j - mean(b)`` and ``C_j`` its
    derivative at the reference (``ref_cross``, ``ref_effects``; nothing
    for a single-level model)."""
    cross = ast.ref_cross
    if cross.shape[0] == 0:
        return
    b = ast.random.b
    n_clusters, kz = b.shape
    mean = np.zeros(kz)
    for j in range(n_clusters):
        for t in range(kz):
            mean[t] += b[j, t]
    for t in range(kz):
        mean[t] /= n_clusters
    for j in range(n_clusters):
        for t in range(kz):
            change = b[j, t] - mean[t] - ast.ref_effects[j, t]
            for s in range(grad.shape[0]):
                grad[s] += cross[j, s, t] * change


@kernel
def draw_ordinal_independence(rng, rows, ast, offset, shift, derivatives):
    """The independence Metropolis-Hastings step of ``(theta, alpha)``
    (module docstring); ``rows`` are the rows whose design, outcome or
    offset can change, ``offset`` the rows' random effects ``z_ij' b_j`` of
    a two-level model (empty for a single-level one). Updates ``theta``,
    ``eta``, ``lik`` and, where the state keeps it (a two-level model),
    ``exp_eta``, from which the rows' terms then come
    (:mod:`._smc_ordinal_kept`). The reference point is ``theta_ref + shift``
    (``shift`` empty: none; a two-level model's reference moves with the
    mean of the random effects, :func:`._smc_ordinal_mixed.mean_effect_shift`).
    ``derivatives`` is None, or ``(slope, weight)``, arrays that get every
    row's ``d log P / d eta`` and minus its second derivative at the
    proposal (valid at the new state if it is accepted: the random-effect
    moves of :func:`._smc_ordinal_mixed.draw_ordinal_effects` start from
    them). Returns ``(accepted, ok)``; ``ok`` is False (and nothing moves)
    when the information at the reference point was singular or the
    reference is not set yet (``ref_info`` zero)."""
    k = ast.w.shape[1]
    r = ast.theta.shape[0]
    chol = ast.ref_info
    if chol[0, 0] == 0.0:
        return 0, False
    theta_ref = ast.theta_ref.copy()
    if shift.shape[0] > 0:
        theta_ref += shift
    grad = ast.ref_score.copy()
    add_score_change(ast, grad)
    if ast.exp_eta.shape[0] > 0:  # a two-level model (_smc_ordinal_kept.py)
        kept_rows_score(ast.w, ast.y, rows, offset, theta_ref, grad)
    else:
        rows_score(ast.w, ast.y, rows, offset, theta_ref, grad)
    psi_ref = np.empty(r)
    to_unconstrained(theta_ref, k, psi_ref)
    jac = unconstrained_jacobian(psi_ref, k)
    score = np.zeros(r)
    for s in range(r):
        for j in range(r):
            score[s] += jac[j, s] * grad[j]
    for m in range(k + 1, r):
        score[m] += 1.0  # the log Jacobian sum_m phi_m
    solve_lower(chol, score)
    solve_lower_transpose(chol, score)
    centre = psi_ref + score
    # the proposal, the target at it and the decision (_smc_ordinal_independence.py)
    return independence_move(rng, ast, offset, chol, centre, derivatives), True


@kernel
def recentre_ordinal_reference(rows, ast, offset, shift):
    """Move the reference point to the mode of the current conditional of
    ``psi`` on the completed data (given the random effects, ``offset`` as
    in :func:`draw_ordinal_independence`) and sum the fixed rows' statistics
    there; ``rows`` are the fixed rows, ``shift`` that of
    :func:`draw_ordinal_independence` now (the reference is stored without
    it). Called between the chunks of the burn-in only, so the step's kernel
    is fixed for every iteration that is kept. Returns False (and does
    nothing) if the mode is not found."""
    n, k = ast.w.shape
    r = ast.theta.shape[0]
    mode = np.empty(r)
    to_unconstrained(ast.theta, k, mode)
    chol = np.empty((r, r))
    offsets = offset if offset.shape[0] > 0 else np.zeros(n)
    found = _conditional_mode(ast.w, ast.y, offsets, mode, chol, ast.exp_eta.shape[0] > 0)
    if not found:
        return False
    from_unconstrained(mode, k, ast.theta_ref)
    ordinal_reference_statistics(
        ast.w, ast.y, rows, offset, ast.theta_ref, ast.ref_info, ast.ref_score
    )
    if shift.shape[0] > 0:
        ast.theta_ref[:] -= shift
    return True
