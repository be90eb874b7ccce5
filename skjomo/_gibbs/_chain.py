"""The chain: model arrays, chain state and the Gibbs iteration (numba).

One sampler serves every estimator. The model is the two-level joint model
of doc/sampler.rst: level-1 outcomes ``y_i = B'x_i + U_j'z_i + e_i``,
level-2 vectors ``v_j = (u_j, y2_j - B2'x2_j) ~ N(0, Sigma)``. Single-level
data is one cluster without random effects (``q = 0``); a model without
level-2 outcomes has ``p2 = 0``. ``Model`` holds what never changes during a
run, ``State`` what the sampler updates. The iteration composes the steps of
doc/sampler.rst, "One iteration": level-1 latents, level-2 latents, fixed
effects, level-2 fixed effects, random effects, level-2 covariance,
level-1 covariance, level-1 missing values, level-2 missing values.

Level-1 rows whose values never change (no missing cell, no categorical
latent) enter only through precomputed per-cluster statistics
(:mod:`._suffstats`); the row-level steps run over the other, "dynamic",
rows.
"""

from collections import namedtuple

import numpy as np

from ._covariance import draw_group_covariances, refresh_factors, row_scatter
from ._hierarchical import draw_covariance_hyperparameters
from ._jit import compile_notice, kernel, shared_kernels
from ._latent_scale import rescale_categorical_latents, rescale_single_level
from ._latents import draw_observed_latents, start_observed_latents
from ._linalg import cholesky_lower, inverse_from_cholesky
from ._missing import draw_missing, draw_missing_with, missingness_groups
from ._regression import (
    draw_fixed_effects,
    draw_fixed_effects_heteroscedastic,
    draw_random_effects_with,
    fixed_effect_response,
    interweave_intercepts,
    row_means,
    row_means_with,
)
from ._smc import (
    build_analysis_model,
    draw_analysis_missing,
    draw_analysis_parameters,
    initial_analysis_state,
    n_parameters,
    refresh_predictor,
    sync_analysis,
    writable_arrays,
)
from ._smc_level2 import draw_level2_covariates
from ._smc_mixed import new_cluster_effects
from ._suffstats import (
    refresh_statistics_with,
    residual_scatter_with,
    rows_by_cluster,
    static_statistics,
)
from ._threads import chain_threads

Model = namedtuple(
    "Model",
    [
        # level 1, dynamic rows
        "x",
        "z",
        "w",
        "cluster",  # X, Z, [X Z] and cluster of the dynamic rows
        "cluster_rows",
        "cluster_ptr",  # dynamic rows of each cluster (rows_by_cluster)
        "codes",  # (n_d, n_cat) observed category, -1 if missing
        "cat_start",
        "cat_size",  # latent columns of each categorical
        "row_group",  # (n_d,) level-1 covariance group of each row
        "miss_rows",
        "miss_ptr",
        "miss_cov",
        "miss_mask",  # see draw_missing
        # level 1, per cluster
        "gram",
        "static_h",
        "static_k",  # (J, r, r), (J, r, p), (J, p, p)
        "cov_group",  # (J,) covariance group of each cluster
        "group_size",  # (g,) rows per covariance group
        "design_chol",  # (m, m) lower Cholesky factor of X'X
        # level-1 prior and latent layout
        "prior_df",
        "prior_scale",
        "n_free",
        "block_ptr",
        # level 2
        "x2",
        "x2_chol",  # (J, m2), (m2, m2)
        "codes2",
        "cat2_start",
        "cat2_size",  # categorical columns of v_j
        "miss2_rows",
        "miss2_ptr",
        "miss2_cov",
        "miss2_mask",
        "prior2_df",
        "prior2_scale",
        "n_free2",
        "block2_ptr",
        "n_clusters2",  # (1,) number of clusters, as the level-2 group size
        "mh_scale",  # proposal scale between latent blocks
        "latent_box",  # (2,) bounds on latents of observed categories
        "cov_method",  # 0 common, 1 one covariance per cluster ("fixed"),
        # 2 cluster covariances from IW(a, A) ("random")
        "a_prior",  # chi-square degrees of freedom of the prior of a
        "latent_scale_moves",  # scale moves of categorical latents (_latent_scale.py)
        "multilevel",  # False for one level with a common covariance: which
        # steps are compiled (see _model_kind)
        "analysis",  # AnalysisModel of compatible imputation (family 0: none)
    ],
)

State = namedtuple(
    "State",
    [
        "values",
        "means",  # (n_d, p) dynamic rows: completed data and means
        "h",
        "k",  # (J, r, p), (J, p, p) current statistics
        "beta",
        "u",  # (m, p), (J, p, q)
        "cov",
        "cov_chol",
        "precision",
        "scatter",  # (g, p, p) level 1
        "level2",
        "means2",  # (J, d) v_j = (u_j, y2_j) and its mean (0, B2'x2_j)
        "beta2",  # (m2, p2)
        "sigma",
        "sigma_chol",
        "sigma_precision",
        "scatter2",  # (1, d, d)
        "cross",
        "cross2",  # work arrays (m, p), (m2, p2)
        "shift",
        "prior_precision",  # (J, pq), (pq, pq) random-effect prior
        "a",
        "hyper_scale",  # (1,), (p, p) "random" method: IW(a, A) of Omega_j
        "analysis",  # AnalysisState (empty without an analysis model)
    ],
)

# What a run of iterations adds up, apart from the chain state: sums of the
# random effects and level-1 covariances (for their posterior means) and the
# accepted Metropolis-Hastings moves of each step (ACCEPTANCE_STEPS order).
# A new tally is started for every phase (burn-in, draws after burn-in).
Tally = namedtuple(
    "Tally",
    [
        "u_sum",  # (J, p, q)
        "cov_sum",  # (g, p, p)
        "accepted",  # (6,) int64
    ],
)
ACCEPTANCE_STEPS = (
    "omega latent cross-covariances",
    "sigma latent cross-covariances",
    "a",
    "analysis-model covariates",
    "analysis-model coefficients",
    "analysis-model random effects",
)

Trace = namedtuple(
    "Trace", ["beta", "cov", "sigma", "beta2", "a", "u_mean", "theta", "sigma2", "psi"]
)


def empty_trace(model_dims):
    """A trace that records nothing."""
    return new_trace(0, model_dims)


def new_trace(n, model_dims):
    """A trace with room for ``n`` iterations (``u_mean``: the random effects
    averaged over clusters, a summary of the random effects)."""
    m, p, d, m2, p2, k, kz = model_dims
    return Trace(
        np.empty((n, m, p)),
        np.empty((n, p, p)),
        np.empty((n, d, d)),
        np.empty((n, m2, p2)),
        np.empty(n),
        np.empty((n, d - p2)),
        np.empty((n, k)),
        np.empty(n),
        np.empty((n, kz, kz)),
    )


def fixed_blocks(n_free, cat_size):
    """Block boundaries of the latent part of a covariance matrix."""
    return np.concatenate([[n_free], n_free + np.cumsum(cat_size)]).astype(np.int64)


def constrained_identity(p, n_free, cat_size):
    """Identity with every latent diagonal block set to ``C_K`` (doc/sampler.rst, "Identifiability: fixed latent blocks")."""
    cov = np.eye(p)
    ptr = fixed_blocks(n_free, cat_size)
    for start, stop in zip(ptr[:-1], ptr[1:]):
        cov[start:stop, start:stop] = 0.5 + 0.5 * np.eye(stop - start)
    return cov


def _empty_int(*shape):
    return np.zeros(shape, dtype=np.int64)


def build_model(
    x,
    values,
    missing,
    codes,
    cat_start,
    cat_size,
    prior_df,
    prior_scale,
    z=None,
    cluster=None,
    n_clusters=1,
    cov_method=0,
    a_prior=None,
    x2=None,
    values2=None,
    missing2=None,
    codes2=None,
    cat2_start=None,
    cat2_size=None,
    prior2_df=None,
    prior2_scale=None,
    mh_scale=2.0,
    latent_bounds=None,
    fit=True,
    analysis=None,
):
    """Assemble a ``Model`` from encoded arrays.

    Parameters
    ----------
    x : ndarray (n, m)
        Fixed-effect design (intercept first).
    values, missing, codes : ndarray
        Level-1 outcomes (NaN where missing or latent), missing mask, observed
        categories (see :meth:`skjomo._schema.Schema.encode_outcomes`).
    cat_start, cat_size : ndarray of int64
        Latent layout of the level-1 categorical columns.
    prior_df, prior_scale : float, ndarray
        Inverse-Wishart prior of the level-1 covariance.
    z : ndarray (n, q), optional
        Random-effect design; ``None`` for a single-level model.
    cluster : ndarray of int64 (n,), optional
        Cluster index ``0..n_clusters-1`` of each row.
    cov_method : {0, 1, 2}
        Level-1 covariance: common (0), one per cluster with its own
        inverse-Wishart prior (1, "fixed"), or one per cluster drawn from
        ``IW(a, A)`` with ``a`` and ``A`` sampled (2, "random"; the prior
        scale is then the scale of the Wishart prior of ``A``).
    a_prior : float, optional
        Degrees of freedom of the chi-square prior of ``a`` (default ``p``).
    x2, values2, missing2, codes2, cat2_start, cat2_size : ndarray, optional
        Level-2 design and outcomes (one row per cluster), as for level 1.
    prior2_df, prior2_scale : float, ndarray, optional
        Inverse-Wishart prior of the level-2 covariance ``Sigma``.
    latent_bounds : tuple of float, optional
        Bounds on the latents of observed categories (default none).
    fit : bool
        ``False`` when imputing new rows for fixed parameters: the designs
        need not have full rank and no Cholesky factor of them is formed.
    analysis : dict, optional
        Arrays of an analysis model for compatible imputation (keyword
        arguments of :func:`._smc.build_analysis_model`); ``None``: none.
    """
    n, p = values.shape
    m = x.shape[1]
    z = np.zeros((n, 0)) if z is None else np.asarray(z, dtype=np.float64)
    q = z.shape[1]
    cluster = np.zeros(n, dtype=np.int64) if cluster is None else np.asarray(cluster, np.int64)
    n_clusters = int(n_clusters)
    w = np.column_stack([x, z])
    dynamic = np.flatnonzero(
        missing.any(axis=1) | np.isnan(values).any(axis=1) | (codes.shape[1] > 0)
    )
    static_values = values.copy()
    static_values[dynamic] = np.nan
    gram, static_h, static_k = static_statistics(w, static_values, cluster, n_clusters)
    cov_group = np.arange(n_clusters) if cov_method else np.zeros(n_clusters, np.int64)
    row_group = cov_group[cluster[dynamic]]
    group_size = np.bincount(cov_group[cluster], minlength=cov_group.max() + 1).astype(float)
    design_chol = np.linalg.cholesky(x.T @ x) if fit else np.eye(m)
    n_free = p - int(np.sum(cat_size))

    # level 2: v_j = (u_j, y2_j) with d = p q + p2 columns
    pq = p * q
    if values2 is None:
        values2 = np.zeros((n_clusters, 0))
        missing2 = np.zeros((n_clusters, 0), bool)
        codes2 = _empty_int(n_clusters, 0)
        cat2_start, cat2_size = _empty_int(0), _empty_int(0)
        x2 = np.ones((n_clusters, 1))
    p2 = values2.shape[1]
    d = pq + p2
    x2 = np.asarray(x2, dtype=np.float64)
    x2_chol = np.linalg.cholesky(x2.T @ x2) if fit and p2 > 0 else np.eye(x2.shape[1])
    miss2 = np.zeros((n_clusters, d), bool)
    miss2[:, pq:] = missing2
    n_free2 = d - int(np.sum(cat2_size))
    if prior2_df is None:
        prior2_df, prior2_scale = float(d), np.eye(d)

    cluster_rows, cluster_ptr = rows_by_cluster(cluster[dynamic], n_clusters)
    miss_rows, miss_ptr, miss_cov, miss_mask = missingness_groups(
        missing[dynamic], row_group.astype(np.int64)
    )
    miss2_rows, miss2_ptr, miss2_cov, miss2_mask = missingness_groups(
        miss2, np.zeros(n_clusters, np.int64)
    )
    model = Model(
        x=np.ascontiguousarray(x[dynamic], dtype=np.float64),
        z=np.ascontiguousarray(z[dynamic]),
        w=np.ascontiguousarray(w[dynamic]),
        cluster=cluster[dynamic],
        cluster_rows=cluster_rows,
        cluster_ptr=cluster_ptr,
        codes=np.ascontiguousarray(codes[dynamic]),
        cat_start=np.asarray(cat_start, np.int64),
        cat_size=np.asarray(cat_size, np.int64),
        row_group=row_group.astype(np.int64),
        miss_rows=miss_rows,
        miss_ptr=miss_ptr,
        miss_cov=miss_cov,
        miss_mask=miss_mask,
        gram=gram,
        static_h=static_h,
        static_k=static_k,
        cov_group=cov_group.astype(np.int64),
        group_size=group_size,
        design_chol=design_chol,
        prior_df=float(prior_df),
        prior_scale=np.asarray(prior_scale, dtype=np.float64),
        n_free=n_free,
        block_ptr=fixed_blocks(n_free, cat_size),
        x2=x2,
        x2_chol=x2_chol,
        codes2=np.asarray(codes2, np.int64),
        cat2_start=np.asarray(cat2_start, np.int64) + pq,
        cat2_size=np.asarray(cat2_size, np.int64),
        miss2_rows=miss2_rows,
        miss2_ptr=miss2_ptr,
        miss2_cov=miss2_cov,
        miss2_mask=miss2_mask,
        prior2_df=float(prior2_df),
        prior2_scale=np.asarray(prior2_scale, dtype=np.float64),
        n_free2=n_free2,
        block2_ptr=fixed_blocks(n_free2, cat2_size),
        n_clusters2=np.array([float(n_clusters)]),
        mh_scale=float(mh_scale),
        latent_box=np.array(
            (-np.inf, np.inf) if latent_bounds is None else latent_bounds, dtype=np.float64
        ),
        cov_method=int(cov_method),
        a_prior=float(p if a_prior is None else a_prior),
        latent_scale_moves=True,
        multilevel=bool(q > 0 or p2 > 0 or cov_method),
        analysis=build_analysis_model(
            dynamic,
            missing,
            cat_start,
            cat_size,
            **(analysis or {}),
            level2_layout=(miss2, np.asarray(cat2_start, np.int64) + pq, cat2_size, pq),
        ),
    )
    return writable_arrays(model), dynamic  # one numba type per kind of model


def dimensions(model):
    """(m, p, d, m2, p2, k, kz) of a model (k: analysis-model parameters,
    kz: its random effects per cluster)."""
    m = model.x.shape[1]
    p = model.static_k.shape[1]
    d = model.prior2_scale.shape[0]
    m2 = model.x2.shape[1]
    p2 = d - p * model.z.shape[1]
    k = n_parameters(model.analysis)
    return m, p, d, m2, p2, k, model.analysis.random_effects.re_index.shape[0]


def initial_state(
    model,
    values,
    values2=None,
    beta=None,
    cov=None,
    u=None,
    sigma=None,
    beta2=None,
    a=None,
    hyper_scale=None,
    theta=None,
    sigma2=None,
    analysis_effects=None,
    analysis_psi=None,
    baseline=None,
):
    """Starting state (doc/sampler.rst, "Starting values").

    ``values`` are the dynamic rows' outcomes (NaN where missing or latent).
    Missing continuous cells start at the column mean of the observed values,
    missing latents at 0, observed latents inside their category's region;
    fixed and random effects start at 0 and covariances at the identity with
    the fixed ``C_K`` blocks, unless given.
    """
    m, p, d, m2, p2, _, _ = dimensions(model)
    n_clusters, q = model.gram.shape[0], model.z.shape[1]
    g = model.group_size.shape[0]
    filled = _start_values(values, model.n_free, model.cat_start, model.cat_size, model.codes)
    beta = np.zeros((m, p)) if beta is None else np.array(beta, dtype=np.float64)
    u = np.zeros((n_clusters, p, q)) if u is None else np.array(u, dtype=np.float64)
    covs = _constrained_start(cov, g, p, model.block_ptr)
    level2 = np.zeros((n_clusters, d))
    level2[:, : p * q] = u.reshape(n_clusters, p * q)
    if p2 > 0:
        level2[:, p * q :] = _start_values(
            values2, model.n_free2 - p * q, model.cat2_start - p * q, model.cat2_size, model.codes2
        )
    beta2 = np.zeros((m2, p2)) if beta2 is None else np.array(beta2, dtype=np.float64)
    means2 = np.zeros((n_clusters, d))
    means2[:, p * q :] = model.x2 @ beta2
    sigmas = _constrained_start(sigma, 1, d, model.block2_ptr)
    state = State(
        values=filled,
        means=np.empty_like(filled),
        h=np.empty_like(model.static_h),
        k=np.empty_like(model.static_k),
        beta=beta,
        u=u,
        cov=covs,
        cov_chol=np.empty_like(covs),
        precision=np.empty_like(covs),
        scatter=np.empty_like(covs),
        level2=level2,
        means2=means2,
        beta2=beta2,
        sigma=sigmas,
        sigma_chol=np.empty_like(sigmas),
        sigma_precision=np.empty_like(sigmas),
        scatter2=np.empty_like(sigmas),
        cross=np.empty((m, p)),
        cross2=np.empty((m2, p2)),
        shift=np.zeros((n_clusters, p * q)),
        prior_precision=np.empty((p * q, p * q)),
        a=np.array([p + 50.0 if a is None else float(a)]),
        hyper_scale=(
            np.array(model.prior_scale, dtype=np.float64)
            if hyper_scale is None
            else np.array(hyper_scale, dtype=np.float64)
        ),
        analysis=initial_analysis_state(
            model.analysis,
            filled,
            theta,
            sigma2,
            baseline,
            n_clusters,
            analysis_effects,
            analysis_psi,
            level2,
        ),
    )
    refresh_factors(state.cov, state.cov_chol, state.precision)
    refresh_factors(state.sigma, state.sigma_chol, state.sigma_precision)
    row_means(model.x, model.z, model.cluster, state.beta, state.u, state.means)
    return state


def new_tally(state):
    """An empty :data:`Tally` for the dimensions of ``state``."""
    return Tally(
        np.zeros_like(state.u), np.zeros_like(state.cov), np.zeros(len(ACCEPTANCE_STEPS), np.int64)
    )


def _start_values(values, n_free, cat_start, cat_size, codes):
    filled = np.array(values, dtype=np.float64)
    for t in range(filled.shape[1]):
        column = filled[:, t]
        observed = ~np.isnan(column)
        column[~observed] = column[observed].mean() if t < n_free and observed.any() else 0.0
    start_observed_latents(
        filled, np.asarray(cat_start, np.int64), np.asarray(cat_size, np.int64), codes
    )
    return filled


def _constrained_start(cov, g, p, block_ptr):
    n_free = int(block_ptr[0])
    sizes = np.diff(block_ptr)
    fixed = constrained_identity(p, n_free, sizes)
    if cov is None:
        return np.repeat(fixed[None], g, axis=0)
    covs = np.array(cov, dtype=np.float64)
    if covs.ndim == 2:
        covs = np.repeat(covs[None], g, axis=0)
    for start, stop in zip(block_ptr[:-1], block_ptr[1:]):
        covs[:, start:stop, start:stop] = fixed[start:stop, start:stop]
    return covs


@kernel(inline=True)
def _copy_into(out, values):
    """``out[...] = values`` for C-contiguous arrays of the same shape.

    An element loop: numba's slice assignment from an array links a
    string-formatting shape-mismatch error into every kernel that uses it
    (about 0.2 s of compile per kernel, ``benchmarks/bench_compile.py``).
    """
    flat_out, flat_values = out.ravel(), values.ravel()
    for c in range(flat_out.shape[0]):
        flat_out[c] = flat_values[c]


@kernel(inline=True)
def _add_into(out, values):
    """``out[...] += values`` for C-contiguous arrays of the same shape (see
    :func:`_copy_into`)."""
    flat_out, flat_values = out.ravel(), values.ravel()
    for c in range(flat_out.shape[0]):
        flat_out[c] += flat_values[c]


@kernel(inline=True)
def _level2_regression(rng, model, state):
    """Level-2 fixed effects from their exact full conditional (given u).

    With ``Q = Sigma^{-1}`` partitioned into random effects (1) and level-2
    residuals (2): ``eps2_j | u_j ~ N(-Q22^{-1} Q21 u_j, Q22^{-1})``, so
    ``y2_j + Q22^{-1} Q21 u_j = B2'x2_j + eta_j`` with ``eta_j ~ N(0, Q22^{-1})``
    and a flat prior gives a matrix-normal draw (doc/sampler.rst, "Level-2 fixed effects").
    """
    pq = state.u.shape[1] * state.u.shape[2]
    d = state.level2.shape[1]
    p2 = d - pq
    q_all = state.sigma_precision[0]
    q22 = np.ascontiguousarray(q_all[pq:, pq:])
    chol22 = np.empty((p2, p2))
    cond_cov = np.empty((p2, p2))
    cholesky_lower(q22, chol22)
    inverse_from_cholesky(chol22, cond_cov)
    reg = cond_cov @ np.ascontiguousarray(q_all[pq:, :pq])  # Q22^{-1} Q21
    response = np.empty((state.level2.shape[0], p2))
    for j in range(state.level2.shape[0]):
        for t in range(p2):
            s = state.level2[j, pq + t]
            for c in range(pq):
                s += reg[t, c] * state.level2[j, c]
            response[j, t] = s
    _copy_into(state.cross2, model.x2.T @ response)
    cholesky_lower(cond_cov, chol22)
    draw_fixed_effects(rng, model.x2_chol, state.cross2, chol22, state.beta2)
    fitted = model.x2 @ state.beta2
    for j in range(fitted.shape[0]):
        for t in range(p2):
            state.means2[j, pq + t] = fitted[j, t]


@kernel(inline=True)
def _random_effect_prior(state):
    """Prior of ``u_j`` given the level-2 residuals (doc/sampler.rst, "Random effects").

    Precision ``Q11`` and precision-times-mean ``-Q12 eps2_j``; without
    level-2 outcomes this is ``Sigma_u^{-1}`` and 0.
    """
    pq = state.prior_precision.shape[0]
    q_all = state.sigma_precision[0]
    for a in range(pq):
        for c in range(pq):
            state.prior_precision[a, c] = q_all[a, c]
    d = state.level2.shape[1]
    for j in range(state.level2.shape[0]):
        for a in range(pq):
            s = 0.0
            for c in range(pq, d):
                s -= q_all[a, c] * (state.level2[j, c] - state.means2[j, c])
            state.shift[j, a] = s


@kernel(inline=True)
def _draw_latents(rng, model, state, multilevel):
    """Latents of observed categories at level 1, then at level 2 (doc/sampler.rst, "Latents of observed categories").

    Level 1 is drawn without a test here (``draw_observed_latents`` returns
    at once without categorical columns): an inlined kernel whose body
    branches around a call keeps a reference count on every array of the
    namedtuples it takes (about 0.3 microseconds per call for ``Model`` and
    ``State``), one with straight-line code does not (see
    doc/benchmarks.rst, "Fourth round: reference counts in the iteration").
    """
    draw_observed_latents(
        rng,
        state.values,
        state.means,
        state.precision,
        model.row_group,
        model.cat_start,
        model.cat_size,
        model.codes,
        model.latent_box,
    )
    if multilevel is not None and multilevel and model.cat2_start.shape[0] > 0:
        draw_observed_latents(
            rng,
            state.level2,
            state.means2,
            state.sigma_precision,
            np.zeros(state.level2.shape[0], np.int64),
            model.cat2_start,
            model.cat2_size,
            model.codes2,
            model.latent_box,
        )


@kernel(inline=True)
def _draw_level2_missing(rng, model, state, multilevel, analysis):
    """Missing level-2 values given everything else: exact conditional draws,
    or with analysis variables at level 2 the compatible Metropolis-Hastings
    step (returns its accepted moves)."""
    if analysis is not None and analysis.family > 0 and analysis.level2.unit_cluster.shape[0] > 0:
        return draw_level2_covariates(
            rng, analysis, state.analysis, state.level2, state.means2, state.sigma_precision[0]
        )
    if multilevel is not None and multilevel and model.miss2_rows.shape[0] > 0:
        draw_missing(
            rng,
            state.level2,
            state.means2,
            state.sigma_precision,
            model.miss2_rows,
            model.miss2_ptr,
            model.miss2_cov,
            model.miss2_mask,
        )
    return 0


@kernel(inline=True)
def _copy_random_effects(state):
    """``v_j[:pq] = vec(U_j)``, outcome-major as in the level-2 vector."""
    n_clusters, p, q = state.u.shape
    for j in range(n_clusters):
        for t in range(p):
            for k in range(q):
                state.level2[j, t * q + k] = state.u[j, t, k]


def _model_kind(model):
    """``(multilevel, analysis)``: the arguments that select which steps a
    kernel compiles (see :func:`_run_chain`).

    By default each kind of model gets a chain with only its steps. With
    ``SKJOMO_KERNELS=shared`` (:func:`._jit.shared_kernels`) every model
    except the plain single-level joint model runs one chain compiled with
    every step, which then tests at run time whether the model has levels
    (``multilevel`` a bool) and an analysis model (``analysis.family > 0``):
    the same draws, one compilation instead of three.
    """
    analysis = model.analysis if model.analysis.family > 0 else None
    if shared_kernels() and (model.multilevel or analysis is not None):
        return model.multilevel, model.analysis
    return (True if model.multilevel else None), analysis


@kernel(inline=True)
def _draw_level1_missing(rng, model, state, analysis, parallel):
    """Missing level-1 cells: exact conditional draws, or with an analysis
    model the compatible Metropolis-Hastings steps and the missing outcomes
    (returns their accepted moves)."""
    if analysis is None or analysis.family == 0:
        _draw_joint_missing(rng, model, state, parallel)
        return 0
    return _draw_compatible_missing(rng, model, state, analysis)


@kernel(inline=True)
def _draw_joint_missing(rng, model, state, parallel):
    """Missing level-1 cells from their exact conditionals (straight-line
    glue, see :func:`_draw_latents`)."""
    draw_missing_with(
        parallel,
        rng,
        state.values,
        state.means,
        state.precision,
        model.miss_rows,
        model.miss_ptr,
        model.miss_cov,
        model.miss_mask,
    )


@kernel(inline=True)
def _draw_compatible_missing(rng, model, state, analysis):
    """Missing level-1 cells and outcomes of compatible imputation (straight-line
    glue, see :func:`_draw_latents`); returns the accepted covariate moves."""
    return draw_analysis_missing(
        rng,
        analysis,
        state.analysis,
        state.values,
        state.means,
        state.precision,
        model.row_group,
        model.cat_start,
        model.cat_size,
    )


def run_chain(rng, model, state, tally, n_iter, trace, trace_start, n_threads=1):
    """Run ``n_iter`` iterations, recording parameters if ``trace`` has rows.

    Iteration ``it`` is stored at ``trace_start + it``. The recorded level-1
    covariance is the mean over covariance groups. Every iteration adds its
    random effects and covariances to ``tally``. With ``n_threads > 1`` the
    per-cluster and per-row steps run on that many threads, with the same
    result (:mod:`._threads`).
    """
    with chain_threads(n_threads) as parallel:
        _run_chain(
            rng, model, state, tally, n_iter, trace, trace_start, *_model_kind(model), parallel
        )


@kernel
def _run_chain(
    rng, model, state, tally, n_iter, trace, trace_start, multilevel, analysis, parallel
):
    """:func:`run_chain` for one kind of model: ``n_iter`` systematic-scan
    Gibbs iterations (doc/sampler.rst, "One iteration"); accepted
    Metropolis-Hastings moves are counted in ``tally.accepted``.

    ``multilevel`` is ``None`` for a single-level model with a common
    covariance, and ``analysis`` is ``None`` without an analysis model
    (compatible imputation); in the chain shared by every kind of model
    they are ``False`` and an analysis model of family 0 (:func:`_model_kind`).
    ``parallel`` is ``None`` for the serial kernels, ``True`` for the
    threaded ones (:mod:`._threads`).
    Numba removes the branches on ``is None`` before typing them, so a model
    compiles only the steps it uses (a single-level joint model: neither the
    random-effect, level-2 and cluster-covariance steps, the
    hyper-parameters of the "random" method, nor the analysis-model steps).

    The iteration is written out in the loop, not in an inlined function:
    numba passes ``model`` and ``state`` to an inlined function as copies,
    and a copy in a body that branches around calls costs a reference count
    on each of their hundred-odd arrays, every iteration; the glue called
    here is straight-line for the same reason (:func:`_draw_latents`).
    """
    record = trace.beta.shape[0] > 0
    q = state.u.shape[2]
    for it in range(n_iter):
        _draw_latents(rng, model, state, multilevel)
        if multilevel is not None and multilevel:
            if (
                model.latent_scale_moves
                and model.cat_start.shape[0] + model.cat2_start.shape[0] > 0
            ):
                rescale_categorical_latents(rng, model, state, multilevel)
        refresh_statistics_with(parallel, model, state)
        # single level: the scale moves take the rows' terms from H and K and
        # rescale them with the latents (doc/sampler.rst); the shared chain
        # has them in a branch of its own (with the test "is None or not
        # multilevel" the per-kind chain of jsp_single_mix took about 20
        # microseconds more per iteration, measured)
        if multilevel is None:
            if model.latent_scale_moves and model.cat_start.shape[0] > 0:
                rescale_single_level(rng, model, state)
        elif not multilevel:
            if model.latent_scale_moves and model.cat_start.shape[0] > 0:
                rescale_single_level(rng, model, state)
        if multilevel is None or not multilevel or model.cov_method == 0:
            fixed_effect_response(model.gram, state.h, state.u, state.cross)
            draw_fixed_effects(rng, model.design_chol, state.cross, state.cov_chol[0], state.beta)
        else:
            draw_fixed_effects_heteroscedastic(
                rng, model.gram, state.h, state.u, state.precision, model.cov_group, state.beta
            )
        if multilevel is not None and multilevel:
            if state.level2.shape[1] > state.u.shape[1] * q:
                _level2_regression(rng, model, state)
            if q > 0:
                _random_effect_prior(state)
                draw_random_effects_with(
                    parallel,
                    rng,
                    model.gram,
                    state.h,
                    state.beta,
                    state.shift,
                    state.prior_precision,
                    state.precision,
                    model.cov_group,
                    np.ones(state.u.shape[0], np.bool_),
                    state.u,
                )
                interweave_intercepts(rng, state.shift, state.prior_precision, state.beta, state.u)
                _copy_random_effects(state)
                row_scatter(state.level2, state.means2, state.scatter2)
                tally.accepted[1] += draw_group_covariances(
                    rng,
                    state.scatter2,
                    model.n_clusters2,
                    model.prior2_df,
                    model.prior2_scale,
                    model.prior2_df,
                    model.prior2_scale,
                    model.n_free2,
                    model.block2_ptr,
                    model.mh_scale,
                    state.sigma,
                    state.sigma_chol,
                    state.sigma_precision,
                )
        residual_scatter_with(
            parallel,
            model.gram,
            state.h,
            state.k,
            state.beta,
            state.u,
            model.cov_group,
            state.scatter,
        )
        prior_df, prior_scale = model.prior_df, model.prior_scale
        if multilevel is not None and multilevel and model.cov_method == 2:
            a_before = state.a[0]
            draw_covariance_hyperparameters(
                rng,
                state.cov,
                state.cov_chol,
                state.precision,
                model.prior_scale,
                model.a_prior,
                model.n_free,
                state.a,
                state.hyper_scale,
            )
            prior_df, prior_scale = state.a[0], state.hyper_scale
            if state.a[0] != a_before:
                tally.accepted[2] += 1
        # "random": the covariances between latents of different categorical
        # columns keep the prior of the "fixed" method (doc/model.rst)
        tally.accepted[0] += draw_group_covariances(
            rng,
            state.scatter,
            model.group_size,
            prior_df,
            prior_scale,
            model.prior_df,
            model.prior_scale,
            model.n_free,
            model.block_ptr,
            model.mh_scale,
            state.cov,
            state.cov_chol,
            state.precision,
        )
        row_means_with(parallel, model.x, model.z, model.cluster, state.beta, state.u, state.means)
        if analysis is not None and analysis.family > 0:  # compatible imputation (doc/smc.rst)
            draw_analysis_parameters(
                rng, analysis, state.analysis, state.values, tally.accepted[4:]
            )
        # the tests of _draw_level1_missing and _draw_level2_missing made here:
        # the glue it calls is straight-line (see _draw_latents)
        if analysis is None or analysis.family == 0:
            _draw_joint_missing(rng, model, state, parallel)
        else:
            tally.accepted[3] += _draw_compatible_missing(rng, model, state, analysis)
        if multilevel is not None and multilevel:
            tally.accepted[3] += _draw_level2_missing(rng, model, state, multilevel, analysis)
        _add_into(tally.u_sum, state.u)
        _add_into(tally.cov_sum, state.cov)
        if record:
            _record(
                trace,
                trace_start + it,
                state.beta,
                state.cov,
                state.sigma,
                state.beta2,
                state.a,
                state.analysis.theta,
                state.analysis.sigma2,
                state.analysis.random.psi,
                state.u,
            )


@kernel(internal=True)
def _record(trace, k, beta, cov, sigma, beta2, a, theta, sigma2, psi, u):
    """Store the parameters of the state as iteration ``k`` of ``trace``
    (a kernel of its own: the chain's entry point, into which everything
    else is inlined, compiles superlinearly in its size; it takes the
    state's arrays, not the state, whose hundred-odd arrays made this small
    kernel compile in about a second)."""
    n_groups = cov.shape[0]
    _copy_into(trace.beta[k], beta)
    _copy_into(trace.cov[k], cov[0])
    for g in range(1, n_groups):
        _add_into(trace.cov[k], cov[g])
    if n_groups > 1:
        mean_cov = trace.cov[k].ravel()
        for c in range(mean_cov.shape[0]):
            mean_cov[c] /= n_groups
    _copy_into(trace.sigma[k], sigma[0])
    _copy_into(trace.beta2[k], beta2)
    trace.a[k] = a[0]
    _copy_into(trace.theta[k], theta)
    trace.sigma2[k] = sigma2[0]
    _copy_into(trace.psi[k], psi)
    n_clusters, p, q = u.shape
    for c in range(trace.u_mean.shape[1]):
        trace.u_mean[k, c] = 0.0
    for j in range(n_clusters):
        for t in range(p):
            for c in range(q):
                trace.u_mean[k, t * q + c] += u[j, t, c] / n_clusters


def impute_given_parameters(rng, model, state, n_sweeps, new_clusters, n_threads=1):
    """Latents, missing cells and new clusters' random effects for fixed
    parameters (used by transform on rows not seen in fit).

    Each sweep updates the latents of observed categories (both levels), the
    random effects of the clusters flagged in ``new_clusters`` (from their
    full conditional given their rows and level-2 values), then the missing
    cells of both levels; a few sweeps let the latents settle. ``n_threads``:
    as in :func:`run_chain`.
    """
    with compile_notice(), chain_threads(n_threads) as parallel:
        _impute_given_parameters(
            rng, model, state, n_sweeps, new_clusters, *_model_kind(model), parallel
        )


@kernel
def _impute_given_parameters(
    rng, model, state, n_sweeps, new_clusters, multilevel, analysis, parallel
):
    """:func:`impute_given_parameters`, compiled for one kind of model (see
    :func:`_run_chain`)."""
    update_u = False
    if multilevel is not None and multilevel:
        update_u = state.u.shape[2] > 0 and np.any(new_clusters)
    for _ in range(n_sweeps):
        _draw_latents(rng, model, state, multilevel)
        if multilevel is not None and update_u:
            refresh_statistics_with(parallel, model, state)
            _random_effect_prior(state)
            draw_random_effects_with(
                parallel,
                rng,
                model.gram,
                state.h,
                state.beta,
                state.shift,
                state.prior_precision,
                state.precision,
                model.cov_group,
                new_clusters,
                state.u,
            )
            _copy_random_effects(state)
            row_means_with(
                parallel, model.x, model.z, model.cluster, state.beta, state.u, state.means
            )
        if analysis is not None and analysis.family > 0:
            sync_analysis(analysis, state.analysis, state.values)
            if analysis.random_effects.re_index.shape[0] > 0 and np.any(new_clusters):
                ast = state.analysis
                new_cluster_effects(
                    rng,
                    analysis.family,
                    analysis.random_effects,
                    ast.random,
                    ast.w,
                    ast.y,
                    ast.theta,
                    ast.sigma2[0],
                    new_clusters,
                )
                refresh_predictor(analysis, ast)
        _draw_level1_missing(rng, model, state, analysis, parallel)
        _draw_level2_missing(rng, model, state, multilevel, analysis)
