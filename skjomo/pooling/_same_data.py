"""Were the full and the null model fitted to the same imputed data sets?

A multi-parameter test compares two models on each imputed data set and
pools the m comparisons. The comparison is only meaningful when both models
saw the same data: two pipelines that imputed independently give a test
statistic polluted by the difference between two sets of imputations. Two
checks, both cheap:

* fitted :class:`~skjomo.MultipleImputationPipeline` objects
  carry a fingerprint of their m completed data sets
  (``imputation_fingerprint_``); the two must be equal;
* statsmodels fits (or wrappers holding one in ``results_``) carry their
  outcome; for each imputation the two outcomes must be equal.
"""

import numpy as np

__all__ = ["check_same_imputations", "check_same_outcomes"]


def _is_pipeline(obj):
    return hasattr(obj, "estimators_") and hasattr(obj, "imputer_")


def check_same_imputations(model, null_model):
    """Refuse two fitted pipelines whose imputed data sets differ."""
    if not (_is_pipeline(model) and _is_pipeline(null_model)):
        return
    a = getattr(model, "imputation_fingerprint_", None)
    b = getattr(null_model, "imputation_fingerprint_", None)
    if a is not None and b is not None and a != b:
        raise ValueError(
            "model and null_model were fitted to different imputed data sets (the two pipelines "
            "imputed independently), so their comparison would mix the difference between the "
            "models with the difference between the imputations. Fit both pipelines with the same "
            "imputer, random_state, n_imputations and the same X and y (only the analysis model "
            "differs), or fit the null model on model.imputations_ (keep_imputations=True)."
        )


def _outcome(fit):
    results = getattr(fit, "results_", fit)
    results = getattr(results, "_results", results)
    model = getattr(results, "model", None)
    endog = getattr(model, "endog", None)
    if endog is None or not type(results).__module__.startswith("statsmodels"):
        return None
    return np.asarray(endog)


def check_same_outcomes(model, null_model):
    """Refuse fits whose outcome differs between the models in some imputation."""
    differ = []
    for i, (a, b) in enumerate(zip(model, null_model)):
        ya, yb = _outcome(a), _outcome(b)
        if ya is None or yb is None:
            continue
        try:
            same = ya.shape == yb.shape and np.array_equal(ya, yb, equal_nan=True)
        except TypeError:  # non-numeric outcomes
            same = ya.shape == yb.shape and np.array_equal(ya, yb)
        if not same:
            differ.append(i + 1)
    if differ:
        raise ValueError(
            f"model and null_model were fitted to different data in imputation(s) {differ}: "
            "their outcomes differ (different imputations, or rows dropped by one model). Both "
            "models must be fitted to the same m imputed data sets, in the same order."
        )
