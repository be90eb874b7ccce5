"""Scale moves for the latent normals of categorical variables (numba).

The category of a categorical variable is a function of the signs and order
of its latents (the argmax rule of doc/model.rst), so it does not change when
all its latents are multiplied by the same ``g > 0``: each category region is
a cone. The diagonal block of those latents in the covariance is fixed at
``C_K``, which pins their scale; a Gibbs sampler that updates latents given
the means and means given the latents then moves the latent scale, and with
it the means of rare categories, in small steps (the slow mixing of data
augmentation for probit models).

Each move here multiplies, for one categorical variable, all its latents and
every parameter measured on their scale by a common ``g = exp(s)``:

* level 1: the latent columns of every row (observed or missing category),
  their columns of ``B`` and of the random effects ``U_j``, and the rows and
  columns of ``Sigma`` that belong to those random effects;
* level 2: the latent columns of every cluster and their columns of ``B2``.

Covariances with fixed blocks are not touched. ``s`` is drawn from its
conditional given everything else that the move keeps (the generalised
Gibbs step of Liu and Sabatti, 2000), which has the closed form

``log p(s) = n s - A g^2 / 2 + b g - c / (2 g^2) + e / g``

(:func:`log_scale_density`) with the statistics below; it is updated by a
slice-sampling step started at ``s = 0``, whose kernel is the same for every
point of the orbit ``{g x}``. doc/model.rst ("Scale moves for categorical
variables") derives the density and why the posterior stays invariant.
"""

import math

import numpy as np

from ._covariance import refresh_factors
from ._jit import kernel

# slice sampler over s = log g: step width and maximum number of steps out
_WIDTH = 0.25
_MAX_STEPS = 40


@kernel
def log_scale_density(s, coefs, s_max):
    """``n s - A g^2/2 + b g - c/(2 g^2) + e/g`` at ``g = exp(s)``, with
    ``coefs = (n, A, b, c, e)``; ``-inf`` above ``s_max``."""
    if s > s_max:
        return -np.inf
    g = math.exp(s)
    return (
        coefs[0] * s
        - 0.5 * coefs[1] * g * g
        + coefs[2] * g
        - 0.5 * coefs[3] / (g * g)
        + coefs[4] / g
    )


@kernel
def slice_log_scale(rng, coefs, s_max):
    """One slice-sampling update (Neal 2003, stepping out and shrinkage) of
    ``s`` from ``s = 0`` for the density :func:`log_scale_density`.

    The update leaves that density invariant; its width and step limit are
    constants, so moving the start along the orbit moves the whole update
    with it (the condition of the generalised Gibbs step).
    """
    level = log_scale_density(0.0, coefs, s_max) - rng.standard_exponential()
    left = -_WIDTH * rng.random()
    right = left + _WIDTH
    steps_left = int(_MAX_STEPS * rng.random())
    steps_right = _MAX_STEPS - 1 - steps_left
    while steps_left > 0 and log_scale_density(left, coefs, s_max) > level:
        left -= _WIDTH
        steps_left -= 1
    while steps_right > 0 and log_scale_density(right, coefs, s_max) > level:
        right += _WIDTH
        steps_right -= 1
    while True:
        s = left + (right - left) * rng.random()
        if log_scale_density(s, coefs, s_max) > level:
            return s
        if s < 0.0:
            left = s
        else:
            right = s


@kernel
def residual_statistics(values, means, precisions, row_group, start, size, coefs):
    """Add the Gaussian terms of the rows to ``coefs``.

    With residuals ``r_i = values_i - means_i`` split into the scaled
    columns ``K = start..start+size-1`` and the rest ``R``, and ``P`` the
    row's precision, ``A += sum_i r_iK' P_KK r_iK`` and
    ``b -= sum_i r_iK' P_KR r_iR``.
    """
    n, p = values.shape
    resid = np.empty(p)
    quad, lin = 0.0, 0.0
    for i in range(n):
        g = row_group[i]
        for t in range(p):
            resid[t] = values[i, t] - means[i, t]
        for a in range(start, start + size):
            for t in range(p):
                term = resid[a] * precisions[g, a, t] * resid[t]
                if start <= t < start + size:
                    quad += term
                else:
                    lin -= term
    coefs[1] += quad
    coefs[2] += lin


@kernel
def box_limit(values, codes, column, start, size, box):
    """Largest ``log g`` that keeps the latents of observed categories of
    categorical ``column`` inside ``box`` (``inf`` for an unbounded box)."""
    s_max = np.inf
    for i in range(values.shape[0]):
        if codes[i, column] < 0:
            continue
        for t in range(start, start + size):
            z = values[i, t]
            if z > 0.0 and box[1] < np.inf:
                s_max = min(s_max, math.log(box[1] / z))
            elif z < 0.0 and box[0] > -np.inf:
                s_max = min(s_max, math.log(box[0] / z))
    return s_max


@kernel
def covariance_prior_statistics(precision, prior_df, prior_scale, scaled, coefs):
    """Add the terms of ``Sigma`` (scaled as ``D Sigma D``, ``D`` = ``g`` on
    the coordinates flagged in ``scaled``) and its inverse-Wishart prior.

    With ``c`` scaled coordinates, ``Q = Sigma^{-1}`` and prior
    ``IW(nu, Psi)``: the prior and the Jacobian of the free entries give
    ``n -= c nu`` (the level-2 density of the random effects is unchanged
    apart from its determinant, which cancels their Jacobian); the trace
    term gives ``c += sum_{r,s in K} Psi_rs Q_sr`` and
    ``e -= sum_{r in K, s not in K} Psi_rs Q_sr``.
    """
    d = precision.shape[0]
    count = 0
    inv_quad, inv_lin = 0.0, 0.0
    for r in range(d):
        if not scaled[r]:
            continue
        count += 1
        for s in range(d):
            term = prior_scale[r, s] * precision[s, r]
            if scaled[s]:
                inv_quad += term
            else:
                inv_lin -= term
    coefs[0] -= count * prior_df
    coefs[3] += inv_quad
    coefs[4] += inv_lin


@kernel
def _scale_level1(rng, model, state, k, coefs, scaled):
    start, size = model.cat_start[k], model.cat_size[k]
    n_clusters, p, q = state.u.shape
    m = state.beta.shape[0]
    coefs[:] = 0.0
    coefs[0] = (state.values.shape[0] + m) * size
    residual_statistics(
        state.values, state.means, state.precision, model.row_group, start, size, coefs
    )
    if q > 0:
        # random effects of the latents and their rows/columns of Sigma
        scaled[:] = False
        for t in range(start, start + size):
            for c in range(q):
                scaled[t * q + c] = True
        covariance_prior_statistics(
            state.sigma_precision[0], model.prior2_df, model.prior2_scale, scaled, coefs
        )
    s_max = box_limit(state.values, model.codes, k, start, size, model.latent_box)
    g = math.exp(slice_log_scale(rng, coefs, s_max))
    for i in range(state.values.shape[0]):
        for t in range(start, start + size):
            state.values[i, t] *= g
            state.means[i, t] *= g
    for a in range(m):
        for t in range(start, start + size):
            state.beta[a, t] *= g
    if q > 0:
        for j in range(n_clusters):
            for t in range(start, start + size):
                for c in range(q):
                    state.u[j, t, c] *= g
                    state.level2[j, t * q + c] *= g
        d = state.sigma.shape[1]
        for r in range(d):
            for s in range(d):
                if scaled[r]:
                    state.sigma[0, r, s] *= g
                if scaled[s]:
                    state.sigma[0, r, s] *= g
        refresh_factors(state.sigma, state.sigma_chol, state.sigma_precision)
    return g


@kernel
def _scale_level2(rng, model, state, k, coefs):
    start, size = model.cat2_start[k], model.cat2_size[k]
    pq = state.level2.shape[1] - state.beta2.shape[1]
    m2 = state.beta2.shape[0]
    coefs[:] = 0.0
    coefs[0] = (state.level2.shape[0] + m2) * size
    residual_statistics(
        state.level2,
        state.means2,
        state.sigma_precision,
        np.zeros(state.level2.shape[0], np.int64),
        start,
        size,
        coefs,
    )
    s_max = box_limit(state.level2, model.codes2, k, start, size, model.latent_box)
    g = math.exp(slice_log_scale(rng, coefs, s_max))
    for j in range(state.level2.shape[0]):
        for t in range(start, start + size):
            state.level2[j, t] *= g
            state.means2[j, t] *= g
    for a in range(m2):
        for t in range(start - pq, start - pq + size):
            state.beta2[a, t] *= g
    return g


@kernel(inline=True)
def rescale_categorical_latents(rng, model, state, multilevel):
    """One scale move per categorical variable, level 1 then level 2
    (``multilevel``: ``model.multilevel``, ``None`` when there is no level 2).

    Updates in place the latents, ``means``, ``beta``, ``u`` and the random
    effects in ``level2``, ``sigma`` with its factors, and at level 2 the
    latents, ``means2`` and ``beta2`` (see the module docstring).
    """
    coefs = np.empty(5)
    scaled = np.zeros(state.sigma.shape[1], np.bool_)
    for k in range(model.cat_start.shape[0]):
        _scale_level1(rng, model, state, k, coefs, scaled)
    if multilevel is not None:
        for k in range(model.cat2_start.shape[0]):
            _scale_level2(rng, model, state, k, coefs)
