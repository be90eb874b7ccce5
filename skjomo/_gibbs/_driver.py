"""Running the sampler: starts, phases, parallel chains and stored draws.

Everything that touches the layout of the chain ``State`` lives here and in
``_chain``; the estimators call :func:`fit_chains`, :func:`continue_chains`
and :func:`impute_new_rows` and read the :class:`ChainRun` they return.

A chain runs a burn-in phase, then ``n_segments`` segments of ``n_between``
iterations; the end of every segment is one imputation (the completed
incomplete rows and the parameters). Chains run in parallel through joblib,
in its active backend (processes, threads or a dask cluster:
doc/distributed.rst); a single chain runs in the calling process (where its
progress is shown). Imputation ``k`` comes from chain ``k % n_chains``,
segment ``k // n_chains``. Random streams are passed in by the caller, so
results do not depend on how many chains run at once, nor where.
"""

import warnings
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed

from ._chain import (
    ACCEPTANCE_STEPS,
    Trace,
    constrained_identity,
    dimensions,
    empty_trace,
    impute_given_parameters,
    initial_state,
    new_tally,
    new_trace,
    run_chain,
)
from ._covariance import refresh_factors
from ._regression import row_means
from ._smc import adapt_analysis_step, counted_proposals, sync_analysis
from ._wishart import split_constrained_inverse_wishart, work_space

# Sweeps of latents and missing values when new rows are imputed for stored
# parameters and some of them need to settle (latents of observed categories
# or random effects of new clusters start at their means); one sweep is exact
# otherwise.
TRANSFORM_SWEEPS = 20
# Metropolis sweeps over the latent cross-block covariances of a new
# cluster's covariance under cov_method="random" (drawn from their prior,
# started at zero).
NEW_CLUSTER_SWEEPS = 200
# Sweeps of the latent cross-block Metropolis step per Gibbs iteration
# (the value passed by draw_group_covariances).
_LATENT_BLOCK_SWEEPS = 3

# parameters stored at every imputation, and traced at every iteration
_STORED = ("beta", "cov", "u", "sigma", "beta2", "a", "hyper_scale", "theta", "sigma2")
_STORED += ("baseline",)  # Cox model: H0 at the training's event times
_STORED += ("analysis_effects", "analysis_psi")  # mixed models: b_j and Psi
TRACED = Trace._fields


@dataclass
class Starts:
    """Starting values given by the user (``None``: the default start).

    ``cov`` may hold one matrix or one per cluster; ``u`` has shape
    ``(n_clusters, p, q)``.
    """

    beta: object = None
    cov: object = None
    u: object = None
    sigma: object = None
    a: object = None


@dataclass
class ChainRun:
    """What a fit keeps of its chains.

    Attributes
    ----------
    imputed, imputed2 : ndarray
        Completed incomplete level-1 rows (m, n_rows, p) and level-2 values
        (m, n_clusters, p2) per imputation.
    imputed_outcome : ndarray
        Imputed missing outcomes of the analysis model (m, n_missing);
        ``n_missing = 0`` without one.
    draws : dict of ndarray
        Parameters at every imputation; the first axis indexes imputations.
    trace, burn_in_trace : dict of ndarray
        Every iteration after burn-in (and of the burn-in, when kept), per
        chain: arrays of shape (n_chains, n_iterations, ...).
    random_effects_mean, covariance_mean : ndarray
        Posterior means over the iterations after burn-in of all chains of
        the random effects (J, p, q) and level-1 covariances (g, p, p).
    acceptance : dict
        Acceptance rate of every Metropolis-Hastings step that proposed
        moves after burn-in.
    final_states, rngs : list
        Per chain, to continue it.
    """

    imputed: np.ndarray
    imputed2: np.ndarray
    imputed_outcome: np.ndarray
    draws: dict
    trace: dict
    burn_in_trace: dict
    random_effects_mean: np.ndarray
    covariance_mean: np.ndarray
    acceptance: dict
    final_states: list
    rngs: list

    @property
    def n_chains(self):
        return len(self.final_states)

    @property
    def n_draws(self):
        return self.draws["beta"].shape[0]


def segments_per_chain(n_imputations, n_chains):
    """Imputation segments each chain runs so that together they give at
    least ``n_imputations`` (all chains run equally long)."""
    return -(-n_imputations // n_chains)


def _interleave(per_chain):
    """Stack per-chain arrays so imputation ``k`` comes from chain
    ``k % n_chains``, segment ``k // n_chains``."""
    stacked = np.stack(per_chain, axis=1)  # (segments, chains, ...)
    return stacked.reshape((stacked.shape[0] * stacked.shape[1],) + stacked.shape[2:])


def _stored_parameters(state):
    return {
        "beta": state.beta.copy(),
        "cov": state.cov.copy(),
        "u": state.u.copy(),
        "sigma": state.sigma[0].copy(),
        "beta2": state.beta2.copy(),
        "a": state.a[0],
        "hyper_scale": state.hyper_scale.copy(),
        "theta": state.analysis.theta.copy(),
        "sigma2": state.analysis.sigma2[0],
        "analysis_effects": state.analysis.random.b.copy(),
        "analysis_psi": state.analysis.random.psi.copy(),
        "baseline": state.analysis.cox.baseline.copy(),
    }


def _copy_state(state):
    return type(state)(*(_copy_state(a) if isinstance(a, tuple) else np.copy(a) for a in state))


def _proposals_per_iteration(model, n_groups):
    """Metropolis-Hastings proposals of each step (ACCEPTANCE_STEPS) per iteration."""

    def cross_pairs(block_ptr):
        sizes = np.diff(block_ptr)
        return (sizes.sum() ** 2 - (sizes**2).sum()) // 2

    q = model.z.shape[1]
    return np.array(
        [
            n_groups * _LATENT_BLOCK_SWEEPS * cross_pairs(model.block_ptr),
            (q > 0) * _LATENT_BLOCK_SWEEPS * cross_pairs(model.block2_ptr),
            int(model.cov_method == 2),
            *counted_proposals(model.analysis),
        ]
    )


def _run_chains(model, states, rngs, phases, n_jobs, progress=None, n_threads=1):
    """:func:`_run_one_chain` for every chain: a single chain in this process
    (where ``progress`` is shown), several through joblib, in its active
    backend (processes, threads, a dask cluster); each chain runs on
    ``n_threads`` threads (:func:`run_chain`)."""
    if len(states) == 1:
        return [
            _run_one_chain(
                model, states[0], rngs[0], *phases, progress=progress, n_threads=n_threads
            )
        ]
    return Parallel(n_jobs=n_jobs)(
        delayed(_run_one_chain)(model, state, rng, *phases, n_threads=n_threads)
        for state, rng in zip(states, rngs)
    )


def _run_one_chain(
    model,
    state,
    rng,
    n_burn,
    n_between,
    n_segments,
    rows,
    clusters,
    keep_burn_in=False,
    progress=None,
    n_threads=1,
):
    """Burn in, then take ``n_segments`` snapshots ``n_between`` apart.

    ``rng`` may be a ``SeedSequence`` or a ``Generator`` (to continue a
    stream). A snapshot keeps the completed dynamic rows ``rows``, the
    level-2 values of ``clusters`` and the parameters.
    """
    rng = np.random.default_rng(rng)
    dims = dimensions(model)
    burn_trace = new_trace(n_burn, dims) if keep_burn_in else empty_trace(dims)
    burn_tally = new_tally(state)
    chunk = max(1, n_burn // 20)
    for start in range(0, n_burn, chunk):
        length = min(chunk, n_burn - start)
        run_chain(rng, model, state, burn_tally, length, burn_trace, start, n_threads)
        adapt_analysis_step(model.analysis, state.analysis)
        if progress is not None:
            progress(length)
    trace = new_trace(n_segments * n_between, dims)
    tally = new_tally(state)
    pq = state.u.shape[1] * state.u.shape[2]
    imputed, imputed2, outcome = [], [], []
    draws = {name: [] for name in _STORED}
    for k in range(n_segments):
        run_chain(rng, model, state, tally, n_between, trace, k * n_between, n_threads)
        if progress is not None:
            progress(n_between)
        imputed.append(state.values[rows])
        imputed2.append(state.level2[clusters, pq:])
        outcome.append(state.analysis.y[model.analysis.missing_rows])
        for name, value in _stored_parameters(state).items():
            draws[name].append(value)
    return {
        "imputed": np.stack(imputed),
        "imputed2": np.stack(imputed2),
        "outcome": np.stack(outcome),
        "draws": {name: np.stack(v) for name, v in draws.items()},
        "trace": trace,
        "burn_trace": burn_trace,
        "tally": tally,
        "state": state,
        "rng": rng,
    }


def _disperse(model, state, values, missing, seed):
    """Overdispersed start for chains after the first.

    Intercepts and missing continuous cells start at the observed mean plus
    ``2 sd`` times a standard normal draw; continuous variances at the
    observed variance times a log-normal factor. ``values`` and ``missing``
    are the dynamic rows' outcomes and missing cells.
    """
    rng = np.random.default_rng(seed)
    n_free = model.n_free
    observed = values[:, :n_free]
    with warnings.catch_warnings():  # a column with no observed cell: NaN, replaced below
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(observed, axis=0) if observed.size else np.zeros(n_free)
        sd = np.nanstd(observed, axis=0) if observed.size else np.ones(n_free)
    mean, sd = np.nan_to_num(mean), np.nan_to_num(sd, nan=1.0)
    sd[sd == 0] = 1.0
    state.beta[0, :n_free] = mean + 2 * sd * rng.standard_normal(n_free)
    state.beta[0, n_free:] = rng.standard_normal(state.beta.shape[1] - n_free)
    missing = missing[:, :n_free]
    noise = mean + 2 * sd * rng.standard_normal(missing.shape)
    state.values[:, :n_free][missing] = noise[missing]
    scale = sd * np.exp(0.5 * rng.standard_normal(n_free))
    for g in range(state.cov.shape[0]):
        state.cov[g, :n_free, :n_free] = np.diag(scale**2)
        state.cov[g, :n_free, n_free:] = 0.0
        state.cov[g, n_free:, :n_free] = 0.0
    refresh_factors(state.cov, state.cov_chol, state.precision)
    row_means(model.x, model.z, model.cluster, state.beta, state.u, state.means)
    if model.analysis.family:  # the analysis design of the dispersed cells
        sync_analysis(model.analysis, state.analysis, state.values)


def start_states(model, values, values2, missing, starts, dispersal_seeds):
    """Starting states of the chains.

    The first chain starts from ``starts`` (defaults where ``None``); chain
    ``c > 0`` from the same values dispersed with ``dispersal_seeds[c - 1]``.
    """
    states = []
    for chain in range(len(dispersal_seeds) + 1):
        state = initial_state(
            model,
            values,
            values2,
            beta=starts.beta,
            cov=starts.cov,
            u=starts.u,
            sigma=starts.sigma,
            a=starts.a,
        )
        if chain > 0:
            _disperse(model, state, values, missing, dispersal_seeds[chain - 1])
        states.append(state)
    return states


def check_warm_start(run, model, n_chains):
    """Final states and streams of ``run`` to continue on ``model``."""
    states = run.final_states
    if len(states) != n_chains:
        raise ValueError(
            f"warm_start needs the same n_chains as the previous fit "
            f"({len(states)}); got {n_chains}."
        )
    if (
        states[0].values.shape[0] != model.x.shape[0]
        or states[0].level2.shape[0] != model.gram.shape[0]
    ):
        raise ValueError("warm_start needs the same data as the previous fit.")
    return [_copy_state(s) for s in states], list(run.rngs)


def fit_chains(
    model,
    states,
    rngs,
    n_burn,
    n_between,
    n_segments,
    rows,
    clusters,
    keep_burn_in=False,
    progress=None,
    n_jobs=None,
    n_threads=1,
):
    """Run every chain and collect a :class:`ChainRun`.

    ``rows`` are the dynamic rows and ``clusters`` the clusters whose values
    are kept at every imputation; ``progress(n)`` is called as iterations
    complete (single chain only). Chains run in ``n_jobs`` jobs, each on
    ``n_threads`` threads.
    """
    n_chains = len(states)
    phases = (n_burn, n_between, n_segments, rows, clusters, keep_burn_in)
    results = _run_chains(model, states, rngs, phases, n_jobs, progress, n_threads)
    n_recorded = n_chains * n_segments * n_between
    accepted = sum(r["tally"].accepted for r in results)
    proposed = n_recorded * _proposals_per_iteration(model, states[0].cov.shape[0])
    return ChainRun(
        imputed=_interleave([r["imputed"] for r in results]),
        imputed2=_interleave([r["imputed2"] for r in results]),
        imputed_outcome=_interleave([r["outcome"] for r in results]),
        draws={name: _interleave([r["draws"][name] for r in results]) for name in _STORED},
        trace={name: np.stack([getattr(r["trace"], name) for r in results]) for name in TRACED},
        burn_in_trace={
            name: np.stack([getattr(r["burn_trace"], name) for r in results]) for name in TRACED
        },
        random_effects_mean=sum(r["tally"].u_sum for r in results) / n_recorded,
        covariance_mean=sum(r["tally"].cov_sum for r in results) / n_recorded,
        acceptance={
            step: float(accepted[k] / proposed[k])
            for k, step in enumerate(ACCEPTANCE_STEPS)
            if proposed[k] > 0
        },
        final_states=[r["state"] for r in results],
        rngs=[r["rng"] for r in results],
    )


def continue_chains(
    model, run, n_between, n_imputations, rows, clusters, seeds, n_jobs=None, n_threads=1
):
    """``n_imputations`` more imputations continuing every chain of ``run``
    (from copies of its final states, with the streams ``seeds``)."""
    segments = segments_per_chain(n_imputations, run.n_chains)
    states = [_copy_state(state) for state in run.final_states]
    phases = (0, n_between, segments, rows, clusters)
    extra = _run_chains(model, states, seeds, phases, n_jobs, n_threads=n_threads)
    return (
        _interleave([r["imputed"] for r in extra])[:n_imputations],
        _interleave([r["imputed2"] for r in extra])[:n_imputations],
        _interleave([r["outcome"] for r in extra])[:n_imputations],
    )


def _new_cluster_covariances(rng, model, draws, draw, n_new):
    """Covariances of clusters not seen in fit under cov_method="random":
    from the prior given the stored ``a`` and ``A`` (doc/model.rst): the
    latent cross-block covariances by a Metropolis run from zero on their own
    prior, the rest exactly from ``IW(a, A)``."""
    p = draws["cov"].shape[-1]
    start = constrained_identity(p, model.n_free, np.diff(model.block_ptr))
    new = np.repeat(start[None], n_new, axis=0)
    for matrix in new:
        split_constrained_inverse_wishart(
            rng,
            model.prior_df,
            model.prior_scale,
            float(draws["a"][draw]),
            draws["hyper_scale"][draw],
            model.n_free,
            model.block_ptr,
            matrix.copy(),
            matrix,
            model.mh_scale,
            NEW_CLUSTER_SWEEPS,
            work_space(p),
        )
    return new


def impute_new_rows(
    model,
    values,
    values2,
    missing,
    rows,
    clusters,
    draws,
    draw,
    rng,
    n_known_clusters,
    n_threads=1,
):
    """Impute the rows of a new frame for the parameters of stored draw ``draw``.

    Clusters ``>= n_known_clusters`` were not seen in fit: their random
    effects are drawn given their rows, and under cov_method "random" their
    covariance from ``IW(a, A)`` (under "fixed" they have none: an error).
    Returns the completed ``rows`` (dynamic rows), level-2 values of
    ``clusters`` and missing outcomes of the analysis model. ``n_threads``:
    as in :func:`run_chain`.
    """
    n_clusters = model.gram.shape[0]
    new_clusters = np.arange(n_clusters) >= n_known_clusters
    n_new = int(new_clusters.sum())
    known_u = draws["u"][draw]
    u = np.zeros((n_clusters,) + known_u.shape[1:])
    u[: known_u.shape[0]] = known_u
    cov = draws["cov"][draw]
    if model.cov_method and n_new:
        if model.cov_method == 1:
            raise ValueError(
                "The data have clusters not seen in fit. With cov_method='fixed' each "
                "cluster's covariance is estimated from its own rows only, so there is "
                "none for a new cluster; use cov_method='random', which draws it from "
                "the fitted inverse-Wishart distribution."
            )
        cov = np.concatenate([cov, _new_cluster_covariances(rng, model, draws, draw, n_new)])
    state = initial_state(
        model,
        values,
        values2,
        beta=draws["beta"][draw],
        cov=cov,
        u=u,
        sigma=draws["sigma"][draw],
        beta2=draws["beta2"][draw],
        theta=draws["theta"][draw],
        sigma2=draws["sigma2"][draw],
        analysis_effects=draws["analysis_effects"][draw],
        analysis_psi=draws["analysis_psi"][draw],
        baseline=draws["baseline"][draw] if model.analysis.cox.grid.size else None,
    )
    state.values[missing] = state.means[missing]
    needs_sweeps = model.cat_start.size or model.cat2_start.size or n_new or model.analysis.family
    n_sweeps = TRANSFORM_SWEEPS if needs_sweeps else 1
    impute_given_parameters(rng, model, state, n_sweeps, new_clusters, n_threads)
    pq = state.u.shape[1] * state.u.shape[2]
    return (
        state.values[rows],
        state.level2[clusters, pq:],
        state.analysis.y[model.analysis.missing_rows],
    )
