"""Fit an analysis model on m imputed data sets and pool the results.

:class:`MultipleImputationPipeline` is a scikit-learn meta-estimator: it
imputes the training data together with the analysis outcome, fits a clone
of the analysis estimator on each of the m completed data sets, pools the
estimates with Rubin's rules (:mod:`skjomo.pooling`) and combines the m
fitted models for prediction. :class:`StatsmodelsModel` wraps a statsmodels
formula model (OLS, GLM, Logit, MixedLM, …) as a scikit-learn estimator, so
that a multilevel analysis can be imputed, fitted and pooled in one call.
"""

import copy
import hashlib
import inspect
import numbers

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils import check_random_state, get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .pooling import pool_estimates, read_fit
from .pooling._readers import read_statsmodels

__all__ = ["MultipleImputationPipeline", "StatsmodelsModel"]


# ======================================================================
# statsmodels formula models as scikit-learn estimators
# ======================================================================

_SM_MODELS = ("ols", "wls", "glm", "logit", "probit", "poisson", "mixedlm", "phreg")


def _formula_function(model):
    if callable(model) and not isinstance(model, type):
        return model
    if isinstance(model, type) and hasattr(model, "from_formula"):
        return model.from_formula
    if isinstance(model, str):
        import statsmodels.formula.api as smf

        name = model.lower()
        if name not in _SM_MODELS:
            raise ValueError(
                f"model must be one of {_SM_MODELS}, a statsmodels model class or a formula function; got {model!r}"
            )
        return getattr(smf, name)
    raise TypeError(
        f"model must be a name, a statsmodels model class or a formula function; got {type(model).__name__}"
    )


def _is_binary_model(model, family):
    """Whether the model is a binary-outcome model (Logit, Probit, GLM with a Binomial family)."""
    if family is not None:
        from statsmodels.genmod.families import Binomial

        return isinstance(family, Binomial)
    if isinstance(model, str):
        return model.lower() in ("logit", "probit")
    from statsmodels.discrete.discrete_model import BinaryModel

    cls = model if isinstance(model, type) else getattr(model, "__self__", None)
    return isinstance(cls, type) and issubclass(cls, BinaryModel)


def _is_ordinal_model(model):
    """Whether the model is statsmodels' ``OrderedModel`` (its outcome is kept
    as given: an ordered categorical or numbers)."""
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    cls = model if isinstance(model, type) else getattr(model, "__self__", None)
    return isinstance(cls, type) and issubclass(cls, OrderedModel)


def _binary_codes(values, name):
    """A two-category outcome as 0.0/1.0 (NaN kept) and its two classes, the second coded 1.

    Pandas categoricals keep their category order (the first category is the
    reference, as in R's factors); other values are sorted; booleans give
    ``[False, True]``.
    """
    series = pd.Series(values)
    if isinstance(series.dtype, pd.CategoricalDtype):
        present = set(series.dropna().unique().tolist())
        classes = [c for c in series.cat.categories if c in present]
    else:
        observed = series.dropna().unique().tolist()
        try:
            classes = sorted(observed)
        except TypeError:
            classes = sorted(observed, key=str)
    if len(classes) != 2:
        raise ValueError(
            f"the outcome {name!r} of a binary model must have exactly two categories; "
            f"it has {len(classes)}: {classes[:10]}"
        )
    coded = np.where(series.isna().to_numpy(), np.nan, (series == classes[1]).to_numpy(dtype=float))
    return coded, np.asarray(classes, dtype=object)


def _lhs_name(formula):
    if "~" not in formula:
        raise ValueError(f"the formula {formula!r} has no '~'")
    return formula.split("~", 1)[0].strip()


class StatsmodelsModel(BaseEstimator):
    """A statsmodels formula model as a scikit-learn estimator.

    ``fit(X, y)`` builds the data frame ``X`` plus the outcome ``y`` (under
    the name on the left of the formula), fits the model and keeps the
    statsmodels results in ``results_``. It is the way to put a statsmodels
    analysis, e.g. a linear mixed model with the cluster as groups, into a
    :class:`MultipleImputationPipeline`.

    Parameters
    ----------
    formula : str
        Model formula, e.g. ``"english ~ ravens + sex + fluent"``. Pandas
        categorical columns enter as treatment-coded factors.
    model : str, statsmodels model class or formula function, default="ols"
        ``"ols"``, ``"wls"``, ``"glm"``, ``"logit"``, ``"probit"``,
        ``"poisson"``, ``"mixedlm"``, ``"phreg"`` (Cox model: the formula's
        left-hand side is the time, ``model_kwargs={"status": column}``
        names the event column), a model class with ``from_formula``
        (e.g. ``statsmodels.api.MixedLM``, or statsmodels'
        ``OrderedModel`` with ``model_kwargs={"distr": "logit"}`` for a
        proportional-odds logistic model; its outcome, an ordered
        categorical or numeric column, is passed as it is) or a function
        such as ``statsmodels.formula.api.mixedlm``.
    groups : str, optional
        Column holding the clusters (MixedLM).
    re_formula : str, optional
        Random-effects formula (MixedLM), e.g. ``"1 + ravens"``; default a
        random intercept.
    family : statsmodels family, optional
        Family of a GLM, e.g. ``statsmodels.api.families.Binomial()``.
    fit_kwargs : dict, optional
        Keyword arguments of the model's ``fit`` (e.g. ``{"reml": False}``
        or ``{"method": ["powell", "lbfgs"]}`` for MixedLM, ``{"disp": 0}``
        for Logit).
    model_kwargs : dict, optional
        Further keyword arguments of the model constructor.

    Attributes
    ----------
    results_ : statsmodels results
        The fitted statsmodels results.
    outcome_ : str
        Name of the outcome column.
    n_features_in_ : int
        Number of columns of ``X``.
    feature_names_in_ : ndarray of str
        Column names of ``X``.
    classes_ : ndarray
        The two categories of the outcome of a binary model (Logit, Probit,
        GLM with a Binomial family), the second coded 1; absent for other
        models.

    Notes
    -----
    A binary model takes its outcome as numbers 0/1, or as two categories
    (pandas categorical, object, string or bool), which is what
    :class:`MultipleImputationPipeline` produces when it imputes a binary
    outcome: the second category (in the categorical's order, else sorted;
    ``True`` for booleans) is coded 1, so the model describes the
    probability of ``classes_[1]`` and ``predict`` returns it. A categorical
    or text outcome for any other model is an error (its codes would enter
    as numbers). A MixedLM fit that does not converge is flagged when the
    fits are pooled; see "Converged mixed-model fits" in the pooling
    documentation for the optimiser settings that make it converge.

    Examples
    --------
    >>> import pandas as pd
    >>> from skjomo import StatsmodelsModel
    >>> X = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0, 4.0]})
    >>> y = pd.Series([0.1, 1.1, 1.9, 3.2, 3.9], name="y")
    >>> model = StatsmodelsModel("y ~ x").fit(X, y)
    >>> round(float(model.results_.params["x"]), 2)
    0.97
    """

    def __init__(
        self,
        formula,
        model="ols",
        *,
        groups=None,
        re_formula=None,
        family=None,
        fit_kwargs=None,
        model_kwargs=None,
    ):
        self.formula = formula
        self.model = model
        self.groups = groups
        self.re_formula = re_formula
        self.family = family
        self.fit_kwargs = fit_kwargs
        self.model_kwargs = model_kwargs

    def _frame(self, X):
        if isinstance(X, pd.DataFrame):
            return X.copy()
        X = np.asarray(X)
        names = getattr(self, "feature_names_in_", None)
        if names is None or len(names) != X.shape[1]:
            names = [f"x{i}" for i in range(X.shape[1])]
        return pd.DataFrame(X, columns=list(names))

    def fit(self, X, y=None):
        """Fit the statsmodels model to ``X`` and ``y``.

        Parameters
        ----------
        X : pandas.DataFrame
            Predictors (and the groups column for MixedLM).
        y : array-like of shape (n_samples,), optional
            Outcome, stored under the name on the left of the formula; may
            be omitted when ``X`` already holds that column.

        Returns
        -------
        self : StatsmodelsModel
            The fitted model.
        """
        func = _formula_function(self.model)
        data = self._frame(X)
        self.n_features_in_ = data.shape[1]
        self.feature_names_in_ = np.asarray([str(c) for c in data.columns], dtype=object)
        lhs = _lhs_name(self.formula)
        if y is not None:
            name = lhs
            if not lhs.isidentifier():
                name = getattr(y, "name", None)
                if not isinstance(name, str) or name not in self.formula:
                    raise ValueError(
                        f"the formula's left-hand side {lhs!r} is not a column name; "
                        "give y a name (pandas Series) that the formula uses"
                    )
            data[name] = self._outcome_values(y, name)
            self.outcome_ = name
        else:
            self.outcome_ = lhs
            if lhs in data.columns:
                data[lhs] = self._outcome_values(data[lhs], lhs)
        kwargs = dict(self.model_kwargs or {})
        if self.groups is not None:
            kwargs["groups"] = self.groups
        if self.re_formula is not None:
            kwargs["re_formula"] = self.re_formula
        if self.family is not None:
            kwargs["family"] = copy.deepcopy(self.family)
        fit_kwargs = dict(self.fit_kwargs or {})
        model = func(self.formula, data=data, **kwargs)
        self.results_ = model.fit(**fit_kwargs)
        return self

    def _outcome_values(self, y, name):
        """The outcome as the model needs it: 0/1 for a binary model, numbers otherwise."""
        if hasattr(self, "classes_"):
            del self.classes_
        values = y if isinstance(y, pd.Series) else pd.Series(np.asarray(y))
        if _is_ordinal_model(self.model):
            return (
                values.array if isinstance(values.dtype, pd.CategoricalDtype) else values.to_numpy()
            )
        if _is_binary_model(self.model, self.family):
            if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(
                values.dtype
            ):
                return values.to_numpy(dtype=float, na_value=np.nan)
            coded, self.classes_ = _binary_codes(values, name)
            return coded
        if pd.api.types.is_bool_dtype(values.dtype):
            return values.to_numpy(dtype=float, na_value=np.nan)
        if not pd.api.types.is_numeric_dtype(values.dtype) or isinstance(
            values.dtype, pd.CategoricalDtype
        ):
            raise ValueError(
                f"the outcome {name!r} is categorical or text (dtype {values.dtype}), but the model "
                f"{self.model!r} needs a numeric outcome; for two categories use model='logit' "
                "(or 'probit', or a GLM with a Binomial family)"
            )
        return values.to_numpy(dtype=float, na_value=np.nan)

    def predict(self, X):
        """Predicted mean response (log relative hazard for PHReg).

        MixedLM predictions use the fixed effects only.

        Parameters
        ----------
        X : pandas.DataFrame
            Predictor columns named as in the formula.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The predictions.
        """
        check_is_fitted(self, "results_")
        predicted = self.results_.predict(exog=self._frame(X))
        # PHReg returns a bunch whose predicted_values are the log relative hazards
        return np.asarray(getattr(predicted, "predicted_values", predicted), dtype=float)

    def pooling_summary(self):
        """Estimates, covariance and extra parameters for :mod:`skjomo.pooling`.

        Returns
        -------
        summary : skjomo.pooling.FitSummary
            Names, estimates, covariance, residual df, extra parameters and the fit's convergence.
        """
        check_is_fitted(self, "results_")
        return read_statsmodels(
            self.results_, group=self.groups if isinstance(self.groups, str) else None
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "regressor"
        from sklearn.utils import RegressorTags

        tags.regressor_tags = RegressorTags()
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        return tags


# ======================================================================
# the pipeline
# ======================================================================


def _estimator_has(attr):
    def check(self):
        if not hasattr(self.estimator, attr):
            raise AttributeError(
                f"the estimator {type(self.estimator).__name__} has no method {attr!r}, "
                f"so MultipleImputationPipeline has none either"
            )
        return True

    return check


def _fit_one(estimator, X, y, fit_params, i, m):
    """Fit one clone; an error says which imputed data set (1-based) it came from."""
    try:
        return estimator.fit(X, y, **fit_params)
    except Exception as exc:  # any failure is re-raised with the number of the data set
        message = (
            f"fitting {type(estimator).__name__} on imputed data set {i + 1} of {m} failed: {exc}"
        )
        try:
            new = type(exc)(message)
        except Exception:  # an exception type that takes other arguments
            exc.add_note(message)
            raise exc from None
        raise new from exc


def _categorical_columns(frame, imputer):
    """Columns of ``frame`` that are pandas categoricals or declared categorical to the imputer."""
    try:
        declared = imputer.get_params(deep=False).get("categorical_cols") or []
    except Exception:  # pragma: no cover - not a scikit-learn estimator
        declared = []
    declared = {declared} if isinstance(declared, str) else set(declared)
    return [
        c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype) or c in declared
    ]


def _encodes_categories(estimator):
    """Whether the estimator decides itself how categorical columns enter (not as their codes).

    Formula models code factors; ``ColumnTransformer`` and
    ``FunctionTransformer`` route columns as the user wrote; a ``Pipeline``
    does what its first step does; histogram gradient boosting with
    ``categorical_features="from_dtype"`` treats categoricals natively;
    otherwise the estimator's tags tell (``OneHotEncoder`` says yes).
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    if isinstance(estimator, (StatsmodelsModel, ColumnTransformer, FunctionTransformer)):
        return True
    if isinstance(estimator, Pipeline):
        steps = [
            step for _, step in estimator.steps if step is not None and not isinstance(step, str)
        ]
        return bool(steps) and _encodes_categories(steps[0])
    if (
        isinstance(getattr(estimator, "categorical_features", None), str)
        and estimator.categorical_features == "from_dtype"
    ):
        return True
    try:
        return bool(get_tags(estimator).input_tags.categorical)
    except Exception:  # pragma: no cover - no tags
        return False


def _check_categorical_predictors(estimator, frame, imputer):
    columns = _categorical_columns(frame, imputer)
    if columns and not _encodes_categories(estimator):
        name = type(estimator).__name__
        raise ValueError(
            f"the predictor column(s) {columns} are categorical, but {name} would receive them as "
            "numbers (their category codes or values), i.e. as one numeric predictor each. Encode "
            "them in the estimator, e.g. make_pipeline(make_column_transformer((OneHotEncoder("
            f"drop='first'), {columns}), remainder='passthrough'), {name}()), or use "
            "skjomo.StatsmodelsModel with a formula (categorical columns become treatment-coded "
            "factors)."
        )


def _fingerprint(datasets):
    """A digest of the m completed data sets (values, index, column names, in order)."""
    digest = hashlib.sha256()
    for d in datasets:
        digest.update(repr(list(d.columns)).encode())
        digest.update(pd.util.hash_pandas_object(d, index=True).to_numpy().tobytes())
    return digest.hexdigest()


def _has_param(estimator, name):
    try:
        return name in estimator.get_params(deep=False)
    except Exception:  # pragma: no cover - not a scikit-learn estimator
        return False


class MultipleImputationPipeline(MetaEstimatorMixin, BaseEstimator):
    """Impute m times, fit an estimator on each completed data set, pool.

    ``fit(X, y)`` imputes ``X`` together with the outcome ``y`` (the analysis
    outcome is part of the imputation model, and rows with a missing outcome
    are imputed, not dropped), draws ``n_imputations`` completed data sets,
    fits a clone of ``estimator`` on each and pools the estimates with
    Rubin's rules. ``predict``, ``predict_proba`` and ``score`` combine the
    m fitted models on new data whose missing values are imputed by the
    fitted imputer.

    Parameters
    ----------
    imputer : estimator
        A skjomo imputer (e.g. :class:`~skjomo.JointModelImputer`) or any
        estimator with ``fit(frame)``, ``sample(n_imputations=m)`` returning
        m completed DataFrames, and ``transform(frame)``. It is cloned.
    estimator : estimator
        The analysis model: a :class:`StatsmodelsModel` (estimates with
        standard errors, tests and intervals), a scikit-learn estimator or
        ``Pipeline`` (pooled point estimates only, see the notes). It is
        cloned once per imputation.
    n_imputations : int, default=5
        Number of imputed data sets m (at least 2).
    target_name : str, optional
        Column name given to ``y`` in the imputation data set; default the
        name of ``y`` when it is a named Series, else ``"target"``. It must
        not clash with a column of ``X``.
    df_com : float, array-like or "model", optional
        Complete-data degrees of freedom for the pooled inferences (see
        :func:`skjomo.pooling.pool_estimates`); default classic Rubin df.
    extra_params : bool, default=True
        Also average variance components / residual variance / ICC when
        the estimator reports them.
    keep_imputations : bool, default=False
        Keep the m completed training data sets in ``imputations_``.
    n_jobs : int, optional
        Number of jobs fitting the m models in parallel (joblib); ``None``
        leaves it to joblib's active backend, e.g. every worker of a dask
        cluster inside ``joblib.parallel_backend("dask")``
        (doc/distributed.rst). Results do not depend on it.
    random_state : int, RandomState instance or None, default=None
        Seeds the imputer (when its own ``random_state`` is None) and the
        clones of the estimator (when their ``random_state`` is None), each
        clone with its own seed.

    Attributes
    ----------
    imputer_ : estimator
        The fitted imputer.
    estimators_ : list of estimators
        The m fitted estimators.
    pooled_ : skjomo.pooling.PooledEstimates or None
        Pooled estimates; None when the estimator has no parameters that
        can be read (e.g. a random forest: the pipeline then serves
        predictions only, and ``summary`` says so).
    imputation_fingerprint_ : str
        Digest of the m completed data sets; two pipelines with equal
        fingerprints were fitted to the same imputations
        (:func:`~skjomo.pooling.compare_models` checks it).
    imputations_ : list of DataFrame
        The completed training data sets (only with ``keep_imputations``).
    target_name_ : str
        Name of the outcome column in the imputation data set.
    classes_ : ndarray
        Class labels (classifiers only).
    n_features_in_ : int
        Number of columns of ``X``.
    feature_names_in_ : ndarray of str
        Column names of ``X``.

    See Also
    --------
    skjomo.pooling.pool_estimates : Rubin's rules.
    skjomo.pooling.compare_models : D1-D4 tests on ``estimators_``.

    Notes
    -----
    What is pooled, and what is refused:

    * A :class:`StatsmodelsModel` gives estimates with covariances:
      Rubin's rules give standard errors, t, df, p-values and intervals.
      Fits that did not converge are named in a
      :class:`~sklearn.exceptions.ConvergenceWarning` and in
      ``pooled_.notes`` (a warning, not an error: the user may have judged
      them acceptable, but they bias the pooled values).
    * A scikit-learn linear model reports no sampling variance, so
      ``pooled_`` holds pooled point estimates only; its summary says that
      no tests or intervals were computed. A penalised fit (ridge, lasso,
      ``LogisticRegression`` with finite ``C``, the default ``C=1``) is
      pooled with a warning: its coefficients are shrunk towards zero and
      are not estimates of the unpenalised coefficients. The standard
      errors are not computed from a refit, which would be a different
      model whenever the estimator is penalised, weighted or constrained;
      use :class:`StatsmodelsModel` for inference.
    * A scikit-learn ``Pipeline`` is pooled through its final step, named
      by the features that step saw.
    * Categorical predictors (pandas categoricals, or columns in the
      imputer's ``categorical_cols``) are refused with an error when the
      estimator would receive them as numeric codes; formula models,
      ``ColumnTransformer``/``OneHotEncoder`` pipelines and estimators with
      native categorical support receive them as they are.
    * An estimator that fails on one imputed data set raises the same
      exception type, with the number of that data set in the message; NaN
      estimates or covariances from one data set are an error naming it.

    New data given to ``predict`` are imputed with the outcome column set to
    missing. When the imputer's ``sample`` accepts new rows (``sample(m,
    X=new)``, as skjomo's imputers do), model i predicts on its own
    imputation i of the new rows; otherwise all models use one
    ``transform``. Rows without missing values are not imputed.
    Regression predictions are the mean of the m predictions;
    class probabilities are averaged, and the predicted class is the most
    probable one (majority vote for classifiers without
    ``predict_proba``). ``score`` ignores rows with a missing outcome.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> from skjomo import JointModelImputer
    >>> from skjomo.datasets import load_jspmiss
    >>> from skjomo import MultipleImputationPipeline
    >>> data = load_jspmiss()
    >>> X, y = data[["ravens", "sex"]], data["english"]
    >>> pipe = MultipleImputationPipeline(
    ...     JointModelImputer(covariate_cols=["sex"], n_burn=100, n_between=10),
    ...     LinearRegression(), n_imputations=3, random_state=0).fit(X, y)
    >>> pipe.pooled_.names
    ['Intercept', 'ravens', 'sex']
    """

    def __init__(
        self,
        imputer,
        estimator,
        n_imputations=5,
        *,
        target_name=None,
        df_com=None,
        extra_params=True,
        keep_imputations=False,
        n_jobs=None,
        random_state=None,
    ):
        self.imputer = imputer
        self.estimator = estimator
        self.n_imputations = n_imputations
        self.target_name = target_name
        self.df_com = df_com
        self.extra_params = extra_params
        self.keep_imputations = keep_imputations
        self.n_jobs = n_jobs
        self.random_state = random_state

    # ------------------------------------------------------------ helpers
    def _check_m(self):
        m = self.n_imputations
        if isinstance(m, bool) or not isinstance(m, numbers.Integral) or m < 2:
            raise ValueError(
                f"n_imputations must be an integer of at least 2 (pooling needs m ≥ 2), got {m!r}"
            )
        return int(m)

    def _as_frame(self, X, reset):
        if isinstance(X, pd.DataFrame):
            frame = X
        else:
            arr = np.asarray(
                X, dtype=object if not np.issubdtype(np.asarray(X).dtype, np.number) else float
            )
            if arr.ndim != 2:
                raise ValueError(f"X must be 2-D, got shape {arr.shape}")
            names = [f"x{i}" for i in range(arr.shape[1])]
            if not reset and hasattr(self, "feature_names_in_"):
                names = list(self.feature_names_in_)
            frame = pd.DataFrame(arr, columns=names)
        if reset:
            self.n_features_in_ = frame.shape[1]
            self.feature_names_in_ = np.asarray([str(c) for c in frame.columns], dtype=object)
            self._columns = list(frame.columns)
        else:
            missing = [c for c in self._columns if c not in frame.columns]
            if missing:
                raise ValueError(f"X lacks the columns {missing} seen in fit")
            frame = frame[self._columns]
        return frame

    def _target(self, X, y):
        if y is None:
            raise ValueError(
                "MultipleImputationPipeline needs the outcome y: it is imputed together with X"
            )
        name = self.target_name
        if name is None:
            name = y.name if isinstance(y, pd.Series) and isinstance(y.name, str) else "target"
        if name in X.columns:
            raise ValueError(f"the outcome name {name!r} is also a column of X; set target_name")
        if isinstance(y, pd.DataFrame):
            if y.shape[1] != 1:
                raise ValueError("y must be one-dimensional")
            y = y.iloc[:, 0]
        if isinstance(y, pd.Series):
            values = y.reset_index(drop=True)
        else:
            arr = np.asarray(y)
            if arr.ndim != 1:
                arr = arr.ravel() if arr.ndim == 2 and arr.shape[1] == 1 else None
                if arr is None:
                    raise ValueError("y must be one-dimensional")
            values = pd.Series(arr)
        if len(values) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(values)}")
        values.index = X.index
        return name, values.rename(name)

    # ------------------------------------------------------------ fit
    def fit(self, X, y, **fit_params):
        """Impute, fit the estimator on each completed data set, pool.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            Predictors, with missing values; cluster columns etc. as the
            imputer needs them.
        y : array-like of shape (n_samples,)
            Outcome, with missing values allowed; it is imputed with ``X``.
        **fit_params : dict
            Passed to the estimator's ``fit``.

        Returns
        -------
        self : MultipleImputationPipeline
            The fitted pipeline.

        Raises
        ------
        ValueError
            If a categorical predictor would reach the estimator as numeric
            codes, or the m fits give non-finite estimates (naming the
            imputed data sets).
        Exception
            Whatever the estimator raises on an imputed data set, re-raised
            with the number of that data set in the message.
        """
        m = self._check_m()
        frame = self._as_frame(X, reset=True)
        target, yv = self._target(frame, y)
        _check_categorical_predictors(self.estimator, frame, self.imputer)
        self.target_name_ = target
        classifier = self._is_classifier()
        if classifier and not isinstance(yv.dtype, pd.CategoricalDtype):
            # class labels are imputed as a categorical variable
            yv = pd.Series(pd.Categorical(yv), index=yv.index, name=target)
        self._target_dtype = yv.dtype
        data = frame.copy()
        data[target] = yv
        rng = check_random_state(self.random_state)

        imputer = clone(self.imputer)
        if _has_param(imputer, "n_imputations"):
            imputer.set_params(n_imputations=m)
        if (
            self.random_state is not None
            and _has_param(imputer, "random_state")
            and imputer.get_params(deep=False)["random_state"] is None
        ):
            imputer.set_params(random_state=int(rng.randint(np.iinfo(np.int32).max)))
        imputer.fit(data)
        datasets = imputer.sample(n_imputations=m)
        if len(datasets) != m:
            raise ValueError(f"the imputer returned {len(datasets)} data sets instead of {m}")
        self.imputer_ = imputer

        seeds = (
            rng.randint(np.iinfo(np.int32).max, size=m) if self.random_state is not None else None
        )
        estimators = []
        for i in range(m):
            est = clone(self.estimator)
            if (
                seeds is not None
                and _has_param(est, "random_state")
                and est.get_params(deep=False)["random_state"] is None
            ):
                est.set_params(random_state=int(seeds[i]))
            estimators.append(est)
        jobs = []
        for est, d in zip(estimators, datasets):
            d = pd.DataFrame(d, columns=data.columns) if not isinstance(d, pd.DataFrame) else d
            yi = d[target]
            if classifier and isinstance(yi.dtype, pd.CategoricalDtype):
                yi = pd.Series(
                    np.asarray(yi.cat.categories)[yi.cat.codes.to_numpy()],
                    index=yi.index,
                    name=target,
                )
            jobs.append((est, d[self._columns], yi))
        self.estimators_ = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_one)(est, Xi, yi, fit_params, i, m) for i, (est, Xi, yi) in enumerate(jobs)
        )
        self.imputation_fingerprint_ = _fingerprint([pd.DataFrame(d) for d in datasets])
        if self.keep_imputations:
            self.imputations_ = [pd.DataFrame(d) for d in datasets]

        if classifier:
            classes = [np.asarray(getattr(e, "classes_", [])) for e in self.estimators_]
            for c in classes[1:]:
                if len(c) != len(classes[0]) or np.any(c != classes[0]):
                    raise ValueError(
                        "the fitted classifiers saw different classes in different imputed data sets"
                    )
            self.classes_ = classes[0]
        try:
            self.pooled_ = self.pool(df_com=self.df_com, extra_params=self.extra_params)
        except TypeError as exc:  # no parameters that a reader knows (e.g. a random forest)
            self.pooled_ = None
            self._not_pooled = str(exc)
        return self

    def pool(self, df_com=None, extra_params=True):
        """Pool the fitted estimators again, e.g. with other complete-data df.

        Parameters
        ----------
        df_com : float, array-like or "model", optional
            Complete-data degrees of freedom.
        extra_params : bool, default=True
            Average variance components etc. when available.

        Returns
        -------
        result : skjomo.pooling.PooledEstimates
            The pooled estimates and, with covariances, inferences.

        Raises
        ------
        TypeError
            If the estimator's parameters cannot be read.
        """
        check_is_fitted(self, "estimators_")
        first = read_fit(self.estimators_[0])
        return pool_estimates(
            self.estimators_, df_com=df_com, extra_params=bool(extra_params and first.extra)
        )

    def summary(self):
        """Text table of the pooled estimates (mitml's ``testEstimates`` layout).

        Returns
        -------
        text : str
            The printed table.
        """
        check_is_fitted(self, "estimators_")
        if self.pooled_ is None:
            raise ValueError(
                f"{type(self.estimator).__name__} has no parameters that skjomo can read, so nothing "
                f"was pooled ({self._not_pooled}); the pipeline serves predictions only"
            )
        return self.pooled_.summary()

    # ------------------------------------------------------------ prediction
    def _completed_new(self, X):
        check_is_fitted(self, "estimators_")
        frame = self._as_frame(X, reset=False)
        m = len(self.estimators_)
        if not frame.isna().to_numpy().any():
            return [frame] * m
        data = frame.copy()
        if isinstance(self._target_dtype, pd.CategoricalDtype):
            data[self.target_name_] = pd.Categorical([None] * len(data), dtype=self._target_dtype)
        else:
            data[self.target_name_] = np.nan
        sample = getattr(self.imputer_, "sample", None)
        takes_x = False
        if sample is not None:
            try:
                takes_x = "X" in inspect.signature(sample).parameters
            except (TypeError, ValueError):  # pragma: no cover
                takes_x = False
        if takes_x:
            completed = self.imputer_.sample(n_imputations=m, X=data)
        else:
            completed = [self.imputer_.transform(data)] * m
        return [
            pd.DataFrame(c, columns=data.columns, index=data.index)[self._columns]
            if not isinstance(c, pd.DataFrame)
            else c[self._columns]
            for c in completed
        ]

    def _is_classifier(self):
        return get_tags(self.estimator).estimator_type == "classifier"

    def predict(self, X):
        """Combined prediction of the m fitted models.

        Parameters
        ----------
        X : pandas.DataFrame or array-like
            New data; missing values are imputed by the fitted imputer.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Mean prediction (regression) or most probable class
            (classification).
        """
        frames = self._completed_new(X)
        if self._is_classifier():
            if all(hasattr(e, "predict_proba") for e in self.estimators_):
                proba = np.mean(
                    [e.predict_proba(f) for e, f in zip(self.estimators_, frames)], axis=0
                )
                return self.classes_[np.argmax(proba, axis=1)]
            votes = np.array([e.predict(f) for e, f in zip(self.estimators_, frames)])
            index = {c: i for i, c in enumerate(self.classes_)}
            counts = np.zeros((votes.shape[1], len(self.classes_)))
            for row in votes:
                counts[np.arange(votes.shape[1]), [index[v] for v in row]] += 1
            return self.classes_[np.argmax(counts, axis=1)]
        return np.mean(
            [np.asarray(e.predict(f), dtype=float) for e, f in zip(self.estimators_, frames)],
            axis=0,
        )

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities averaged over the m fitted models.

        Parameters
        ----------
        X : pandas.DataFrame or array-like
            New data; missing values are imputed by the fitted imputer.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        frames = self._completed_new(X)
        return np.mean([e.predict_proba(f) for e, f in zip(self.estimators_, frames)], axis=0)

    @available_if(_estimator_has("predict"))
    def score(self, X, y, sample_weight=None):
        """Accuracy (classifiers) or R² (regressors) of the combined prediction.

        Rows whose outcome is missing are ignored. For a binary
        :class:`StatsmodelsModel` (a regressor of the probability of
        ``classes_[1]``) the outcome is coded 0/1 against that class, so the
        score is one minus the Brier score over the outcome's variance.

        Parameters
        ----------
        X : pandas.DataFrame or array-like
            New data; missing values are imputed by the fitted imputer.
        y : array-like of shape (n_samples,)
            True outcome (missing values allowed).
        sample_weight : array-like of shape (n_samples,), optional
            Sample weights.

        Returns
        -------
        score : float
        """
        yv = pd.Series(
            np.asarray(y, dtype=object)
            if not pd.api.types.is_numeric_dtype(np.asarray(y))
            else np.asarray(y)
        )
        keep = ~pd.isna(yv).to_numpy()
        if not keep.any():
            raise ValueError("y has no observed values to score against")
        pred = self.predict(X)[keep]
        sw = None if sample_weight is None else np.asarray(sample_weight)[keep]
        truth = yv.to_numpy()[keep]
        if self._is_classifier():
            return float(
                accuracy_score(
                    truth.astype(self.classes_.dtype) if self.classes_.dtype != object else truth,
                    pred,
                    sample_weight=sw,
                )
            )
        classes = getattr(self.estimators_[0], "classes_", None)
        if classes is not None:  # a binary StatsmodelsModel predicts P(classes_[1])
            truth = (truth == classes[1]).astype(float)
        return float(r2_score(truth.astype(float), pred, sample_weight=sw))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = inner.classifier_tags
        tags.regressor_tags = inner.regressor_tags
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.target_tags.required = True
        return tags
