"""Readers: turn fitted models into named estimates, covariances and extras.

A reader maps one fitted model to a :class:`FitSummary`. Built-in readers
cover statsmodels results (OLS/WLS/GLS, GLM, discrete models such as Logit,
MixedLM, OrderedModel with its cut-points and, generically, any results object with ``params`` and
``cov_params()``) and scikit-learn linear models (point estimates; the
posterior covariance of :class:`~sklearn.linear_model.BayesianRidge`). A
user-supplied function returning ``(estimates, covariance)`` works as a
reader too.

Besides the numbers, a summary says what the numbers are not: ``problem``
records a fit that did not reach its maximum (see ``_convergence``), and
``penalty`` a penalised scikit-learn fit, whose coefficients are shrunk
towards zero and come without standard errors.
"""

import numbers
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._convergence import fit_problem, warn_if_not_converged
from ._inputs import _as_float, check_estimates, coerce_covariances

__all__ = ["FitSummary", "read_fit"]


@dataclass
class FitSummary:
    """What the pooling functions need from one fitted model.

    Parameters
    ----------
    names : list of str
        Parameter names, in order.
    estimates : ndarray of shape (p,)
        Point estimates.
    covariance : ndarray of shape (p, p) or (p,), or None
        Covariance matrix of the estimates, or their variances (1-D), or
        None when the model defines no sampling variance.
    df_resid : float or None
        Residual (complete-data) degrees of freedom, if the model has them.
    extra : dict
        Extra parameters (variance components, ICC), name to value, pooled
        by plain averaging.
    model : object
        The fitted model the summary was read from.
    problem : str or None
        Why the fit is not at its maximum (did not converge, infinite
        log-likelihood, stopped short), or None.
    penalty : str or None
        The penalty of a penalised fit (e.g. ``"LogisticRegression(C=1.0)"``),
        or None for an unpenalised one.
    """

    names: list
    estimates: np.ndarray
    covariance: object = None
    df_resid: object = None
    extra: dict = field(default_factory=dict)
    model: object = None
    problem: object = None
    penalty: object = None


def _unwrap(results):
    return getattr(results, "_results", results)


def _is_statsmodels(obj):
    return type(_unwrap(obj)).__module__.startswith("statsmodels") and hasattr(obj, "params")


def _sm_classes():
    from statsmodels.genmod.generalized_linear_model import GLMResults
    from statsmodels.regression.linear_model import RegressionResults
    from statsmodels.regression.mixed_linear_model import MixedLMResults

    return RegressionResults, GLMResults, MixedLMResults


def _names_of(params, fallback_prefix="x"):
    if isinstance(params, pd.Series):
        return [str(n) for n in params.index]
    return [f"{fallback_prefix}{i}" for i in range(len(np.ravel(params)))]


def _family_has_scale(family):
    from statsmodels.genmod import families

    fixed = (families.Binomial, families.Poisson, families.NegativeBinomial)
    return not isinstance(family, fixed)


def _mixedlm_re_names(results, group=None):
    """Random-effect names with the intercept called ``Intercept``, and the group name."""
    model = _unwrap(results).model
    names = list(getattr(model.data, "exog_re_names", None) or [])
    exog_re = np.asarray(model.exog_re)
    if len(names) != exog_re.shape[1]:
        names = [f"re{i}" for i in range(exog_re.shape[1])]
    out = []
    has_intercept = False
    for i, name in enumerate(names):
        if np.all(exog_re[:, i] == 1.0):
            has_intercept = True
            if group is None and name != "Intercept":
                group = name  # statsmodels labels the random intercept by the group name
            out.append("Intercept")
        else:
            out.append(str(name).replace("(Intercept)", "Intercept"))
    return out, (group or "Group"), has_intercept


def _read_mixedlm(results, group=None):
    res = _unwrap(results)
    fe = results.fe_params
    names = _names_of(fe)
    k = len(names)
    cov = np.asarray(results.cov_params(), dtype=float)[:k, :k]
    if getattr(res, "k_vc", 0):
        raise ValueError(
            "MixedLM fits with variance components (vc_formula) are not supported "
            "by the reader; pass a reader function instead"
        )
    re_names, group, has_intercept = _mixedlm_re_names(results, group)
    tau = np.asarray(results.cov_re, dtype=float)
    scale = float(res.scale)
    extra = {}
    q = tau.shape[0]
    for i in range(q):
        extra[f"{re_names[i]}~~{re_names[i]}|{group}"] = tau[i, i]
    for j in range(q):
        for i in range(j):
            extra[f"{re_names[i]}~~{re_names[j]}|{group}"] = tau[i, j]
    extra["Residual~~Residual"] = scale
    if has_intercept:
        i0 = re_names.index("Intercept")
        extra[f"ICC|{group}"] = tau[i0, i0] / (tau[i0, i0] + scale)
    df_resid = getattr(res, "df_resid", None)
    return FitSummary(
        names, np.asarray(fe, dtype=float), cov, df_resid, extra, results, fit_problem(results)
    )


def _is_ordered_model(res):
    from statsmodels.miscmodels.ordinal_model import OrderedResults

    return isinstance(res, OrderedResults)


def _read_ordered(results):
    """An ``OrderedModel`` fit with its cut-points on their own scale.

    statsmodels estimates the thresholds as the first cut-point followed by
    the logs of the increments, ``(alpha_1, log(alpha_2 - alpha_1), ...)``;
    the summary holds the coefficients and the cut-points ``alpha_j``
    themselves (names kept, e.g. ``"1/2"``), with the covariance carried
    over by the delta method, ``J V J'`` with ``J`` the Jacobian of the map.
    The cut-points are what R's ``polr`` reports (``zeta``) and what
    :class:`skjomo.SubstantiveModelImputer` calls them in ``theta_``.
    """
    res = _unwrap(results)
    params = np.asarray(results.params, dtype=float)
    names = _names_of(results.params)
    k = params.shape[0] - (int(res.model.k_levels) - 1)
    cuts = np.cumsum(np.r_[params[k], np.exp(params[k + 1 :])])
    jac = np.eye(params.shape[0])
    for j in range(1, cuts.shape[0]):
        jac[k + j, k + 1 : k + j + 1] = np.exp(params[k + 1 : k + j + 1])
        jac[k + j, k] = 1.0
    cov = np.asarray(results.cov_params(), dtype=float)
    return FitSummary(
        names,
        np.r_[params[:k], cuts],
        jac @ cov @ jac.T,
        getattr(res, "df_resid", None),
        {},
        results,
        fit_problem(results),
    )


def _read_phreg(results):
    """A Cox model (``PHReg``): log hazard ratios named by the design columns,
    their covariance, and no complete-data degrees of freedom (large-sample
    inference, as R's coxph)."""
    res = _unwrap(results)
    names = [str(n) for n in res.model.exog_names]
    return FitSummary(
        names,
        np.asarray(res.params, dtype=float),
        np.asarray(res.cov_params(), dtype=float),
        None,
        {},
        results,
        fit_problem(results),
    )


def read_statsmodels(results, group=None):
    """Read a statsmodels results object; ``group`` names the clusters of a MixedLM."""
    from statsmodels.duration.hazard_regression import PHRegResults

    RegressionResults, GLMResults, MixedLMResults = _sm_classes()
    res = _unwrap(results)
    if isinstance(res, MixedLMResults):
        return _read_mixedlm(results, group)
    if _is_ordered_model(res):
        return _read_ordered(results)
    if isinstance(res, PHRegResults):
        return _read_phreg(results)
    params = results.params
    if np.ndim(params) != 1:
        raise ValueError(
            f"{type(res).__name__} has a 2-D parameter array; pass a reader function "
            "that returns a flat vector of estimates"
        )
    names = _names_of(params)
    try:
        cov = np.asarray(results.cov_params(), dtype=float)
    except Exception:  # pragma: no cover - results without covariance
        cov = None
    extra = {}
    if isinstance(res, RegressionResults):
        extra["Residual~~Residual"] = float(res.ssr / res.df_resid)
    elif isinstance(res, GLMResults):
        from statsmodels.genmod import families

        if isinstance(res.model.family, families.Gaussian):
            resid = np.asarray(res.resid_deviance, dtype=float)
            extra["Residual~~Residual"] = float(resid @ resid / res.df_resid)
    df_resid = getattr(res, "df_resid", None)
    return FitSummary(
        names, np.asarray(params, dtype=float), cov, df_resid, extra, results, fit_problem(results)
    )


def sklearn_penalty(estimator):
    """The penalty of a fitted scikit-learn estimator as text, or None when unpenalised.

    Penalised are estimators with a finite inverse strength ``C`` (logistic
    regression, linear SVMs) or a positive strength ``alpha`` / ``alpha_``
    (ridge, lasso, elastic net, SGD, Huber, Poisson and other GLMs).
    """
    try:
        params = estimator.get_params(deep=False)
    except Exception:  # pragma: no cover - not a scikit-learn estimator
        return None
    name = type(estimator).__name__
    C = params.get("C")
    if isinstance(C, numbers.Real) and np.isfinite(C) and params.get("penalty", "l2") is not None:
        return f"{name}(C={C:g})"
    alpha = getattr(estimator, "alpha_", params.get("alpha"))
    if alpha is not None and not isinstance(alpha, str):
        try:
            values = np.asarray(alpha, dtype=float)
        except (TypeError, ValueError):
            return None
        if values.size and np.all(np.isfinite(values)) and np.any(values > 0):
            shown = f"{float(values.ravel()[0]):g}" if values.size == 1 else "…"
            return f"{name}(alpha={shown})"
    return None


def _final_step(estimator):
    """(final estimator, feature names it saw) for a scikit-learn Pipeline, else (estimator, None)."""
    steps = getattr(estimator, "steps", None)
    if not isinstance(steps, list) or not steps:
        return estimator, None
    final = steps[-1][1]
    features = getattr(final, "feature_names_in_", None)
    if features is None and len(steps) > 1:
        try:
            features = estimator[:-1].get_feature_names_out()
        except (AttributeError, TypeError, ValueError):
            features = None
    return final, features


def _read_sklearn(estimator):
    final, features = _final_step(estimator)
    coef = np.asarray(final.coef_, dtype=float)
    if features is None:
        features = getattr(final, "feature_names_in_", None)
    n_features = coef.shape[-1]
    if features is None or len(features) != n_features:
        features = [f"x{i}" for i in range(n_features)]
    features = [str(f) for f in features]
    from sklearn.linear_model import BayesianRidge

    if isinstance(final, BayesianRidge):
        # the posterior covariance covers the coefficients only
        return FitSummary(
            list(features),
            coef.ravel().copy(),
            np.asarray(final.sigma_, dtype=float),
            None,
            {},
            estimator,
        )
    intercept = np.atleast_1d(np.asarray(getattr(final, "intercept_", 0.0), dtype=float))
    fit_intercept = getattr(final, "fit_intercept", True)
    if coef.ndim == 1 or coef.shape[0] == 1:
        names = list(features)
        values = coef.ravel()
        if fit_intercept:
            names = ["Intercept"] + names
            values = np.concatenate([intercept[:1], values])
    else:
        classes = getattr(final, "classes_", None)
        labels = (
            [str(c) for c in classes]
            if classes is not None
            else [str(i) for i in range(coef.shape[0])]
        )
        if len(labels) != coef.shape[0]:  # multi-output regression
            labels = [str(i) for i in range(coef.shape[0])]
        names, values = [], []
        for r, label in enumerate(labels):
            if fit_intercept:
                names.append(f"{label}:Intercept")
                values.append(intercept[r])
            names.extend(f"{label}:{f}" for f in features)
            values.extend(coef[r])
        values = np.asarray(values, dtype=float)
    return FitSummary(
        names,
        np.asarray(values, dtype=float),
        None,
        None,
        {},
        estimator,
        penalty=sklearn_penalty(final),
    )


def _read_function_output(out, model):
    if isinstance(out, FitSummary):
        return out
    if isinstance(out, tuple):
        if len(out) != 2:
            raise ValueError("a reader function must return estimates or (estimates, covariance)")
        est, cov = out
    else:
        est, cov = out, None
    if isinstance(est, dict):
        est = pd.Series(est)
    if isinstance(est, pd.Series):
        names = [str(n) for n in est.index]
        if isinstance(cov, pd.DataFrame) and set(map(str, cov.index)) == set(names):
            cov = cov.set_axis([str(n) for n in cov.index], axis=0).set_axis(
                [str(n) for n in cov.columns], axis=1
            )
            cov = cov.loc[names, names]
        elif isinstance(cov, pd.Series) and set(map(str, cov.index)) == set(names):
            cov = cov.set_axis([str(n) for n in cov.index]).loc[names]
    else:
        names = [f"Parameter.{i + 1}" for i in range(np.size(est))]
    est = _as_float(est, "estimates returned by the reader").ravel()
    if cov is not None:
        cov = _as_float(cov, "covariances returned by the reader")
    return FitSummary(names, est, cov, None, {}, model)


def read_fit(model, reader=None):
    """Read estimates, covariance and extra parameters from one fitted model.

    Parameters
    ----------
    model : object
        A fitted statsmodels results object (OLS, WLS, GLS, GLM, Logit,
        Probit, Poisson, MixedLM, OrderedModel, PHReg, or any results with
        ``params`` and ``cov_params()``), a fitted scikit-learn linear model (with
        ``coef_``), a scikit-learn ``Pipeline`` whose final step is one, a
        :class:`FitSummary`, or anything ``reader`` accepts.
    reader : callable, optional
        Function ``reader(model)`` returning ``estimates`` or
        ``(estimates, covariance)``. Estimates may be a pandas Series (its
        index gives the names), a dict or an array; the covariance may be a
        ``p × p`` matrix, a vector of ``p`` variances, or None.

    Returns
    -------
    summary : FitSummary
        Names, estimates, covariance (or None), residual degrees of freedom,
        extra parameters, and what is wrong with the fit (``problem``: it did
        not reach its maximum; ``penalty``: a penalised fit).

    Raises
    ------
    TypeError
        If the model is of a type no reader knows.

    Notes
    -----
    For MixedLM the estimate vector holds the fixed effects only; the
    random-effect covariance matrix, the residual variance and the ICC are
    extra parameters named as in mitml (``Intercept~~Intercept|school``,
    ``Residual~~Residual``, ``ICC|school``). For OLS and Gaussian GLMs the
    residual variance ``RSS / df_resid`` is the extra parameter. For
    statsmodels' ``OrderedModel`` the estimates are the coefficients and the
    cut-points ``alpha_1 < ... < alpha_{K-1}`` (statsmodels' names, e.g.
    ``"1/2"``), not statsmodels' internal first-cut-and-log-increments
    parameters; their covariance follows by the delta method. For a Cox
    model (``PHReg``) the estimates are the log hazard ratios, named by the
    columns of its design (``x1``, ``x1:x2``, ...), with their covariance and
    no residual degrees of freedom (its inference is large-sample); the
    hazard ratios and their interval bounds are ``exp`` of the pooled
    estimates and bounds.
    scikit-learn models give point estimates only (named ``Intercept`` and
    the feature names); :class:`~sklearn.linear_model.BayesianRidge` gives
    its coefficients with their posterior covariance ``sigma_`` (the
    intercept has no variance there and is left out). For a ``Pipeline``
    the coefficients of the final step are read, named by the features
    that step saw (its ``feature_names_in_``, else the preceding steps'
    ``get_feature_names_out()``, else ``x0, x1, …``). A statsmodels fit is
    checked for convergence (``problem``, see :mod:`skjomo.pooling` notes);
    a penalised scikit-learn fit records its ``penalty``.
    """
    if reader is not None:
        return _read_function_output(reader(model), model)
    if isinstance(model, FitSummary):
        return model
    if hasattr(model, "pooling_summary"):
        return model.pooling_summary()
    if _is_statsmodels(model):
        return read_statsmodels(model)
    if hasattr(_final_step(model)[0], "coef_"):
        return _read_sklearn(model)
    raise TypeError(
        f"cannot read estimates from an object of type {type(model).__name__}; "
        "pass reader=function(model) -> (estimates, covariance)"
    )


def as_model_list(models):
    """A list of fitted models; a fitted MultipleImputationPipeline gives its ``estimators_``."""
    if hasattr(models, "estimators_") and hasattr(models, "imputer_"):
        return list(models.estimators_)
    return models


def warn_about_fits(summaries, what="fits", stacklevel=4):
    """Warn about fits that did not converge (naming the imputations) and about penalised fits."""
    warn_if_not_converged([s.problem for s in summaries], what, stacklevel=stacklevel + 1)
    penalty = next((s.penalty for s in summaries if s.penalty is not None), None)
    if penalty is not None:
        warnings.warn(
            f"the {what} are penalised {penalty.split('(')[0]} fits: their coefficients are shrunk towards zero, so "
            "the pooled values are averages of penalised estimates, not estimates of the "
            "unpenalised regression coefficients, and they come without standard errors. For the "
            "maximum-likelihood coefficients use an unpenalised fit (LogisticRegression(C=np.inf), "
            "LinearRegression); for standard errors and tests use skjomo.StatsmodelsModel.",
            UserWarning,
            stacklevel=stacklevel + 1,
        )


def read_fits(models, reader=None, *, what="fits", stacklevel=4):
    """Read a list of m fitted models, check that they agree, and warn about failed fits.

    Raises
    ------
    ValueError
        If the names differ, an estimate or covariance is not finite or a
        variance is negative (naming the imputations).
    """
    models = as_model_list(models)
    if isinstance(models, (str, bytes)) or not hasattr(models, "__len__"):
        raise TypeError("models must be a list of fitted models, one per imputed data set")
    summaries = [read_fit(model, reader) for model in models]
    if len(summaries) < 2:
        raise ValueError(f"pooling needs at least m = 2 fitted models, got {len(summaries)}")
    first = summaries[0]
    for i, s in enumerate(summaries[1:], start=2):
        if list(s.names) != list(first.names):
            if sorted(s.names) == sorted(first.names):
                order = [s.names.index(n) for n in first.names]
                s.estimates = s.estimates[order]
                if s.covariance is not None:
                    cov = np.asarray(s.covariance)
                    s.covariance = cov[order] if cov.ndim == 1 else cov[np.ix_(order, order)]
                s.names = list(first.names)
            else:
                only1 = [n for n in first.names if n not in s.names]
                only_i = [n for n in s.names if n not in first.names]
                raise ValueError(
                    "the models have different parameter names across imputations: "
                    f"imputation 1 has {only1} that imputation {i} lacks, "
                    f"imputation {i} has {only_i} that imputation 1 lacks "
                    "(e.g. a category absent from one imputed data set)"
                )
        if list(s.extra) != list(first.extra):
            raise ValueError(
                f"the extra parameters of imputation {i} ({list(s.extra)}) differ "
                f"from those of imputation 1 ({list(first.extra)})"
            )
    have_cov = [s.covariance is not None for s in summaries]
    if any(have_cov) and not all(have_cov):
        raise ValueError("some models report a covariance matrix and others do not")
    names = list(first.names)
    check_estimates(np.array([s.estimates for s in summaries], dtype=float), names)
    if all(have_cov):
        coerce_covariances([s.covariance for s in summaries], len(summaries), len(names), names)
    warn_about_fits(summaries, what, stacklevel=stacklevel)
    return summaries
