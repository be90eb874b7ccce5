"""Tests of the two-level simulator skjomo.datasets.make_multilevel_data."""

import numpy as np
import pandas as pd
import pytest
from jomo_compare import random_intercept_reml
from scipy.stats import norm

from skjomo.datasets import make_multilevel_data


def test_layout_and_level2_constant_within_clusters():
    data = make_multilevel_data(n_clusters=12, cluster_size=5, random_state=0)
    frame, complete = data.frame, data.complete
    assert list(frame.columns) == ["cluster", "x", "y1", "y2", "b", "w", "g"]
    assert frame.shape == (60, 7)
    assert list(frame["b"].cat.categories) == ["yes", "no"]
    assert list(frame["g"].cat.categories) == ["high", "low"]
    assert not frame[["cluster", "x"]].isna().any().any()
    assert not complete.isna().any().any()
    for column in ("w", "g"):
        per_cluster = frame.groupby("cluster", observed=True)[column]
        # a cluster is either fully missing or holds one value on every row
        assert per_cluster.apply(lambda s: s.isna().all() or s.notna().all()).all()
        assert per_cluster.nunique().max() == 1
    observed = frame.notna()
    for column in frame.columns:  # deletion only: observed values are unchanged
        assert (
            frame.loc[observed[column], column].astype(object)
            == complete.loc[observed[column], column].astype(object)
        ).all()


def test_reproducible_and_unequal_cluster_sizes():
    sizes = np.arange(1, 21)
    a = make_multilevel_data(n_clusters=20, cluster_size=sizes, random_state=3)
    b = make_multilevel_data(n_clusters=20, cluster_size=sizes, random_state=3)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert a.frame.groupby("cluster").size().tolist() == sizes.tolist()
    none = make_multilevel_data(n_clusters=20, missing_fraction=0.0, random_state=3)
    assert not none.frame.isna().any().any()
    only_level2 = make_multilevel_data(
        n_clusters=20, missing_fraction=0.0, level2_missing_fraction=0.5, random_state=3
    )
    assert only_level2.frame[["y1", "y2", "b"]].notna().all().all()
    assert only_level2.frame[["w", "g"]].isna().any().all()


def test_missingness_is_mar_with_the_requested_shares():
    data = make_multilevel_data(
        n_clusters=2000,
        cluster_size=10,
        missing_fraction=0.25,
        level2_missing_fraction=0.4,
        random_state=1,
    )
    frame = data.frame
    shares = frame.isna().mean()
    np.testing.assert_allclose(shares[["y1", "y2", "b"]], 0.25, atol=0.01)
    clusters = frame.groupby("cluster").agg(x=("x", "mean"), w=("w", "first"), g=("g", "first"))
    np.testing.assert_allclose(clusters[["w", "g"]].isna().mean(), 0.4, atol=0.03)
    # y1 more often missing for large x, y2 for small x; w for large cluster means of x
    x = frame["x"]
    assert x[frame["y1"].isna()].mean() > x[frame["y1"].notna()].mean() + 0.5
    assert x[frame["y2"].isna()].mean() < x[frame["y2"].notna()].mean() - 0.5
    assert (
        clusters["x"][clusters["w"].isna()].mean()
        > clusters["x"][clusters["w"].notna()].mean() + 0.3
    )
    assert (
        clusters["x"][clusters["g"].isna()].mean()
        < clusters["x"][clusters["g"].notna()].mean() - 0.3
    )


def test_complete_data_agree_with_the_truth():
    data = make_multilevel_data(n_clusters=3000, cluster_size=10, random_state=2)
    complete, truth = data.complete, data.truth
    ones = np.ones(len(complete))
    X = np.column_stack([ones, complete["x"], complete["w"]])
    beta, cov, tau2, s2 = random_intercept_reml(complete["y1"], X, complete["cluster"])
    coef = truth["coef"]
    expected = [coef["Intercept"], coef["x"], coef["w"]]
    assert np.all(np.abs(beta - expected) < 4 * np.sqrt(np.diag(cov))), (beta, expected)
    np.testing.assert_allclose([tau2, s2], [coef["tau2"], coef["s2"]], rtol=0.08)
    _, _, tau2, s2 = random_intercept_reml(complete["y1"], X[:, :2], complete["cluster"])
    assert abs(tau2 / (tau2 + s2) - truth["icc"]) < 0.02
    assert truth["icc"] == pytest.approx(1 / 3)
    # marginal category shares implied by the latent normal means and variances
    beta_l1, sigma, omega = truth["beta"], truth["sigma"], truth["omega"]
    var_b = beta_l1[1, 2] ** 2 + sigma[2, 2] + omega[2, 2]  # Var(x) = 1
    p_b = norm.cdf(beta_l1[0, 2] / np.sqrt(var_b))
    p_g = norm.cdf(truth["beta2"][0, 1] / np.sqrt(sigma[4, 4]))
    assert abs((complete["b"] == "yes").mean() - p_b) < 0.015
    clusters = complete.groupby("cluster").first()
    assert abs((clusters["g"] == "high").mean() - p_g) < 0.03
    assert abs(clusters["w"].mean() - truth["beta2"][0, 0]) < 0.05
    assert abs(complete["x"].var() - 1.0) < 0.03


@pytest.mark.parametrize(
    "kwargs",
    [
        {"missing_fraction": 1.0},
        {"missing_fraction": -0.1},
        {"level2_missing_fraction": 1.5},
        {"n_clusters": 0},
        {"n_clusters": 2.5},
        {"cluster_size": 0},
        {"cluster_size": [3, 4]},
        {"cluster_size": 2.5},
    ],
)
def test_bad_arguments(kwargs):
    params = {"n_clusters": 3, **kwargs}
    with pytest.raises(ValueError):
        make_multilevel_data(**params)
