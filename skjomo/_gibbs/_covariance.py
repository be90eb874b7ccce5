"""Covariance updates for one or several covariance groups (numba).

Given residual cross-products ``S_g`` of ``n_g`` rows, each group's
covariance is drawn from its full conditional: the inverse-Wishart
``IW(prior_df + n_g, prior_scale + S_g)`` restricted to matrices whose
latent diagonal blocks are fixed at ``C_K`` (doc/sampler.rst,
"The restricted inverse-Wishart"). One group is the common level-1
covariance or the level-2 covariance; several groups are the
cluster-specific covariances of the heteroscedastic models.
"""

import numpy as np

from ._jit import kernel
from ._linalg import cholesky_lower, inverse_from_cholesky
from ._wishart import split_constrained_inverse_wishart, work_space


@kernel(inline=True)
def refresh_factors(cov, cov_chol, precision):
    """Recompute Cholesky factors and inverses of a stack of covariances."""
    for g in range(cov.shape[0]):
        cholesky_lower(cov[g], cov_chol[g])
        inverse_from_cholesky(cov_chol[g], precision[g])


@kernel(inline=True)
def draw_group_covariances(
    rng,
    scatter,
    group_size,
    prior_df,
    prior_scale,
    latent_prior_df,
    latent_prior_scale,
    n_free,
    block_ptr,
    mh_scale,
    cov,
    cov_chol,
    precision,
):
    """Draw every group's covariance in place; returns accepted MH moves.

    Parameters
    ----------
    rng : numpy.random.Generator
    scatter : ndarray (g, p, p)
        Residual cross-products per group.
    group_size : ndarray (g,)
        Number of rows (or clusters) behind each scatter matrix.
    prior_df : float
        Degrees of freedom of the inverse-Wishart prior.
    prior_scale : ndarray (p, p)
        Scale matrix of the inverse-Wishart prior.
    latent_prior_df, latent_prior_scale : float, ndarray (p, p)
        Inverse-Wishart prior whose latent block gives the prior of the
        covariances between latents of different categorical columns; the
        same as ``prior_df, prior_scale`` except in the "random"
        heteroscedastic model (see ``split_constrained_inverse_wishart``).
    n_free, block_ptr : int, ndarray of int64
        Layout of the fixed latent blocks (see ``constrained_inverse_wishart``).
    mh_scale : float
        Proposal scale of the Metropolis step between latent blocks.
    cov, cov_chol, precision : ndarray (g, p, p)
        Current covariances, updated in place with their factors.
    """
    p = prior_scale.shape[0]
    scale = np.empty((p, p))
    latent_scale = np.empty((p, p))
    draw = np.empty((p, p))
    work = work_space(p)
    # the latent prior matters only with free covariances between latent blocks
    latent_cross = block_ptr.shape[0] > 2
    accepted = 0
    for g in range(cov.shape[0]):
        for t in range(p):
            for u in range(p):
                scale[t, u] = prior_scale[t, u] + scatter[g, t, u]
                if latent_cross:
                    latent_scale[t, u] = latent_prior_scale[t, u] + scatter[g, t, u]
        accepted += split_constrained_inverse_wishart(
            rng,
            latent_prior_df + group_size[g],
            latent_scale,
            prior_df + group_size[g],
            scale,
            n_free,
            block_ptr,
            cov[g],
            draw,
            mh_scale,
            np.int64(3),  # sweeps; an int64, not a literal: one specialisation
            work,
        )
        for t in range(p):
            for u in range(p):
                cov[g, t, u] = draw[t, u]
    refresh_factors(cov, cov_chol, precision)
    return accepted


@kernel
def row_scatter(values, means, out):
    """``out[0] = sum_i (v_i - m_i)(v_i - m_i)'`` over the rows of ``values``."""
    d = values.shape[1]
    out[0] = 0.0
    for i in range(values.shape[0]):
        for t in range(d):
            rt = values[i, t] - means[i, t]
            for u in range(t + 1):
                out[0, t, u] += rt * (values[i, u] - means[i, u])
    for t in range(d):
        for u in range(t):
            out[0, u, t] = out[0, t, u]
