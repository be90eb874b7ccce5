"""Estimator plumbing shared by every imputer.

Input handling (DataFrame or array), seeding, running chains in parallel,
collecting imputations and draws, and turning them back into frames. The
model-specific parts (which arrays, which steps) are supplied by the
estimator classes through a small set of hooks.
"""

import numbers

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ._gibbs._chain import impute_given_parameters, initial_state, run_chain

# Spawn keys of the seed sequence: chains, chain extensions, transform.
_CHAIN_KEY, _EXTEND_KEY, _TRANSFORM_KEY = 0, 1, 2


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


def _run_one_chain(model, state, seed, n_burn, n_between, n_imputations,
                   incomplete_rows):
    """Burn in, then take ``n_imputations`` snapshots ``n_between`` apart."""
    rng = np.random.default_rng(seed)
    m, p = state.beta.shape
    empty = (np.zeros((0, m, p)), np.zeros((0, p, p)))
    run_chain(rng, model, state, n_burn, empty[0], empty[1], 0)
    trace_beta = np.empty((n_imputations * n_between, m, p))
    trace_cov = np.empty((n_imputations * n_between, p, p))
    imputed = np.empty((n_imputations, incomplete_rows.size, p))
    draws_beta = np.empty((n_imputations, m, p))
    draws_cov = np.empty((n_imputations,) + state.cov.shape)
    for k in range(n_imputations):
        run_chain(rng, model, state, n_between, trace_beta, trace_cov, k * n_between)
        imputed[k] = state.values[incomplete_rows]
        draws_beta[k] = state.beta
        draws_cov[k] = state.cov
    return {
        "imputed": imputed,
        "beta": draws_beta,
        "cov": draws_cov,
        "trace_beta": trace_beta,
        "trace_cov": trace_cov,
        "state": state,
        "accepted": int(state.accepted[0]),
    }


class BaseJointImputer(TransformerMixin, BaseEstimator):
    """Shared fit / transform / sample machinery of the skjomo imputers.

    Not meant to be used directly; see :class:`skjomo.JointModelImputer`.
    """

    # ------------------------------------------------------------- hooks
    def _make_schema(self, frame):  # pragma: no cover - abstract
        raise NotImplementedError

    def _make_model(self, schema, frame, arrays, fit):  # pragma: no cover
        raise NotImplementedError

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
        if n_imputations < n_chains:
            raise ValueError(
                f"n_imputations ({n_imputations}) must be at least n_chains "
                f"({n_chains}): every chain contributes imputations."
            )
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
        frame, array_input = self._input_frame(X, reset=True)
        schema = self._make_schema(frame)
        arrays = schema.encode_outcomes(frame)
        model = self._make_model(schema, frame, arrays, fit=True)
        values, missing, _ = arrays
        self.random_seed_ = int(check_random_state(self.random_state).randint(2**31 - 1))
        incomplete_rows = np.flatnonzero(missing.any(axis=1))
        starts = [self._initial_state(model, values, missing, chain)
                  for chain in range(n_chains)]
        segments = _segments_per_chain(n_imputations, n_chains)
        results = Parallel(n_jobs=self.n_jobs if n_chains > 1 else None)(
            delayed(_run_one_chain)(model, starts[c], self._seed(_CHAIN_KEY, c),
                                    n_burn, n_between, segments, incomplete_rows)
            for c in range(n_chains)
        )
        self.schema_ = schema
        self.n_iter_ = n_burn + n_between * segments
        self._store_results(results, incomplete_rows, missing, frame, array_input)
        return self

    def _initial_state(self, model, values, missing, chain):
        return initial_state(model, values, missing, beta=self.beta_start,
                             cov=self.cov_start)

    def _store_results(self, results, incomplete_rows, missing, frame, array_input):
        self.imputed_values_ = _interleave([r["imputed"] for r in results])
        self.beta_draws_ = _interleave([r["beta"] for r in results])
        self.cov_draws_ = _interleave([r["cov"] for r in results])
        self.trace_beta_ = np.stack([r["trace_beta"] for r in results])
        self.trace_cov_ = np.stack([r["trace_cov"] for r in results])
        self._final_states = [r["state"] for r in results]
        self._incomplete_rows = incomplete_rows
        self._missing = missing
        self._train_frame = frame.copy()
        self._train_array_input = array_input
        labels = self.schema_.latent_labels
        design = self.schema_.covariate_design_names
        self.beta_ = pd.DataFrame(self.trace_beta_.mean(axis=(0, 1)),
                                  index=design, columns=labels)
        self.omega_ = pd.DataFrame(self.trace_cov_.mean(axis=(0, 1)),
                                   index=labels, columns=labels)

    # ----------------------------------------------------------- outputs
    def _completed_frame(self, frame, incomplete_rows, missing, imputed):
        completed = np.zeros(missing.shape)
        completed[incomplete_rows] = imputed
        return self.schema_.decode(frame, completed, missing)

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
            return [self._output(self._impute_new(frame, draw), array_input)
                    for draw in self._draw_indices(m)]
        imputed = self._training_imputations(m)
        return [self._output(self._completed_frame(self._train_frame, self._incomplete_rows,
                                                   self._missing, imputed[k]),
                             self._train_array_input)
                for k in range(m)]

    def _draw_indices(self, m):
        n_draws = self.beta_draws_.shape[0]
        if m <= n_draws:
            return list(range(m))
        rng = np.random.default_rng(self._seed(_TRANSFORM_KEY, m))
        return list(range(n_draws)) + rng.integers(0, n_draws, m - n_draws).tolist()

    def _training_imputations(self, m):
        stored = self.imputed_values_
        if m <= stored.shape[0]:
            return stored[:m]
        n_chains = len(self._final_states)
        segments = _segments_per_chain(m - stored.shape[0], n_chains)
        extra = []
        for c, state in enumerate(self._final_states):
            copy = type(state)(*(np.copy(a) for a in state))
            result = _run_one_chain(self._model_for_extension, copy,
                                    self._seed(_EXTEND_KEY, c), 0, self.n_between,
                                    segments, self._incomplete_rows)
            extra.append(result["imputed"])
        return np.concatenate([stored, _interleave(extra)])[:m]

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
        return self._output(self._impute_new(frame, 0), array_input)

    def _impute_new(self, frame, draw):
        self.schema_.check_frame(frame)
        values, missing, codes = self.schema_.encode_outcomes(frame)
        if not missing.any():
            return frame.copy()
        model = self._make_model(self.schema_, frame, (values, missing, codes), fit=False)
        state = initial_state(model, values, missing, beta=self.beta_draws_[draw],
                              cov=self.cov_draws_[draw])
        filled = state.values
        filled[missing] = state.means[missing]
        rng = np.random.default_rng(self._seed(_TRANSFORM_KEY, draw))
        n_sweeps = 20 if model.cat_start.size else 1
        impute_given_parameters(rng, model, state, n_sweeps)
        return self.schema_.decode(frame, state.values, missing)

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
