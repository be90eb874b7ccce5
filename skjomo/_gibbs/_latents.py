"""Latent normals of observed categorical values (doc/sampler.rst, "Latents of observed categories").

Each latent coordinate is drawn from its exact full conditional, a
univariate normal truncated to the region of the observed category
(doc/sampler.rst, "Latent normals"): for category ``c < K - 1`` the latent ``z_c`` is the largest and
positive, for the reference category all latents are negative. This is a
Gibbs sweep over the coordinates of the block, which targets the same
conditional distribution as jomo's joint rejection sampler but never gives
up (no cap on proposals, no box).

The same function serves level 1 (rows of the outcome matrix) and level 2
(rows of the cluster-level matrix), with one precision matrix per
covariance group (a single group for a common covariance).
"""

import numpy as np

from ._jit import kernel
from ._truncnorm import (
    truncated_normal_above,
    truncated_normal_below,
    truncated_normal_with_inverse_sd,
)


@kernel(inline=True)
def _conditional_coefficients(precisions, first_latent, coef, sds):
    """Regression coefficients and sds of each latent given the rest of a row.

    With precision ``Q`` the conditional of coordinate ``l`` is normal with
    sd ``1 / sqrt(Q_ll)`` and mean
    ``mu_l - sum_{t != l} (Q_lt / Q_ll) (y_t - mu_t)``; ``coef[g, l, t]``
    holds ``Q_lt / Q_ll`` (zero for ``t = l``) for latent columns ``l``.
    """
    p = precisions.shape[1]
    for g in range(precisions.shape[0]):
        for col in range(first_latent, p):
            q = precisions[g, col, col]
            sds[g, col] = 1.0 / np.sqrt(q)
            for t in range(p):
                coef[g, col, t] = precisions[g, col, t] / q
            coef[g, col, col] = 0.0


@kernel(inline=True)
def _region(values, row, start, size, category, index, box_lower, box_upper):
    """Bounds of latent ``index`` of a block given its observed category,
    intersected with the box ``(box_lower, box_upper)`` (infinite by default)."""
    if category == size:  # reference category: every latent negative
        return box_lower, min(0.0, box_upper)
    if index == category:  # the observed category's latent is the largest
        lower = max(0.0, box_lower)
        for t in range(size):
            if t != category and values[row, start + t] > lower:
                lower = values[row, start + t]
        return lower, box_upper
    return box_lower, values[row, start + category]


@kernel
def draw_observed_latents(
    rng, values, means, precisions, row_group, cat_start, cat_size, codes, box
):
    """One Gibbs sweep over the latents of every observed categorical cell.

    Parameters
    ----------
    rng : numpy.random.Generator
    values : ndarray (n, p)
        Completed matrix; latents are updated in place.
    means : ndarray (n, p)
        Row means of the latent-normal model.
    precisions : ndarray (g, p, p)
        Inverse covariance of each covariance group.
    row_group : ndarray of int64 (n,)
        Covariance group of each row.
    cat_start, cat_size : ndarray of int64 (n_cat,)
        First latent column and number of latents of each categorical.
    codes : ndarray of int64 (n, n_cat)
        Observed category of each row (``-1`` when missing).
    box : ndarray (2,)
        Lower and upper bound applied to every latent of an observed
        category (``-inf, inf`` for the exact latent-normal model; jomo uses
        ``-3, 4``, jomo's box; doc/model.rst).

    Notes
    -----
    Without the box (the default) every interval is one-sided: below 0 for
    the latents of the reference category, below the observed category's
    latent for the others, above 0 and the others for the observed
    category's. Those go straight to the one-sided samplers of
    :mod:`._truncnorm`, which make the same draws as the two-sided one
    without its tests (about a tenth of the step).
    """
    n, p = values.shape
    if cat_start.shape[0] == 0:
        return
    first_latent = cat_start[0]
    coef = np.empty(precisions.shape)
    sds = np.empty((precisions.shape[0], p))
    _conditional_coefficients(precisions, first_latent, coef, sds)
    inv_sds = 1.0 / sds
    box_lower, box_upper = box[0], box[1]
    unbounded = box_lower == -np.inf and box_upper == np.inf
    resid = np.empty(p)
    for row in range(n):
        g = row_group[row]
        for t in range(p):
            resid[t] = values[row, t] - means[row, t]
        for k in range(cat_start.shape[0]):
            category = codes[row, k]
            if category < 0:
                continue
            start = cat_start[k]
            size = cat_size[k]
            for index in range(size):
                col = start + index
                shift = 0.0
                for t in range(p):
                    shift += coef[g, col, t] * resid[t]
                mean = means[row, col] - shift
                sd, inv_sd = sds[g, col], inv_sds[g, col]
                if not unbounded:
                    lower, upper = _region(
                        values, row, start, size, category, index, box_lower, box_upper
                    )
                    z = truncated_normal_with_inverse_sd(rng, mean, sd, inv_sd, lower, upper)
                elif category == size:
                    z = truncated_normal_below(rng, mean, sd, inv_sd, 0.0)
                elif index == category:
                    lower, _ = _region(values, row, start, size, category, index, 0.0, np.inf)
                    z = truncated_normal_above(rng, mean, sd, inv_sd, lower)
                else:
                    z = truncated_normal_below(rng, mean, sd, inv_sd, values[row, start + category])
                values[row, col] = z
                resid[col] = z - means[row, col]


@kernel
def start_observed_latents(values, cat_start, cat_size, codes):
    """Put the latents of observed categories inside their region.

    Observed category ``c`` gets ``+0.5`` on its latent and ``-0.5`` on the
    others (all ``-0.5`` for the reference category), so the first Gibbs
    sweep starts from a point of positive density.
    """
    for row in range(values.shape[0]):
        for k in range(cat_start.shape[0]):
            category = codes[row, k]
            if category < 0:
                continue
            for index in range(cat_size[k]):
                values[row, cat_start[k] + index] = 0.5 if index == category else -0.5
