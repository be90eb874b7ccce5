"""Did a fitted model reach its maximum? Checks run before pooling.

Pooling averages the m fits as if each were the estimate its model defines
(for likelihood models: the maximum of the (restricted) likelihood). A fit
that stopped short of the maximum is a different number, and averaging it in
biases the pooled result without any visible sign. statsmodels' own
``converged`` flag is not enough: a MixedLM fit whose first optimiser fails
is retried and then reported as converged even when it stopped short of the
maximum, and an L-BFGS fit can run off to a singular random-effect
covariance with an infinite log-likelihood and still be flagged converged.

:func:`fit_problem` therefore checks three things and returns a sentence
naming the first that fails (None when the fit is fine):

1. the model's own convergence flag (``converged`` or
   ``mle_retvals["converged"]``);
2. a finite log-likelihood;
3. for MixedLM, that the (restricted) log-likelihood cannot be raised by
   more than ``LOGLIK_GAIN_TOL = 1e-3`` along the Newton direction
   ``(−H)⁻¹g`` from the fitted parameters (g the gradient, H the Hessian,
   in the parameterisation with the random-effect covariance itself),
   trying steps 1, 1/2, …, 1/64 that keep that covariance positive
   semi-definite. Near a maximum a gain ``Δ`` means the fit is about
   ``√(2Δ)`` standard errors from it, so the tolerance allows about 0.045
   standard errors. Well-converged fits gain 1e-7 or less; fits that
   stopped early gain 0.1 or more. Actually evaluating the steps, rather
   than trusting the quadratic prediction ``gᵀ(−H)⁻¹g/2``, keeps the check
   honest at the boundary (a singular random-effect covariance), where the
   gradient need not vanish.

See the "Converged mixed-model fits" section of ``doc/pooling.rst``.
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

__all__ = ["LOGLIK_GAIN_TOL", "fit_problem", "warn_if_not_converged"]

LOGLIK_GAIN_TOL = 1e-3


def _unwrap(results):
    return getattr(results, "_results", results)


def _converged_flag(res):
    flag = getattr(res, "converged", None)
    if flag is None:
        retvals = getattr(res, "mle_retvals", None)
        if isinstance(retvals, dict):
            flag = retvals.get("converged")
    return flag


def _mixedlm_gain(res):
    """The largest rise of the (restricted) log-likelihood found along the Newton direction.

    The direction is ``(−H)⁻¹g`` in the parameterisation with the random
    effect covariance itself (not its square root); steps of length 1, 1/2,
    …, 1/64 that keep the covariance positive semi-definite are tried. None
    when the gradient or Hessian cannot be computed.
    """
    from statsmodels.regression.mixed_linear_model import MixedLMParams

    model = res.model
    params = res.params_object
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            gradient = np.concatenate([np.ravel(g) for g in model.score_full(params, calc_fe=True)])
            hessian = model.hessian(params)
            if isinstance(hessian, tuple):
                hessian = hessian[0]
            direction = np.linalg.lstsq(-np.asarray(hessian, dtype=float), gradient, rcond=None)[0]
            if gradient @ direction < 0:  # not a concave point: go uphill
                direction = -direction
            packed = params.get_packed(use_sqrt=False, has_fe=True)
            start = float(model.loglike(params, profile_fe=False))
            best = 0.0
            for t in 0.5 ** np.arange(7):
                trial = MixedLMParams.from_packed(
                    packed + t * direction, model.k_fe, model.k_re, use_sqrt=False, has_fe=True
                )
                cov_re = np.atleast_2d(trial.cov_re)
                if cov_re.size and np.linalg.eigvalsh(cov_re).min() < 0:
                    continue
                if np.size(trial.vcomp) and np.min(trial.vcomp) < 0:
                    continue
                value = float(model.loglike(trial, profile_fe=False))
                if np.isfinite(value):
                    best = max(best, value - start)
        except (np.linalg.LinAlgError, ValueError, AttributeError, TypeError):
            return None
    return best


def fit_problem(model):
    """Why a fitted model is not at its maximum, or None when it is.

    Parameters
    ----------
    model : object
        A fitted statsmodels results object, or a wrapper holding one in
        ``results_`` (:class:`skjomo.StatsmodelsModel`). Other
        objects are not checked (None).

    Returns
    -------
    problem : str or None
        A short description (e.g. ``"the log-likelihood is inf"``).
    """
    results = getattr(model, "results_", model)
    res = _unwrap(results)
    if not type(res).__module__.startswith("statsmodels"):
        return None
    if _converged_flag(res) is False:
        return "statsmodels reports that the optimiser did not converge"
    llf = getattr(res, "llf", None)
    if llf is not None:
        try:
            llf = float(llf)
        except (TypeError, ValueError):  # pragma: no cover - exotic results
            llf = None
    if llf is not None and not np.isfinite(llf):
        return f"the log-likelihood is {llf} (the fit collapsed, e.g. to a singular random-effect covariance)"
    from statsmodels.regression.mixed_linear_model import MixedLMResults

    if isinstance(res, MixedLMResults):
        gain = _mixedlm_gain(res)
        if gain is not None and gain > LOGLIK_GAIN_TOL:
            return (
                f"the fit stopped short of the maximum (a Newton step from it raises the "
                f"log-likelihood by {gain:.3g})"
            )
    return None


def warn_if_not_converged(problems, what="fits", stacklevel=3):
    """Warn once, naming the imputations whose fits failed a check.

    Parameters
    ----------
    problems : list of (str or None)
        One entry per imputation, from :func:`fit_problem`.
    what : str
        What the models are, for the message.
    stacklevel : int
        Passed to :func:`warnings.warn`.

    Returns
    -------
    failed : list of int
        1-based numbers of the imputations whose fit failed.
    """
    failed = [i + 1 for i, p in enumerate(problems) if p is not None]
    if failed:
        reasons = sorted({p for p in problems if p is not None})
        warnings.warn(
            f"the {what} of imputation(s) {failed} of {len(problems)} did not converge: "
            f"{'; '.join(reasons)}. Their estimates are not the model's estimates and bias the "
            "pooled results. Refit them until they converge (for statsmodels MixedLM, e.g. "
            "fit(method=['powell', 'lbfgs']) or method='nm', see 'Converged mixed-model fits' "
            "in the pooling documentation) before pooling.",
            ConvergenceWarning,
            stacklevel=stacklevel,
        )
    return failed
