"""The ordinal mixed model of compatible imputation (numba).

Cumulative logit with cluster random effects (doc/smc.rst, "Ordinal mixed
model"):

``P(y_ij <= c | w_ij, b_j) = F(alpha_{c+1} - w_ij' theta - z_ij' b_j)``,
``b_j ~ N(0, Psi)``,

with the cut-points ``alpha`` in place of the intercept; a random intercept
is the random-effect column without a design column (``re_index`` -1,
:mod:`._smc_mixed`). Given the completed data one scan draws

* ``(theta, alpha) | b`` by the Metropolis-Hastings step of the
  single-level model (:func:`._smc_ordinal.draw_ordinal_parameters`) with
  ``z_ij' b_j`` as an offset (:func:`random_offsets`);
* every ``b_j | theta, alpha, Psi`` by one Metropolis-Hastings move with a
  Newton proposal (:func:`._smc_mixed.draw_newton_effects`);
* the mean of the random effects jointly with the fixed effects it is
  confounded with (:func:`recentre_random_effects`);
* ``Psi | b`` (inverse-Wishart, :func:`._smc_mixed.draw_effect_covariance`).
"""

import numpy as np

from ._jit import kernel
from ._linalg import cholesky_lower
from ._smc_mixed import draw_effect_covariance, draw_newton_effects, random_part
from ._smc_ordinal import ORDINAL


@kernel
def random_offsets(re, b, w):
    """``z_ij' b_j`` of every row (zeros without random effects)."""
    offset = np.zeros(w.shape[0])
    if re.re_index.shape[0] > 0:
        for i in range(w.shape[0]):
            offset[i] = random_part(re, b, i, w[i])
    return offset


@kernel
def recentre_random_effects(rng, re, st, theta, k):
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
    cut-points.
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
        else:
            theta[column] -= delta


@kernel
def draw_mixed_ordinal(rng, re, st, w, y, theta):
    """The random effects, their mean (with the fixed effects) and ``Psi`` of
    an ordinal mixed model given ``(theta, alpha)`` (drawn before with
    ``Z b`` as offset). Returns the accepted random-effect moves."""
    accepted = draw_newton_effects(
        rng, ORDINAL, re, st, w, y, theta, np.ones(st.b.shape[0], np.bool_)
    )
    recentre_random_effects(rng, re, st, theta, w.shape[1])
    draw_effect_covariance(rng, re, st)
    return accepted
