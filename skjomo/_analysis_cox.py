"""The survival outcome of a Cox analysis model: ``Surv(time, event) ~ terms``.

The left-hand side names the time column and the event column (1 = event,
0 = censored), as in R's survival package. Both must be fully observed:
compatible imputation imputes covariates given the survival outcome and
does not impute the outcome itself. Neither column enters the joint model
of the covariates; they enter through the analysis model only (doc/smc.rst,
"Cox proportional-hazards model").
"""

import re

import numpy as np
import pandas as pd

_NAME = r"\s*(`[^`]+`|[^\s,()`~]+)\s*"
_SURV = re.compile(rf"^\s*Surv\s*\({_NAME},{_NAME}\)\s*~(.*)$", re.DOTALL)


def _unquote(name):
    return name[1:-1] if name.startswith("`") else name


def split_survival_formula(formula):
    """``(time, event, "event ~ terms")`` of ``"Surv(time, event) ~ terms"``.

    Raises
    ------
    ValueError
        If the left-hand side is not ``Surv(time, event)``.
    """
    match = _SURV.match(formula) if isinstance(formula, str) else None
    if match is None:
        raise ValueError(
            "The formula of a Cox model must read 'Surv(time, event) ~ terms', naming "
            "the time column and the event column (1 = event, 0 = censored); got "
            f"{formula!r}."
        )
    time, event, rhs = _unquote(match[1]), _unquote(match[2]), match[3]
    if time == event:
        raise ValueError(f"Surv(time, event) names the same column {time!r} twice.")
    quoted = f"`{event}`" if not event.isidentifier() else event
    return time, event, f"{quoted} ~{rhs}"


def survival_values(frame, time, event):
    """Validated float arrays ``(time, event)`` of the columns of ``frame``.

    Raises
    ------
    ValueError
        Naming the column: missing values (survival outcomes are not
        imputed), non-numeric, negative or infinite times, or an event
        column that is not 0/1.
    """
    arrays = []
    for column, role in ((time, "time"), (event, "event")):
        series = frame[column]
        if series.isna().any():
            raise ValueError(
                f"The {role} column {column!r} of the Cox model has "
                f"{int(series.isna().sum())} missing values. Survival outcomes are not "
                "imputed: the Cox model imputes covariates given a fully observed time "
                "and event indicator (drop or otherwise handle these rows first)."
            )
        if pd.api.types.is_bool_dtype(series.dtype) and role == "event":
            arrays.append(series.to_numpy(dtype=np.float64))
            continue
        if not pd.api.types.is_numeric_dtype(series.dtype) or isinstance(
            series.dtype, pd.CategoricalDtype
        ):
            raise ValueError(
                f"The {role} column {column!r} of the Cox model must be numeric; it has "
                f"dtype {series.dtype}."
            )
        arrays.append(series.to_numpy(dtype=np.float64))
    times, events = arrays
    if not np.all(np.isfinite(times)) or np.any(times < 0):
        bad = times[~(np.isfinite(times) & (times >= 0))]
        raise ValueError(
            f"The time column {time!r} of the Cox model must hold finite non-negative "
            f"times; it has {bad.size} others (e.g. {bad[0]!r})."
        )
    if not np.isin(events, (0.0, 1.0)).all():
        values = sorted(set(events.tolist()) - {0.0, 1.0})[:5]
        raise ValueError(
            f"The event column {event!r} of the Cox model must be 1 (event) or 0 "
            f"(censored), or boolean; it also has the values {values}."
        )
    return times, events


def event_grid(times, events):
    """Distinct event times, increasing (where the Breslow ``H0`` jumps)."""
    grid = np.unique(times[events > 0])
    if grid.size == 0:
        raise ValueError("The Cox model needs at least one event; every row is censored.")
    return grid
