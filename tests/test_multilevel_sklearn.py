"""scikit-learn citizenship of MultilevelJointImputer.

The estimator checks feed plain numeric arrays: column 0 is the cluster. With
random float data every row is its own cluster, which must work too.
"""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from skjomo import MultilevelJointImputer

# Checks that cannot pass, with the reason.
EXPECTED_FAILED_CHECKS = {
    "check_estimators_pickle": (
        "the check writes NaN into random cells of every column, the cluster column "
        "included, and a row without a cluster label is an error (a row must belong to a "
        "cluster); pickling is tested in test_pickle_roundtrip"),
}

FAST = dict(n_burn=20, n_between=5, n_imputations=2)


@parametrize_with_checks(
    [MultilevelJointImputer(cluster_col=0, random_state=0, **FAST)],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    clusters = np.repeat([f"g{k}" for k in range(10)], 6)
    u = np.repeat(rng.normal(size=10), 6)
    frame = pd.DataFrame({
        "cluster": pd.array(clusters, dtype=object),
        "x": rng.normal(size=60),
        "y": u + rng.normal(size=60),
        "c": pd.Categorical(np.where(u + rng.normal(size=60) > 0, "yes", "no")),
        "w": u + np.repeat(rng.normal(size=10), 6),
    })
    frame.loc[::4, "y"] = np.nan
    frame.loc[1::5, "c"] = np.nan
    frame.loc[frame["cluster"].isin(["g2", "g5"]), "w"] = np.nan
    frame.index = rng.permutation(60) + 1000
    return frame


def make_imputer(**kw):
    return MultilevelJointImputer(cluster_col="cluster", covariate_cols=["x"],
                                  level2_cols=["w"], random_state=1, **{**FAST, **kw})


def new_rows(frame):
    new = frame.iloc[:8].copy()
    new.loc[new.index[4:], "cluster"] = "unseen"
    new.loc[new.index[4:], "w"] = np.nan
    new.loc[new.index[[0, 5]], "y"] = np.nan
    return new


def test_get_set_params_and_clone():
    imputer = make_imputer(random_slope_cols=["x"], level2_prior_df=4.5, n_chains=2)
    params = imputer.get_params()
    assert params["cluster_col"] == "cluster"
    assert params["level2_cols"] == ["w"]
    assert params["random_slope_cols"] == ["x"]
    assert params["level2_prior_df"] == 4.5
    # every __init__ argument is a parameter
    for name in ("level2_covariate_cols", "level2_prior_scale", "level2_cov_start",
                 "random_effects_start", "latent_bounds", "n_jobs"):
        assert name in params
    imputer.set_params(n_burn=30, cluster_col="school", level2_cols=None)
    assert (imputer.n_burn, imputer.cluster_col, imputer.level2_cols) == (30, "school", None)
    twin = clone(imputer)
    assert twin.get_params() == imputer.get_params()
    assert type(twin) is MultilevelJointImputer


def test_clone_of_fitted_is_unfitted_and_refits_identically(data):
    imputer = make_imputer().fit(data)
    twin = clone(imputer)
    assert not hasattr(twin, "random_effects_") and not hasattr(twin, "cluster_labels_")
    for a, b in zip(imputer.sample(), twin.fit(data).sample()):
        pd.testing.assert_frame_equal(a, b)


def test_pickle_roundtrip(data):
    imputer = make_imputer(random_slope_cols=["x"]).fit(data)
    again = pickle.loads(pickle.dumps(imputer))
    for a, b in zip(imputer.sample(3), again.sample(3)):  # 3 > 2 stored: chains continue
        pd.testing.assert_frame_equal(a, b)
    new = new_rows(data)
    pd.testing.assert_frame_equal(imputer.transform(new), again.transform(new))
    for a, b in zip(imputer.sample(2, X=new), again.sample(2, X=new)):
        pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(imputer.random_effects_, again.random_effects_)
    pd.testing.assert_frame_equal(imputer.sigma_, again.sigma_)
    pd.testing.assert_frame_equal(imputer.beta2_, again.beta2_)


def test_set_output_pandas_on_frames(data):
    imputer = make_imputer().set_output(transform="pandas")
    out = imputer.fit(data).transform(new_rows(data))
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(data.columns)
    assert out.index.equals(new_rows(data).index)
    assert out["c"].dtype == data["c"].dtype
    assert out["cluster"].dtype == data["cluster"].dtype
    assert not out[["y", "c", "w"]].isna().any().any()


def test_set_output_pandas_on_arrays(data):
    X = data.assign(cluster=data["cluster"].str[1:].astype(float),
                    c=(data["c"] == "yes").astype(float).where(data["c"].notna()))
    X = X.to_numpy(dtype=float)
    imputer = MultilevelJointImputer(cluster_col=0, covariate_cols=[1], level2_cols=[4],
                                     categorical_cols=[3], random_state=0, **FAST)
    out = imputer.set_output(transform="pandas").fit_transform(X)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(imputer.get_feature_names_out())
    assert out.shape == X.shape and not out.isna().any().any()
    observed = ~np.isnan(X)
    assert np.array_equal(out.to_numpy()[observed], X[observed])
    assert set(out.iloc[:, 3]) <= {0.0, 1.0}
    assert out.groupby(out.columns[0])[out.columns[4]].nunique().eq(1).all()
    default = clone(imputer).set_output(transform="default").fit_transform(X)
    assert isinstance(default, np.ndarray)
    np.testing.assert_array_equal(default, out.to_numpy())


def test_feature_names(data):
    imputer = make_imputer().fit(data)
    assert list(imputer.feature_names_in_) == list(data.columns)
    assert list(imputer.get_feature_names_out()) == list(data.columns)
    assert imputer.n_features_in_ == data.shape[1]
