"""Single-level imputation of clustered data biases the intraclass correlation.

Each replicate draws two-level data (skjomo.datasets.make_multilevel_data,
50 clusters of 20 rows, about 25% of y1, y2, b missing given x and 25% of
the clusters missing w, g) and imputes it m = 10 times twice: with
JointModelImputer, blind to the clusters (the cluster column excluded), and
with MultilevelJointImputer (random intercepts, w and g as level-2
outcomes). On each completed data set the random-intercept model
``y1 ~ x + (1 | cluster)`` is fitted by REML; the ICC (random-intercept
variance / total) is averaged over the m data sets, as mitml does. The true
ICC of y1 given x is 1/3.

Imputed values of y1 drawn without a cluster effect dilute the
between-cluster variance, so the single-level ICC is biased towards 0,
whereas the multilevel imputations reproduce the ICC of the complete data.
Comparisons with the complete data (before deletion) are paired, which
removes most of the sampling variation.

The 30-replicate study runs with ``-m slow``; the default suite runs 4
replicates and checks the paired shifts only, with bounds of four to six
times their Monte Carlo error at that size.
"""

import numpy as np
import pytest
from jomo_compare import pool_random_intercept, random_intercept_reml

from skjomo import JointModelImputer, MultilevelJointImputer
from skjomo.datasets import make_multilevel_data

N_REPLICATES = 30
SETTINGS = dict(n_burn=300, n_between=30, n_imputations=10)


def _complete_icc(frame):
    X = np.column_stack([np.ones(len(frame)), frame["x"].to_numpy()])
    _, _, tau2, s2 = random_intercept_reml(frame["y1"], X, frame["cluster"])
    return tau2 / (tau2 + s2)


def _imputed_icc(datasets):
    _, (_, _, icc) = pool_random_intercept(datasets, "y1", ["x"], "cluster")
    return icc


def _one_replicate(seed):
    data = make_multilevel_data(
        n_clusters=50, cluster_size=20, missing_fraction=0.25, random_state=seed
    )
    single = JointModelImputer(
        covariate_cols=["x"], exclude_cols=["cluster"], random_state=seed, **SETTINGS
    )
    multilevel = MultilevelJointImputer(
        cluster_col="cluster",
        covariate_cols=["x"],
        level2_cols=["w", "g"],
        random_state=seed,
        **SETTINGS,
    )
    return (
        _complete_icc(data.complete),
        _imputed_icc(single.fit(data.frame).sample()),
        _imputed_icc(multilevel.fit(data.frame).sample()),
        data.truth["icc"],
    )


@pytest.mark.slow
def test_single_level_imputation_biases_icc_towards_zero():
    results = np.array([_one_replicate(seed) for seed in range(N_REPLICATES)])
    complete, single, multilevel, truth = results.mean(axis=0)
    single_shift = results[:, 1] - results[:, 0]
    multilevel_shift = results[:, 2] - results[:, 0]
    report = (
        f"ICC of y1 given x over {N_REPLICATES} replicates: truth {truth:.3f}, "
        f"complete data {complete:.3f}, single-level {single:.3f} "
        f"(paired shift {single_shift.mean():+.3f}), multilevel {multilevel:.3f} "
        f"(paired shift {multilevel_shift.mean():+.3f})"
    )
    print(report)
    # paired shifts: Monte Carlo se about 0.004 (single) and 0.003 (multilevel)
    assert single_shift.mean() < -0.05, report
    assert single < truth - 0.05, report
    assert abs(multilevel_shift.mean()) < 0.015, report
    # complete-data REML ICC has a small downward bias (about 0.007) and
    # a Monte Carlo se of about 0.008 here
    assert abs(multilevel - truth) < 0.03, report


def test_single_level_imputation_biases_icc_towards_zero_few_replicates():
    results = np.array([_one_replicate(seed) for seed in range(100, 104)])
    single_shift = results[:, 1] - results[:, 0]
    multilevel_shift = results[:, 2] - results[:, 0]
    print(
        f"paired shifts of the ICC: single-level {single_shift.mean():+.3f}, "
        f"multilevel {multilevel_shift.mean():+.3f}"
    )
    # Monte Carlo se of the mean paired shift over 4 replicates: about 0.011
    # (single) and 0.008 (multilevel)
    assert single_shift.mean() < -0.04
    assert abs(multilevel_shift.mean()) < 0.045
