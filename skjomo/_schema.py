"""Column roles and kinds: validation, encoding to arrays, decoding back.

The schema is built once in ``fit`` from the user's DataFrame and the role
parameters of the estimator. It turns the frame into the arrays the Gibbs
core works on, and turns completed arrays back into a frame with the user's
column order, dtypes, categories and index. All estimators share it.

Latent layout of the outcome matrix (doc/sampler.rst, "Latent normals"): continuous
columns first, in the user's order, then, for every categorical column in the
user's order, ``K - 1`` latent normals, latent ``l`` standing for category
``l``; the last category is the reference. For a binary column the first
category corresponds to a positive latent.
"""

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class OutcomeColumn:
    """One outcome column of the imputation model.

    Attributes
    ----------
    name : hashable
        Column label in the user's frame.
    kind : {"continuous", "categorical"}
    categories : list
        For categorical columns, the categories that occur in the training
        data, in the model's order (the last one is the reference).
    """

    name: object
    kind: str
    categories: list = field(default_factory=list)

    @property
    def n_latent(self):
        return 1 if self.kind == "continuous" else len(self.categories) - 1


def _is_categorical_dtype(series):
    dtype = series.dtype
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
    )


def _is_continuous_dtype(series):
    dtype = series.dtype
    return (
        pd.api.types.is_numeric_dtype(dtype)
        and not pd.api.types.is_bool_dtype(dtype)
        and not pd.api.types.is_complex_dtype(dtype)
    )


def _as_list(value, name):
    if value is None:
        return []
    if isinstance(value, (str, int, np.integer)) or not np.iterable(value):
        return [value]
    values = list(value)
    if len(set(values)) != len(values):
        raise ValueError(f"{name} names a column more than once: {values}.")
    return values


def _sorted_categories(values):
    unique = pd.unique(values)
    try:
        return sorted(unique.tolist())
    except TypeError:
        return unique.tolist()


def _float_values(series, column, role):
    """Float64 copy of a numeric column; NaN for missing; clear errors."""
    if not _is_continuous_dtype(series):
        raise TypeError(
            f"Column {column!r} ({role}) has dtype {series.dtype}, which is "
            "neither numeric nor categorical."
        )
    # to_numpy may return a view of the frame's data (read-only under
    # copy-on-write, writable before pandas 3): copy
    values = np.array(series.to_numpy(dtype=np.float64, na_value=np.nan), copy=True)
    if np.isinf(values).any():
        raise ValueError(f"Column {column!r} ({role}) contains infinite values.")
    return values


def check_frame_shape(frame):
    """A training frame must have rows and uniquely named columns."""
    if frame.shape[0] == 0:
        raise ValueError("The data frame is empty (0 rows).")
    if frame.shape[1] == 0:
        raise ValueError("The data frame has no columns.")
    if frame.columns.has_duplicates:
        dup = frame.columns[frame.columns.duplicated()].tolist()
        raise ValueError(f"Column names must be unique; repeated: {dup}.")


class Schema:
    """Roles, kinds and encodings of the columns of a training frame.

    Parameters
    ----------
    frame : pandas.DataFrame
        Training data.
    outcome_cols, covariate_cols, categorical_cols, exclude_cols : list or None
        Role parameters of the estimator (see :class:`JointModelImputer`).
    reserved : dict
        Columns with other roles (cluster, ...) mapped to their role name;
        they are neither outcomes nor covariates.
    """

    def __init__(
        self,
        frame,
        outcome_cols=None,
        covariate_cols=None,
        categorical_cols=None,
        exclude_cols=None,
        reserved=None,
    ):
        check_frame_shape(frame)
        self.columns = list(frame.columns)
        reserved = dict(reserved or {})
        covariates = _as_list(covariate_cols, "covariate_cols")
        excluded = _as_list(exclude_cols, "exclude_cols")
        forced_categorical = set(_as_list(categorical_cols, "categorical_cols"))
        explicit_outcomes = outcome_cols is not None
        outcomes = _as_list(outcome_cols, "outcome_cols")

        roles = {}
        for role, names in (
            ("covariate", covariates),
            ("excluded", excluded),
            ("outcome", outcomes),
        ):
            for name in names:
                self._check_present(name, role)
                if name in roles or name in reserved:
                    other = roles.get(name, reserved.get(name))
                    raise ValueError(f"Column {name!r} is given two roles: {other} and {role}.")
                roles[name] = role
        for name, role in reserved.items():
            self._check_present(name, role)
        for name in forced_categorical:
            self._check_present(name, "categorical")
        if not explicit_outcomes:
            outcomes = [c for c in self.columns if c not in roles and c not in reserved]
        if not outcomes:
            raise ValueError("The imputation model has no outcome column.")

        self.covariate_names = covariates
        self.excluded = excluded
        self.outcomes = [
            self._outcome_column(frame[name], name, name in forced_categorical) for name in outcomes
        ]
        self.covariate_design_names, self._covariate_levels = self._covariate_layout(
            frame, forced_categorical
        )

    # ------------------------------------------------------------------ build
    def _check_present(self, name, role):
        if name not in self.columns:
            raise ValueError(f"Column {name!r} given as {role} is not in the data.")

    def _outcome_column(self, series, name, forced_categorical):
        if series.count() == 0:
            raise ValueError(
                f"Column {name!r} is entirely missing; it cannot be imputed. "
                "Exclude it with exclude_cols."
            )
        if forced_categorical or _is_categorical_dtype(series):
            observed = series.dropna()
            if isinstance(series.dtype, pd.CategoricalDtype):
                declared = list(series.dtype.categories)
                present = set(observed.unique().tolist())
                categories = [c for c in declared if c in present]
                unused = [c for c in declared if c not in present]
                if unused:
                    warnings.warn(
                        f"Categories {unused} of column {name!r} never occur in "
                        "the training data; they are left out of the model and "
                        "never imputed.",
                        UserWarning,
                        stacklevel=4,
                    )
            else:
                try:
                    categories = _sorted_categories(observed.to_numpy())
                except TypeError as exc:  # unhashable values
                    raise TypeError(
                        f"Column {name!r} holds values that cannot be used as categories: {exc}."
                    ) from None
            if len(categories) < 2:
                raise ValueError(
                    f"Categorical column {name!r} has only one observed category "
                    f"({categories[0]!r}); it carries no information to impute. "
                    "Exclude it with exclude_cols."
                )
            return OutcomeColumn(name, "categorical", categories)
        _float_values(series, name, "outcome")
        return OutcomeColumn(name, "continuous")

    def _covariate_layout(self, frame, forced_categorical):
        names = ["(Intercept)"]
        levels = {}
        for column in self.covariate_names:
            series = frame[column]
            if series.isna().any():
                rows = np.flatnonzero(series.isna().to_numpy())[:5].tolist()
                raise ValueError(
                    f"Covariate {column!r} has missing values (e.g. at row "
                    f"positions {rows}); covariates must be fully observed. "
                    "Make it an outcome to impute it."
                )
            if column in forced_categorical or _is_categorical_dtype(series):
                if isinstance(series.dtype, pd.CategoricalDtype):
                    cats = [
                        c for c in series.dtype.categories if c in set(series.unique().tolist())
                    ]
                else:
                    cats = _sorted_categories(series.to_numpy())
                if len(cats) < 2:
                    raise ValueError(
                        f"Covariate {column!r} takes a single value; the "
                        "intercept is already in the model."
                    )
                levels[column] = cats
                names.extend(f"{column}[{c}]" for c in cats[1:])
            else:
                values = _float_values(series, column, "covariate")
                if np.ptp(values) == 0:
                    raise ValueError(
                        f"Covariate {column!r} is constant; the intercept is already in the model."
                    )
                names.append(column)
        return names, levels

    # ------------------------------------------------------------ properties
    @property
    def outcome_names(self):
        return [col.name for col in self.outcomes]

    @property
    def continuous(self):
        return [col for col in self.outcomes if col.kind == "continuous"]

    @property
    def categorical(self):
        return [col for col in self.outcomes if col.kind == "categorical"]

    @property
    def latent_labels(self):
        """Labels of the columns of the latent-expanded outcome matrix."""
        labels = [col.name for col in self.continuous]
        for col in self.categorical:
            labels.extend(f"{col.name}[{c}]" for c in col.categories[:-1])
        return labels

    @property
    def n_latent_columns(self):
        return sum(col.n_latent for col in self.outcomes)

    def categorical_layout(self):
        """First latent column and number of latents of each categorical."""
        first = len(self.continuous)
        starts, sizes = [], []
        for col in self.categorical:
            starts.append(first)
            sizes.append(col.n_latent)
            first += col.n_latent
        return np.asarray(starts, dtype=np.int64), np.asarray(sizes, dtype=np.int64)

    # -------------------------------------------------------------- encoding
    def check_frame(self, frame):
        """Check that a frame has the training columns (for transform)."""
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise ValueError(f"Columns {missing} seen in fit are missing from the data.")
        if frame.shape[0] == 0:
            raise ValueError("The data frame is empty (0 rows).")

    def encode_outcomes(self, frame):
        """Outcome arrays of a frame.

        Returns
        -------
        values : ndarray of shape (n, p)
            Continuous values (NaN where missing); latent columns are NaN.
        missing : ndarray of bool, shape (n, p)
            Missing cells of the latent-expanded matrix.
        codes : ndarray of int64, shape (n, n_categorical)
            Observed category index in the model's categories, -1 if missing.
        """
        n = frame.shape[0]
        p = self.n_latent_columns
        values = np.full((n, p), np.nan)
        missing = np.zeros((n, p), dtype=bool)
        codes = np.full((n, len(self.categorical)), -1, dtype=np.int64)
        for j, col in enumerate(self.continuous):
            values[:, j] = _float_values(frame[col.name], col.name, "outcome")
            missing[:, j] = np.isnan(values[:, j])
        starts, sizes = self.categorical_layout()
        for k, col in enumerate(self.categorical):
            codes[:, k] = self._category_codes(frame[col.name], col)
            missing[:, starts[k] : starts[k] + sizes[k]] = (codes[:, k] < 0)[:, None]
        return values, missing, codes

    def _category_codes(self, series, col):
        lookup = {c: i for i, c in enumerate(col.categories)}
        observed = series.notna().to_numpy()
        codes = np.full(series.shape[0], -1, dtype=np.int64)
        values = series.to_numpy(dtype=object)
        unknown = set()
        for row in np.flatnonzero(observed):
            code = lookup.get(values[row], -1)
            if code < 0:
                unknown.add(values[row])
            codes[row] = code
        if unknown:
            raise ValueError(
                f"Column {col.name!r} has categories {sorted(map(str, unknown))} "
                f"not seen in fit (known: {col.categories})."
            )
        return codes

    def design(self, frame):
        """Covariate design matrix with an intercept column first."""
        n = frame.shape[0]
        columns = [np.ones(n)]
        for column in self.covariate_names:
            series = frame[column]
            if series.isna().any():
                raise ValueError(f"Covariate {column!r} has missing values.")
            if column in self._covariate_levels:
                cats = self._covariate_levels[column]
                values = series.to_numpy(dtype=object)
                unknown = set(values.tolist()) - set(cats)
                if unknown:
                    raise ValueError(
                        f"Covariate {column!r} has values {sorted(map(str, unknown))} "
                        "not seen in fit."
                    )
                columns.extend((values == c).astype(np.float64) for c in cats[1:])
            else:
                columns.append(_float_values(series, column, "covariate"))
        return np.column_stack(columns)

    # -------------------------------------------------------------- decoding
    def decode(self, frame, completed, missing):
        """Write imputed cells of ``completed`` into a copy of ``frame``.

        Observed cells are copied from ``frame`` untouched; categorical cells
        are derived from their latents by the argmax rule.
        """
        out = frame.copy()
        for j, col in enumerate(self.continuous):
            rows = missing[:, j]
            if rows.any():
                out[col.name] = _fill(frame[col.name], rows, completed[rows, j])
        starts, sizes = self.categorical_layout()
        for k, col in enumerate(self.categorical):
            rows = missing[:, starts[k]]
            if rows.any():
                latents = completed[rows, starts[k] : starts[k] + sizes[k]]
                chosen = argmax_category(latents)
                out[col.name] = _fill(
                    frame[col.name], rows, np.asarray(col.categories, dtype=object)[chosen]
                )
        return out


def argmax_category(latents):
    """Category index from latent vectors (doc/sampler.rst, "Latent normals").

    The category is the first index attaining the maximum when that maximum
    is positive, else the reference category ``K - 1``.
    """
    latents = np.atleast_2d(latents)
    best = np.argmax(latents, axis=1)
    positive = latents[np.arange(latents.shape[0]), best] > 0
    return np.where(positive, best, latents.shape[1])


def object_values(series):
    """A new object array of the values of ``series``, never a view of its data.

    ``Series.to_numpy(dtype=object, copy=True)`` does not always copy: on
    pandas 3.1 a string column with python storage can hand out the array
    that holds its data (seen after a pickle round trip), so writing into the result would change the frame (and
    every frame sharing its data under copy-on-write).
    """
    return np.array(series.to_numpy(dtype=object), dtype=object, copy=True)


def _fill(series, rows, values):
    """A copy of ``series`` with ``values`` written at boolean ``rows``.

    The dtype is kept, except that a nullable integer column receiving
    non-integer imputations becomes nullable float (``Float64``).
    """
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy().copy()
        lookup = {c: i for i, c in enumerate(dtype.categories)}
        codes[rows] = [lookup[v] for v in values]
        filled = pd.Categorical.from_codes(codes, dtype=dtype)
    elif isinstance(dtype, np.dtype) and dtype.kind == "f":
        filled = series.to_numpy(copy=True)
        filled[rows] = values
    elif pd.api.types.is_extension_array_dtype(dtype) and pd.api.types.is_numeric_dtype(dtype):
        target = dtype
        if pd.api.types.is_integer_dtype(dtype) and np.asarray(values).dtype.kind == "f":
            target = pd.Float64Dtype()
        filled = series.astype(target).array.copy()
        filled[rows] = values
    else:  # object, string and boolean columns holding categories
        filled = object_values(series)
        filled[rows] = values
        # the dtype is given: pandas 3 would infer ``str`` for object strings
        return pd.Series(filled, index=series.index, name=series.name, dtype=dtype)
    return pd.Series(filled, index=series.index, name=series.name)


def cluster_codes(series, known=None):
    """Cluster index of each row and the cluster labels.

    Parameters
    ----------
    series : pandas.Series
        Cluster labels of any dtype; missing labels are an error.
    known : pandas.Index, optional
        Labels seen in fit; they keep their codes and new labels are
        numbered after them.

    Returns
    -------
    codes : ndarray of int64
    labels : pandas.Index
        Label of each code, in code order (sorted labels in fit).
    """
    if series.isna().any():
        rows = series.index[series.isna()][:5].tolist()
        raise ValueError(
            f"Cluster column {series.name!r} has missing labels (e.g. at index {rows})."
        )
    if known is None:
        try:
            codes, labels = pd.factorize(series, sort=True)
        except TypeError:
            codes, labels = pd.factorize(series, sort=False)
        return codes.astype(np.int64), pd.Index(labels)
    new = pd.Index(pd.unique(series[~series.isin(known)]))
    labels = known.append(new)
    return labels.get_indexer(series).astype(np.int64), labels


def cluster_level_frame(frame, columns, codes, labels, role):
    """One row per cluster for columns measured on clusters.

    Values must be constant within a cluster where observed; the cluster's
    value is the observed one (missing when no row of the cluster has it).
    """
    out = {}
    for column in columns:
        series = frame[column]
        observed = series.notna().to_numpy()
        groups = pd.Series(series.to_numpy(dtype=object)[observed]).groupby(codes[observed])
        counts = groups.nunique(dropna=True)
        varying = counts.index[counts.to_numpy() > 1]
        if len(varying):
            raise ValueError(
                f"{role} column {column!r} varies within cluster {_plain(labels[varying[0]])!r}; "
                "values measured on clusters must be constant within each cluster."
            )
        first_row = pd.Series(np.flatnonzero(observed)).groupby(codes[observed]).first()
        values = series.iloc[first_row.to_numpy()]
        values.index = first_row.index
        out[column] = values.reindex(pd.RangeIndex(len(labels)))
    return pd.DataFrame(out, index=pd.RangeIndex(len(labels)))


def _plain(value):
    """A numpy scalar as the Python scalar it holds (for messages)."""
    return value.item() if hasattr(value, "item") else value
