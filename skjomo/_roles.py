"""No silent roles: what ``fit`` found, and outcomes that look wrong.

:func:`role_report` says in a sentence what the model does with every
column (as jomo's "Found 2 continuous outcomes and 1 categorical"), printed
by ``fit`` with ``verbose`` and part of ``summary()``.
:func:`warn_suspicious_outcomes` warns (``UserWarning``) when an outcome
looks like something else: an identifier (a different value on every row),
a constant, a cluster label (integer values in blocks of consecutive rows)
modelled as a continuous outcome because no role was given, or, in a
two-level model, a variable constant within clusters (measured on clusters:
a level-2 outcome).
"""

import warnings

import numpy as np
import pandas as pd

from ._schema import _plain

# an identifier needs this many rows before "unique on every row" means something
_MIN_ROWS_IDENTIFIER = 10


def _names(columns):
    return ", ".join(map(str, columns))


def _count(n, noun):
    return f"{n} {noun}" + ("" if n == 1 else "s")


def role_report(spec, codec, design=True):
    """Lines stating the roles of the columns and where they came from
    (without the predictors, cluster and level 2 when not ``design``)."""
    schema = codec.schema
    continuous = [c.name for c in schema.continuous]
    categorical = [f"{c.name} ({len(c.categories)} categories)" for c in schema.categorical]
    found = [
        f"{_count(len(continuous), 'continuous outcome')}"
        + (f" ({_names(continuous)})" if continuous else "")
    ]
    if categorical:
        found.append(f"{len(categorical)} categorical ({_names(categorical)})")
    lines = ["Found " + " and ".join(found) + "."]
    if spec.formula is not None:
        source = f"the formula {str(spec.formula)!r}"
    elif spec.analysis is not None:
        source = (
            f"the analysis formula {spec.analysis.formula!r}: its partially observed "
            "covariates and the other columns with missing values are the outcomes"
        )
    elif spec.outcomes is None:
        source = "the role parameters; every column without a role is an outcome"
    else:
        source = "the role parameters"
    lines.append(f"Roles from {source}.")
    if design:
        lines += _design_lines(spec, codec)
    modelled = set(schema.outcome_names) | set(schema.covariate_names)
    modelled |= set(spec.level2_outcomes) | set(spec.level2_covariates)
    if spec.multilevel:
        modelled |= {spec.cluster} | set(spec.random_slopes)
    if spec.formula is not None:
        modelled |= set(spec.formula.variables)
    if spec.analysis is not None:
        modelled |= set(spec.analysis.responses)
    left_out = [c for c in codec.columns if c not in modelled]
    if left_out:
        lines.append(f"Not modelled (passed through): {_names(left_out)}.")
    return lines


def _design_lines(spec, codec):
    lines = []
    predictors = list(codec.design_names[1:])
    lines.append(
        "Fixed-effect predictors: " + (_names(predictors) or "none (intercept only)") + "."
    )
    if spec.multilevel:
        lines.append(
            f"Cluster: {spec.cluster} ({len(codec.cluster_labels)} clusters); "
            f"random effects: {_names(codec.random_effect_predictors)}."
        )
        if spec.has_level2:
            lines.append(
                f"Level-2 outcomes: {_names(codec.schema2.outcome_names)}; "
                f"predictors: {_names(codec.level2_design_names)}."
            )
    return lines


def _integer_valued(values):
    return bool(np.all(np.mod(values, 1) == 0))


def _in_blocks(values, n_distinct):
    """Whether every value occupies one run of consecutive rows (data sorted
    by cluster), as cluster labels do and measurements do not."""
    return int(np.count_nonzero(values[1:] != values[:-1])) == n_distinct - 1


def _constant_within_clusters(values, clusters):
    """Whether some cluster has two rows and each cluster a single value
    (``values``: integer codes of the observed values)."""
    order = np.argsort(clusters, kind="stable")
    values, clusters = values[order], clusters[order]
    same = clusters[1:] == clusters[:-1]
    return bool(same.any()) and bool(np.all(values[1:][same] == values[:-1][same]))


def _observed(series):
    """``(rows, values, n_distinct)``: which rows are observed, the observed
    values (float for numeric columns, else ``None``) and how many distinct
    values they take. Numeric columns stay in numpy: this runs on every fit."""
    numeric = pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
        series.dtype
    )
    if not numeric:
        rows = series.notna().to_numpy()
        return rows, None, series[rows].nunique()
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    rows = ~np.isnan(values)
    values = values[rows]
    return rows, values, np.unique(values).size


def _suspicion(spec, column, series, codes):
    """Why an outcome column looks wrong, or ``None``."""
    rows, values, n_distinct = _observed(series)
    n_observed = int(np.count_nonzero(rows))
    if n_distinct == 1:
        return (
            f"is constant (every observed value is {_plain(series[rows].iloc[0])!r}); it "
            "carries no information: leave it out of the model"
        )
    labels = values is None or _integer_valued(values)
    if labels and n_observed >= _MIN_ROWS_IDENTIFIER and n_distinct == n_observed:
        return (
            "has a different value on every row, like an identifier; an identifier is "
            "not an outcome: leave it out of the model"
        )
    if spec.multilevel and codes is not None and n_observed > 0:
        if _constant_within_clusters(pd.factorize(series)[0][rows], codes[rows]):
            return (
                "is constant within every cluster, like a variable measured on clusters; "
                "make it a level-2 outcome (level2_cols, or the left side of a level-2 "
                "formula) so that it is imputed once per cluster"
            )
    if (
        not spec.multilevel
        and spec.outcomes is None
        and spec.formula is None
        and values is not None
        and n_observed == len(series)
        and labels
        and 3 <= n_distinct < n_observed
        and _in_blocks(values, n_distinct)
    ):
        return (
            f"is fully observed, with {n_distinct} integer values each on one block of "
            "consecutive rows like cluster labels, and became a continuous outcome only "
            "because no role was given; if it labels clusters use "
            f"MultilevelJointImputer(cluster_col={column!r}), if it is a predictor "
            "covariate_cols, else exclude_cols (or state the model with formula=)"
        )
    return None


def warn_suspicious_outcomes(spec, codec, frame, cluster_codes=None, stacklevel=4):
    """Warn about outcome columns that look like something else (see module)."""
    columns = list(codec.schema.outcome_names)
    for column in columns:
        reason = _suspicion(spec, column, frame[column], cluster_codes)
        if reason:
            warnings.warn(
                f"Outcome column {column!r} {reason}.", UserWarning, stacklevel=stacklevel
            )
