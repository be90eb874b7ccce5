"""Invariants of the two-level model, on data with awkward clusters.

The invariants every imputer keeps (observed cells, input, index, column
order, dtypes, seeds, pickling, ...) are tested on every estimator
configuration in tests/test_common.py. Here, what is specific to clusters:
level-2 values constant within clusters (also when observed on some rows of
a cluster only, or on none), clusters of size 1, clusters without any value
of a variable, cluster labels of any dtype and rows in any order, new
clusters in transform, labelled fitted attributes and random slopes.
"""

import pickle

import numpy as np
import pandas as pd
import pytest
from invariants import assert_observed_identical

from skjomo import MultilevelJointImputer
from skjomo.diagnostics import ess_mean

FAST = dict(n_burn=30, n_between=5, n_imputations=3)
LEVEL1 = ["y", "grade", "label", "flag", "count"]
LEVEL2 = ["w", "kind", "region", "public"]

# Cluster codes of the special clusters of two_level_frame.
NO_Y = 5  # y missing on every row of the cluster
NO_LEVEL2 = 7  # every level-2 outcome missing
PARTIAL_W = 9  # w observed on some rows of the cluster only
PARTIAL_KIND = 10  # kind observed on some rows of the cluster only


def two_level_frame(n_clusters=20, seed=0):
    """Two-level data with every column kind, a shuffled string index and
    columns in no particular order.

    Level 1: ``y`` (float), ``grade`` (categorical, unsorted categories),
    ``label`` (object strings), ``flag`` (nullable boolean), ``count``
    (nullable integer), covariate ``x``, excluded ``note``. Level 2 (constant
    within clusters): ``w`` (float), ``kind`` (categorical), ``region``
    (object strings), ``public`` (nullable boolean), covariate ``z2``.
    Clusters 0-2 have one row.
    """
    rng = np.random.default_rng(seed)
    sizes = rng.integers(3, 9, n_clusters)
    sizes[:3] = 1
    cluster = np.repeat(np.arange(n_clusters), sizes)
    n = cluster.size
    u = 0.8 * rng.normal(size=n_clusters)
    z2 = rng.normal(size=n_clusters)
    w = 0.5 * z2 + u + 0.5 * rng.normal(size=n_clusters)
    kind = np.array(["a", "b", "c"])[
        np.digitize(u + 0.5 * rng.normal(size=n_clusters), [-0.4, 0.4])
    ]
    region = np.where(u + rng.normal(size=n_clusters) > 0, "north", "south")
    public = u + rng.normal(size=n_clusters) > 0
    x = rng.normal(size=n)
    latent = u[cluster, None] + 0.5 * x[:, None] + rng.normal(size=(n, 5))
    frame = pd.DataFrame(
        {
            "y": 1.0 + latent[:, 0],
            "cluster": pd.array([f"s{c:02d}" for c in cluster], dtype=object),
            "grade": pd.Categorical(
                np.array(["low", "mid", "high"])[np.digitize(latent[:, 1], [0.0, 1.0])],
                categories=["low", "mid", "high"],
            ),
            "x": x,
            "w": w[cluster],
            "label": pd.array(np.where(latent[:, 2] > 0, "hi", "lo"), dtype=object),
            "kind": pd.Categorical(kind[cluster], categories=["c", "a", "b"]),
            "flag": pd.array(latent[:, 3] > 0.2, dtype="boolean"),
            "note": pd.array(["untouched"] * n, dtype=object),
            "count": pd.array(np.round(3 * latent[:, 4]).astype(int), dtype="Int64"),
            "region": pd.array(region[cluster], dtype=object),
            "public": pd.array(public[cluster], dtype="boolean"),
            "z2": z2[cluster],
        }
    )
    frame.loc[rng.uniform(size=n) < 0.2, "y"] = np.nan
    frame.loc[cluster == NO_Y, "y"] = np.nan
    frame.loc[rng.uniform(size=n) < 0.15, "grade"] = np.nan
    frame.loc[rng.uniform(size=n) < 0.15, "label"] = None
    frame.loc[rng.uniform(size=n) < 0.15, "flag"] = pd.NA
    frame.loc[rng.uniform(size=n) < 0.15, "count"] = pd.NA
    frame.loc[rng.uniform(size=n) < 0.2, "note"] = None
    frame.loc[np.isin(cluster, [1, 12, NO_LEVEL2]), "w"] = np.nan
    frame.loc[np.isin(cluster, [2, 13, NO_LEVEL2]), "kind"] = np.nan
    frame.loc[np.isin(cluster, [14, NO_LEVEL2]), "region"] = None
    frame.loc[np.isin(cluster, [12, 15, NO_LEVEL2]), "public"] = pd.NA
    frame.loc[np.flatnonzero(cluster == PARTIAL_W)[:2], "w"] = np.nan
    frame.loc[np.flatnonzero(cluster == PARTIAL_KIND)[1:3], "kind"] = np.nan
    frame = frame.sample(frac=1.0, random_state=seed + 1)
    frame.index = [f"r{i}" for i in rng.permutation(n)]
    return frame


def label(code):
    return f"s{code:02d}"


def make_imputer(**kw):
    settings = dict(
        cluster_col="cluster",
        covariate_cols=["x"],
        level2_cols=LEVEL2,
        level2_covariate_cols=["z2"],
        exclude_cols=["note"],
        random_state=0,
        **FAST,
    )
    settings.update(kw)
    return MultilevelJointImputer(**settings)


@pytest.fixture(scope="module")
def frame():
    return two_level_frame()


@pytest.fixture(scope="module")
def fitted(frame):
    before = frame.copy(deep=True)
    imputer = make_imputer().fit(frame)
    pd.testing.assert_frame_equal(frame, before)
    return imputer


@pytest.fixture(scope="module")
def completed(fitted):
    return fitted.sample()


def assert_level2_constant(out, columns=LEVEL2):
    for column in columns:
        assert not out[column].isna().any(), column
        per_cluster = out.groupby("cluster", observed=True)[column].nunique(dropna=False)
        assert (per_cluster == 1).all(), (column, per_cluster[per_cluster != 1])


# ------------------------------------------------------------ level-2 values
def test_level2_values_constant_within_clusters(frame, completed):
    assert len(completed) == 3
    for out in completed:
        assert_observed_identical(out, frame)
        assert_level2_constant(out)
        # observed level-2 values stay: every row of a cluster gets the observed value
        for column in LEVEL2:
            observed = frame[column].notna()
            values = frame.loc[observed].groupby("cluster")[column].first()
            got = out.groupby("cluster")[column].first().loc[values.index]
            assert list(got) == list(values), column


def test_level2_missing_on_some_rows_of_a_cluster_gets_the_observed_value(frame, completed):
    rows_w = frame["cluster"] == label(PARTIAL_W)
    rows_k = frame["cluster"] == label(PARTIAL_KIND)
    assert frame.loc[rows_w, "w"].isna().any() and frame.loc[rows_w, "w"].notna().any()
    want_w = frame.loc[rows_w, "w"].dropna().iloc[0]
    want_k = frame.loc[rows_k, "kind"].dropna().iloc[0]
    for out in completed:
        assert (out.loc[rows_w, "w"] == want_w).all()
        assert (out.loc[rows_k, "kind"] == want_k).all()


def test_cluster_without_level2_values_is_imputed_once(frame, completed):
    rows = frame["cluster"] == label(NO_LEVEL2)
    assert frame.loc[rows, LEVEL2].isna().all().all() and rows.sum() > 1
    draws = []
    for out in completed:
        assert out.loc[rows, LEVEL2].nunique().eq(1).all()
        draws.append(out.loc[rows, "w"].iloc[0])
    assert len(set(draws)) == len(draws)  # a new value in every imputation


def test_cluster_with_a_variable_entirely_missing(frame, fitted, completed):
    rows = frame["cluster"] == label(NO_Y)
    assert frame.loc[rows, "y"].isna().all() and rows.sum() > 1
    for out in completed:
        assert np.isfinite(out.loc[rows, "y"]).all()
        assert out.loc[rows, "y"].nunique() == rows.sum()  # row-level draws
    assert np.isfinite(fitted.random_effects_.loc[label(NO_Y)]).all()


def test_fitted_attributes_are_labelled(frame, fitted):
    clusters = sorted(frame["cluster"].unique())
    assert list(fitted.cluster_labels_) == clusters
    assert fitted.random_effects_.index.equals(fitted.cluster_labels_)
    latent = ["y", "grade[low]", "grade[mid]", "label[hi]", "flag[False]", "count"]
    # continuous columns first, then categorical latents (user order within each)
    assert sorted(fitted.omega_.columns) == sorted(latent)
    u_labels = [f"{t}|(Intercept)" for t in fitted.omega_.columns]
    assert list(fitted.random_effects_.columns) == u_labels
    level2 = ["w", "kind[c]", "kind[a]", "region[north]", "public[False]"]
    assert list(fitted.sigma_.index) == u_labels + level2
    assert list(fitted.sigma_.columns) == u_labels + level2
    assert list(fitted.beta2_.index) == ["(Intercept)", "z2"]
    assert list(fitted.beta2_.columns) == level2
    assert list(fitted.beta_.index) == ["(Intercept)", "x"]


# ------------------------------------------------------------ cluster labels and row order
def _simple_frame(n_clusters=12, seed=4):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 7, n_clusters)
    cluster = np.repeat(np.arange(n_clusters), sizes)
    n = cluster.size
    u = rng.normal(size=n_clusters)
    w = u + 0.5 * rng.normal(size=n_clusters)
    x = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "cluster": cluster,
            "x": x,
            "y1": u[cluster] + x + rng.normal(size=n),
            "y2": 0.5 * u[cluster] + rng.normal(size=n),
            "w": w[cluster],
        }
    )
    frame.loc[rng.uniform(size=n) < 0.25, "y1"] = np.nan
    frame.loc[rng.uniform(size=n) < 0.25, "y2"] = np.nan
    frame.loc[np.isin(cluster, [2, 5]), "w"] = np.nan
    return frame


LABELLINGS = {
    "strings": lambda c: pd.array([f"k{v:03d}" for v in c], dtype=object),
    "pandas strings": lambda c: pd.array([f"k{v:03d}" for v in c], dtype="string"),
    "default strings": lambda c: pd.array([f"k{v:03d}" for v in c], dtype="str"),
    "categorical": lambda c: pd.Categorical(
        [f"k{v:03d}" for v in c], categories=[f"k{v:03d}" for v in range(40)]
    ),
    "floats": lambda c: c * 2.5 - 7.25,
    "large integers": lambda c: c.astype(np.int64) * 1000 + 10**12,
}


@pytest.mark.parametrize("labelling", sorted(LABELLINGS))
def test_cluster_label_dtype_does_not_change_results(labelling):
    """Labels sorting in the same order give bit-identical imputations."""
    base = _simple_frame()
    relabelled = base.copy()
    relabelled["cluster"] = LABELLINGS[labelling](base["cluster"].to_numpy())
    settings = dict(
        cluster_col="cluster", covariate_cols=["x"], level2_cols=["w"], random_state=3, **FAST
    )
    ref = MultilevelJointImputer(**settings).fit(base)
    imputer = MultilevelJointImputer(**settings).fit(relabelled)
    for a, b in zip(ref.sample(), imputer.sample()):
        np.testing.assert_array_equal(
            a[["y1", "y2", "w"]].to_numpy(), b[["y1", "y2", "w"]].to_numpy()
        )
        assert b["cluster"].dtype == relabelled["cluster"].dtype
        assert b["cluster"].equals(relabelled["cluster"])
    np.testing.assert_array_equal(
        ref.random_effects_.to_numpy(), imputer.random_effects_.to_numpy()
    )
    # one row per cluster that occurs (unused categories are not clusters)
    assert list(imputer.random_effects_.index) == list(pd.unique(relabelled["cluster"]))
    # transform: rows of a known and of a new cluster, in the labels' dtype
    new = relabelled.iloc[:3].copy()
    new = pd.concat([new, new.iloc[:2]])
    new.index = ["a", "b", "c", "d", "e"]
    new_label = LABELLINGS[labelling](np.array([39]))[0]
    if isinstance(new["cluster"].dtype, pd.CategoricalDtype):
        new.loc[["d", "e"], "cluster"] = new_label
    else:
        new["cluster"] = new["cluster"].astype(object)
        new.loc[["d", "e"], "cluster"] = new_label
        new["cluster"] = new["cluster"].astype(relabelled["cluster"].dtype)
    new.loc[["a", "d"], "y1"] = np.nan
    new.loc[["d", "e"], "w"] = np.nan
    out = imputer.transform(new)
    assert out["cluster"].equals(new["cluster"])
    assert not out[["y1", "y2", "w"]].isna().any().any()
    assert out.loc["d", "w"] == out.loc["e", "w"]


STRING_STORAGES = ["python"] + (
    ["pyarrow"] if __import__("importlib").util.find_spec("pyarrow") else []
)


@pytest.mark.parametrize("storage", STRING_STORAGES)
def test_string_columns_impute_as_object_columns(storage):
    """pandas string columns (level 1 and level 2) give the same imputations
    as the same strings in object columns, and stay unmodified.

    On pandas 3.1, ``to_numpy(dtype=object, copy=True)`` of a python-storage
    string column can return the column's own array (it does after a pickle
    round trip); writing imputations into it changed the data that later
    imputations of ``sample`` started from.
    """
    base = two_level_frame()
    strings = base.copy()
    try:  # pandas 3's default string dtype; before 2.3, the NA-valued one
        dtype = pd.StringDtype(storage, na_value=np.nan)
    except TypeError:
        dtype = pd.StringDtype(storage)
    for column in ("label", "region"):
        strings[column] = strings[column].astype(dtype)
    before = strings.copy(deep=True)
    ref = make_imputer().fit(base).sample(4)
    imputer = make_imputer().fit(strings)
    # unpickled, the frames' string arrays hand out their data (pandas 3.1)
    imputer = pickle.loads(pickle.dumps(imputer))
    for a, b in zip(ref, imputer.sample(4)):
        for column in ("label", "region"):
            assert b[column].dtype == strings[column].dtype
            assert list(a[column]) == list(b[column]), column
    pd.testing.assert_frame_equal(strings, before)
    again = imputer.sample(4)  # a second call: the same data sets
    for a, b in zip(ref, again):
        assert list(a["region"]) == list(b["region"])


def test_mixed_type_cluster_labels():
    base = _simple_frame()
    frame = base.copy()
    frame["cluster"] = pd.array([c if c % 2 else f"c{c}" for c in base["cluster"]], dtype=object)
    imputer = MultilevelJointImputer(
        cluster_col="cluster", level2_cols=["w"], random_state=0, **FAST
    ).fit(frame)
    assert set(imputer.cluster_labels_) == set(frame["cluster"])
    out = imputer.sample(1)[0]
    assert not out[["y1", "y2", "w"]].isna().any().any()
    assert_level2_constant(out, ["w"])


def _mc_z(a, b, name):
    """Largest |difference| of posterior means over its Monte Carlo error."""

    def mean_se(imputer):
        draws = imputer.chains_[name]
        flat = draws.reshape(draws.shape[:2] + (-1,))
        se = flat.std(axis=(0, 1)) / np.sqrt(ess_mean(flat))
        return flat.mean(axis=(0, 1)), se

    (ma, sa), (mb, sb) = mean_se(a), mean_se(b)
    return np.max(np.abs(ma - mb) / np.sqrt(sa**2 + sb**2))


def test_row_order_does_not_change_the_posterior():
    """Rows enter the sampler in the user's order, so shuffled rows give
    other draws (no canonical order), of the same posterior: posterior means
    agree within Monte Carlo error, and each output is in its input's order."""
    frame = _simple_frame(n_clusters=15, seed=8)
    shuffled = frame.sample(frac=1.0, random_state=2)
    settings = dict(
        cluster_col="cluster",
        covariate_cols=["x"],
        level2_cols=["w"],
        n_burn=100,
        n_between=100,
        n_imputations=8,
        n_chains=2,
        random_state=5,
    )
    a = MultilevelJointImputer(**settings).fit(frame)
    b = MultilevelJointImputer(**settings).fit(shuffled)
    assert a.cluster_labels_.equals(b.cluster_labels_)
    for name in ("beta", "omega", "sigma", "beta2"):
        assert _mc_z(a, b, name) < 4.5, name
    out = b.sample(1)[0]
    assert out.index.equals(shuffled.index)
    assert_observed_identical(out, shuffled)
    # the random effects belong to the clusters, not to row positions
    gap = (a.random_effects_ - b.random_effects_).abs().to_numpy().max()
    spread = a.random_effects_.to_numpy().std()
    assert gap < 0.5 * spread


def test_every_cluster_of_size_one():
    rng = np.random.default_rng(1)
    n = 40
    frame = pd.DataFrame(
        {
            "id": rng.permutation(n) * 3.0,
            "x": rng.normal(size=n),
            "y": rng.normal(size=n),
            "w": rng.normal(size=n),
        }
    )
    frame.loc[::4, "y"] = np.nan
    frame.loc[1::5, "w"] = np.nan
    imputer = MultilevelJointImputer(
        cluster_col="id", covariate_cols=["x"], level2_cols=["w"], random_state=0, **FAST
    ).fit(frame)
    assert imputer.random_effects_.shape == (n, 1)
    for out in imputer.sample():
        assert_observed_identical(out, frame)
        assert not out.isna().any().any()


# ------------------------------------------------------------ transform
@pytest.fixture(scope="module")
def new_rows(frame):
    """Rows of known clusters (level-2 values observed / missing in fit) and of
    two new clusters, with missing level-1 and level-2 cells.

    Cluster 3: level-2 values missing on every new row; cluster 6: missing on
    one new row; cluster NO_LEVEL2: missing in fit and here; "brand-new":
    all missing; "lonely": one row, level-2 values observed.
    """

    def rows(code, k):
        return frame[frame["cluster"] == label(code)].iloc[:k].copy()

    brand_new, lonely = rows(4, 4), rows(8, 1)
    brand_new["cluster"] = "brand-new"
    lonely["cluster"] = "lonely"
    new = pd.concat([rows(3, 3), rows(6, 3), brand_new, rows(NO_LEVEL2, 2), lonely])
    new.index = [f"n{i}" for i in range(len(new))][::-1]
    new.loc[new["cluster"].isin([label(3), "brand-new"]), LEVEL2] = np.nan
    new.loc[new.index[3], LEVEL2] = np.nan  # first row of cluster 6
    assert new.loc[new["cluster"] == "lonely", LEVEL2].notna().all().all()
    new.loc[new.index[[0, 3, 6, 7]], "y"] = np.nan
    new.loc[new.index[[1, 8]], "grade"] = np.nan
    new.loc[new.index[[2, 6]], "flag"] = pd.NA
    return new


def test_transform_known_and_new_clusters(frame, fitted, new_rows):
    before = new_rows.copy(deep=True)
    out = fitted.transform(new_rows)
    pd.testing.assert_frame_equal(new_rows, before)
    assert_observed_identical(out, new_rows)
    for column in new_rows.columns:
        if column != "count":
            assert out[column].dtype == new_rows[column].dtype, column
    assert not out[LEVEL1 + LEVEL2].isna().any().any()
    assert_level2_constant(out)
    pd.testing.assert_series_equal(out["note"], new_rows["note"])


def test_transform_keeps_level2_values_observed_in_fit(frame, fitted, new_rows):
    """A known cluster's level-2 values are data: missing in the new rows,
    they are the values observed in fit, not new draws."""
    for code in (3, 6):
        rows = new_rows["cluster"] == label(code)
        assert new_rows.loc[rows, LEVEL2].isna().any().all()
        fit_values = frame.loc[frame["cluster"] == label(code), LEVEL2].iloc[0]
        assert fit_values.notna().all()
        for out in [fitted.transform(new_rows)] + fitted.sample(3, X=new_rows):
            for column in LEVEL2:
                assert (out.loc[rows, column] == fit_values[column]).all(), (code, column)


def test_sample_on_new_rows_gives_different_imputations(fitted, new_rows):
    draws = fitted.sample(3, X=new_rows)  # one per stored posterior draw
    assert len(draws) == 3
    _assert_all_different(draws, new_rows)
    for out in draws:
        assert_level2_constant(out)
        assert_observed_identical(out, new_rows)
    # repeatable
    for a, b in zip(draws, fitted.sample(3, X=new_rows)):
        pd.testing.assert_frame_equal(a, b)


def _assert_all_different(draws, new_rows):
    new_cluster = new_rows["cluster"] == "brand-new"
    for i in range(len(draws)):
        for k in range(i):
            assert not draws[i]["y"].equals(draws[k]["y"]), (i, k)
            assert (
                draws[i].loc[new_cluster, "w"].iloc[0] != draws[k].loc[new_cluster, "w"].iloc[0]
            ), (i, k)


def test_sample_on_new_rows_beyond_the_stored_draws_gives_different_imputations(fitted, new_rows):
    draws = fitted.sample(6, X=new_rows)  # 3 stored draws: some are reused
    assert len(draws) == 6
    _assert_all_different(draws, new_rows)


# ------------------------------------------------------------ random slopes
@pytest.fixture(scope="module")
def slope_frame():
    frame = two_level_frame(seed=2)
    rng = np.random.default_rng(5)
    frame["slope"] = rng.normal(size=len(frame))
    return frame[["cluster", "y", "grade", "x", "slope", "w", "z2"]]


def test_random_slopes(slope_frame):
    imputer = MultilevelJointImputer(
        cluster_col="cluster",
        covariate_cols=["x"],
        random_slope_cols=["slope"],
        level2_cols=["w"],
        level2_covariate_cols=["z2"],
        random_state=0,
        **FAST,
    )
    completed = imputer.fit(slope_frame).sample()
    n_clusters = slope_frame["cluster"].nunique()
    u_labels = [
        "y|(Intercept)",
        "y|slope",
        "grade[low]|(Intercept)",
        "grade[low]|slope",
        "grade[mid]|(Intercept)",
        "grade[mid]|slope",
    ]
    assert imputer.random_effects_.shape == (n_clusters, 6)
    assert list(imputer.random_effects_.columns) == u_labels
    assert list(imputer.random_effects_.index) == sorted(slope_frame["cluster"].unique())
    assert np.isfinite(imputer.random_effects_.to_numpy()).all()
    assert list(imputer.sigma_.index) == u_labels + ["w"]
    assert list(imputer.sigma_.columns) == u_labels + ["w"]
    assert np.allclose(imputer.sigma_, imputer.sigma_.T)
    assert list(imputer.beta2_.index) == ["(Intercept)", "z2"]
    assert list(imputer.beta2_.columns) == ["w"]
    # random slopes vary around a fixed slope
    assert list(imputer.beta_.index) == ["(Intercept)", "x", "slope"]
    assert imputer.chains_["sigma"].shape == (1, 15, 7, 7)
    for out in completed:
        assert_observed_identical(out, slope_frame)
        assert not out.isna().any().any()
        assert_level2_constant(out, ["w"])
    new = slope_frame.iloc[:4].copy()
    new["cluster"] = ["fresh", "fresh", "fresh", slope_frame["cluster"].iloc[0]]
    new[["w", "z2"]] = [np.nan, 0.3]
    new["w"] = new["w"].astype(float)
    new.loc[new.index[0], "y"] = np.nan
    out = imputer.transform(new)
    assert not out[["y", "grade", "w"]].isna().any().any()
    assert_level2_constant(out, ["w"])
