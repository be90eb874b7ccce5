"""Level-2 covariates of a two-level analysis model.

In ``"y ~ x1 * w + (1 + x1 | school)"`` a covariate ``w`` measured on
schools is constant within each school. When it is partially observed it is
a level-2 outcome of the two-level joint model (the ``level2_cols`` of
:class:`~skjomo.MultilevelJointImputer`): one value per cluster, jointly
normal with the cluster's random effects, drawn once per cluster by
Metropolis-Hastings with the likelihood of all the cluster's rows
(doc/smc.rst, "Level-2 covariates"). This module decides which columns are
at level 2 (:func:`level2_roles`).

``level2_cols="auto"`` (the default of
:class:`~skjomo.SubstantiveModelImputer`) takes every column of the joint
model that is constant within every cluster where it is observed and is
observed at least twice in some cluster; a list names them (each is then
checked to be constant within clusters) and ``None`` puts every column at
level 1.
"""

import numpy as np
import pandas as pd

from ._schema import _plain


def is_auto(choice):
    """Whether ``level2_cols`` asks for automatic detection."""
    return isinstance(choice, str) and choice == "auto"


def _within_cluster_counts(frame, columns, cluster):
    """(distinct observed values, observed rows) of ``columns`` per cluster."""
    data = frame[list(columns)]
    distinct = data.astype(object).groupby(cluster, sort=False).nunique(dropna=True)
    return distinct, data.notna().groupby(cluster, sort=False).sum()


def _constant_within_clusters(frame, columns, cluster):
    """Columns of ``columns`` constant within every cluster where observed and
    observed on two rows of some cluster."""
    if not columns:
        return []
    distinct, observed = _within_cluster_counts(frame, columns, cluster)
    return [c for c in columns if distinct[c].max() <= 1 and observed[c].max() >= 2]


def level2_roles(frame, cluster, joint, incomplete, choice):
    """``(level-2 outcomes, level-2 covariates)`` of the joint model.

    Parameters
    ----------
    frame : pandas.DataFrame
        Training data.
    cluster : column label
        Cluster column.
    joint : list
        Columns of the joint model (analysis covariates and auxiliary columns).
    incomplete : tuple
        Those with missing values.
    choice : "auto", list of column labels or None
        The estimator's ``level2_cols``.

    Returns
    -------
    tuple, tuple
        Partially observed level-2 columns (outcomes of the joint model's
        level-2 block) and fully observed ones (their predictors; empty when
        there is no level-2 outcome).
    """
    if choice is None:
        return (), ()
    codes = pd.factorize(frame[cluster])[0]
    if is_auto(choice):
        chosen = _constant_within_clusters(frame, joint, codes)
    else:
        chosen = [choice] if isinstance(choice, (str, int, np.integer)) else list(choice)
        for column in chosen:
            if column not in joint:
                raise ValueError(
                    f"level2_cols names {column!r}, which is not a covariate of the "
                    "analysis formula nor an auxiliary column."
                )
        distinct = _within_cluster_counts(frame, chosen, codes)[0]
        for column in chosen:
            varying = np.flatnonzero(distinct[column].to_numpy() > 1)
            if varying.size:
                label = frame[cluster].to_numpy()[np.argmax(codes == distinct.index[varying[0]])]
                raise ValueError(
                    f"Level-2 column {column!r} varies within cluster {_plain(label)!r}; "
                    "columns in level2_cols are measured on clusters and must be constant "
                    "within each cluster."
                )
    outcomes = tuple(c for c in joint if c in chosen and c in incomplete)
    covariates = tuple(c for c in joint if c in chosen and c not in incomplete)
    return outcomes, covariates if outcomes else ()
