"""The vectorised set-up of a fit against plain references.

The set-up of a fit groups incomplete rows by missingness pattern, sums the
rows of each cluster and checks whether an outcome is constant within
clusters; at a million rows these are done with 1-d sorts and ``bincount``
(doc/scaling.rst). Each must give exactly what the obvious implementation
gives, in the same order (the order of the missingness groups fixes the
order of the random draws).
"""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skjomo._gibbs._missing import _unique_keys, missingness_groups
from skjomo._priors import cluster_mean_variances, column_variances
from skjomo._roles import _constant_within_clusters


def _rows_reference(group, missing):
    keys = np.column_stack([group, missing.astype(np.int64)])
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    return unique[:, 0], unique[:, 1:].astype(bool), inverse.ravel()


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 60),
    p=st.sampled_from([1, 2, 5, 13, 48, 49, 60]),
    n_groups=st.sampled_from([1, 3, 2**14 + 1]),
    seed=st.integers(0, 2**32 - 1),
)
def test_packed_keys_sort_like_rows(n, p, n_groups, seed):
    rng = np.random.default_rng(seed)
    missing = rng.random((n, p)) < rng.uniform(0.05, 0.95)
    group = rng.integers(0, n_groups, n)
    for ours, theirs in zip(_unique_keys(group, missing), _rows_reference(group, missing)):
        np.testing.assert_array_equal(ours, theirs)


def test_missingness_groups_hold_every_incomplete_row_once():
    rng = np.random.default_rng(0)
    missing = rng.random((500, 4)) < 0.3
    rows, ptr, cov, patterns = missingness_groups(missing, rng.integers(0, 3, 500))
    np.testing.assert_array_equal(np.sort(rows), np.flatnonzero(missing.any(axis=1)))
    for g in range(cov.size):
        assert (missing[rows[ptr[g] : ptr[g + 1]]] == patterns[g]).all()


@pytest.mark.parametrize("n_columns", [0, 1, 3])
def test_cluster_mean_variances_equal_the_add_at_sums(n_columns):
    rng = np.random.default_rng(n_columns)
    values = rng.normal(3.0, 2.0, (400, n_columns))
    values[rng.random(values.shape) < 0.2] = np.nan
    cluster = rng.integers(0, 40, 400)
    observed = ~np.isnan(values)
    total, count = np.zeros((40, n_columns)), np.zeros((40, n_columns))
    np.add.at(total, cluster, np.where(observed, values, 0.0))
    np.add.at(count, cluster, observed)
    means = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    floor = column_variances(values) / np.maximum(observed.sum(axis=0), 1)
    expected = np.maximum(column_variances(means), floor)
    np.testing.assert_array_equal(cluster_mean_variances(values, cluster, 40), expected)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 40),
    n_clusters=st.integers(1, 6),
    n_values=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_constant_within_clusters_like_groupby(n, n_clusters, n_values, seed):
    rng = np.random.default_rng(seed)
    clusters = rng.integers(0, n_clusters, n)
    values = rng.integers(0, n_values, n)
    if rng.random() < 0.5:  # constant within clusters by construction
        values = rng.integers(0, n_values, n_clusters)[clusters]
    within = pd.Series(values).groupby(clusters)
    expected = bool((within.size() > 1).any() and (within.nunique() <= 1).all())
    assert _constant_within_clusters(values, clusters) == expected
