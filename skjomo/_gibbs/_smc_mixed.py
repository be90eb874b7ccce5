"""Random effects of a two-level analysis model in compatible imputation (numba).

The analysis model of a linear mixed model (doc/smc.rst, "Two-level
analysis models") is

``y_ij = w_ij' theta + z_ij' b_j + e_ij,  e_ij ~ N(0, sigma^2),  b_j ~ N(0, Psi)``,

where ``w_ij = w(x_ij)`` is the row's analysis design and the random-effect
design ``z_ij`` is a subset of its columns (``re_index``), so that a random
slope of a partially observed covariate is recomputed with it. Given the
completed data one Gibbs scan draws

* ``(theta, b)`` as one block: ``theta | sigma^2, Psi`` with the random
  effects integrated out (normal, flat prior: generalised least squares,
  each cluster's ``V_j^{-1}`` by the Woodbury identity in ``kz`` dimensions),
  then ``b_j | theta, sigma^2, Psi`` (normal, one ``kz``-dimensional draw per
  cluster). Both come from the per-cluster sums ``W_j'W_j`` and ``W_j'y_j``
  of one pass over the rows. Drawing ``theta`` given ``b`` instead would mix
  slowly when a covariate is constant within clusters (its coefficient and
  the random intercepts are then nearly confounded);
* ``sigma^2 | theta, b``: scaled inverse chi-square;
* ``Psi | b``: inverse-Wishart ``IW(nu0 + J, S0 + sum_j b_j b_j')``.

The linear predictor of a row includes its cluster's random effects
(:func:`random_part`), so the covariate Metropolis-Hastings step of
:mod:`._smc` accepts with ``f(y_ij | w(x_ij); theta, b_j)`` unchanged.

The random effects of the mixed logistic and ordinal models move by
Metropolis-Hastings with a Newton proposal (:func:`draw_newton_effects`);
the logistic model's steps of the chain are in :mod:`._smc_mixed_logistic`,
the ordinal model's in :mod:`._smc_ordinal_mixed`.
"""

from collections import namedtuple

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
from ._logistic import log1pexp
from ._smc_ordinal import ORDINAL, ordinal_eta_terms
from ._wishart import inverse_wishart

LOGISTIC = 2  # family code of the logistic model (._smc, which imports this module)

RandomEffects = namedtuple(
    "RandomEffects",
    [
        "cluster",  # (N,) cluster of every row of the analysis model
        "cluster_ptr",
        "cluster_rows",  # rows of cluster j: cluster_rows[cluster_ptr[j]:cluster_ptr[j + 1]]
        "re_index",  # (kz,) columns of the analysis design with random effects; -1: a
        # random intercept of a model without an intercept column (ordinal)
        "prior_df",  # nu0 of the inverse-Wishart prior of Psi
        "prior_scale",  # (kz, kz) S0 of that prior
    ],
)

RandomEffectsState = namedtuple(
    "RandomEffectsState",
    [
        "b",  # (J, kz) random effects of the clusters
        "psi",  # (kz, kz) their covariance
    ],
)

# The default prior IW(kz + 1, S0): S0 is diagonal, EPSILON times the
# variance of the observed outcome over the variance of the random-effect
# column (doc/smc.rst, "Two-level analysis models").
PRIOR_EPSILON = 0.01


def build_random_effects(
    n_rows, cluster=None, n_clusters=0, re_index=None, prior_df=None, prior_scale=None
):
    """A :data:`RandomEffects` (``re_index`` empty: a single-level model)."""
    if re_index is None or len(re_index) == 0:
        return RandomEffects(
            cluster=np.zeros(0, np.int64),
            cluster_ptr=np.zeros(1, np.int64),
            cluster_rows=np.zeros(0, np.int64),
            re_index=np.zeros(0, np.int64),
            prior_df=0.0,
            prior_scale=np.zeros((0, 0)),
        )
    cluster = np.ascontiguousarray(cluster, dtype=np.int64)
    counts = np.bincount(cluster, minlength=int(n_clusters))
    return RandomEffects(
        cluster=cluster,
        cluster_ptr=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        cluster_rows=np.argsort(cluster, kind="stable").astype(np.int64),
        re_index=np.ascontiguousarray(re_index, dtype=np.int64),
        prior_df=float(prior_df),
        prior_scale=np.ascontiguousarray(prior_scale, dtype=np.float64),
    )


def default_prior(y, z, logistic=False):
    """``(nu0, S0)`` of the inverse-Wishart prior of ``Psi``: ``nu0 = kz + 1``
    and ``S0 = PRIOR_EPSILON diag(var(y) / var(z_t))`` from the observed
    outcomes ``y`` and random-effect columns ``z`` (NaN where unknown; a
    constant column, the intercept, counts with variance 1). Scale-free: the
    prior moves with the units of ``y`` and of each ``z_t``. A logistic or
    ordinal (cumulative logit) model uses the variance ``pi^2 / 3`` of the
    standard logistic distribution for ``var(y)``."""
    kz = z.shape[1]
    var_y = np.pi**2 / 3 if logistic else np.nanvar(y)
    var_y = var_y if np.isfinite(var_y) and var_y > 0 else 1.0
    var_z = np.array([np.nanvar(z[:, t]) if np.isfinite(z[:, t]).any() else 1.0 for t in range(kz)])
    var_z[~(var_z > 1e-12 * np.nanmax(np.abs(z), axis=0).clip(1.0) ** 2)] = 1.0
    return float(kz + 1), np.diag(PRIOR_EPSILON * var_y / var_z)


def initial_random_effects(re, n_clusters, b=None, psi=None):
    """Starting random effects (0) and covariance (the prior scale times
    ``10 / PRIOR_EPSILON``, a tenth of the outcome's variance per unit
    of ``z``), unless given."""
    kz = re.re_index.shape[0]
    start_b = np.zeros((n_clusters, kz))
    if b is not None:
        b = np.asarray(b, dtype=np.float64)
        start_b[: b.shape[0]] = b
    start_psi = (
        re.prior_scale * (0.1 / PRIOR_EPSILON) if psi is None else np.array(psi, dtype=np.float64)
    )
    return RandomEffectsState(b=start_b, psi=np.ascontiguousarray(start_psi))


@kernel(inline=True)
def effect_design(re, wrow, t):
    """``z_t`` of a row with analysis design row ``wrow``: its column
    ``re_index[t]``, or 1 for a random intercept without a design column."""
    c = re.re_index[t]
    return 1.0 if c < 0 else wrow[c]


@kernel(inline=True)
def effect_design_at(re, w, i, t):
    """:func:`effect_design` of row ``i`` of the design ``w``, indexed: a row
    view ``w[i]`` in a loop over rows costs a reference count per view."""
    c = re.re_index[t]
    return 1.0 if c < 0 else w[i, c]


@kernel(inline=True)
def fixed_part(w, theta):
    """``w @ theta``: each row's linear predictor without its random part."""
    n, k = w.shape
    fixed = np.empty(n)
    for i in range(n):
        s = 0.0
        for a in range(k):
            s += w[i, a] * theta[a]
        fixed[i] = s
    return fixed


@kernel(inline=True)
def newton_center(info, chol, score, b_j, center):
    """``center = b_j + info^{-1} score`` (a Newton step from ``b_j``), with
    ``chol`` the Cholesky factor of ``info``; ``False`` when ``info`` is not
    positive definite."""
    if not cholesky_lower(info, chol):
        return False
    solve_lower(chol, score)
    solve_lower_transpose(chol, score)
    for a in range(center.shape[0]):
        center[a] = b_j[a] + score[a]
    return True


@kernel(inline=True)
def random_part_at(re, b, i, w):
    """:func:`random_part` of row ``i`` of the design ``w`` (indexed, as
    :func:`effect_design_at`)."""
    s = 0.0
    if re.re_index.shape[0] > 0:
        j = re.cluster[i]
        for t in range(re.re_index.shape[0]):
            s += effect_design_at(re, w, i, t) * b[j, t]
    return s


@kernel(inline=True)
def random_part(re, b, i, wrow):
    """``z_ij' b_j`` of row ``i`` with analysis design row ``wrow``."""
    s = 0.0
    if re.re_index.shape[0] > 0:
        j = re.cluster[i]
        for t in range(re.re_index.shape[0]):
            s += effect_design(re, wrow, t) * b[j, t]
    return s


@kernel(internal=True)
def cluster_sums(re, w, y, update):
    """Per-cluster ``W_j'W_j`` (J, k, k) and ``W_j'y_j`` (J, k) of the clusters
    with ``update[j]`` (``Z_j`` is a subset of the columns of ``W_j``)."""
    n_clusters = update.shape[0]
    k = w.shape[1]
    ww = np.zeros((n_clusters, k, k))
    wy = np.zeros((n_clusters, k))
    for i in range(w.shape[0]):
        j = re.cluster[i]
        if not update[j]:
            continue
        for a in range(k):
            wa = w[i, a]
            wy[j, a] += wa * y[i]
            for c in range(a + 1):
                ww[j, a, c] += wa * w[i, c]
    for j in range(n_clusters):
        for a in range(k):
            for c in range(a):
                ww[j, c, a] = ww[j, a, c]
    return ww, wy


@kernel(internal=True)
def _cluster_precision(re, ww_j, sigma2, psi_inv, out):
    """``Z_j'Z_j + sigma^2 Psi^{-1}`` (the precision of ``b_j`` times ``sigma^2``)."""
    kz = re.re_index.shape[0]
    for a in range(kz):
        for c in range(kz):
            out[a, c] = ww_j[re.re_index[a], re.re_index[c]] + sigma2 * psi_inv[a, c]


@kernel(internal=True)
def draw_cluster_effects(rng, re, st, ww, wy, theta, sigma2, update):
    """``b_j | theta, sigma^2, Psi`` for the clusters with ``update[j]``, from
    the sums of :func:`cluster_sums`: ``N(A_j^{-1} Z_j'(y_j - W_j theta),
    sigma^2 A_j^{-1})`` with ``A_j = Z_j'Z_j + sigma^2 Psi^{-1}``."""
    n_clusters, kz = st.b.shape
    psi_inv = spd_inverse(st.psi)
    a_j = np.empty((kz, kz))
    chol = np.empty((kz, kz))
    mean = np.empty(kz)
    noise = np.empty(kz)
    sd = np.sqrt(sigma2)
    for j in range(n_clusters):
        if not update[j]:
            continue
        _cluster_precision(re, ww[j], sigma2, psi_inv, a_j)
        cholesky_lower(a_j, chol)
        for a in range(kz):
            r = wy[j, re.re_index[a]]
            for t in range(theta.shape[0]):
                r -= ww[j, re.re_index[a], t] * theta[t]
            mean[a] = r
            noise[a] = rng.standard_normal()
        solve_lower(chol, mean)
        solve_lower_transpose(chol, mean)
        solve_lower_transpose(chol, noise)
        for a in range(kz):
            st.b[j, a] = mean[a] + sd * noise[a]


@kernel(internal=True)
def new_cluster_effects(rng, family, re, st, w, y, theta, sigma2, update):
    """Random effects of the clusters with ``update[j]`` given their rows
    ``w``, ``y`` (new clusters of transform): an exact draw (linear model,
    ``family`` 1) or one Metropolis-Hastings move (logistic, ordinal)."""
    if family == 1:
        ww, wy = cluster_sums(re, w, y, update)
        draw_cluster_effects(rng, re, st, ww, wy, theta, sigma2, update)
    else:
        draw_newton_effects(rng, family, re, st, w, y, theta, update)


@kernel(internal=True)
def _draw_theta_marginal(rng, re, st, ww, wy, theta, sigma2):
    """``theta | sigma^2, Psi, y`` with the random effects integrated out
    (flat prior): generalised least squares with
    ``V_j^{-1} = (I - Z_j A_j^{-1} Z_j') / sigma^2``, so
    ``theta ~ N(G^{-1} h, sigma^2 G^{-1})``, ``G = sum_j W_j'W_j -
    W_j'Z_j A_j^{-1} Z_j'W_j`` and ``h`` likewise with ``y_j``."""
    n_clusters, kz = st.b.shape
    k = theta.shape[0]
    psi_inv = spd_inverse(st.psi)
    gram = np.zeros((k, k))
    h = np.zeros(k)
    a_j = np.empty((kz, kz))
    chol = np.empty((kz, kz))
    zw = np.empty((kz, k + 1))  # A_j^{-1/2}-scaled Z_j'[W_j y_j]
    for j in range(n_clusters):
        _cluster_precision(re, ww[j], sigma2, psi_inv, a_j)
        cholesky_lower(a_j, chol)
        for a in range(kz):
            for t in range(k):
                zw[a, t] = ww[j, re.re_index[a], t]
            zw[a, k] = wy[j, re.re_index[a]]
        for t in range(k + 1):
            solve_lower(chol, zw[:, t])
        for a in range(k):
            h[a] += wy[j, a]
            for c in range(k):
                gram[a, c] += ww[j, a, c]
            for e in range(kz):
                h[a] -= zw[e, a] * zw[e, k]
                for c in range(k):
                    gram[a, c] -= zw[e, a] * zw[e, c]
    chol_g = np.empty((k, k))
    if not cholesky_lower(gram, chol_g):
        raise ValueError(
            "The design of the analysis model is singular in the completed "
            "data (a category without rows, or collinear terms)."
        )
    solve_lower(chol_g, h)
    solve_lower_transpose(chol_g, h)
    noise = np.empty(k)
    for t in range(k):
        noise[t] = rng.standard_normal()
    solve_lower_transpose(chol_g, noise)
    sd = np.sqrt(sigma2)
    for t in range(k):
        theta[t] = h[t] + sd * noise[t]


@kernel(internal=True)
def draw_mixed_linear(rng, re, st, w, y, theta, sigma2, prior_df, prior_scale):
    """One Gibbs scan of the linear mixed model given the completed data:
    ``(theta, b)`` as a block (``theta`` with the random effects integrated
    out, then every ``b_j`` given it), ``sigma^2`` (scaled inverse
    chi-square with ``prior_df`` degrees of freedom and sum of squares
    ``prior_scale``) and ``Psi``; ``theta`` and ``sigma2`` (shape (1,)) are
    updated in place."""
    n, k = w.shape
    n_clusters, kz = st.b.shape
    every = np.ones(n_clusters, np.bool_)
    ww, wy = cluster_sums(re, w, y, every)
    _draw_theta_marginal(rng, re, st, ww, wy, theta, sigma2[0])
    draw_cluster_effects(rng, re, st, ww, wy, theta, sigma2[0], every)
    # sigma^2 | theta, b
    rss = 0.0
    for i in range(n):
        r = y[i] - random_part_at(re, st.b, i, w)
        for t in range(k):
            r -= w[i, t] * theta[t]
        rss += r * r
    sigma2[0] = (rss + prior_scale) / (2.0 * rng.standard_gamma(0.5 * (n + prior_df)))
    draw_effect_covariance(rng, re, st)


@kernel(internal=True)
def draw_effect_covariance(rng, re, st):
    """``Psi | b ~ IW(nu0 + J, S0 + sum_j b_j b_j')``."""
    n_clusters, kz = st.b.shape
    scatter = np.empty((kz, kz))
    for a in range(kz):
        for c in range(kz):
            s = re.prior_scale[a, c]
            for j in range(n_clusters):
                s += st.b[j, a] * st.b[j, c]
            scatter[a, c] = s
    inverse_wishart(rng, re.prior_df + n_clusters, scatter, st.psi)


# ------------------------------------------ mixed logistic and ordinal models
@kernel(inline=True)
def _eta_terms(family, y, eta, theta, k):
    """``log f(y | eta)``, its derivative in ``eta`` and minus its second
    derivative: logistic, or ordinal (``theta``: coefficients, then
    cut-points; ``k`` coefficients)."""
    if family == ORDINAL:
        return ordinal_eta_terms(y, eta, theta, k)
    prob = 1.0 / (1.0 + np.exp(-eta))
    return y * eta - log1pexp(eta), y - prob, prob * (1.0 - prob)


@kernel
def _cluster_newton(family, re, j, b_j, w, y, theta, psi_inv, chol, center):
    """Log posterior of ``b_j`` (the likelihood of the cluster's rows times
    ``N(0, Psi)``) at ``b_j``, the Cholesky factor of its negative Hessian
    ``Z_j'D Z_j + Psi^{-1}`` and the Newton point ``b_j + H^{-1} g``.
    Returns ``(log posterior, ok)``."""
    kz = b_j.shape[0]
    k = w.shape[1]
    info = psi_inv.copy()
    score = np.zeros(kz)
    log_post = 0.0
    for a in range(kz):
        for c in range(kz):
            score[a] -= psi_inv[a, c] * b_j[c]
            log_post -= 0.5 * b_j[a] * psi_inv[a, c] * b_j[c]
    for r in range(re.cluster_ptr[j], re.cluster_ptr[j + 1]):
        i = re.cluster_rows[r]
        eta = 0.0
        for t in range(k):
            eta += w[i, t] * theta[t]
        for a in range(kz):
            eta += effect_design_at(re, w, i, a) * b_j[a]
        log_f, slope, weight = _eta_terms(family, y[i], eta, theta, k)
        log_post += log_f
        for a in range(kz):
            za = effect_design_at(re, w, i, a)
            score[a] += za * slope
            for c in range(kz):
                info[a, c] += weight * za * effect_design_at(re, w, i, c)
    return log_post, newton_center(info, chol, score, b_j, center)


@kernel
def draw_newton_effects(rng, family, re, st, w, y, theta, update):
    """``b_j | theta, Psi`` of a mixed logistic or ordinal model (``family``)
    for the clusters with ``update[j]``: one Metropolis-Hastings move each,
    proposing from the normal at the Newton point ``N(b_j + H^{-1} g,
    H^{-1})`` (as the ``theta`` steps, doc/smc.rst). Returns the accepted
    moves."""
    n_clusters, kz = st.b.shape
    psi_inv = spd_inverse(st.psi)
    chol0, chol1 = np.empty((kz, kz)), np.empty((kz, kz))
    center0, center1 = np.empty(kz), np.empty(kz)
    proposal = np.empty(kz)
    accepted = 0
    for j in range(n_clusters):
        if not update[j]:
            continue
        log0, ok = _cluster_newton(family, re, j, st.b[j], w, y, theta, psi_inv, chol0, center0)
        if not ok:
            continue
        draw_normal_precision(rng, chol0, center0, proposal)
        log1, ok = _cluster_newton(family, re, j, proposal, w, y, theta, psi_inv, chol1, center1)
        if not ok:
            continue
        log_ratio = (
            log1
            - log0
            + log_normal_precision(chol1, center1, st.b[j])
            - log_normal_precision(chol0, center0, proposal)
        )
        if np.log(rng.random()) < log_ratio:
            st.b[j, :] = proposal
            accepted += 1
    return accepted
