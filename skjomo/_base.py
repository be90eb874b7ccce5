"""The estimator behind every imputer: fit, sample, transform, diagnostics.

An imputer states its model once, in ``_model_spec`` (a
:class:`~skjomo._spec.ModelSpec` built from its parameters); everything here
follows from that statement: the frame codec (``_codec``), the sampler's
configuration (``_sampler_config``), the chains (``_gibbs._driver``) and the
fitted summaries (``_summaries``).

Seeding: ``random_state`` gives one integer ``random_seed_``; every chain,
every extension of a chain and every transform draws from its own
``SeedSequence(random_seed_, spawn_key=...)``, so results do not depend on
``n_jobs``.
"""

from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_array,
    check_is_fitted,
    validate_data,
)

from ._checks import draw_seed, wrap_output
from ._codec import FrameCodec
from ._gibbs._compile import prepare_chain
from ._gibbs._driver import (
    check_warm_start,
    continue_chains,
    fit_chains,
    impute_new_rows,
    segments_per_chain,
    start_states,
)
from ._grouped import fit_groups, groups_summary, sample_groups, transform_groups
from ._imputation_list import ImputationList
from ._priors import data_scales
from ._progress import progress as _progress
from ._role_sources import group_column
from ._roles import role_report, warn_suspicious_outcomes
from ._sampler_config import sampler_model, sampler_starts
from ._summaries import acceptance_table, chain_groups, model_description, posterior_means

# Spawn keys of the seed sequence: chains, chain extensions, transform,
# dispersed starting values.
_CHAIN_KEY, _EXTEND_KEY, _TRANSFORM_KEY, _START_KEY = 0, 1, 2, 3

# Role parameters are validated by the codec, which names the column at fault.
_COLUMNS = "no_validation"
_MATRIX = ["array-like", None]

# Constraints of the parameters every imputer shares; each class adds its own.
RUN_CONSTRAINTS = {
    "formula": "no_validation",  # parsed (and errors named) in _formula
    "group_col": "no_validation",  # checked by _grouped
    "roles": "no_validation",  # checked by _role_sources
    "outcome_cols": _COLUMNS,
    "covariate_cols": _COLUMNS,
    "categorical_cols": _COLUMNS,
    "exclude_cols": _COLUMNS,
    "n_burn": [Interval(Integral, 0, None, closed="left")],
    "n_between": [Interval(Integral, 1, None, closed="left")],
    "n_imputations": [Interval(Integral, 1, None, closed="left")],
    "prior_df": [Real, None],
    "prior_scale": _MATRIX,
    "beta_start": _MATRIX,
    "cov_start": _MATRIX,
    "latent_bounds": ["array-like", None],
    "n_chains": [Interval(Integral, 1, None, closed="left")],
    "keep_chains": [StrOptions({"imputation", "all"})],
    "warm_start": ["boolean"],
    "verbose": ["verbose"],
    "random_state": ["random_state", np.random.Generator],
    "n_jobs": [Integral, None],
    "n_threads": [Interval(Integral, 1, None, closed="left")],
}

# Constraints of the two-level parameters.
MULTILEVEL_CONSTRAINTS = {
    **RUN_CONSTRAINTS,
    "cluster_col": "no_validation",
    "cov_method": [StrOptions({"common", "fixed", "random"})],
    "random_slope_cols": _COLUMNS,
    "level2_cols": _COLUMNS,
    "level2_covariate_cols": _COLUMNS,
    "level2_prior_df": [Real, None],
    "level2_prior_scale": _MATRIX,
    "level2_cov_start": _MATRIX,
    "random_effects_start": _MATRIX,
    "a_start": [Real, None],
    "a_prior": [Interval(Real, 0, None, closed="neither"), None],
}


@dataclass
class Encoded:
    """A frame's arrays and the sampler's model of them.

    Attributes
    ----------
    frame : EncodedFrame
        The codec's arrays.
    model : Model
        The sampler's arrays (dynamic level-1 rows only).
    dynamic : ndarray of int
        Frame rows in the model's row-level arrays.
    """

    frame: object
    model: object
    dynamic: np.ndarray

    @property
    def values(self):
        """Outcomes of the dynamic rows (NaN where missing or latent)."""
        return self.frame.values[self.dynamic]

    @property
    def missing_dynamic(self):
        """Missing cells of the dynamic rows."""
        return self.frame.missing[self.dynamic]

    @property
    def values2(self):
        """Level-2 outcomes per cluster, or ``None``."""
        return self.frame.level2["values2"] if self.frame.level2 else None

    @property
    def missing2(self):
        """Missing level-2 cells per cluster, or ``None``."""
        return self.frame.level2["missing2"] if self.frame.level2 else None

    @property
    def incomplete(self):
        """Positions (in the dynamic rows) of rows with missing cells."""
        return np.flatnonzero(self.missing_dynamic.any(axis=1))

    @property
    def incomplete2(self):
        """Clusters with missing level-2 cells."""
        if self.missing2 is None:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(self.missing2.any(axis=1))

    @property
    def has_missing(self):
        """Whether some cell of either level is missing."""
        return bool(
            self.frame.missing.any()
            or (self.missing2 is not None and self.missing2.any())
            or self.model.analysis.missing_rows.size
        )


def _check_n_imputations(value):
    if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"n_imputations must be an integer >= 1; got {value!r}.")
    return int(value)


class BaseJointImputer(TransformerMixin, BaseEstimator):
    """Shared fit / transform / sample machinery of the skjomo imputers.

    Not meant to be used directly; see :class:`skjomo.JointModelImputer`.
    Subclasses define ``__init__`` and ``_model_spec``.
    """

    _parameter_constraints = RUN_CONSTRAINTS

    def _model_spec(self):  # pragma: no cover - abstract
        """The :class:`~skjomo._spec.ModelSpec` stated by the parameters."""
        raise NotImplementedError

    # ------------------------------------------------------------- input
    def _input_frame(self, X, reset):
        """DataFrame view of the input and whether it came as an array."""
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=reset, skip_check_array=True)
            return X, False
        array = check_array(X, dtype="numeric", ensure_all_finite="allow-nan", ensure_min_samples=1)
        validate_data(self, array, reset=reset, skip_check_array=True)
        return pd.DataFrame(array), True

    @staticmethod
    def _output(frame, array_input):
        return frame.to_numpy(dtype=np.float64) if array_input else frame

    def _encode(self, frame, fit=False):
        encoded = self._codec.encode(frame, fit=fit)
        model, dynamic = sampler_model(self._spec, self._codec, encoded, fit)
        return Encoded(frame=encoded, model=model, dynamic=dynamic)

    def _seed(self, *key):
        return np.random.SeedSequence(self.random_seed_, spawn_key=key)

    # --------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
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
        if group_column(self) is not None:
            return self._fit_groups(X)
        warm = bool(self.warm_start) and hasattr(self, "_chains")
        frame, array_input = self._input_frame(X, reset=not warm)
        self.__dict__.pop("groups_", None)
        spec = self._model_spec()
        codec = FrameCodec(spec, frame)
        self._spec, self._codec = spec, codec
        encoded = self._encode(frame, fit=True)
        if not warm:
            warn_suspicious_outcomes(spec, codec, frame, encoded.frame.cluster)
        if self.verbose:
            print("\n".join(role_report(spec, codec)))
        n_chains, n_between = self.n_chains, self.n_between
        segments = segments_per_chain(self.n_imputations, n_chains)
        if warm:
            states, rngs = check_warm_start(self._chains, encoded.model, n_chains)
        else:
            self.random_seed_ = draw_seed(self.random_state)
            states = start_states(
                encoded.model,
                encoded.values,
                encoded.values2,
                encoded.missing_dynamic,
                sampler_starts(spec, encoded.model, data_scales(spec, codec, encoded.frame)),
                [self._seed(_START_KEY, c) for c in range(1, n_chains)],
            )
            rngs = [self._seed(_CHAIN_KEY, c) for c in range(n_chains)]
        total = n_chains * (self.n_burn + n_between * segments)
        prepare_chain(encoded.model, states[0], self.verbose, type(self).__name__, self.n_threads)
        with _progress(self.verbose, total, type(self).__name__) as progress:
            self._chains = fit_chains(
                encoded.model,
                states,
                rngs,
                self.n_burn,
                n_between,
                segments,
                encoded.incomplete,
                encoded.incomplete2,
                keep_burn_in=self.keep_chains == "all",
                progress=progress,
                n_jobs=self.n_jobs,
                n_threads=self.n_threads,
            )
            if n_chains > 1 and progress is not None:
                progress(total)
        self.n_iter_ = (self.n_iter_ if warm else 0) + self.n_burn + n_between * segments
        self.n_burn_kept_ = self.n_burn if self.keep_chains == "all" else 0
        self._encoded = encoded
        self._train_frame = frame.copy()
        self._train_array_input = array_input
        for name, value in posterior_means(spec, codec, self._chains).items():
            setattr(self, name, value)
        from .diagnostics._fit_check import warn_if_not_converged  # cheap: split Rhat

        warn_if_not_converged(self.chains_, type(self).__name__, stacklevel=4)
        if self.verbose:
            print(
                f"{type(self).__name__}: {n_chains} chain(s), {self.n_iter_} iterations "
                f"each, {self.n_imputations} imputations {n_between} iterations apart."
            )
        return self

    def _fit_groups(self, X):
        """``fit`` within each level of ``group_col`` (see ``_grouped``)."""
        warm = bool(self.warm_start) and hasattr(self, "groups_")
        frame, array_input = self._input_frame(X, reset=not warm)
        if not warm:
            self.random_seed_ = draw_seed(self.random_state)
        labels, positions, fitted = fit_groups(self, frame)
        self.__dict__.pop("_chains", None)
        self.groups_ = dict(zip(labels, fitted))
        self._group_positions = positions
        self._train_frame = frame.copy()
        self._train_array_input = array_input
        self.n_iter_ = fitted[0].n_iter_
        if self.verbose:
            for label, imputer in self.groups_.items():
                print(f"Group {group_column(self)} = {label!r}:")
                print("\n".join(role_report(imputer._spec, imputer._codec)))
        return self

    # ----------------------------------------------------------- outputs
    def _completed(self, frame, encoded, imputed, imputed2, outcome):
        """One completed copy of ``frame`` (from ``with_known_level2``)."""
        completed = np.zeros(encoded.frame.missing.shape)
        completed[encoded.dynamic[encoded.incomplete]] = imputed
        completed2 = None
        if encoded.missing2 is not None:
            completed2 = np.zeros(encoded.missing2.shape)
            completed2[encoded.incomplete2] = imputed2
        return self._codec.decode(frame, encoded.frame, completed, completed2, outcome)

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
        datasets : ImputationList or list of ndarray
            ``n_imputations`` completed copies of the data, in the input's
            type, index and column order: for DataFrame input an
            :class:`~skjomo.ImputationList` (a list of
            DataFrames that also holds the incomplete data, to analyse and
            export), for array input a list of arrays. Calling ``sample``
            again gives the same data sets. Dtypes are those of the input,
            except that a nullable integer (``Int64``) column with imputed
            cells becomes ``Float64``: imputations of a continuous column
            are not integers, and rounding them can bias the analysis (see
            "Dtypes" in the user guide).
        """
        check_is_fitted(self)
        m = _check_n_imputations(self.n_imputations if n_imputations is None else n_imputations)
        if X is None:
            frame, array_input = self._train_frame, self._train_array_input
        else:
            frame, array_input = self._input_frame(X, reset=False)
        if hasattr(self, "groups_"):
            datasets = sample_groups(self, m, None if X is None else frame)
        elif X is not None:
            datasets = [
                self._impute_new(frame, draw, k) for k, draw in enumerate(self._draw_indices(m))
            ]
        else:
            imputed, imputed2, outcome = self._training_imputations(m)
            known = self._codec.with_known_level2(frame)
            datasets = [
                self._completed(known, self._encoded, imputed[k], imputed2[k], outcome[k])
                for k in range(m)
            ]
        if array_input:  # as transform does, in the container set_output chose
            return [
                wrap_output(self, self._output(data, True), self._train_frame if X is None else X)
                for data in datasets
            ]
        return ImputationList(datasets, original=frame.copy())

    def _draw_indices(self, m):
        n_draws = self._chains.n_draws
        if m <= n_draws:
            return list(range(m))
        rng = np.random.default_rng(self._seed(_TRANSFORM_KEY, m))
        return list(range(n_draws)) + rng.integers(0, n_draws, m - n_draws).tolist()

    def _training_imputations(self, m):
        run, encoded = self._chains, self._encoded
        if m <= run.n_draws:
            return run.imputed[:m], run.imputed2[:m], run.imputed_outcome[:m]
        seeds = [self._seed(_EXTEND_KEY, c) for c in range(run.n_chains)]
        more = continue_chains(
            encoded.model,
            run,
            self.n_between,
            m - run.n_draws,
            encoded.incomplete,
            encoded.incomplete2,
            seeds,
            n_jobs=self.n_jobs,
            n_threads=self.n_threads,
        )
        return tuple(
            np.concatenate([stored, extra])
            for stored, extra in zip((run.imputed, run.imputed2, run.imputed_outcome), more)
        )

    def fit_transform(self, X, y=None):
        """Fit, then return the first completed data set of the training data.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            Data with missing values.
        y : None
            Ignored.

        Returns
        -------
        completed : DataFrame or ndarray
            Same type, shape, index and column order as ``X``; dtypes kept,
            except ``Int64`` with imputed cells, which becomes ``Float64``
            (as in :meth:`sample`).
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
            Dtypes kept, except ``Int64`` with imputed cells, which becomes
            ``Float64`` (as in :meth:`sample`).
        """
        check_is_fitted(self)
        frame, array_input = self._input_frame(X, reset=False)
        if hasattr(self, "groups_"):
            return self._output(transform_groups(self, frame), array_input)
        return self._output(self._impute_new(frame, 0, 0), array_input)

    def _impute_new(self, frame, draw, imputation):
        """Impute new rows from stored draw ``draw``; ``imputation`` numbers
        the data set so that reused draws still give different imputations."""
        frame = self._codec.with_known_level2(frame)
        encoded = self._encode(frame)
        if not encoded.has_missing:
            return frame.copy()
        rng = np.random.default_rng(self._seed(_TRANSFORM_KEY, draw, imputation))
        imputed = impute_new_rows(
            encoded.model,
            encoded.values,
            encoded.values2,
            encoded.missing_dynamic,
            encoded.incomplete,
            encoded.incomplete2,
            self._chains.draws,
            draw,
            rng,
            encoded.frame.n_known_clusters,
            self.n_threads,
        )
        return self._completed(frame, encoded, *imputed)

    # ------------------------------------------------------- diagnostics
    def _check_single_model(self, name):
        if hasattr(self, "groups_"):
            raise ValueError(
                f"This imputer was fitted within the groups of "
                f"{group_column(self)!r}, one model each: use "
                f"groups_[label].{name}."
            )

    @property
    def chains_(self):
        """Stored chains as a :class:`skjomo.diagnostics.ChainSet`.

        Groups: ``beta`` (fixed effects), ``omega`` (level-1 covariance; the
        average over clusters for cluster-specific covariances) and, for
        two-level models, ``sigma`` (level-2 covariance), ``beta2`` (level-2
        fixed effects), ``u_mean`` (random effects averaged over clusters)
        and ``a`` (``cov_method="random"``). Draws of all chains after
        burn-in, and the burn-in too with ``keep_chains="all"``.
        """
        from .diagnostics import ChainSet

        check_is_fitted(self)
        self._check_single_model("chains_")
        run = self._chains
        groups, labels = {}, {}
        for name, (key, axes) in chain_groups(self._spec, self._codec).items():
            draws = run.trace[key]
            if self.n_burn_kept_:
                draws = np.concatenate([run.burn_in_trace[key], draws], axis=1)
            groups[name] = draws
            labels[name] = axes
        return ChainSet(
            groups,
            labels,
            symmetric=[g for g in ("omega", "sigma") if g in groups],
            n_burn=self.n_burn_kept_,
            n_iter=self.n_between,
        )

    @property
    def acceptance_rates_(self):
        """Acceptance rate of every Metropolis-Hastings step after burn-in.

        A dict from step to the share of accepted proposals over all chains:
        the covariances between latents of different categorical outcomes at
        level 1 (``omega``) and level 2 (``sigma``), and ``a``
        (``cov_method="random"``). Steps that proposed nothing are left out.
        """
        check_is_fitted(self)
        self._check_single_model("acceptance_rates_")
        return dict(self._chains.acceptance)

    def convergence_summary(self, params=None, phase="imputation"):
        """Rhat and effective sample sizes of every traced parameter.

        Parameters
        ----------
        params : str or list of str, default=None
            Groups or parameter names (see :attr:`chains_`); default all.
        phase : {"imputation", "burnin", "all"}, default="imputation"
            Which iterations to summarise.

        Returns
        -------
        skjomo.diagnostics.ConvergenceSummary
            The table of diagnostics.
        """
        from .diagnostics import summarize_convergence

        return summarize_convergence(self.chains_, params, phase=phase)

    def summary(self, warn=True):
        """A readable report of the model, its convergence and the missing data.

        Lists the model (cluster variable, outcomes, covariates), the run
        (chains, iterations, imputations), the rank-normalised Rhat by
        parameter group with the worst parameter named, effective sample
        sizes, the acceptance rates of the Metropolis-Hastings steps, and
        the share of missing values per column. With ``warn``, a
        :class:`skjomo.diagnostics.ConvergenceWarning` is emitted when some
        Rhat exceeds 1.05 or an effective sample size is below 100.

        Parameters
        ----------
        warn : bool, default=True
            Whether to warn about convergence.

        Returns
        -------
        report : str
            The report.
        """
        from .diagnostics import check_convergence

        check_is_fitted(self)
        if hasattr(self, "groups_"):
            return groups_summary(self, warn)
        conv = self.convergence_summary()
        if warn:
            check_convergence(conv, stacklevel=3)
        run = self._chains
        n_draws = run.trace["beta"].shape[1]
        lines = [type(self).__name__, ""]
        lines += [
            f"{name + ':':<26}{value}" for name, value in model_description(self._spec, self._codec)
        ]
        lines += [""] + role_report(self._spec, self._codec, design=False)
        lines += [
            "",
            f"{run.n_chains} chain(s) of {self.n_iter_} iterations; "
            f"{run.n_draws} imputations stored, "
            f"{self.n_between} iterations apart; diagnostics on the "
            f"{n_draws} draws after burn-in of each chain.",
            "",
        ]
        lines.append(str(conv))
        acceptance = acceptance_table(run.acceptance)
        if acceptance:
            lines += [""] + acceptance
        missing = self._train_frame.isna().mean() * 100
        lines += [
            "",
            "Missing data per variable (%):",
            missing.round(1).to_frame("MD%").T.to_string(),
        ]
        return "\n".join(lines)

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
            The figure.
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
            The figure.
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
            The figure.
        """
        from .diagnostics import plot_density

        return plot_density(self.chains_, params, **kwargs)

    def to_inference_data(self):
        """Stored chains as an ``arviz.InferenceData`` (needs arviz).

        Returns
        -------
        arviz.InferenceData
            The chains, one variable per parameter group.
        """
        return self.chains_.to_inference_data()

    def get_feature_names_out(self, input_features=None):
        """Return the names of the output columns (the input columns, unchanged).

        Parameters
        ----------
        input_features : array-like of str or None
            Input column names; when given they must equal the names seen in
            fit (``feature_names_in_``, or ``x0, x1, ...`` for an array).

        Returns
        -------
        names : ndarray of str
            The column names.
        """
        check_is_fitted(self)
        return _check_feature_names_in(self, input_features)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.non_deterministic = False
        return tags

    def __sklearn_is_fitted__(self):
        return hasattr(self, "_chains") or hasattr(self, "groups_")
