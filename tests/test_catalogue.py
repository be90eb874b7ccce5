"""A catalogue of bad or awkward inputs for every estimator (doc/catalogue.rst).

One row per input: what is given, and either the clear error it must raise
(matched on the column or parameter it names) or the correct result it must
give. Only the public API is used. Every "ok" row also checks the common
invariants: no missing value left in the model's columns, observed cells
bit-identical, the input frame unchanged, index, columns and dtypes kept.

``test_doc_lists_every_row`` keeps doc/catalogue.rst in step with ``ROWS``
(run ``python tests/test_catalogue.py`` to print the table).
"""

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from skjomo import HeteroscedasticMultilevelImputer, JointModelImputer, MultilevelJointImputer

FAST = dict(n_burn=5, n_between=2, n_imputations=2, random_state=0)
DOC = Path(__file__).parents[1] / "doc" / "catalogue.rst"


def base(n_clusters=6, size=8, seed=0):
    """Clusters ``cl``, covariate ``x``, continuous ``y`` and object ``c``
    (strings) with missing values, a cluster-level ``g`` constant in clusters."""
    rng = np.random.default_rng(seed)
    n = n_clusters * size
    cl = np.repeat(np.arange(n_clusters), size)
    data = pd.DataFrame(
        {
            "cl": cl,
            "x": rng.normal(size=n),
            "y": rng.normal(size=n) + rng.normal(size=n_clusters)[cl],
            "c": pd.Series(rng.choice(["a", "b", "c"], n), dtype=object),
            "g": (rng.normal(size=n_clusters) + 10)[cl],
        }
    )
    data.loc[rng.random(n) < 0.25, "y"] = np.nan
    data.loc[rng.random(n) < 0.2, "c"] = None
    return data


def single(**kw):
    return JointModelImputer(**{**FAST, "covariate_cols": ["x"], "exclude_cols": ["cl", "g"], **kw})


def multilevel(**kw):
    return MultilevelJointImputer(
        **{**FAST, "cluster_col": "cl", "covariate_cols": ["x"], "exclude_cols": ["g"], **kw}
    )


def fixed(**kw):
    return HeteroscedasticMultilevelImputer(
        **{
            **FAST,
            "cluster_col": "cl",
            "cov_method": "fixed",
            "covariate_cols": ["x"],
            "exclude_cols": ["g"],
            **kw,
        }
    )


def random(**kw):
    return HeteroscedasticMultilevelImputer(
        **{
            **FAST,
            "cluster_col": "cl",
            "cov_method": "random",
            "covariate_cols": ["x"],
            "exclude_cols": ["g"],
            **kw,
        }
    )


def with_level2(**kw):
    params = {"exclude_cols": None, "level2_cols": ["g"], **kw}
    return multilevel(**params)


@dataclass
class Row:
    """One catalogue entry.

    ``make`` builds the estimator, ``data`` the frame (default :func:`base`),
    ``act`` what is done (default: fit, then sample); ``error`` is
    ``(exception, regex)`` or None for a correct result, which ``check``
    verifies further.
    """

    id: str
    what: str
    make: object
    data: object = base
    act: object = None
    error: tuple = None
    check: object = None
    expect: str = ""
    warns: tuple = field(default=None)


def fit_sample(model, data):
    return model.fit(data).sample()


def transform_with(change):
    """Fit on the base frame, then transform ``change(base())``."""

    def act(model, data):
        model.fit(data)
        return [model.transform(change(data.copy()))]

    return act


def set_rows(frame, rows, column, value):
    frame.loc[rows, column] = value
    return frame


def obj_level2(data):
    values = np.where(data["cl"] % 2 == 0, "low", "high").astype(object)
    data["g"] = pd.Series(values, index=data.index, dtype=object)
    data.loc[data["cl"] == 1, "g"] = None
    return data


def bool_level2(data):
    values = np.where(data["cl"] % 2 == 0, True, False).astype(object)
    data["g"] = pd.Series(values, index=data.index, dtype=object)
    data.loc[data["cl"].isin([1, 4]), "g"] = None
    return data


def near_collinear(data):
    data["x2"] = 2 * data["x"] + 1e-10 * np.arange(len(data))
    return data


def _assert_completed(data, out, columns, categorical=()):
    for frame in out:
        assert frame.index.equals(data.index)
        assert list(frame.columns) == list(data.columns)
        for column in columns:
            observed = data[column].notna().to_numpy()
            assert frame[column].notna().all(), column
            pd.testing.assert_series_equal(
                frame[column][observed], data[column][observed], check_dtype=False, check_exact=True
            )
        for column in data.columns:
            expected = data[column].dtype
            imputed = data[column].isna().any() and column not in categorical
            if isinstance(expected, pd.Int64Dtype) and imputed:
                expected = pd.Float64Dtype()  # documented: imputations are not integers
            assert frame[column].dtype == expected, (column, frame[column].dtype, expected)


def completes(*columns, categorical=()):
    def check(data, out):
        _assert_completed(data, out, columns, categorical)

    return check


def each(predicate):
    """Check that ``predicate(data, completed)`` holds for every output."""

    def check(data, out):
        for completed in out:
            assert predicate(data, completed)

    return check


def all_of(*checks):
    def check(data, out):
        for one in checks:
            one(data, out)

    return check


ROWS = [
    # ---------------------------------------------------------------- parameters
    Row("n_burn_negative", "n_burn=-1", lambda: single(n_burn=-1), error=(ValueError, "n_burn")),
    Row("n_burn_float", "n_burn=1.5", lambda: single(n_burn=1.5), error=(ValueError, "n_burn")),
    Row(
        "n_between_zero",
        "n_between=0",
        lambda: multilevel(n_between=0),
        error=(ValueError, "n_between"),
    ),
    Row(
        "n_imputations_zero",
        "n_imputations=0",
        lambda: fixed(n_imputations=0),
        error=(ValueError, "n_imputations"),
    ),
    Row("n_chains_zero", "n_chains=0", lambda: random(n_chains=0), error=(ValueError, "n_chains")),
    Row(
        "keep_chains_unknown",
        "keep_chains='some'",
        lambda: single(keep_chains="some"),
        error=(ValueError, "keep_chains"),
    ),
    Row(
        "prior_df_nan",
        "prior_df=nan",
        lambda: single(prior_df=np.nan),
        error=(ValueError, "prior_df"),
    ),
    Row(
        "prior_df_improper",
        "prior_df far below p - 1, improper posterior",
        lambda: multilevel(prior_df=-1000),
        error=(ValueError, "prior_df"),
    ),
    Row(
        "prior_scale_shape",
        "prior_scale of the wrong shape",
        lambda: single(prior_scale=np.eye(5)),
        error=(ValueError, "prior_scale"),
    ),
    Row(
        "prior_scale_not_spd",
        "prior_scale not positive definite",
        lambda: single(prior_scale=-np.eye(3)),
        error=(ValueError, "prior_scale"),
    ),
    Row(
        "latent_bounds_order",
        "latent_bounds=(1, 2) (0 outside)",
        lambda: single(latent_bounds=(1, 2)),
        error=(ValueError, "latent_bounds"),
    ),
    Row(
        "beta_start_shape",
        "beta_start of the wrong shape",
        lambda: single(beta_start=np.zeros((1, 1))),
        error=(ValueError, "beta_start"),
    ),
    Row(
        "cov_start_not_spd",
        "cov_start not positive definite",
        lambda: multilevel(cov_start=-np.eye(3)),
        error=(ValueError, "cov_start"),
    ),
    Row(
        "random_state_string",
        "random_state='x'",
        lambda: single(random_state="x"),
        error=(ValueError, "random_state"),
    ),
    Row(
        "random_state_generator",
        "random_state a numpy Generator: accepted, and equal Generators give equal imputations",
        lambda: single(random_state=np.random.default_rng(3)),
        act=lambda model, data: [
            model.fit(data).sample()[0],
            model.set_params(random_state=np.random.default_rng(3)).fit(data).sample()[0],
        ],
        check=lambda data, out: pd.testing.assert_frame_equal(out[0], out[1]),
        expect="same imputations",
    ),
    Row(
        "cluster_col_missing",
        "MultilevelJointImputer without cluster_col",
        lambda: multilevel(cluster_col=None),
        error=(ValueError, "cluster_col"),
    ),
    Row(
        "level2_prior_df_improper",
        "level2_prior_df=-100",
        lambda: multilevel(level2_prior_df=-100),
        error=(ValueError, "level2_prior_df"),
    ),
    Row(
        "level2_prior_scale_shape",
        "level2_prior_scale of the wrong shape",
        lambda: multilevel(level2_prior_scale=np.eye(7)),
        error=(ValueError, "level2_prior_scale"),
    ),
    Row(
        "random_effects_start_shape",
        "random_effects_start of the wrong shape",
        lambda: multilevel(random_effects_start=np.zeros((2, 2))),
        error=(ValueError, "random_effects_start"),
    ),
    Row(
        "level2_covariates_alone",
        "level2_covariate_cols without level2_cols",
        lambda: multilevel(level2_covariate_cols=["g"], exclude_cols=None),
        error=(ValueError, "level2_covariate_cols"),
    ),
    Row(
        "cov_method_unknown",
        "cov_method='both'",
        lambda: random(cov_method="both"),
        error=(ValueError, "cov_method"),
    ),
    Row(
        "a_prior_negative", "a_prior=-1", lambda: random(a_prior=-1), error=(ValueError, "a_prior")
    ),
    Row(
        "a_start_small",
        "a_start=1 (must exceed p)",
        lambda: random(a_start=1),
        error=(ValueError, "a_start"),
    ),
    Row(
        "fixed_improper_cluster",
        "cov_method='fixed', prior_df too low for small clusters",
        lambda: fixed(prior_df=-8),
        error=(ValueError, "prior_df"),
    ),
    Row(
        "warm_start_chains",
        "warm_start with a different n_chains",
        lambda: single(warm_start=True),
        act=lambda model, data: model.fit(data).set_params(n_chains=2).fit(data),
        error=(ValueError, "warm_start"),
    ),
    Row(
        "sample_zero",
        "sample(n_imputations=0)",
        lambda: single(),
        act=lambda model, data: model.fit(data).sample(0),
        error=(ValueError, "n_imputations"),
    ),
    Row(
        "transform_unfitted",
        "transform before fit",
        lambda: multilevel(),
        act=lambda model, data: model.transform(data),
        error=(NotFittedError, "fit"),
    ),
    # -------------------------------------------------------------- frames
    Row(
        "empty_rows",
        "a frame with 0 rows",
        lambda: single(),
        data=lambda: base().iloc[:0],
        error=(ValueError, "0 sample|empty"),
    ),
    Row(
        "no_columns",
        "a frame with rows but no columns",
        lambda: JointModelImputer(**FAST),
        data=lambda: pd.DataFrame(index=range(5)),
        error=(ValueError, "0 feature|no columns"),
    ),
    Row(
        "duplicate_columns",
        "two columns named 'y'",
        lambda: single(),
        data=lambda: pd.concat([base(), base()[["y"]]], axis=1),
        error=(ValueError, "unique"),
    ),
    Row(
        "role_column_absent",
        "a covariate that is not in the data",
        lambda: single(covariate_cols=["nope"]),
        error=(ValueError, "'nope'.*not in the data"),
    ),
    Row(
        "two_roles",
        "a column both covariate and excluded",
        lambda: single(exclude_cols=["x", "cl", "g"]),
        error=(ValueError, "'x' is given two roles"),
    ),
    Row(
        "no_outcome",
        "every column a covariate or excluded",
        lambda: single(exclude_cols=["cl", "g", "y", "c"]),
        error=(ValueError, "no outcome"),
    ),
    Row(
        "missing_column_transform",
        "transform on a frame without 'y'",
        lambda: single(),
        act=transform_with(lambda d: d.drop(columns="y")),
        error=(ValueError, "y"),
    ),
    Row(
        "array_strings",
        "a numpy array holding strings",
        lambda: JointModelImputer(**FAST),
        data=lambda: np.array([["a", 1.0], ["b", np.nan]], dtype=object),
        error=(ValueError, "could not convert string"),
    ),
    # ------------------------------------------------------------- values
    Row(
        "inf_outcome",
        "inf in an outcome",
        lambda: single(),
        data=lambda: set_rows(base(), 3, "y", np.inf),
        error=(ValueError, "'y'.*infinite"),
    ),
    Row(
        "inf_covariate",
        "-inf in a covariate",
        lambda: multilevel(),
        data=lambda: set_rows(base(), 3, "x", -np.inf),
        error=(ValueError, "'x'.*infinite"),
    ),
    Row(
        "all_missing_outcome",
        "an outcome missing on every row",
        lambda: single(),
        data=lambda: base().assign(y=np.nan),
        error=(ValueError, "'y' is entirely missing"),
    ),
    Row(
        "missing_covariate",
        "a missing covariate value",
        lambda: random(),
        data=lambda: set_rows(base(), 2, "x", np.nan),
        error=(ValueError, "Covariate 'x' has missing"),
    ),
    Row(
        "one_category",
        "a categorical outcome with one observed category",
        lambda: single(),
        data=lambda: base().assign(c="a"),
        error=(ValueError, "'c' has only one observed"),
    ),
    Row(
        "constant_covariate",
        "a constant covariate",
        lambda: single(),
        data=lambda: base().assign(x=1.0),
        error=(ValueError, "'x' is constant"),
    ),
    Row(
        "collinear_covariates",
        "x2 = 2 x",
        lambda: single(covariate_cols=["x", "x2"]),
        data=lambda: base().assign(x2=lambda d: 2 * d["x"]),
        error=(ValueError, r"collinear.*'x'.*'x2'"),
    ),
    Row(
        "near_collinear_covariates",
        "x2 = 2 x + 1e-10 noise",
        lambda: multilevel(covariate_cols=["x", "x2"]),
        data=lambda: near_collinear(base()),
        error=(ValueError, r"nearly collinear.*'x2'"),
    ),
    Row(
        "complex_column",
        "a complex-valued column",
        lambda: single(),
        data=lambda: base().assign(z=np.ones(48) * 1j),
        error=(TypeError, "'z'"),
    ),
    Row(
        "datetime_column",
        "a datetime column",
        lambda: single(),
        data=lambda: base().assign(when=pd.Timestamp("2020-01-01")),
        error=(TypeError, "'when'"),
    ),
    Row(
        "unhashable_values",
        "lists inside an object column",
        lambda: single(),
        data=lambda: base().assign(c=[[1]] * 47 + [None]),
        error=(TypeError, "'c'"),
    ),
    Row(
        "unknown_category_transform",
        "transform with a category not seen in fit",
        lambda: single(),
        act=transform_with(lambda d: set_rows(d, 0, "c", "zzz")),
        error=(ValueError, "'c'.*zzz.*not seen in fit"),
    ),
    Row(
        "unknown_covariate_level",
        "transform with a covariate level not seen in fit",
        lambda: single(covariate_cols=["s"]),
        data=lambda: base().assign(s=np.where(np.arange(48) % 2, "m", "f")),
        act=transform_with(lambda d: set_rows(d, 0, "s", "other")),
        error=(ValueError, "'s'.*not seen in fit"),
    ),
    Row(
        "constant_outcome_random",
        "a continuous outcome constant where observed, cov_method='random'",
        lambda: random(),
        data=lambda: base().assign(y=lambda d: d["y"].where(d["y"].isna(), 2.0)),
        error=(ValueError, "'y' is constant where observed"),
    ),
    # ---------------------------------------------------------- clusters
    Row(
        "cluster_labels_missing",
        "missing cluster labels",
        lambda: multilevel(),
        data=lambda: set_rows(base().astype({"cl": float}), 5, "cl", np.nan),
        error=(ValueError, "Cluster column 'cl' has missing"),
    ),
    Row(
        "only_cluster_column",
        "the cluster column and nothing else",
        lambda: MultilevelJointImputer(cluster_col="cl", **FAST),
        data=lambda: base()[["cl"]],
        error=(ValueError, "cluster column"),
    ),
    Row(
        "level2_varies",
        "a level-2 outcome varying within a cluster",
        lambda: with_level2(),
        data=lambda: set_rows(base(), 0, "g", -99.0),
        error=(ValueError, "'g' varies within cluster 0"),
    ),
    Row(
        "level2_covariate_unobserved",
        "a level-2 covariate missing on a whole cluster",
        lambda: with_level2(level2_cols=["y"], level2_covariate_cols=["g"]),
        data=lambda: set_rows(
            base().assign(y=lambda d: d["g"] * 2), base()["cl"] == 2, "g", np.nan
        ),
        error=(ValueError, "Level-2 covariate 'g' is missing"),
    ),
    Row(
        "level2_near_collinear",
        "nearly collinear level-2 covariates",
        lambda: with_level2(level2_cols=["y"], level2_covariate_cols=["g", "g2"]),
        data=lambda: base().assign(
            y=lambda d: d["g"] ** 2 / 10, g2=lambda d: 3 * d["g"] + 1e-9 * d["cl"] ** 2
        ),
        error=(ValueError, "level-2 covariates are nearly collinear"),
    ),
    Row(
        "slope_missing",
        "a random-slope column with missing values",
        lambda: multilevel(random_slope_cols=["x"]),
        data=lambda: set_rows(base(), 1, "x", np.nan),
        error=(ValueError, "'x'"),
    ),
    Row(
        "slope_text",
        "a random-slope column of strings",
        lambda: multilevel(random_slope_cols=["s"]),
        data=lambda: base().assign(s="a"),
        error=(TypeError, "'s' must be numeric"),
    ),
    Row(
        "fixed_new_cluster",
        "cov_method='fixed', transform with a new cluster",
        lambda: fixed(),
        act=transform_with(lambda d: set_rows(d, d.index[:3], "cl", 99)),
        error=(ValueError, "not seen in fit"),
    ),
    Row(
        "random_new_cluster",
        "cov_method='random', transform with a new cluster",
        lambda: random(),
        act=transform_with(lambda d: set_rows(d, d.index[:8], "cl", 99)),
        check=completes("y", "c"),
        expect="imputed; its covariance drawn from IW(a, A)",
    ),
    Row(
        "singleton_clusters",
        "every cluster of size 1",
        lambda: multilevel(),
        data=lambda: base().assign(cl=np.arange(48)),
        check=completes("y", "c"),
        expect="imputed",
    ),
    Row(
        "unsorted_string_clusters",
        "string cluster labels in shuffled row order",
        lambda: random(),
        data=lambda: (
            base().assign(cl=lambda d: "s" + d["cl"].astype(str)).sample(frac=1, random_state=1)
        ),
        check=completes("y", "c"),
        expect="imputed",
    ),
    Row(
        "level2_object",
        "a level-2 outcome of object strings, missing on a cluster",
        lambda: with_level2(),
        data=lambda: obj_level2(base()),
        act=lambda model, data: model.fit(data).sample() + [model.transform(data)],
        check=completes("y", "c", "g"),
        expect="imputed, object dtype kept",
    ),
    Row(
        "level2_bool_object",
        "a level-2 outcome of True/False/None (object)",
        lambda: with_level2(),
        data=lambda: bool_level2(base()),
        act=lambda model, data: model.fit(data).sample() + [model.transform(data)],
        check=completes("y", "c", "g"),
        expect="imputed, object dtype kept",
    ),
    # ------------------------------------------------------------ dtypes
    Row(
        "object_strings",
        "object column of strings with None",
        lambda: single(),
        check=completes("y", "c"),
        expect="object dtype kept (not str)",
    ),
    Row(
        "object_fit_transform",
        "fit_transform on object strings",
        lambda: multilevel(),
        act=lambda model, data: [model.fit_transform(data)],
        check=completes("y", "c"),
        expect="object dtype kept",
    ),
    Row(
        "pd_na_object",
        "pd.NA as the missing value of an object column",
        lambda: single(),
        data=lambda: base().assign(c=lambda d: d["c"].where(d["c"].notna(), pd.NA)),
        check=completes("y", "c"),
        expect="pd.NA treated as missing",
    ),
    Row(
        "string_dtype",
        "pandas string dtype with missing values",
        lambda: fixed(),
        data=lambda: base().astype({"c": "string"}),
        check=completes("y", "c"),
        expect="string dtype kept",
    ),
    Row(
        "nullable_int",
        "nullable Int64 outcome with pd.NA",
        lambda: single(),
        data=lambda: base().assign(y=lambda d: d["y"].mul(10).round().astype("Int64")),
        check=completes("y", "c"),
        expect="Float64 (imputations are not integers)",
    ),
    Row(
        "nullable_int_categorical",
        "nullable Int64 count with pd.NA in categorical_cols",
        lambda: single(categorical_cols=["k"]),
        data=lambda: base().assign(
            k=lambda d: d["y"].abs().mul(2).clip(upper=3).round().astype("Int64")
        ),
        check=all_of(
            completes("y", "c", "k", categorical=["k"]),
            each(lambda d, out: set(out["k"]) <= set(d["k"].dropna())),
        ),
        expect="Int64 kept, imputed with observed counts",
    ),
    Row(
        "nullable_float",
        "nullable Float64 outcome with pd.NA",
        lambda: random(),
        data=lambda: base().astype({"y": "Float64"}),
        check=completes("y", "c"),
        expect="Float64 kept",
    ),
    Row(
        "nullable_boolean",
        "nullable boolean outcome with pd.NA",
        lambda: multilevel(),
        data=lambda: base().assign(
            c=lambda d: d["c"].map({"a": True, "b": False, "c": True}).astype("boolean")
        ),
        check=completes("y", "c"),
        expect="boolean kept, imputed True/False",
    ),
    Row(
        "bool_covariate",
        "numpy bool covariate",
        lambda: single(covariate_cols=["b"]),
        data=lambda: base().assign(b=np.arange(48) % 3 == 0),
        check=completes("y", "c"),
        expect="dummy coded",
    ),
    Row(
        "unused_categories",
        "categorical with an unused category",
        lambda: multilevel(),
        data=lambda: base().assign(
            c=lambda d: pd.Categorical(d["c"], categories=["a", "b", "c", "z"])
        ),
        warns=(UserWarning, r"\['z'\] of column 'c' never occur"),
        check=all_of(completes("y", "c"), each(lambda d, o: (o["c"] != "z").all())),
        expect="warning; 'z' never imputed; categories kept",
    ),
    Row(
        "numeric_categorical",
        "integer codes declared categorical_cols",
        lambda: single(categorical_cols=["k"]),
        data=lambda: (
            base()
            .assign(k=lambda d: (np.arange(48) % 3).astype(float))
            .pipe(set_rows, [1, 7, 20], "k", np.nan)
        ),
        check=all_of(completes("k"), each(lambda d, o: set(o["k"]) <= {0.0, 1.0, 2.0})),
        expect="imputed among the observed codes",
    ),
    Row(
        "non_string_labels",
        "integer column labels",
        lambda: JointModelImputer(**FAST, covariate_cols=[1], exclude_cols=[0, 4]),
        data=lambda: base().set_axis(range(5), axis=1),
        check=completes(2, 3),
        expect="labels kept",
    ),
    Row(
        "string_index",
        "a string index with gaps",
        lambda: fixed(),
        data=lambda: base().set_axis([f"r{i}" for i in range(0, 96, 2)]),
        check=completes("y", "c"),
        expect="index kept",
    ),
    Row(
        "row_all_missing",
        "a row missing every outcome",
        lambda: single(),
        data=lambda: set_rows(base(), 4, ["y", "c"], None),
        check=completes("y", "c"),
        expect="imputed",
    ),
    Row(
        "tiny_units",
        "outcome in units of 1e-9",
        lambda: multilevel(),
        data=lambda: base().assign(y=lambda d: d["y"] * 1e-9),
        check=all_of(
            completes("y", "c"), each(lambda d, o: 0.5 < o["y"].std() / d["y"].std() < 1.5)
        ),
        expect="imputed on the data's scale",
    ),
    Row(
        "set_output_pandas",
        "set_output(transform='pandas') on array input, sample()",
        lambda: JointModelImputer(**FAST).set_output(transform="pandas"),
        data=lambda: base()[["x", "y"]].to_numpy(),
        check=each(lambda d, o: isinstance(o, pd.DataFrame)),
        expect="DataFrames, as transform",
    ),
]


def _run(row):
    model = row.make()
    data = row.data()
    act = row.act or fit_sample
    before = data.copy() if isinstance(data, pd.DataFrame) else np.copy(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # small clusters with "fixed"
        if row.warns:
            with pytest.warns(*row.warns[:1], match=row.warns[1]):
                out = act(model, data)
        else:
            out = act(model, data)
    if isinstance(before, pd.DataFrame):
        pd.testing.assert_frame_equal(data, before)
    return data, out


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_catalogue(row):
    if row.error is not None:
        exception, pattern = row.error
        with pytest.raises(exception, match=pattern):
            _run(row)
        return
    data, out = _run(row)
    assert row.check is not None, "a row without an error must check its result"
    row.check(data, out)


def test_rows_are_unique_and_many():
    ids = [r.id for r in ROWS]
    assert len(set(ids)) == len(ids)
    assert len(ids) >= 45


def table():
    """The catalogue as a reStructuredText list-table."""
    lines = [
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 22 38 20 40",
        "",
        "   * - Row",
        "     - Input",
        "     - Estimator",
        "     - Outcome",
    ]
    for row in ROWS:
        model = row.make()
        name = type(model).__name__
        if name == "HeteroscedasticMultilevelImputer":
            name += f" ({model.cov_method})"
        if row.error:
            outcome = f"{row.error[0].__name__} matching ``{row.error[1]}``"
        else:
            outcome = row.expect
        lines += [
            f"   * - ``{row.id}``",
            f"     - {row.what}",
            f"     - {name}",
            f"     - {outcome}",
        ]
    return "\n".join(lines)


def test_doc_lists_every_row():
    text = DOC.read_text()
    missing = [r.id for r in ROWS if f"``{r.id}``" not in text]
    assert not missing, f"doc/catalogue.rst lacks rows {missing}"


if __name__ == "__main__":
    print(table())
