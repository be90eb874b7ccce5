"""Cluster shifts of the latent normals and their random effects (numba).

A random effect ``u_jtc`` of a latent column ``t`` and the latents of its
cluster's rows nearly determine each other: given the latents, ``u_jtc`` is
known to about ``1 / sqrt(n_j)``, while the categories alone say little about
it when they are all of a common category (the data-augmentation problem of
probit random-effect models). The Gibbs steps draw ``u`` given the latents
(the centred parametrisation); this move draws it given the latents'
residuals instead (the non-centred one), as in the ancillarity-sufficiency
interweaving of Yu and Meng (2011).

For each cluster ``j``, latent column ``t`` and random effect ``c`` the
move adds ``delta z_ic`` to the latent ``y_it`` and its mean of every row
``i`` of the cluster and ``delta`` to ``u_jtc``: every level-1 residual is
unchanged, the translation has unit Jacobian, and only the level-2 density
of ``v_j`` and the categories can change. ``delta`` is drawn from its
conditional given everything else restricted to keeping the category of
every row (observed, or implied by the latents of a missing one), which is
the level-2 normal of ``v_j`` in direction ``tq + c`` truncated to the
interval where every row stays in its category region (each region is
convex, so its section along the move is an interval). doc/model.rst
("Cluster shifts of the latents") derives it.
"""

import numpy as np

from ._jit import kernel
from ._latents import _region
from ._truncnorm import truncated_normal


@kernel
def current_categories(values, codes, k, start, size, category):
    """Category of every row for categorical ``k``: the observed one, or for
    a missing one the category its latents imply (the largest latent if
    positive, else the reference ``size``)."""
    for i in range(values.shape[0]):
        best = codes[i, k]
        if best < 0:
            best, top = size, 0.0
            for t in range(size):
                if values[i, start + t] > top:
                    top = values[i, start + t]
                    best = t
        category[i] = best


@kernel
def shift_limits(values, codes, category, cluster, z, k, start, size, t, c, box, lower, upper):
    """For every cluster, the interval ``(lower_j, upper_j)`` of ``delta`` for
    which ``y_it + delta z_ic`` keeps every row of the cluster in its
    category (observed latents also in ``box``)."""
    lower[:] = -np.inf
    upper[:] = np.inf
    for i in range(values.shape[0]):
        w = z[i, c]
        if w == 0.0:
            continue
        if codes[i, k] >= 0:
            lo, hi = _region(values, i, start, size, category[i], t - start, box[0], box[1])
        else:
            lo, hi = _region(values, i, start, size, category[i], t - start, -np.inf, np.inf)
        lo -= values[i, t]
        hi -= values[i, t]
        if w != 1.0:
            lo /= w
            hi /= w
            if w < 0.0:
                lo, hi = hi, lo
        j = cluster[i]
        if lo > lower[j]:
            lower[j] = lo
        if hi < upper[j]:
            upper[j] = hi


@kernel
def shift_cluster_latents(
    rng, values, means, codes, cluster, z, box, k, start, size, u, level2, means2, precision, work
):
    """One shift per cluster for each latent column ``t`` of categorical
    ``k`` (columns ``start..start+size-1``) and each random effect ``c``.

    ``values``, ``means`` (rows), ``u`` (``J x p x q``) and the random
    effects ``level2[:, tq + c]`` are updated in place; ``means2`` and
    ``precision`` are the level-2 means and ``Sigma^{-1}``; ``work`` is a
    ``(3, J)`` work space.
    """
    n_clusters, p, q = u.shape
    lower, upper, delta = work[0], work[1], work[2]
    d = precision.shape[0]
    # categories do not change under the move
    category = np.empty(values.shape[0], np.int64)
    current_categories(values, codes, k, start, size, category)
    for t in range(start, start + size):
        for c in range(q):
            shift_limits(
                values, codes, category, cluster, z, k, start, size, t, c, box, lower, upper
            )
            r = t * q + c
            sd = 1.0 / np.sqrt(precision[r, r])
            for j in range(n_clusters):
                # the level-2 normal of v_j along coordinate r
                lin = 0.0
                for s in range(d):
                    lin += precision[r, s] * (level2[j, s] - means2[j, s])
                delta[j] = 0.0
                if lower[j] < upper[j]:  # else a latent sits on its boundary
                    delta[j] = truncated_normal(rng, -lin / precision[r, r], sd, lower[j], upper[j])
                u[j, t, c] += delta[j]
                level2[j, r] += delta[j]
            for i in range(values.shape[0]):
                move = delta[cluster[i]] * z[i, c]
                values[i, t] += move
                means[i, t] += move


@kernel(inline=True)
def shift_latents_of(rng, model, state, k, work):
    """:func:`shift_cluster_latents` of categorical ``k`` on the chain state."""
    shift_cluster_latents(
        rng,
        state.values,
        state.means,
        model.codes,
        model.cluster,
        model.z,
        model.latent_box,
        k,
        model.cat_start[k],
        model.cat_size[k],
        state.u,
        state.level2,
        state.means2,
        state.sigma_precision[0],
        work,
    )
