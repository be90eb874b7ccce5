"""Bad input gets a clear error that names the column and the problem."""

import numpy as np
import pandas as pd
import pytest

from skjomo import JointModelImputer

FAST = dict(n_burn=5, n_between=2, n_imputations=2, random_state=0)


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    data = pd.DataFrame({
        "y": rng.normal(size=30),
        "z": rng.normal(size=30),
        "c": pd.Categorical(rng.choice(["a", "b", "c"], size=30)),
        "x": rng.normal(size=30),
    })
    data.loc[::4, "y"] = np.nan
    return data


def fit(frame, **kw):
    return JointModelImputer(**{**FAST, **kw}).fit(frame)


def test_missing_values_in_covariate(frame):
    frame.loc[3, "x"] = np.nan
    with pytest.raises(ValueError, match=r"Covariate 'x' has missing values"):
        fit(frame, covariate_cols=["x"])


def test_all_missing_column(frame):
    frame["y"] = np.nan
    with pytest.raises(ValueError, match=r"Column 'y' is entirely missing"):
        fit(frame)


def test_categorical_with_one_category(frame):
    frame["c"] = pd.Categorical(["a"] * 30, categories=["a", "b"])
    with pytest.warns(UserWarning, match="never occur"):
        with pytest.raises(ValueError, match=r"column 'c' has only one observed category"):
            fit(frame)


def test_unused_category_warns_and_is_never_imputed(frame):
    frame["c"] = frame["c"].cat.add_categories(["zzz"])
    frame.loc[::3, "c"] = np.nan
    with pytest.warns(UserWarning, match=r"\['zzz'\] of column 'c' never occur"):
        imputer = fit(frame)
    assert "zzz" not in set(imputer.sample(1)[0]["c"])


def test_non_numeric_non_categorical_column(frame):
    frame["when"] = pd.date_range("2020-01-01", periods=30)
    with pytest.raises(TypeError, match=r"Column 'when' .*datetime64"):
        fit(frame)
    # excluded, it passes through untouched
    out = fit(frame, exclude_cols=["when"]).transform(frame)
    pd.testing.assert_series_equal(out["when"], frame["when"])


@pytest.mark.parametrize("column", ["y", "x"])
def test_infinite_values(frame, column):
    frame.loc[5, column] = np.inf
    with pytest.raises(ValueError, match=rf"Column '{column}' .*infinite"):
        fit(frame, covariate_cols=["x"])


def test_empty_frames(frame):
    with pytest.raises(ValueError, match="empty"):
        fit(frame.iloc[:0])
    with pytest.raises(ValueError, match="no columns|0 feature"):
        fit(frame.iloc[:, :0])


def test_unknown_and_doubly_assigned_columns(frame):
    with pytest.raises(ValueError, match=r"Column 'nope' given as covariate is not in the data"):
        fit(frame, covariate_cols=["nope"])
    with pytest.raises(ValueError, match=r"Column 'x' is given two roles"):
        fit(frame, covariate_cols=["x"], exclude_cols=["x"])


def test_constant_or_collinear_covariates(frame):
    frame["one"] = 1.0
    with pytest.raises(ValueError, match=r"Covariate 'one' is constant"):
        fit(frame, covariate_cols=["one"])
    frame["x2"] = 2 * frame["x"]
    with pytest.raises(ValueError, match="collinear"):
        fit(frame, covariate_cols=["x", "x2"])


def test_bad_settings(frame):
    with pytest.raises(ValueError, match="n_burn"):
        fit(frame, n_burn=-1)
    with pytest.raises(ValueError, match="prior_df"):
        fit(frame, prior_df=-40)
    with pytest.raises(ValueError, match=r"prior_scale must have shape \(5, 5\)"):
        fit(frame, prior_scale=np.eye(2))


def test_transform_with_unknown_category_or_missing_column(frame):
    imputer = fit(frame)
    new = frame.copy()
    new["c"] = new["c"].cat.add_categories(["new"])
    new.loc[0, "c"] = "new"
    with pytest.raises(ValueError, match=r"Column 'c' has categories \['new'\] not seen in fit"):
        imputer.transform(new)
    with pytest.raises(ValueError, match="feature names"):
        imputer.transform(frame.drop(columns="z"))
