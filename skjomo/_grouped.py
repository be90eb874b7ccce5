"""Imputation within groups: one model per level of ``group_col``.

With ``group_col`` an imputer fits a clone of itself (without ``group_col``,
the group column left out of the model) to the rows of every group, as
mitml's ``group`` argument and jomo users splitting by hand do: nothing is
shared between groups (doc/formula.rst, "Imputation within groups").
Groups are fitted in parallel with joblib (in its active backend, e.g. on
a dask cluster: doc/distributed.rst); group ``g`` (in sorted label order)
draws its seed from ``SeedSequence(random_seed_, spawn_key=(4, g))``, so the
result does not depend on ``n_jobs`` or on where the groups run. Completed
data come back with the rows in their original order and index.
"""

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone

from ._role_sources import group_column, role_arguments
from ._schema import _plain, cluster_codes
from ._spec import as_tuple

# spawn key of the group seeds (the base estimator uses 0-3)
_GROUP_KEY = 4


def _check_clusters_nested(estimator, frame, column):
    """Refuse clusters split across groups when the model has level-2 outcomes.

    Each group's model imputes a cluster's level-2 values from that group's
    rows only, so a cluster whose rows fall in two groups would come back
    with two different values of a variable that is constant by definition.
    """
    roles, _ = role_arguments(estimator)
    cluster = roles.get("cluster")
    if cluster is None or not roles.get("level2_outcomes") or cluster not in frame.columns:
        return
    n_groups = frame.groupby(frame[cluster], sort=True, dropna=True)[column].nunique()
    split = n_groups.index[n_groups.to_numpy() > 1]
    if len(split):
        raise ValueError(
            f"Cluster(s) {[_plain(c) for c in split[:5]]} of {cluster!r} have rows in "
            f"more than one group of {column!r}; with level-2 outcomes every cluster must "
            "lie within one group (its level-2 values would be imputed once per group)."
        )


def _group_rows(estimator, frame, column):
    """Sorted group labels and the row positions of each group."""
    if column not in frame.columns:
        raise ValueError(f"Column {column!r} given as group_col is not in the data.")
    series = frame[column]
    if series.isna().any():
        rows = series.index[series.isna()][:5].tolist()
        raise ValueError(
            f"Group column {column!r} has missing labels (e.g. at index {rows}); "
            "every row must belong to a group."
        )
    codes, labels = cluster_codes(series)
    _check_clusters_nested(estimator, frame, column)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(labels) + 1))
    return labels, [order[bounds[g] : bounds[g + 1]] for g in range(len(labels))]


def _clone_for_group(estimator, seed):
    """A clone fitting one group: no group_col, the group column excluded."""
    column = group_column(estimator)
    model = clone(estimator)
    params = dict(group_col=None, random_state=seed, verbose=0, n_jobs=None)
    formula = getattr(estimator, "formula", None)
    roles = getattr(estimator, "roles", None)
    if roles is not None:
        params["roles"] = {c: r for c, r in roles.items() if r != "group"}
    elif formula is not None:
        from ._formula import parse_formula

        if column in parse_formula(formula).variables:
            raise ValueError(
                f"The group column {column!r} cannot also be in the formula: "
                "the model is fitted separately within each group."
            )
    else:
        excluded = as_tuple(estimator.exclude_cols, "exclude_cols")
        params["exclude_cols"] = list(excluded) + ([column] if column not in excluded else [])
    return model.set_params(**params)


def _fit_one(model, part):
    return model.fit(part)


def fit_groups(estimator, frame):
    """Fit one clone per group; returns ``(labels, positions, imputers)``."""
    labels, positions = _group_rows(estimator, frame, group_column(estimator))
    warm = bool(estimator.warm_start) and hasattr(estimator, "groups_")
    if warm:
        if list(labels) != list(estimator.groups_):
            raise ValueError(
                "warm_start needs the groups of the previous fit; got "
                f"{[_plain(g) for g in labels]}."
            )
        shared = {
            k: v
            for k, v in estimator.get_params().items()
            if k not in ("group_col", "roles", "random_state", "verbose", "n_jobs", "exclude_cols")
        }
        models = [m.set_params(**shared) for m in estimator.groups_.values()]
    else:
        models = []
        for g in range(len(labels)):
            seed = np.random.SeedSequence(estimator.random_seed_, spawn_key=(_GROUP_KEY, g))
            models.append(_clone_for_group(estimator, int(seed.generate_state(1)[0] >> 1)))
    fitted = Parallel(n_jobs=estimator.n_jobs)(
        delayed(_fit_one)(model, frame.iloc[rows]) for model, rows in zip(models, positions)
    )
    return labels, positions, fitted


def reassemble(parts, positions):
    """One frame from the groups' frames, rows back in their original order."""
    combined = pd.concat(parts, axis=0)
    order = np.argsort(np.concatenate(positions), kind="stable")
    return combined.iloc[order]


def sample_groups(estimator, m, frame=None):
    """``m`` completed data sets: the training data (``frame=None``) or new rows."""
    imputers = list(estimator.groups_.values())
    if frame is None:
        positions = estimator._group_positions
        parts = [imputer.sample(m) for imputer in imputers]
    else:
        positions, members = _route(estimator, frame)
        parts = [imputers[g].sample(m, X=frame.iloc[rows]) for g, rows in members]
    return [reassemble([p[k] for p in parts], positions) for k in range(m)]


def transform_groups(estimator, frame):
    """``frame`` imputed, each row by its group's model (one stored draw)."""
    imputers = list(estimator.groups_.values())
    positions, members = _route(estimator, frame)
    return reassemble([imputers[g].transform(frame.iloc[rows]) for g, rows in members], positions)


def _route(estimator, frame):
    """Rows of ``frame`` per fitted group: ``(positions, [(group, rows)])``."""
    column = group_column(estimator)
    if frame.shape[0] == 0:
        raise ValueError("The data frame is empty (0 rows).")
    labels, positions = _group_rows(estimator, frame, column)
    known = pd.Index(list(estimator.groups_))
    index = known.get_indexer(labels)
    if (index < 0).any():
        unseen = [_plain(g) for g in labels[index < 0]]
        raise ValueError(
            f"Group(s) {unseen} of {column!r} were not seen in fit; there is no model for them."
        )
    return positions, list(zip(index.tolist(), positions))


def groups_summary(estimator, warn):
    """The summaries of the groups' models, one after the other."""
    column = group_column(estimator)
    lines = [
        f"{type(estimator).__name__}: a separate model within each of the "
        f"{len(estimator.groups_)} groups of {column!r}."
    ]
    for label, imputer in estimator.groups_.items():
        rows = len(imputer._train_frame)
        lines += [
            "",
            f"=== Group {column} = {_plain(label)!r} ({rows} rows) ===",
            imputer.summary(warn=warn),
        ]
    return "\n".join(lines)
