"""Property tests over random frames (hypothesis).

Random frames mix continuous columns (float64, nullable Float64 and Int64)
and categorical ones (object strings, object True/False, pandas categorical,
string and nullable boolean dtypes) with random missingness, a covariate,
clusters of random sizes in shuffled order and a cluster-level outcome
missing on some clusters, under every estimator and covariance method. For
each: observed cells come back bit for bit, no missing value is left, imputed
categories are observed ones, the input is unchanged, index, columns and
dtypes are kept (a nullable Int64 column with imputed cells becomes Float64,
as documented), ``transform`` does the same, and the same seed gives the same
imputations with ``n_jobs=1`` and ``n_jobs=2``.

The default suite runs a small budget (25 examples, 10 for ``n_jobs``).
``HYPOTHESIS_PROFILE=fuzz-big`` runs 20,000 examples of the data property
and 1,000 of the ``n_jobs`` one, in worker processes (see doc/catalogue.rst
for the last big run).
"""

import os
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from joblib import parallel_config

from skjomo import HeteroscedasticMultilevelImputer, JointModelImputer, MultilevelJointImputer

settings.register_profile(
    "fuzz-default",
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
settings.register_profile(
    "fuzz-big", max_examples=20_000, deadline=None, suppress_health_check=list(HealthCheck)
)
_NAME = os.environ.get("HYPOTHESIS_PROFILE", "")
PROFILE = settings.get_profile(_NAME if _NAME in ("fuzz-default", "fuzz-big") else "fuzz-default")

# worker processes cost seconds to start on a loaded machine: the small
# budget runs the chains in threads (same code path and seeding; the
# invariants tests use processes), the big one in processes
BACKEND = "loky" if PROFILE.max_examples > 1000 else "threading"
TINY = dict(n_burn=3, n_between=1, n_imputations=2)
CONTINUOUS = ["float64", "Float64", "Int64"]
CATEGORICAL = ["object", "object_bool", "category", "string", "boolean"]
ESTIMATORS = ["single", "common", "fixed", "random"]


def _categorical(values, kind):
    """A categorical column of ``kind`` from codes (-1 = missing)."""
    missing = values < 0
    if kind in ("object_bool", "boolean"):
        labels = np.array([True, False], dtype=object)[np.maximum(values, 0) % 2]
        labels[missing] = None
        return pd.Series(labels, dtype=object if kind == "object_bool" else "boolean")
    labels = np.array(["a", "b", "c", "d"], dtype=object)[np.maximum(values, 0)]
    labels[missing] = None
    if kind == "object":
        return pd.Series(labels, dtype=object)
    if kind == "category":
        return pd.Series(pd.Categorical(labels, categories=["a", "b", "c", "d"]))
    return pd.Series(labels, dtype="string")


@st.composite
def frames(draw):
    """A frame, the estimator name, and the estimator's role parameters."""
    estimator = draw(st.sampled_from(ESTIMATORS))
    n = draw(st.integers(10, 40))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n_clusters = draw(st.integers(2, 6))
    cluster = np.concatenate([np.arange(n_clusters), rng.integers(0, n_clusters, n - n_clusters)])
    rng.shuffle(cluster)
    data = {"cl": cluster}
    params = {}
    if draw(st.booleans()):
        data["x"] = rng.normal(size=n)
        params["covariate_cols"] = ["x"]
    kinds = draw(st.lists(st.sampled_from(CONTINUOUS + CATEGORICAL), min_size=1, max_size=3))
    outcomes = []
    for k, kind in enumerate(kinds):
        name = f"v{k}"
        rate = draw(st.sampled_from([0.0, 0.1, 0.3, 0.6]))
        missing = rng.random(n) < rate
        missing[rng.choice(n, 2, replace=False)] = False  # two observed values at least
        if kind in CONTINUOUS:
            values = rng.normal(size=n) * 10 ** draw(st.integers(-3, 3))
            values[:2] = [0.0, 1.0] if kind == "Int64" else values[:2]
            if kind == "Int64":
                values = np.round(values)
            observed = values[~missing]
            if np.ptp(observed) == 0:
                values[np.flatnonzero(~missing)[0]] += 1
            column = pd.Series(np.where(missing, np.nan, values)).astype(kind)
        else:
            n_categories = 2 if kind in ("object_bool", "boolean") else draw(st.integers(2, 4))
            codes = rng.integers(0, n_categories, n)
            observed = np.flatnonzero(~missing)
            codes[observed[:2]] = [0, 1]  # two observed categories at least
            column = _categorical(np.where(missing, -1, codes), kind)
        data[name] = column
        outcomes.append(name)
    frame = pd.DataFrame(data)
    if estimator != "single" and draw(st.booleans()):
        level2 = rng.normal(size=n_clusters) + 5
        unobserved = rng.random(n_clusters) < 0.3
        unobserved[:2] = False
        frame["g"] = np.where(unobserved, np.nan, level2)[cluster]
        params["level2_cols"] = ["g"]
    if draw(st.booleans()):  # a non-default index
        frame.index = pd.Index([f"r{i}" for i in rng.permutation(n)])
    if estimator == "single":
        params["exclude_cols"] = ["cl"]
    else:
        params["cluster_col"] = "cl"
    if estimator in ("fixed", "random"):
        params["cov_method"] = estimator
    return frame, estimator, params


def _make(estimator, params, **kw):
    cls = {
        "single": JointModelImputer,
        "common": MultilevelJointImputer,
        "fixed": HeteroscedasticMultilevelImputer,
        "random": HeteroscedasticMultilevelImputer,
    }[estimator]
    return cls(**params, **TINY, **kw)


def _check_completed(frame, completed):
    assert completed.index.equals(frame.index)
    assert list(completed.columns) == list(frame.columns)
    for column in frame.columns:
        before, after = frame[column], completed[column]
        expected = before.dtype
        if isinstance(expected, pd.Int64Dtype) and before.isna().any():
            expected = pd.Float64Dtype()
        assert after.dtype == expected, (column, before.dtype, after.dtype)
        assert not after.isna().any(), column
        observed = before.notna().to_numpy()
        assert (
            after[observed].to_numpy(dtype=object) == before[observed].to_numpy(dtype=object)
        ).all(), column
        if not pd.api.types.is_float_dtype(before.dtype) and not isinstance(
            before.dtype, pd.Int64Dtype
        ):
            assert set(after) <= set(before.dropna()), column


def _fit(frame, estimator, params, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # small clusters, unused categories
        return _make(estimator, params, **kw).fit(frame)


@settings(PROFILE)
@given(frames())
def test_completed_frames_keep_the_data(case):
    frame, estimator, params = case
    before = frame.copy()
    imputer = _fit(frame, estimator, params, random_state=0)
    for completed in imputer.sample() + [imputer.transform(frame)]:
        _check_completed(frame, completed)
    pd.testing.assert_frame_equal(frame, before)


@settings(PROFILE, max_examples=max(10, PROFILE.max_examples // 20))
@given(frames())
def test_same_seed_any_n_jobs(case):
    frame, estimator, params = case
    serial = _fit(frame, estimator, params, n_chains=2, n_jobs=1, random_state=3).sample()
    with parallel_config(backend=BACKEND):
        parallel = _fit(frame, estimator, params, n_chains=2, n_jobs=2, random_state=3).sample()
    for a, b in zip(serial, parallel):
        pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("kind", CONTINUOUS + CATEGORICAL)
def test_every_kind_round_trips(kind):
    """Each dtype once, deterministically (the fuzzing may not draw all)."""
    rng = np.random.default_rng(1)
    n = 24
    values = rng.integers(0, 3, n) if kind in CATEGORICAL else rng.normal(size=n) * 5
    missing = np.zeros(n, dtype=bool)
    missing[::5] = True
    if kind in CATEGORICAL:
        column = _categorical(np.where(missing, -1, values), kind)
    else:
        column = pd.Series(np.where(missing, np.nan, np.round(values))).astype(kind)
    frame = pd.DataFrame({"cl": np.arange(n) % 4, "y": rng.normal(size=n), "v": column})
    imputer = _fit(frame, "common", {"cluster_col": "cl"}, random_state=0)
    for completed in imputer.sample() + [imputer.fit_transform(frame)]:
        _check_completed(frame, completed)
