"""Invariants every imputer keeps: observed cells, input, index, dtypes, seeds."""

import numpy as np
import pandas as pd
import pytest

from skjomo import JointModelImputer
from skjomo.datasets import load_jspmiss, make_mixed_data

FAST = dict(n_burn=50, n_between=10, n_imputations=3)


@pytest.fixture(scope="module")
def mixed_frame():
    """Mixed data with a shuffled string index and several dtypes."""
    frame = make_mixed_data(n_samples=150, random_state=3).frame
    frame = frame.sample(frac=1.0, random_state=1)
    frame.index = [f"r{i}" for i in range(len(frame))]
    frame["label"] = pd.array(np.where(frame["x"] > 0, "hi", "lo"), dtype=object)
    frame.loc[frame.index[::7], "label"] = None
    frame["flag"] = pd.array(frame["x"] > 0.3, dtype="boolean")
    frame.loc[frame.index[::9], "flag"] = pd.NA
    frame["count"] = pd.array(np.round(frame["x"] * 10), dtype="Int64")
    frame.loc[frame.index[::11], "count"] = pd.NA
    frame["note"] = "untouched"
    frame.loc[frame.index[::5], "note"] = None
    return frame


def _imputer(**kw):
    settings = {**FAST, "random_state": 0, **kw}
    return JointModelImputer(covariate_cols=["x"], exclude_cols=["note"], **settings)


def test_observed_cells_bit_identical_and_input_untouched(mixed_frame):
    before = mixed_frame.copy(deep=True)
    completed = _imputer().fit(mixed_frame).sample()
    pd.testing.assert_frame_equal(mixed_frame, before)
    for frame in completed:
        assert frame.index.equals(mixed_frame.index)
        assert list(frame.columns) == list(mixed_frame.columns)
        for column in mixed_frame.columns:
            observed = mixed_frame[column].notna().to_numpy()
            got = frame[column].to_numpy(dtype=object)[observed]
            want = mixed_frame[column].to_numpy(dtype=object)[observed]
            if column in ("x", "y1", "y2"):
                assert np.array_equal(np.asarray(got, float).view(np.int64),
                                      np.asarray(want, float).view(np.int64))
            else:
                assert list(got) == list(want)


def test_dtypes_and_categories_kept(mixed_frame):
    completed = _imputer().fit(mixed_frame).sample(2)
    for frame in completed:
        for column in ["x", "y1", "y2", "b", "label", "flag", "note"]:
            assert frame[column].dtype == mixed_frame[column].dtype, column
        # a nullable integer column holding imputed reals becomes nullable float
        assert frame["count"].dtype == pd.Float64Dtype()
        assert frame["note"].isna().sum() == mixed_frame["note"].isna().sum()
        for column in ["y1", "y2", "b", "label", "flag", "count"]:
            assert not frame[column].isna().any(), column
        assert set(frame["b"].unique()) <= {"yes", "no"}
        assert set(frame["label"].unique()) <= {"hi", "lo"}


def test_same_seed_same_output_any_n_jobs(mixed_frame):
    one = _imputer(n_chains=2, n_jobs=1).fit(mixed_frame).sample()
    two = _imputer(n_chains=2, n_jobs=2).fit(mixed_frame).sample()
    for a, b in zip(one, two):
        pd.testing.assert_frame_equal(a, b)


def test_different_seed_different_output(mixed_frame):
    a = _imputer(random_state=1).fit(mixed_frame).sample(1)[0]
    b = _imputer(random_state=2).fit(mixed_frame).sample(1)[0]
    assert not a["y1"].equals(b["y1"])


def test_sample_is_repeatable_and_extends(mixed_frame):
    imputer = _imputer().fit(mixed_frame)
    first = imputer.sample(2)
    again = imputer.sample(5)  # beyond the 3 stored: the chain continues
    for a, b in zip(first, again[:2]):
        pd.testing.assert_frame_equal(a, b)
    assert len(again) == 5
    assert not again[3]["y1"].equals(again[4]["y1"])
    for a, b in zip(again, imputer.sample(5)):
        pd.testing.assert_frame_equal(a, b)


def test_transform_new_rows(mixed_frame):
    imputer = _imputer().fit(mixed_frame)
    new = mixed_frame.iloc[:20].copy()
    new.loc[new.index[:5], "y1"] = np.nan
    new.loc[new.index[5:10], "b"] = np.nan
    out = imputer.transform(new)
    assert out.index.equals(new.index)
    assert not out[["y1", "y2", "b"]].isna().any().any()
    draws = imputer.sample(n_imputations=3, X=new)
    assert len(draws) == 3 and not draws[0]["y1"].equals(draws[1]["y1"])


def test_complete_data_comes_back_unchanged():
    frame = load_jspmiss()[["english", "ravens", "sex"]].dropna()
    out = JointModelImputer(covariate_cols=["sex"], random_state=0, **FAST).fit_transform(frame)
    pd.testing.assert_frame_equal(out, frame)


def test_array_input_gives_array_output():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    X[rng.uniform(size=X.shape) < 0.2] = np.nan
    out = JointModelImputer(random_state=0, **FAST).fit_transform(X)
    assert isinstance(out, np.ndarray) and out.shape == X.shape
    observed = ~np.isnan(X)
    assert np.array_equal(out[observed], X[observed])
    assert not np.isnan(out).any()
