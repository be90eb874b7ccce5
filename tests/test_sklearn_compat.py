"""scikit-learn citizenship of the imputers."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from skjomo import JointModelImputer
from skjomo.datasets import load_jspmiss

# Checks skipped, with the reason (none at the moment).
EXPECTED_FAILED_CHECKS = {}


def _fast(estimator):
    return estimator.set_params(n_burn=20, n_between=5, n_imputations=2)


@parametrize_with_checks(
    [_fast(JointModelImputer(random_state=0))],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def jsp():
    return load_jspmiss()[["english", "ravens", "fluent", "sex"]]


def test_get_set_params_and_clone(jsp):
    imputer = JointModelImputer(covariate_cols=["sex"], n_burn=50, prior_df=7.5)
    assert imputer.get_params()["prior_df"] == 7.5
    imputer.set_params(n_burn=30)
    assert imputer.n_burn == 30
    twin = clone(imputer)
    assert twin.get_params() == imputer.get_params()
    assert not hasattr(twin, "beta_")


def test_set_output_pandas_on_arrays():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    X[rng.uniform(size=X.shape) < 0.2] = np.nan
    imputer = _fast(JointModelImputer(random_state=0)).set_output(transform="pandas")
    out = imputer.fit_transform(X)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["0", "1", "2"] or list(out.columns) == [0, 1, 2] or \
        list(out.columns) == list(imputer.get_feature_names_out())
    assert not out.isna().any().any()


def test_set_output_pandas_on_frames(jsp):
    imputer = _fast(JointModelImputer(covariate_cols=["sex"], random_state=0))
    out = imputer.set_output(transform="pandas").fit(jsp).transform(jsp)
    assert list(out.columns) == list(jsp.columns)
    assert out["fluent"].dtype == jsp["fluent"].dtype


def test_pickle_roundtrip(jsp):
    imputer = _fast(JointModelImputer(covariate_cols=["sex"], random_state=1)).fit(jsp)
    again = pickle.loads(pickle.dumps(imputer))
    for a, b in zip(imputer.sample(2), again.sample(2)):
        pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(imputer.transform(jsp), again.transform(jsp))


def test_grid_search_over_imputer_settings(jsp):
    data = jsp.dropna(subset=["english"])
    X = data[["ravens", "sex"]].to_numpy(dtype=float)
    y = data["english"].to_numpy()
    pipe = Pipeline([
        ("impute", JointModelImputer(n_between=5, n_imputations=1, random_state=0)),
        ("ridge", Ridge()),
    ])
    grid = GridSearchCV(pipe, {"impute__n_burn": [10, 30],
                               "impute__prior_df": [None, 5.0],
                               "ridge__alpha": [0.1, 10.0]}, cv=3)
    grid.fit(X, y)
    assert set(grid.best_params_) == {"impute__n_burn", "impute__prior_df", "ridge__alpha"}
    assert np.isfinite(grid.best_score_)
