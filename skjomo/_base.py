"""Estimator plumbing shared by every imputer.

Input handling (DataFrame or array), seeding, running chains in parallel,
collecting imputations and parameter draws, and turning them back into
frames. The model-specific parts are supplied by the estimator classes
through two hooks: ``_encode`` (frame -> :class:`Encoded` arrays and the
sampler's ``Model``) and ``_decode`` (completed arrays -> frame).

Seeding: ``random_state`` gives one integer ``random_seed_``; every chain,
every extension of a chain and every transform draws from its own
``SeedSequence(random_seed_, spawn_key=...)``, so results do not depend on
``n_jobs``.
"""

from dataclasses import dataclass
import numbers

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ._checks import draw_seed, wrap_output
from ._gibbs._chain import (dimensions, empty_trace, impute_given_parameters,
                            initial_state, new_trace, run_chain)
from ._gibbs._covariance import refresh_factors
from ._gibbs._regression import row_means
from ._progress import progress as _progress

# Spawn keys of the seed sequence: chains, chain extensions, transform,
# dispersed starting values.
_CHAIN_KEY, _EXTEND_KEY, _TRANSFORM_KEY, _START_KEY = 0, 1, 2, 3
_PARAMETERS = ("beta", "cov", "u", "sigma", "beta2", "a", "hyper_scale")
_TRACED = ("beta", "cov", "sigma", "beta2", "a", "u_mean")


@dataclass
class Encoded:
    """Arrays of one frame for the sampler, and what decoding needs.

    Attributes
    ----------
    model : Model
        The sampler's model arrays (dynamic level-1 rows only).
    dynamic : ndarray of int
        Frame rows in the model's row-level arrays.
    values : ndarray (n_dynamic, p)
        Their outcomes (NaN where missing or latent), for the start state.
    values2 : ndarray (J, p2) or None
        Level-2 outcomes per cluster.
    missing : ndarray of bool (n, p)
        Missing level-1 cells of the frame (latent-expanded).
    missing2 : ndarray of bool (J, p2) or None
    cluster : ndarray of int (n,) or None
        Cluster index of each frame row.
    """

    model: object
    dynamic: np.ndarray
    values: np.ndarray
    missing: np.ndarray
    values2: np.ndarray = None
    missing2: np.ndarray = None
    cluster: np.ndarray = None

    @property
    def incomplete(self):
        """Positions (in the dynamic rows) of rows with missing cells."""
        return np.flatnonzero(self.missing[self.dynamic].any(axis=1))

    @property
    def incomplete2(self):
        """Clusters with missing level-2 cells."""
        if self.missing2 is None:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(self.missing2.any(axis=1))


def _check_positive_int(value, name, minimum=1):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def _segments_per_chain(n_imputations, n_chains):
    """Imputation segments each chain runs so that together they give at
    least ``n_imputations`` (all chains run equally long)."""
    return -(-n_imputations // n_chains)


def _interleave(per_chain):
    """Stack per-chain arrays so imputation ``k`` comes from chain
    ``k % n_chains``, segment ``k // n_chains``."""
    stacked = np.stack(per_chain, axis=1)  # (segments, chains, ...)
    return stacked.reshape((stacked.shape[0] * stacked.shape[1],) + stacked.shape[2:])


def _parameters(state):
    return {
        "beta": state.beta.copy(), "cov": state.cov.copy(), "u": state.u.copy(),
        "sigma": state.sigma[0].copy(), "beta2": state.beta2.copy(),
        "a": state.a[0], "hyper_scale": state.hyper_scale.copy(),
    }


def _run_one_chain(model, state, seed, n_burn, n_between, n_segments, rows, clusters,
                   keep_burn_in=False, progress=None):
    """Burn in, then take ``n_segments`` snapshots ``n_between`` apart.

    A snapshot keeps the completed dynamic rows ``rows``, the level-2
    values of ``clusters`` and the parameters. ``rng`` may be a
    ``SeedSequence`` or a ``Generator`` (to continue a stream).
    """
    rng = np.random.default_rng(seed)
    dims = dimensions(model)
    burn_trace = new_trace(n_burn, dims) if keep_burn_in else empty_trace(dims)
    chunk = max(1, n_burn // 20)
    for start in range(0, n_burn, chunk):
        length = min(chunk, n_burn - start)
        run_chain(rng, model, state, length, burn_trace, start)
        if progress is not None:
            progress(length)
    trace = new_trace(n_segments * n_between, dims)
    # posterior means of random effects and cluster covariances average the
    # draws after burn-in of this run only
    state.u_sum[:] = 0.0
    state.cov_sum[:] = 0.0
    pq = state.u.shape[1] * state.u.shape[2]
    imputed, imputed2 = [], []
    draws = {name: [] for name in _PARAMETERS}
    for k in range(n_segments):
        run_chain(rng, model, state, n_between, trace, k * n_between)
        if progress is not None:
            progress(n_between)
        imputed.append(state.values[rows])
        imputed2.append(state.level2[clusters, pq:])
        for name, value in _parameters(state).items():
            draws[name].append(value)
    return {
        "imputed": np.stack(imputed) if imputed else None,
        "imputed2": np.stack(imputed2) if imputed2 else None,
        "draws": {name: np.stack(v) for name, v in draws.items()},
        "trace": trace,
        "burn_trace": burn_trace,
        "state": state,
        "rng": rng,
    }


def _copy_state(state):
    return type(state)(*(np.copy(a) for a in state))


class BaseJointImputer(TransformerMixin, BaseEstimator):
    """Shared fit / transform / sample machinery of the skjomo imputers.

    Not meant to be used directly; see :class:`skjomo.JointModelImputer`.
    """

    # ------------------------------------------------------------- hooks
    def _encode(self, frame, fit):  # pragma: no cover - abstract
        """Validate ``frame`` and return its :class:`Encoded` arrays."""
        raise NotImplementedError

    def _decode(self, frame, encoded, completed, completed2):
        """Completed frame from level-1 rows and level-2 clusters."""
        return self.schema_.decode(frame, completed, encoded.missing)

    def _new_clusters(self, encoded):
        """Clusters of a new frame not seen in fit (their random effects are drawn)."""
        return np.zeros(encoded.model.gram.shape[0], dtype=bool)

    def _state_for_draw(self, encoded, draw, rng):
        """Chain state holding the parameters of stored draw ``draw``."""
        draws = self.parameter_draws_
        return initial_state(encoded.model, encoded.values, beta=draws["beta"][draw],
                             cov=draws["cov"][draw])

    # ------------------------------------------------------------- input
    def _input_frame(self, X, reset):
        """DataFrame view of the input and whether it came as an array."""
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=reset, skip_check_array=True)
            return X, False
        array = check_array(X, dtype="numeric", ensure_all_finite="allow-nan",
                            ensure_min_samples=1)
        validate_data(self, array, reset=reset, skip_check_array=True)
        return pd.DataFrame(array), True

    def _output(self, frame, array_input):
        if array_input:
            return frame.to_numpy(dtype=np.float64)
        return frame

    def _check_settings(self):
        n_burn = _check_positive_int(self.n_burn, "n_burn", minimum=0)
        n_between = _check_positive_int(self.n_between, "n_between")
        n_imputations = _check_positive_int(self.n_imputations, "n_imputations")
        n_chains = _check_positive_int(self.n_chains, "n_chains")
        return n_burn, n_between, n_imputations, n_chains

    def _seed(self, *key):
        return np.random.SeedSequence(self.random_seed_, spawn_key=key)

    # --------------------------------------------------------------- fit
    def fit(self, X, y=None):
        """Run the Gibbs sampler to stationarity and keep the draws.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            Data with missing values (NaN / None / pd.NA).
        y : None
            Ignored; present for scikit-learn compatibility.

        Returns
        -------
        self : object
            The fitted imputer.
        """
        n_burn, n_between, n_imputations, n_chains = self._check_settings()
        keep_burn_in = self._check_keep_chains()
        frame, array_input = self._input_frame(X, reset=not self._warm())
        warm = self._warm()
        encoded = self._encode(frame, fit=True)
        segments = _segments_per_chain(n_imputations, n_chains)
        if warm:
            starts, seeds = self._warm_starts(encoded, n_chains)
        else:
            self.random_seed_ = draw_seed(self.random_state)
            starts = [self._initial_state(encoded, chain) for chain in range(n_chains)]
            for chain in range(1, n_chains):
                self._disperse(starts[chain], encoded, self._seed(_START_KEY, chain))
            seeds = [self._seed(_CHAIN_KEY, c) for c in range(n_chains)]
        total = n_chains * (n_burn + n_between * segments)
        with _progress(self.verbose, total, self._describe()) as progress:
            results = Parallel(n_jobs=self.n_jobs if n_chains > 1 else None)(
                delayed(_run_one_chain)(encoded.model, starts[c], seeds[c], n_burn, n_between,
                                        segments, encoded.incomplete, encoded.incomplete2,
                                        keep_burn_in, progress if n_chains == 1 else None)
                for c in range(n_chains)
            )
            if n_chains > 1 and progress is not None:
                progress(total)
        self.n_iter_ = (self.n_iter_ if warm else 0) + n_burn + n_between * segments
        self.n_burn_kept_ = n_burn if keep_burn_in else 0
        self._encoded = encoded
        self._train_frame = frame.copy()
        self._train_array_input = array_input
        self._store_results(results)
        if self.verbose:
            print(f"{type(self).__name__}: {n_chains} chain(s), {self.n_iter_} iterations "
                  f"each, {n_imputations} imputations {n_between} iterations apart.")
        return self

    def _check_keep_chains(self):
        if self.keep_chains not in ("imputation", "all"):
            raise ValueError("keep_chains must be 'imputation' or 'all'; "
                             f"got {self.keep_chains!r}.")
        return self.keep_chains == "all"

    def _warm(self):
        return bool(self.warm_start) and hasattr(self, "_final_states")

    def _warm_starts(self, encoded, n_chains):
        """Continue every chain from its final state and random stream."""
        states = self._final_states
        if len(states) != n_chains:
            raise ValueError(f"warm_start needs the same n_chains as the previous fit "
                             f"({len(states)}); got {n_chains}.")
        if states[0].values.shape != encoded.values.shape or (
                states[0].level2.shape != (encoded.model.gram.shape[0],
                                           states[0].level2.shape[1])):
            raise ValueError("warm_start needs the same data as the previous fit.")
        return [_copy_state(s) for s in states], list(self._chain_rngs)

    def _disperse(self, state, encoded, seed):
        """Overdispersed start for chains after the first.

        Intercepts and missing continuous cells start at the observed mean
        plus ``2 sd`` times a standard normal draw; continuous variances at
        the observed variance times a log-normal factor.
        """
        rng = np.random.default_rng(seed)
        n_free = encoded.model.n_free
        values = encoded.values[:, :n_free]
        mean = np.nanmean(values, axis=0) if values.size else np.zeros(n_free)
        sd = np.nanstd(values, axis=0) if values.size else np.ones(n_free)
        mean, sd = np.nan_to_num(mean), np.nan_to_num(sd, nan=1.0)
        sd[sd == 0] = 1.0
        state.beta[0, :n_free] = mean + 2 * sd * rng.standard_normal(n_free)
        state.beta[0, n_free:] = rng.standard_normal(state.beta.shape[1] - n_free)
        missing = encoded.missing[encoded.dynamic][:, :n_free]
        noise = mean + 2 * sd * rng.standard_normal(missing.shape)
        state.values[:, :n_free][missing] = noise[missing]
        scale = sd * np.exp(0.5 * rng.standard_normal(n_free))
        for g in range(state.cov.shape[0]):
            state.cov[g, :n_free, :n_free] = np.diag(scale**2)
            state.cov[g, :n_free, n_free:] = 0.0
            state.cov[g, n_free:, :n_free] = 0.0
        refresh_factors(state.cov, state.cov_chol, state.precision)
        row_means(encoded.model.x, encoded.model.z, encoded.model.cluster, state.beta,
                  state.u, state.means)

    def _describe(self):
        return f"{type(self).__name__}"

    def _initial_state(self, encoded, chain):
        return initial_state(encoded.model, encoded.values, encoded.values2,
                             beta=self.beta_start, cov=self._start("cov", self.cov_start))

    def _start(self, name, given):
        """A given starting covariance, else the default prior scale (scale-free)."""
        return self._data_scales[name] if given is None else given

    def _store_results(self, results):
        self.imputed_values_ = _interleave([r["imputed"] for r in results])
        self.imputed_level2_ = _interleave([r["imputed2"] for r in results])
        self.parameter_draws_ = {
            name: _interleave([r["draws"][name] for r in results]) for name in _PARAMETERS
        }
        self.trace_ = {name: np.stack([getattr(r["trace"], name) for r in results])
                       for name in _TRACED}
        self.burn_in_trace_ = {name: np.stack([getattr(r["burn_trace"], name) for r in results])
                               for name in _TRACED}
        self._chain_rngs = [r["rng"] for r in results]
        self._final_states = [r["state"] for r in results]
        self._summarize_draws()

    def _summarize_draws(self):
        """Labelled posterior means (fitted attributes of each estimator)."""
        labels = self.schema_.latent_labels
        design = self.schema_.covariate_design_names
        self.beta_ = pd.DataFrame(self.trace_["beta"].mean(axis=(0, 1)),
                                  index=design, columns=labels)
        self.omega_ = pd.DataFrame(self.trace_["cov"].mean(axis=(0, 1)),
                                   index=labels, columns=labels)

    # ----------------------------------------------------------- outputs
    def _completed(self, frame, encoded, imputed, imputed2):
        completed = np.zeros(encoded.missing.shape)
        completed[encoded.dynamic[encoded.incomplete]] = imputed
        completed2 = None
        if encoded.missing2 is not None:
            completed2 = np.zeros(encoded.missing2.shape)
            completed2[encoded.incomplete2] = imputed2
        return self._decode(frame, encoded, completed, completed2)

    def sample(self, n_imputations=None, X=None):
        """Draw completed data sets.

        Parameters
        ----------
        n_imputations : int, default=None
            Number of completed data sets; defaults to the ``n_imputations``
            parameter. Imputations beyond those stored by ``fit`` continue
            the chains from their final state, ``n_between`` iterations apart.
        X : DataFrame or array-like, default=None
            New rows to impute, each data set from a different stored
            posterior draw (as :meth:`transform` does for one data set).
            ``None`` imputes the training data.

        Returns
        -------
        datasets : list of DataFrame or ndarray
            ``n_imputations`` completed copies of the data, in the input's
            type, index and column order. Calling ``sample`` again gives the
            same data sets.
        """
        check_is_fitted(self)
        m = self.n_imputations if n_imputations is None else n_imputations
        m = _check_positive_int(m, "n_imputations")
        if X is not None:
            frame, array_input = self._input_frame(X, reset=False)
            return [wrap_output(self, self._output(self._impute_new(frame, draw, k),
                                                   array_input), X)
                    for k, draw in enumerate(self._draw_indices(m))]
        imputed, imputed2 = self._training_imputations(m)
        return [wrap_output(self, self._output(self._completed(
                    self._train_frame, self._encoded, imputed[k], imputed2[k]),
                    self._train_array_input), self._train_frame)
                for k in range(m)]

    def _draw_indices(self, m):
        n_draws = self.parameter_draws_["beta"].shape[0]
        if m <= n_draws:
            return list(range(m))
        rng = np.random.default_rng(self._seed(_TRANSFORM_KEY, m))
        return list(range(n_draws)) + rng.integers(0, n_draws, m - n_draws).tolist()

    def _training_imputations(self, m):
        stored, stored2 = self.imputed_values_, self.imputed_level2_
        if m <= stored.shape[0]:
            return stored[:m], stored2[:m]
        segments = _segments_per_chain(m - stored.shape[0], len(self._final_states))
        extra = [
            _run_one_chain(self._encoded.model, _copy_state(state), self._seed(_EXTEND_KEY, c),
                           0, self.n_between, segments, self._encoded.incomplete,
                           self._encoded.incomplete2)
            for c, state in enumerate(self._final_states)
        ]
        more = _interleave([r["imputed"] for r in extra])
        more2 = _interleave([r["imputed2"] for r in extra])
        return (np.concatenate([stored, more])[:m], np.concatenate([stored2, more2])[:m])

    def fit_transform(self, X, y=None):
        """Fit, then return the first completed data set of the training data.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        completed : DataFrame or ndarray
            Same type, shape, index and column order as ``X``.
        """
        return self.fit(X).sample(n_imputations=1)[0]

    def transform(self, X):
        """Impute rows from one stored posterior draw of the parameters.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            Rows to impute, with the training columns; they need not have been
            seen in fit.

        Returns
        -------
        completed : DataFrame or ndarray
            ``X`` with its missing cells imputed; observed cells unchanged.
        """
        check_is_fitted(self)
        frame, array_input = self._input_frame(X, reset=False)
        return self._output(self._impute_new(frame, 0, 0), array_input)

    def _impute_new(self, frame, draw, imputation):
        """Impute new rows from stored draw ``draw``; ``imputation`` numbers
        the data set so that reused draws still give different imputations."""
        encoded = self._encode(frame, fit=False)
        if not encoded.missing.any() and (encoded.missing2 is None or not encoded.missing2.any()):
            return frame.copy()
        rng = np.random.default_rng(self._seed(_TRANSFORM_KEY, draw, imputation))
        state = self._state_for_draw(encoded, draw, rng)
        missing = encoded.missing[encoded.dynamic]
        state.values[missing] = state.means[missing]
        new_clusters = self._new_clusters(encoded)
        needs_sweeps = (encoded.model.cat_start.size or encoded.model.cat2_start.size
                        or new_clusters.any())
        impute_given_parameters(rng, encoded.model, state, 20 if needs_sweeps else 1,
                                new_clusters)
        pq = state.u.shape[1] * state.u.shape[2]
        return self._completed(frame, encoded, state.values[encoded.incomplete],
                               state.level2[encoded.incomplete2, pq:])

    # ------------------------------------------------------- diagnostics
    def _chain_groups(self):
        """Traced parameter groups: name -> (trace key, axis labels)."""
        labels = self.schema_.latent_labels
        return {
            "beta": ("beta", [self.schema_.covariate_design_names, labels]),
            "omega": ("cov", [labels, labels]),
        }

    @property
    def chains_(self):
        """Stored chains as a :class:`skjomo.diagnostics.ChainSet`.

        Groups: ``beta`` (fixed effects), ``omega`` (level-1 covariance; the
        average over clusters for heteroscedastic models) and, for two-level
        models, ``sigma`` (level-2 covariance), ``beta2`` (level-2 fixed
        effects), ``u_mean`` (random effects averaged over clusters) and
        ``a`` (the "random" method). Draws of all chains after burn-in, and
        the burn-in too with ``keep_chains="all"``.
        """
        from .diagnostics import ChainSet

        check_is_fitted(self)
        groups, labels = {}, {}
        for name, (key, axes) in self._chain_groups().items():
            draws = self.trace_[key]
            if self.n_burn_kept_:
                draws = np.concatenate([self.burn_in_trace_[key], draws], axis=1)
            groups[name] = draws
            labels[name] = axes
        return ChainSet(groups, labels, symmetric=[g for g in ("omega", "sigma") if g in groups],
                        n_burn=self.n_burn_kept_, n_iter=self.n_between)

    def convergence_summary(self, params=None, phase="imputation"):
        """Rhat and effective sample sizes of every traced parameter.

        Parameters
        ----------
        params : str or list of str, default=None
            Groups or parameter names (see :attr:`chains_`); default all.
        phase : {"imputation", "burnin", "all"}, default="imputation"

        Returns
        -------
        skjomo.diagnostics.ConvergenceSummary
        """
        from .diagnostics import summarize_convergence

        return summarize_convergence(self.chains_, params, phase=phase)

    def summary(self, warn=True):
        """A readable report of the model, its convergence and the missing data.

        Lists the model (cluster variable, outcomes, covariates), the run
        (chains, iterations, imputations), the rank-normalised Rhat by
        parameter group with the worst parameter named, effective sample
        sizes, and the share of missing values per column. With ``warn``, a
        :class:`skjomo.diagnostics.ConvergenceWarning` is emitted when some
        Rhat exceeds 1.05 or an effective sample size is below 100.

        Parameters
        ----------
        warn : bool, default=True

        Returns
        -------
        report : str
        """
        from .diagnostics import check_convergence

        check_is_fitted(self)
        conv = self.convergence_summary()
        if warn:
            check_convergence(conv, stacklevel=3)
        lines = [type(self).__name__, ""]
        lines += [f"{name + ':':<26}{value}" for name, value in self._model_description()]
        n_chains, n_draws = self.trace_["beta"].shape[:2]
        lines += ["", f"{n_chains} chain(s) of {self.n_iter_} iterations; "
                      f"{len(self.imputed_values_)} imputations stored, "
                      f"{self.n_between} iterations apart; diagnostics on the "
                      f"{n_draws} draws after burn-in of each chain.", ""]
        lines.append(str(conv))
        missing = self._train_frame.isna().mean() * 100
        lines += ["", "Missing data per variable (%):",
                  missing.round(1).to_frame("MD%").T.to_string()]
        return "\n".join(lines)

    def _model_description(self):
        schema = self.schema_
        kinds = [f"{c.name}" + ("" if c.kind == "continuous" else f" ({len(c.categories)} categories)")
                 for c in schema.outcomes]
        return [("Outcomes", ", ".join(map(str, kinds))),
                ("Fixed effect predictors", " ".join(map(str, schema.covariate_design_names)))]

    def plot_trace(self, params=None, **kwargs):
        """Trace plots of stored chains (one line per chain); returns the Figure.

        Parameters
        ----------
        params : str or list of str, default=None
            Groups (``"beta"``, ``"omega"``, ...) or parameter names such as
            ``"beta[sex, english]"``; default all.
        **kwargs
            Passed to :func:`skjomo.diagnostics.plot_trace`.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from .diagnostics import plot_trace

        return plot_trace(self.chains_, params, **kwargs)

    def plot_autocorrelation(self, params=None, **kwargs):
        """Autocorrelation plots of stored chains; returns the Figure.

        Parameters
        ----------
        params : str or list of str, default=None
            As :meth:`plot_trace`.
        **kwargs
            Passed to :func:`skjomo.diagnostics.plot_autocorrelation`.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from .diagnostics import plot_autocorrelation

        return plot_autocorrelation(self.chains_, params, **kwargs)

    def plot_density(self, params=None, **kwargs):
        """Posterior density plots of stored chains; returns the Figure.

        Parameters
        ----------
        params : str or list of str, default=None
            As :meth:`plot_trace`.
        **kwargs
            Passed to :func:`skjomo.diagnostics.plot_density`.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from .diagnostics import plot_density

        return plot_density(self.chains_, params, **kwargs)

    def to_inference_data(self):
        """Stored chains as an ``arviz.InferenceData`` (needs arviz).

        Returns
        -------
        arviz.InferenceData
        """
        return self.chains_.to_inference_data()

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns (the input columns, unchanged).

        Parameters
        ----------
        input_features : array-like of str or None
            Ignored beyond validation; the output has the input's columns.

        Returns
        -------
        names : ndarray of str
        """
        check_is_fitted(self)
        return np.asarray([str(c) for c in self.schema_.columns], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.non_deterministic = False
        return tags
