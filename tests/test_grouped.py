"""Imputation within groups (group_col): one model per group, rows in place."""

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from skjomo import JointModelImputer, MultilevelJointImputer
from skjomo.datasets import load_jspmiss

RUN = dict(n_burn=20, n_between=2, n_imputations=3, random_state=3)


def _two_groups(n=200, seed=0):
    """Interleaved groups whose outcomes live far apart: in group 'a' y is
    near 2 x, in group 'b' near 100 - 2 x, so a row imputed by the other
    group's model (or put back in another row) is off by ~100."""
    rng = np.random.default_rng(seed)
    group = np.where(np.arange(n) % 2 == 0, "a", "b")
    x = rng.normal(size=n)
    y = np.where(group == "a", 2 * x, 100 - 2 * x) + rng.normal(scale=0.1, size=n)
    y[rng.random(n) < 0.3] = np.nan
    index = pd.Index([f"r{i}" for i in rng.permutation(n)], name="row")
    return pd.DataFrame({"y": y, "x": x, "group": group}, index=index)


def _expected(frame):
    return np.where(frame["group"] == "a", 2 * frame["x"], 100 - 2 * frame["x"])


def test_rows_imputed_by_their_own_group_and_put_back_in_place():
    frame = _two_groups()
    before = frame.copy()
    imputer = JointModelImputer(group_col="group", **RUN).fit(frame)
    pd.testing.assert_frame_equal(frame, before)  # input untouched
    missing = frame["y"].isna().to_numpy()
    for data in imputer.sample():
        assert data.index.equals(frame.index) and list(data.columns) == list(frame.columns)
        pd.testing.assert_series_equal(data["group"], frame["group"])
        pd.testing.assert_frame_equal(data[~missing], frame[~missing])
        error = np.abs(data["y"].to_numpy() - _expected(frame))[missing]
        assert error.max() < 1.0  # exchanged rows would be off by ~100
    assert list(imputer.groups_) == ["a", "b"]


def test_each_group_is_the_clone_fitted_on_its_rows():
    """Group g's imputations are those of its model on its rows alone."""
    frame = _two_groups()
    imputer = JointModelImputer(group_col="group", **RUN).fit(frame)
    combined = imputer.sample()
    for label, model in imputer.groups_.items():
        rows = frame["group"] == label
        alone = JointModelImputer(
            random_state=model.random_state,
            exclude_cols=["group"],
            **{k: v for k, v in RUN.items() if k != "random_state"},
        )
        for ours, theirs in zip(combined, alone.fit(frame[rows]).sample()):
            pd.testing.assert_frame_equal(ours[rows.to_numpy()], theirs, check_exact=True)
    seeds = [m.random_state for m in imputer.groups_.values()]
    assert len(set(seeds)) == 2


def test_same_result_whatever_n_jobs():
    frame = _two_groups()
    serial = JointModelImputer(group_col="group", n_jobs=1, **RUN).fit(frame).sample()
    with joblib.parallel_config(backend="threading"):  # the same path, no process start-up
        parallel = JointModelImputer(group_col="group", n_jobs=2, **RUN).fit(frame).sample()
    for a, b in zip(serial, parallel):
        pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_transform_routes_new_rows_to_their_group():
    frame = _two_groups()
    imputer = JointModelImputer(group_col="group", **RUN).fit(frame)
    new = _two_groups(n=40, seed=5).iloc[::-1]
    out = imputer.transform(new)
    assert out.index.equals(new.index)
    missing = new["y"].isna().to_numpy()
    assert missing.any()
    assert np.abs(out["y"].to_numpy() - _expected(new))[missing].max() < 1.0
    several = imputer.sample(2, X=new)
    assert len(several) == 2 and several[0].index.equals(new.index)
    with pytest.raises(ValueError, match=r"Group\(s\) \['c'\] of 'group' were not seen"):
        imputer.transform(new.assign(group="c"))


def test_two_level_model_with_formula_within_groups():
    frame = load_jspmiss()
    imputer = MultilevelJointImputer(
        formula="english + ravens ~ sex + (1 | school)", group_col="behaviour", **RUN
    ).fit(frame)
    data = imputer.sample(1)[0]
    assert data.index.equals(frame.index)
    assert data[["english", "ravens"]].notna().all().all()
    assert data["fluent"].isna().sum() == frame["fluent"].isna().sum()  # not in the model
    report = imputer.summary(warn=False)
    assert "=== Group behaviour = 'lowerquarter' (" in report
    assert "=== Group behaviour = 'upper'" in report
    with pytest.raises(ValueError, match=r"use groups_\[label\].chains_"):
        imputer.chains_  # noqa: B018 (the property raises)


def test_group_errors():
    frame = _two_groups()
    with pytest.raises(ValueError, match="'nope' given as group_col is not in the data"):
        JointModelImputer(group_col="nope", **RUN).fit(frame)
    with pytest.raises(ValueError, match="missing labels"):
        JointModelImputer(group_col="group", **RUN).fit(frame.assign(group=None))
    with pytest.raises(ValueError, match="cannot also be in the formula"):
        JointModelImputer(formula="y ~ group", group_col="group", **RUN).fit(frame)
    fitted = JointModelImputer(group_col="group", **RUN).fit(frame)
    with pytest.raises(ValueError, match="empty"):
        fitted.transform(frame.iloc[:0])


def test_array_input_with_group_position():
    frame = _two_groups().assign(group=lambda f: (f["group"] == "b").astype(float))
    out = JointModelImputer(group_col=2, **RUN).fit(frame.to_numpy()).sample(1)[0]
    assert isinstance(out, np.ndarray) and not np.isnan(out).any()
    missing = frame["y"].isna().to_numpy()
    assert (
        np.abs(out[:, 0] - _expected(frame.assign(group=np.where(frame["group"] == 1, "b", "a"))))[
            missing
        ].max()
        < 1.0
    )


def _clustered_with_level2(seed=0):
    rng = np.random.default_rng(seed)
    cluster = np.repeat(np.arange(20), 10)
    w = np.repeat(rng.normal(size=20), 10)
    y = w + rng.normal(size=200)
    y[rng.random(200) < 0.2] = np.nan
    w_missing = np.repeat(rng.random(20) < 0.2, 10)
    w[w_missing] = np.nan
    group = np.where(cluster % 2 == 0, "a", "b")
    return pd.DataFrame({"y": y, "w": w, "cluster": cluster, "group": group})


def test_clusters_split_across_groups_are_refused_with_level2_outcomes():
    frame = _clustered_with_level2()
    imputer = MultilevelJointImputer(
        outcome_cols=["y"], cluster_col="cluster", level2_cols=["w"], group_col="group", **RUN
    )
    fitted = imputer.fit(frame)  # clusters nested in groups: fine
    out = fitted.sample(1)[0]
    assert (out.groupby("cluster")["w"].nunique() == 1).all()
    split = frame.assign(group=np.where(np.arange(200) % 2 == 0, "a", "b"))
    with pytest.raises(ValueError, match=r"Cluster\(s\) \[0, 1, 2, 3, 4\] of 'cluster' have rows"):
        clone(imputer).fit(split)
    new = frame.iloc[:10].assign(cluster=99, group=["a"] * 5 + ["b"] * 5)
    with pytest.raises(ValueError, match=r"Cluster\(s\) \[99\] of 'cluster' have rows in more"):
        fitted.transform(new)
    # without level-2 outcomes a cluster may be split: each group models its part
    MultilevelJointImputer(
        outcome_cols=["y"], cluster_col="cluster", group_col="group", exclude_cols=["w"], **RUN
    ).fit(split)
