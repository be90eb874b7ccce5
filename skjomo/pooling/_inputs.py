"""Estimates and covariances given as arrays: shapes, numbers, clear errors.

Every pooling function that takes plain arrays, and the model readers once
they have read the m fits, pass through here. Each check names the
imputation (numbered from 1, in the order given) and the parameter at fault:

* estimates of unequal length across imputations;
* values that are not numbers (strings, objects);
* estimates or covariances that are not finite (a fit that failed on one
  imputed data set returns NaN; pooling it would give NaN silently);
* negative variances (the diagonal of a covariance matrix).
"""

import numbers

import numpy as np
import pandas as pd

__all__ = [
    "check_covariances",
    "check_estimates",
    "coerce_covariances",
    "coerce_estimates",
    "df_com_vector",
]


def _as_float(values, what):
    """``values`` as a float array, or a clear error naming a value that is not a number.

    Strings (even ``"1.3"``) and booleans are refused: they show that
    something other than estimates was passed.
    """
    arr = (
        np.asarray(values)
        if not isinstance(values, (pd.Series, pd.DataFrame))
        else values.to_numpy()
    )
    if arr.dtype.kind in "biuf":
        bad = None if arr.dtype.kind != "b" else bool(arr.ravel()[0]) if arr.size else None
    else:
        flat = np.asarray(arr, dtype=object).ravel()
        bad = next(
            (
                v
                for v in flat
                if isinstance(v, (str, bytes, bool, np.bool_))
                or not isinstance(v, (numbers.Number, np.number))
            ),
            None,
        )
    if bad is not None:
        raise ValueError(
            f"the {what} contain a value that is not a number: {bad!r} of type {type(bad).__name__}"
        )
    try:
        return np.asarray(arr, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the {what} cannot be read as numbers: {exc}") from None


def _imputation_list(rows):
    return ", ".join(str(i + 1) for i in rows)


def check_estimates(Q, names):
    """Raise if some estimates are not finite, naming imputations and parameters."""
    bad = ~np.isfinite(Q)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        params = [names[j] for j in np.flatnonzero(bad.any(axis=0))]
        raise ValueError(
            f"the estimates of imputation(s) {_imputation_list(rows)} are not finite (NaN or inf) "
            f"for parameter(s) {params}: the model fitted to that imputed data set failed "
            "(e.g. a constant or perfectly separating predictor, or a fit that broke down). "
            "Pooling them would give NaN; fix or refit that model first."
        )


def check_covariances(U, names):
    """Raise if covariances are not finite or have negative variances."""
    bad = ~np.isfinite(U)
    if bad.any():
        rows = np.flatnonzero(bad.reshape(len(U), -1).any(axis=1))
        raise ValueError(
            f"the covariances of imputation(s) {_imputation_list(rows)} contain non-finite values "
            "(NaN or inf): the model fitted to that imputed data set has no usable standard errors "
            "(e.g. a singular information matrix); fix or refit that model first."
        )
    variances = np.diagonal(U, axis1=1, axis2=2)
    negative = variances < 0
    if negative.any():
        i, j = (int(v) for v in np.argwhere(negative)[0])
        raise ValueError(
            f"the variance of parameter {names[j]!r} in imputation {i + 1} is negative "
            f"({variances[i, j]:.6g}); variances (the diagonal of a covariance matrix) must be "
            "non-negative"
        )


def _rows_of(estimates):
    """Rows of a list input as float vectors, aligned by name when they are Series or dicts."""
    rows = list(estimates)
    found = None
    if rows and isinstance(rows[0], (pd.Series, dict)):
        first = pd.Series(rows[0])
        found = [str(n) for n in first.index]
        aligned = []
        for i, r in enumerate(rows):
            r = pd.Series(r)
            r.index = [str(n) for n in r.index]
            if sorted(r.index) != sorted(found):
                raise ValueError(
                    f"estimates of imputation {i + 1} have names {list(r.index)}, "
                    f"different from those of imputation 1 ({found})"
                )
            aligned.append(r.reindex(found))
        rows = aligned
    vectors = [_as_float(r, f"estimates of imputation {i + 1}").ravel() for i, r in enumerate(rows)]
    lengths = [v.size for v in vectors]
    for i, n in enumerate(lengths):
        if n != lengths[0]:
            raise ValueError(
                f"the estimates of imputation {i + 1} have {n} values but those of imputation 1 "
                f"have {lengths[0]}: every imputation must give the same parameters"
            )
    return (np.array(vectors, dtype=float) if vectors else np.empty((0, 0))), found


def coerce_estimates(estimates, names=None):
    """Return (Q of shape (m, p), names) from the supported input shapes."""
    if isinstance(estimates, pd.DataFrame):
        non_numeric = [
            str(c)
            for c, t in estimates.dtypes.items()
            if not pd.api.types.is_numeric_dtype(t) or pd.api.types.is_bool_dtype(t)
        ]
        if non_numeric:
            raise ValueError(f"the estimates in column(s) {non_numeric} are not numbers")
        Q = estimates.to_numpy(dtype=float)
        found = [str(c) for c in estimates.columns]
    elif isinstance(estimates, np.ndarray) and estimates.ndim == 2:
        Q = _as_float(estimates, "estimates")
        found = None
    else:
        Q, found = _rows_of(estimates)
    if Q.ndim != 2:
        raise ValueError("estimates must be an m × p array, a DataFrame or a list of m vectors")
    m, p = Q.shape
    if m < 2:
        raise ValueError(f"pooling needs at least m = 2 imputations, got m = {m}")
    if names is None:
        names = found if found is not None else [f"Parameter.{j + 1}" for j in range(p)]
    names = [str(n) for n in names]
    if len(names) != p:
        raise ValueError(f"{len(names)} names given for {p} parameters")
    check_estimates(Q, names)
    return Q, names


def _aligned(item, names):
    """A DataFrame / Series covariance put in the order of ``names`` when it is labelled by them."""
    if names is None:
        return item
    if isinstance(item, pd.DataFrame) and set(map(str, item.index)) == set(names):
        item = item.set_axis([str(n) for n in item.index], axis=0).set_axis(
            [str(n) for n in item.columns], axis=1
        )
        return item.loc[names, names]
    if isinstance(item, pd.Series) and set(map(str, item.index)) == set(names):
        return item.set_axis([str(n) for n in item.index]).loc[names]
    return item


def coerce_covariances(covariances, m, p, names=None):
    """Return (U of shape (m, p, p), full) where full says whether covariances were given."""
    labels = names if names is not None else [f"Parameter.{j + 1}" for j in range(p)]
    if isinstance(covariances, np.ndarray) and covariances.ndim in (2, 3):
        arr = _as_float(covariances, "covariances")
    else:
        items = list(covariances)
        if len(items) != m:
            raise ValueError(f"{len(items)} covariances given for m = {m} imputations")
        mats = [
            _as_float(_aligned(it, names), f"covariances of imputation {i + 1}")
            for i, it in enumerate(items)
        ]
        ndims = {a.ndim for a in mats}
        if ndims == {1} or (ndims == {0} and p == 1):
            mats = [np.atleast_1d(a) for a in mats]
            expected = (p,)
        elif ndims == {2}:
            expected = (p, p)
        else:
            raise ValueError("covariances must be all p × p matrices or all vectors of p variances")
        for i, a in enumerate(mats):
            if a.shape != expected:
                raise ValueError(
                    f"the covariance of imputation {i + 1} has shape {a.shape}; expected {expected} "
                    f"for p = {p} parameters"
                )
        arr = np.array(mats)
    if arr.ndim == 2:
        if arr.shape != (m, p):
            raise ValueError(f"variances must have shape (m, p) = ({m}, {p}), got {arr.shape}")
        full = False
        U = np.zeros((m, p, p))
        idx = np.arange(p)
        U[:, idx, idx] = arr
    else:
        if arr.shape != (m, p, p):
            raise ValueError(
                f"covariances must have shape (m, p, p) = ({m}, {p}, {p}), got {arr.shape}"
            )
        U = arr
        full = True
    check_covariances(U, labels)
    return U, full


def df_com_vector(df_com, p):
    """Complete-data df as a vector of p positive values (None stays None)."""
    if df_com is None:
        return None
    d = _as_float(df_com, "df_com")
    if d.ndim == 0:
        d = np.full(p, float(d))
    if d.shape != (p,):
        raise ValueError(f"df_com must be a scalar or have one value per parameter ({p})")
    if np.any(~(d > 0)):
        raise ValueError("df_com must be positive")
    return d
