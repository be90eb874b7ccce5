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
  columns of ``Sigma`` that belong to those random effects; and it divides
  by ``g`` the rows of those latents in the regression of the free
  (continuous) columns on the latents, ``beta = Omega_11^{-1} Omega_12``,
  of every level-1 covariance (the common one or each cluster's ``Omega_j``),
  so that the residuals of the continuous columns given the latents, the
  latent blocks ``Omega_11`` and the conditional covariances ``Omega_22.1``
  do not change; in the "random" method their inverse-Wishart scale ``A``
  becomes ``D A D`` (``D``: ``g`` on the latents of the variable), which
  keeps the prior of every ``Omega_j`` given ``A`` up to the Jacobians;
* then, one at a time, each random effect of those latents in every
  cluster with its row and column of ``Sigma`` (the latents do not move);
* level 2: the latent columns of every cluster and their columns of ``B2``.

After the random effects' scale moves, :mod:`._latent_shift` translates the
latents of each cluster together with their random effects (common and
"fixed" covariances; under "random" it lowered the smallest ESS, see
doc/benchmarks.rst).

Level-2 covariances with fixed blocks are not touched. ``s`` is drawn from
its conditional given everything else that the move keeps (the generalised
Gibbs step of Liu and Sabatti, 2000), which has the closed form

``log p(s) = n s - A g^2 / 2 + b g - c / (2 g^2) + e / g``

(:func:`log_scale_density`) with the statistics below; it is updated by a
slice-sampling step started at ``s = 0``, whose kernel is the same for every
point of the orbit ``{g x}``. doc/model.rst ("Scale moves for categorical
variables") derives the density and why the posterior stays invariant.
In the "random" method a translation of all cluster regressions on the
latents follows the scale moves (:mod:`._latent_regressions`).
"""

import math

import numpy as np

from ._covariance import refresh_factors
from ._jit import kernel
from ._latent_regressions import (
    regression_on_latents,
    rescale_regression,
    shift_regressions,
    split_prior_scale,
)
from ._latent_shift import shift_latents_of
from ._linalg import spd_inverse

# slice sampler over s = log g: step width and maximum number of steps out
_WIDTH = 0.25
_MAX_STEPS = 40


@kernel(inline=True)
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
def residual_statistics(values, means, precisions, row_group, first, start, size, coefs):
    """Add the Gaussian terms of the rows to ``coefs``.

    With residuals ``r_i = values_i - means_i`` of the columns ``first..p-1``
    split into the scaled columns ``K = start..start+size-1`` and the rest
    ``R``, and ``P`` the precision of those columns for the row's group
    (``precisions[g]``, indexed from ``first``),
    ``A += sum_i r_iK' P_KK r_iK`` and ``b -= sum_i r_iK' P_KR r_iR``.

    Both are contractions of each group's cross-products
    ``S_g = sum_{i in g} r_iK r_i'``: ``A = sum_g tr(P_g,KK S_g,KK')`` and
    ``b = -sum_g tr(P_g,KR S_g,KR')``. One pass over the rows sums ``S_g``
    (:func:`residual_cross_products`; independent accumulators, where a sum
    of ``P r_i`` per row would chain every term of the row), then the
    contraction is done once per group (:func:`add_residual_terms`).
    """
    cross = np.empty((precisions.shape[0], size, values.shape[1] - first))
    residual_cross_products(values, means, row_group, first, start, size, cross)
    add_residual_terms(precisions, cross, first, start, coefs)


@kernel(inline=True)
def residual_cross_products(values, means, row_group, first, start, size, cross):
    """``cross[g, a, t] = sum_{i in g} r_i,start+a r_i,first+t`` (the
    ``S_g`` of :func:`residual_statistics`; ``cross`` of shape
    ``(groups, size, p - first)`` is overwritten)."""
    n, p = values.shape
    width = p - first
    cross[:] = 0.0
    resid = np.empty(p)
    for i in range(n):
        g = row_group[i]
        for t in range(first, p):
            resid[t] = values[i, t] - means[i, t]
        for a in range(size):
            r = resid[start + a]
            for t in range(width):
                cross[g, a, t] += r * resid[first + t]


@kernel(inline=True)
def cross_products_from_statistics(h, k, gram, beta, first, start, size, cross):
    """The ``S`` of :func:`residual_cross_products` for one group and the
    residuals ``r_i = y_i - x_i' B`` of a single-level model, from its
    sufficient statistics ``H = X'Y``, ``K = Y'Y`` and ``G = X'X`` (one
    cluster): ``S = K - H'B - B'H + B'G B`` restricted to the rows
    ``start..start+size-1`` and the columns from ``first`` (the latents),
    in ``O(m^2)`` per entry instead of a pass over the rows."""
    m = beta.shape[0]
    width = k.shape[1] - first
    gb = np.empty(m)
    for t in range(width):
        col = first + t
        for r in range(m):
            total = 0.0
            for r2 in range(m):
                total += gram[0, r, r2] * beta[r2, col]
            gb[r] = total
        for a in range(size):
            row = start + a
            total = k[0, row, col]
            for r in range(m):
                total += beta[r, row] * (gb[r] - h[0, r, col]) - h[0, r, row] * beta[r, col]
            cross[0, a, t] = total


@kernel(inline=True)
def add_residual_terms(precisions, cross, first, start, coefs):
    """Add to ``coefs`` the terms ``A`` and ``b`` of :func:`residual_statistics`
    from the groups' cross-products ``cross`` of the scaled columns
    ``start..start+size-1`` (``size = cross.shape[1]``)."""
    size, width = cross.shape[1], cross.shape[2]
    stop = start + size
    quad, lin = 0.0, 0.0
    for g in range(cross.shape[0]):
        for a in range(size):
            row = start - first + a
            for t in range(width):
                term = precisions[g, row, t] * cross[g, a, t]
                if start <= first + t < stop:
                    quad += term
                else:
                    lin -= term
    coefs[1] += quad
    coefs[2] += lin


@kernel
def regression_statistics(reg, centre, row_prec, col_prec, start, size, coefs):
    """Add the terms of a matrix-normal density of ``reg`` whose rows
    ``K = start..start+size-1`` are divided by ``g``.

    The density is ``exp(-tr(W E' P E) / 2)`` with ``E = reg - centre``,
    ``P = row_prec``, ``W = col_prec``; ``E_K -> reg_K / g - centre_K``.
    With the other rows ``L``: ``c += tr(W reg_K' P_KK reg_K)``,
    ``e += tr(W reg_K' P_KK centre_K) - tr(W reg_K' P_KL E_L)``, and the
    Jacobian of the ``size x q`` scaled entries gives ``n -= size q``.
    """
    p1, q = reg.shape
    quad, lin = 0.0, 0.0
    for a in range(start, start + size):
        for b in range(p1):
            in_k = start <= b < start + size
            for s in range(q):
                for t in range(q):
                    w = col_prec[s, t] * reg[a, s] * row_prec[a, b]
                    if in_k:
                        quad += w * reg[b, t]
                        lin += w * centre[b, t]
                    else:
                        lin -= w * (reg[b, t] - centre[b, t])
    coefs[0] -= size * q
    coefs[3] += quad
    coefs[4] += lin


@kernel
def hyper_prior_statistics(hyper, prior_scale, start, size, coefs):
    """Add the terms of the "random" method's scale ``A ~ Wishart(p + 1, S)``
    scaled as ``D A D`` (``D`` = ``g`` on ``K = start..start+size-1``):
    ``|A|^{(p + 1 - p - 1)/2}`` is constant and the Jacobian gives
    ``n += size (p + 1)``; ``-tr(S^{-1} D A D) / 2`` gives
    ``A += sum_{r,s in K} (S^{-1})_rs A_sr`` and
    ``b -= sum_{r in K, s not in K} (S^{-1})_rs A_sr``."""
    p = hyper.shape[0]
    s_inv = spd_inverse(prior_scale)
    quad, lin = 0.0, 0.0
    for r in range(start, start + size):
        for s in range(p):
            term = s_inv[r, s] * hyper[s, r]
            if start <= s < start + size:
                quad += term
            else:
                lin -= term
    coefs[0] += size * (p + 1)
    coefs[1] += quad
    coefs[2] += lin


@kernel
def box_limit(values, codes, column, start, size, box):
    """Largest ``log g`` that keeps the latents of observed categories of
    categorical ``column`` inside ``box`` (``inf`` for an unbounded box)."""
    s_max = np.inf
    if box[0] == -np.inf and box[1] == np.inf:
        return s_max
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


@kernel(inline=True)
def _regression_prior_terms(regs, cond_prec, prior_scale, n_free, start, size, coefs):
    """Add the terms of the regressions on the latents of every covariance
    group under ``IW(nu, Psi)``, which gives
    ``beta ~ MN(Psi_11^{-1} Psi_12, Psi_11^{-1}, Omega_22.1)``."""
    row_prec, centre, _ = split_prior_scale(prior_scale, n_free)
    for h in range(regs.shape[0]):
        regression_statistics(regs[h], centre, row_prec, cond_prec[h], start - n_free, size, coefs)


@kernel(inline=True)
def _draw_scale(rng, coefs, values, codes, k, start, size, box):
    """``g = exp(s)`` from the slice step on the density of ``coefs``."""
    s_max = box_limit(values, codes, k, start, size, box)
    return math.exp(slice_log_scale(rng, coefs, s_max))


@kernel
def rescale_single_level_latents(
    rng,
    values,
    h,
    k,
    gram,
    beta,
    cov,
    cov_chol,
    precision,
    prior_scale,
    codes,
    box,
    cat_start,
    cat_size,
    n_free,
):
    """The scale moves of a single-level model (one cluster, a common
    covariance, the "fixed" prior of the regression on the latents): the
    level-1 move of :func:`_scale_level1` for each categorical variable, on
    arrays and from the sufficient statistics.

    ``h``, ``k``, ``gram``: ``H = X'Y``, ``K = Y'Y`` of the current
    completed data and ``G = X'X`` (shape ``(1, ., .)``). The rows' terms
    come from them (:func:`cross_products_from_statistics`) instead of a
    pass over the rows, and the move rescales ``H`` and ``K`` with the
    latents (``H_K``, ``K_K.`` and ``K_.K`` times ``g``), so that the
    chain's regression and covariance steps need no new pass. The row
    means are not touched: nothing reads them before the chain's row-means
    step recomputes them from the rescaled ``B``. The chain calls it with
    the arrays of its namedtuples, so that no copy of ``Model`` and
    ``State`` (a reference count on each of their arrays) is made per
    iteration.
    """
    coefs = np.empty(5)
    p = cov.shape[1]
    lam = np.empty((1, p - n_free, p - n_free))
    regs = np.empty((1, p - n_free, n_free))
    cond_prec = np.empty((1, n_free, n_free))
    regression_on_latents(cov[0], n_free, lam[0], regs[0], cond_prec[0])
    for c in range(cat_start.shape[0]):
        start, size = cat_start[c], cat_size[c]
        cross = np.empty((1, size, p - n_free))
        cross_products_from_statistics(h, k, gram, beta, n_free, start, size, cross)
        coefs[:] = 0.0
        coefs[0] = (values.shape[0] + beta.shape[0]) * size
        add_residual_terms(lam, cross, n_free, start, coefs)
        _regression_prior_terms(regs, cond_prec, prior_scale, n_free, start, size, coefs)
        g = _draw_scale(rng, coefs, values, codes, c, start, size, box)
        for i in range(values.shape[0]):
            for t in range(start, start + size):
                values[i, t] *= g
        for t in range(start, start + size):
            for a in range(h.shape[1]):
                h[0, a, t] *= g
            for u in range(p):
                k[0, t, u] *= g
                k[0, u, t] *= g
        for a in range(beta.shape[0]):
            for t in range(start, start + size):
                beta[a, t] *= g
        rescale_regression(cov[0], n_free, regs[0], start - n_free, size, 1.0 / g)
        refresh_factors(cov, cov_chol, precision)


@kernel(internal=True)
def _scale_level1(rng, model, state, k, coefs, scaled, lam, regs, cond_prec, multilevel):
    """The level-1 move of categorical ``k`` (``lam``, ``regs``, ``cond_prec``:
    :func:`regression_on_latents` of each covariance group, updated)."""
    start, size = model.cat_start[k], model.cat_size[k]
    n_free = model.n_free
    n_clusters, p, q = state.u.shape
    m = state.beta.shape[0]
    coefs[:] = 0.0
    coefs[0] = (state.values.shape[0] + m) * size
    # the latents given the rest of the row: the free columns' regression
    # residuals do not change, the latents' quadratic form scales
    residual_statistics(state.values, state.means, lam, model.row_group, n_free, start, size, coefs)
    hierarchical = False
    if multilevel is not None and multilevel:
        if model.cov_method == 2:
            # "random": A -> D A D keeps the prior of every beta_j given A
            # (beta_j - A_11^{-1} A_12 and A_11 scale together) apart from
            # the Jacobians, which cancel; A's own Wishart prior remains
            hierarchical = True
            hyper_prior_statistics(state.hyper_scale, model.prior_scale, start, size, coefs)
    if not hierarchical:
        _regression_prior_terms(regs, cond_prec, model.prior_scale, n_free, start, size, coefs)
    if multilevel is not None and multilevel:
        if q > 0:
            # random effects of the latents and their rows/columns of Sigma
            scaled[:] = False
            for t in range(start, start + size):
                for c in range(q):
                    scaled[t * q + c] = True
            covariance_prior_statistics(
                state.sigma_precision[0], model.prior2_df, model.prior2_scale, scaled, coefs
            )
    g = _draw_scale(rng, coefs, state.values, model.codes, k, start, size, model.latent_box)
    for i in range(state.values.shape[0]):
        for t in range(start, start + size):
            state.values[i, t] *= g
            state.means[i, t] *= g
    for a in range(m):
        for t in range(start, start + size):
            state.beta[a, t] *= g
    for h in range(regs.shape[0]):
        rescale_regression(state.cov[h], n_free, regs[h], start - n_free, size, 1.0 / g)
    refresh_factors(state.cov, state.cov_chol, state.precision)
    if multilevel is not None and multilevel:
        if hierarchical:
            for r in range(p):
                for t in range(start, start + size):
                    state.hyper_scale[r, t] *= g
                    state.hyper_scale[t, r] *= g
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


@kernel(internal=True)
def _scale_random_effect(rng, model, state, t, c, coefs, scaled):
    """Multiply random effect ``c`` of latent column ``t`` of every cluster,
    and row and column ``t q + c`` of ``Sigma``, by ``g`` (the latents do not
    move). The rows' residuals are ``r0_i - g a_i e_t`` with
    ``a_i = z_ic u_jtc``, so ``A = sum_i a_i^2 P_tt`` and
    ``b = sum_i a_i (P r0_i)_t``; the ``Sigma`` terms are those of the latent
    scale move with one scaled coordinate."""
    q = state.u.shape[2]
    p = state.values.shape[1]
    quad, lin = 0.0, 0.0
    for i in range(state.values.shape[0]):
        a = model.z[i, c] * state.u[model.cluster[i], t, c]
        h = model.row_group[i]
        pr = state.precision[h, t, t] * a
        for s in range(p):
            pr += state.precision[h, t, s] * (state.values[i, s] - state.means[i, s])
        quad += a * a * state.precision[h, t, t]
        lin += a * pr
    coefs[:] = 0.0
    coefs[1] = quad
    coefs[2] = lin
    scaled[:] = False
    scaled[t * q + c] = True
    covariance_prior_statistics(
        state.sigma_precision[0], model.prior2_df, model.prior2_scale, scaled, coefs
    )
    g = math.exp(slice_log_scale(rng, coefs, np.inf))
    for i in range(state.values.shape[0]):
        state.means[i, t] += (g - 1.0) * model.z[i, c] * state.u[model.cluster[i], t, c]
    for j in range(state.u.shape[0]):
        state.u[j, t, c] *= g
        state.level2[j, t * q + c] *= g
    r = t * q + c
    for s in range(state.sigma.shape[1]):
        state.sigma[0, r, s] *= g
        state.sigma[0, s, r] *= g
    refresh_factors(state.sigma, state.sigma_chol, state.sigma_precision)
    return g


@kernel(internal=True)
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
        np.int64(0),  # no free columns; an int64, not a literal: one specialisation
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
    (``multilevel``: ``None``, or ``False`` in the chain shared by every kind
    of model, when there is no level 2);
    in a two-level model each level-1 variable's move is followed by the
    scale moves of its latents' random effects and, except in the "random"
    method, by the cluster shifts of its latents (:mod:`._latent_shift`).

    Updates in place the latents, ``means``, ``beta``, the level-1
    covariances with their factors, in the "random" method their scale
    ``hyper_scale``, ``u`` and the random effects in ``level2``, ``sigma``
    with its factors, and at level 2 the latents, ``means2`` and ``beta2``
    (see the module docstring).
    """
    coefs = np.empty(5)
    scaled = np.zeros(state.sigma.shape[1], np.bool_)
    work = np.empty((3, state.u.shape[0]))
    n_groups, p = state.cov.shape[0], state.cov.shape[1]
    n_free = model.n_free
    if model.cat_start.shape[0] > 0:
        lam = np.empty((n_groups, p - n_free, p - n_free))
        regs = np.empty((n_groups, p - n_free, n_free))
        cond_prec = np.empty((n_groups, n_free, n_free))
        for h in range(n_groups):
            regression_on_latents(state.cov[h], n_free, lam[h], regs[h], cond_prec[h])
        for k in range(model.cat_start.shape[0]):
            _scale_level1(rng, model, state, k, coefs, scaled, lam, regs, cond_prec, multilevel)
            if multilevel is not None and multilevel:
                start, size = model.cat_start[k], model.cat_size[k]
                for t in range(start, start + size):
                    for c in range(state.u.shape[2]):
                        _scale_random_effect(rng, model, state, t, c, coefs, scaled)
                if model.cov_method != 2:  # "random": see doc/benchmarks.rst
                    shift_latents_of(rng, model, state, k, work)
        if multilevel is not None and multilevel:
            if model.cov_method == 2 and n_free > 0:
                shift_regressions(
                    rng,
                    state.values,
                    state.means,
                    model.row_group,
                    n_free,
                    regs,
                    cond_prec,
                    state.cov,
                    state.hyper_scale,
                    model.prior_scale,
                )
                refresh_factors(state.cov, state.cov_chol, state.precision)
    if multilevel is not None and multilevel:
        for k in range(model.cat2_start.shape[0]):
            _scale_level2(rng, model, state, k, coefs)


@kernel(inline=True)
def rescale_single_level(rng, model, state):
    """:func:`rescale_categorical_latents` in the chain of a single-level
    model, with ``state.h`` and ``state.k`` current
    (:func:`rescale_single_level_latents`): straight-line glue, one call with
    arrays (doc/benchmarks.rst, "Fourth round: reference counts in the
    iteration")."""
    rescale_single_level_latents(
        rng,
        state.values,
        state.h,
        state.k,
        model.gram,
        state.beta,
        state.cov,
        state.cov_chol,
        state.precision,
        model.prior_scale,
        model.codes,
        model.latent_box,
        model.cat_start,
        model.cat_size,
        model.n_free,
    )
