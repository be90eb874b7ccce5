"""The chain: model arrays, chain state and the Gibbs iteration (numba).

``Model`` holds what never changes during a run (design, category codes,
missingness groups, priors); ``State`` holds what the sampler updates
(completed data, parameters and their factors). ``gibbs_iteration`` composes
the steps in the order of jomo-samplers.md §4 (single level): latents of
observed categories, fixed effects, covariance, missing values.
"""

from collections import namedtuple

import numba as nb
import numpy as np

from ._covariance import draw_group_covariances, refresh_factors
from ._latents import draw_observed_latents, start_observed_latents
from ._missing import draw_missing, missingness_groups
from ._regression import draw_fixed_effects, linear_predictor, residual_scatter

Model = namedtuple("Model", [
    "design",          # (n, m) fixed-effect covariates, intercept first
    "design_chol",     # (m, m) lower Cholesky factor of design' design
    "cat_start",       # (n_cat,) first latent column of each categorical
    "cat_size",        # (n_cat,) number of latents (K - 1)
    "codes",           # (n, n_cat) observed category, -1 if missing
    "row_group",       # (n,) covariance group of each row
    "group_size",      # (g,) rows per covariance group
    "miss_rows", "miss_ptr", "miss_cov", "miss_mask",  # see draw_missing
    "prior_df",        # inverse-Wishart prior degrees of freedom
    "prior_scale",     # (p, p) inverse-Wishart prior scale
    "n_free",          # number of columns before the latent blocks
    "block_ptr",       # boundaries of the fixed latent blocks
    "mh_scale",        # proposal scale for covariances between latent blocks
])

State = namedtuple("State", [
    "values",      # (n, p) completed data on the latent scale
    "means",       # (n, p) current row means
    "beta",        # (m, p) fixed effects
    "cov",         # (g, p, p) level-1 covariance(s)
    "cov_chol",    # (g, p, p) their lower Cholesky factors
    "precision",   # (g, p, p) their inverses
    "scatter",     # (g, p, p) work array for residual cross-products
    "accepted",    # (1,) count of accepted Metropolis moves
])


def fixed_blocks(n_free, cat_size):
    """Block boundaries of the latent part of a covariance matrix."""
    return np.concatenate([[n_free], n_free + np.cumsum(cat_size)]).astype(np.int64)


def constrained_identity(p, n_free, cat_size):
    """Identity with every latent diagonal block set to ``C_K`` (§2.3)."""
    cov = np.eye(p)
    ptr = fixed_blocks(n_free, cat_size)
    for start, stop in zip(ptr[:-1], ptr[1:]):
        cov[start:stop, start:stop] = 0.5 + 0.5 * np.eye(stop - start)
    return cov


def build_model(design, values, missing, codes, cat_start, cat_size,
                prior_df, prior_scale, mh_scale=2.0, fit=True):
    """Assemble the single-level ``Model`` from encoded arrays.

    With ``fit=False`` (imputing new rows for fixed parameters) the design
    need not have full rank and its Cholesky factor is not computed.
    """
    n, p = values.shape
    m = design.shape[1]
    design_chol = np.linalg.cholesky(design.T @ design) if fit else np.eye(m)
    row_group = np.zeros(n, dtype=np.int64)
    n_free = p - int(np.sum(cat_size))
    miss_rows, miss_ptr, miss_cov, miss_mask = missingness_groups(missing, row_group)
    return Model(
        design=np.ascontiguousarray(design, dtype=np.float64),
        design_chol=design_chol,
        cat_start=cat_start,
        cat_size=cat_size,
        codes=codes,
        row_group=row_group,
        group_size=np.array([float(n)]),
        miss_rows=miss_rows,
        miss_ptr=miss_ptr,
        miss_cov=miss_cov,
        miss_mask=miss_mask,
        prior_df=float(prior_df),
        prior_scale=np.asarray(prior_scale, dtype=np.float64),
        n_free=n_free,
        block_ptr=fixed_blocks(n_free, cat_size),
        mh_scale=float(mh_scale),
    )


def initial_state(model, values, missing, beta=None, cov=None):
    """Starting state (jomo-samplers.md §2.5 and §3, single level).

    Missing continuous cells start at the column mean of the observed
    values, missing latents at 0, observed latents inside their category's
    region; ``beta`` starts at 0 and the covariance at the identity with the
    fixed ``C_K`` blocks, unless given.
    """
    n, p = values.shape
    m = model.design.shape[1]
    filled = values.copy()
    for t in range(p):
        column = filled[:, t]
        observed = ~np.isnan(column) & ~missing[:, t]
        column[~observed] = column[observed].mean() if observed.any() and t < model.n_free else 0.0
    start_observed_latents(filled, model.cat_start, model.cat_size, model.codes)
    if beta is None:
        beta = np.zeros((m, p))
    g = model.group_size.shape[0]
    if cov is None:
        covs = np.repeat(constrained_identity(p, model.n_free, model.cat_size)[None], g, axis=0)
    else:
        covs = np.array(cov, dtype=np.float64)
        if covs.ndim == 2:
            covs = np.repeat(covs[None], g, axis=0)
        fixed = constrained_identity(p, model.n_free, model.cat_size)
        for start, stop in zip(model.block_ptr[:-1], model.block_ptr[1:]):
            covs[:, start:stop, start:stop] = fixed[start:stop, start:stop]
    state = State(
        values=filled,
        means=model.design @ beta,
        beta=np.array(beta, dtype=np.float64),
        cov=covs,
        cov_chol=np.empty_like(covs),
        precision=np.empty_like(covs),
        scatter=np.empty_like(covs),
        accepted=np.zeros(1, dtype=np.int64),
    )
    refresh_factors(state.cov, state.cov_chol, state.precision)
    return state


@nb.njit(cache=True)
def gibbs_iteration(rng, model, state):
    """One systematic-scan Gibbs iteration (jomo-samplers.md §4)."""
    if model.cat_start.shape[0] > 0:
        draw_observed_latents(rng, state.values, state.means, state.precision,
                              model.row_group, model.cat_start, model.cat_size,
                              model.codes)
    draw_fixed_effects(rng, model.design, model.design_chol, state.values,
                       state.cov_chol[0], state.beta)
    linear_predictor(model.design, state.beta, state.means)
    residual_scatter(state.values, state.means, model.row_group, state.scatter)
    state.accepted[0] += draw_group_covariances(
        rng, state.scatter, model.group_size, model.prior_df, model.prior_scale,
        model.n_free, model.block_ptr, model.mh_scale, state.cov,
        state.cov_chol, state.precision)
    draw_missing(rng, state.values, state.means, state.precision,
                 model.miss_rows, model.miss_ptr, model.miss_cov, model.miss_mask)


@nb.njit(cache=True)
def run_chain(rng, model, state, n_iter, trace_beta, trace_cov, trace_start):
    """Run ``n_iter`` iterations, recording parameters when traces are given.

    ``trace_beta`` (n_trace, m, p) and ``trace_cov`` (n_trace, p, p) receive
    the draws of iterations ``trace_start .. trace_start + n_iter - 1``; pass
    arrays with zero rows to record nothing. The recorded covariance is the
    mean over covariance groups.
    """
    record = trace_beta.shape[0] > 0
    n_groups = state.cov.shape[0]
    for it in range(n_iter):
        gibbs_iteration(rng, model, state)
        if record:
            k = trace_start + it
            trace_beta[k] = state.beta
            trace_cov[k] = state.cov[0]
            for g in range(1, n_groups):
                trace_cov[k] += state.cov[g]
            if n_groups > 1:
                trace_cov[k] /= n_groups


@nb.njit(cache=True)
def impute_given_parameters(rng, model, state, n_sweeps):
    """Latents and missing cells for fixed parameters (used by transform).

    ``n_sweeps`` alternations of the observed-latent and missing-value steps
    let latents of observed categories settle before the final draw.
    """
    for _ in range(n_sweeps):
        if model.cat_start.shape[0] > 0:
            draw_observed_latents(rng, state.values, state.means, state.precision,
                                  model.row_group, model.cat_start, model.cat_size,
                                  model.codes)
        draw_missing(rng, state.values, state.means, state.precision,
                     model.miss_rows, model.miss_ptr, model.miss_cov, model.miss_mask)


__all__ = ["Model", "State", "build_model", "initial_state", "gibbs_iteration",
           "run_chain", "impute_given_parameters"]
