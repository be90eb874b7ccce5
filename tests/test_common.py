"""What every imputer keeps, whatever its model.

Each test runs on every estimator configuration (``CONFIGS``): the
single-level :class:`~skjomo.JointModelImputer`, and both two-level classes
(:class:`~skjomo.MultilevelJointImputer`,
:class:`~skjomo.HeteroscedasticMultilevelImputer`) with each ``cov_method``,
without and with level-2 outcomes and covariates, and with a random slope.
The data (``mixed_frame``) have every column kind skjomo handles: floats, a
pandas categorical, a nullable boolean, a nullable integer, object strings
at level 2, an excluded column with missing values, string cluster labels,
a shuffled string index and rows in no particular order.

Held here, once: observed cells bit-identical, index / column order / dtypes
kept, input not modified, nothing missing left, same seed same result for
any ``n_jobs``, pickling, cloning and parameters, scikit-learn's estimator
checks (one exemptions table), validation of the run parameters, the
``cov_method`` family and posterior means independent of ``keep_chains``
and of warm starts. Model-specific behaviour (level-2 values, cluster
labels, covariances, statistics) is tested in the model's own module.
"""

import inspect
import pickle
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest
from invariants import assert_observed_identical
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from skjomo import HeteroscedasticMultilevelImputer, JointModelImputer, MultilevelJointImputer
from skjomo.datasets import make_multilevel_data

FAST = dict(n_burn=20, n_between=5, n_imputations=3)
COV_METHODS = ("common", "fixed", "random")
TWO_LEVEL = (MultilevelJointImputer, HeteroscedasticMultilevelImputer)
CLASSES = (JointModelImputer,) + TWO_LEVEL
LEVEL2 = ["w", "g"]
POSTERIOR_MEANS = (
    "beta_",
    "omega_",
    "sigma_",
    "beta2_",
    "random_effects_",
    "cluster_covariances_",
    "a_",
)


# ---------------------------------------------------------------- data
def mixed_frame(seed=0, n_clusters=15, cluster_size=8):
    """Two-level mixed data (make_multilevel_data) with every column kind.

    Level 1: ``y1``, ``y2`` (float), ``b`` (categorical), ``flag``
    (nullable boolean), ``count`` (nullable integer), covariate ``x``,
    excluded ``note`` (object, with None). Level 2 (constant within
    clusters): ``w`` (float), ``g`` (object strings), covariate ``z2``.
    Cluster labels are strings; rows are shuffled under a string index.
    """
    data = make_multilevel_data(
        n_clusters=n_clusters, cluster_size=cluster_size, missing_fraction=0.2, random_state=seed
    ).frame
    rng = np.random.default_rng(seed)
    n = len(data)
    codes = data["cluster"].to_numpy()
    frame = pd.DataFrame(
        {
            "cluster": pd.array([f"s{c:02d}" for c in codes], dtype=object),
            "y1": data["y1"],
            "x": data["x"],
            "b": data["b"],
            "w": data["w"],
            "flag": pd.array(data["x"] + rng.normal(size=n) > 0, dtype="boolean"),
            "g": pd.array(data["g"].astype(object), dtype=object),
            "count": pd.array(
                np.round(2 * data["x"] + rng.normal(size=n)).astype(int), dtype="Int64"
            ),
            "y2": data["y2"],
            "note": pd.array(["kept"] * n, dtype=object),
            "z2": rng.normal(size=n_clusters)[codes],
        }
    )
    frame.loc[rng.uniform(size=n) < 0.15, "flag"] = pd.NA
    frame.loc[rng.uniform(size=n) < 0.15, "count"] = pd.NA
    frame.loc[rng.uniform(size=n) < 0.2, "note"] = None
    frame["g"] = frame["g"].where(frame["g"].notna(), None)
    frame = frame.sample(frac=1.0, random_state=seed)
    frame.index = [f"r{i}" for i in rng.permutation(n)]
    return frame


@dataclass(frozen=True)
class Config:
    """An estimator configuration and the columns of its data."""

    cls: type
    params: dict = field(default_factory=dict)
    level2: bool = False

    @property
    def id(self):
        name = {
            JointModelImputer: "single",
            MultilevelJointImputer: "multilevel",
            HeteroscedasticMultilevelImputer: "hetero",
        }[self.cls]
        parts = [name, self.params.get("cov_method")]
        parts += [
            "level2" if self.level2 else None,
            "slope" if self.params.get("random_slope_cols") else None,
        ]
        return "-".join(p for p in parts if p)

    @property
    def two_level(self):
        return self.cls is not JointModelImputer

    @property
    def cov_method(self):
        return self.params.get("cov_method", "common")

    def frame(self, **kw):
        """The data: without level-2 roles, w, g and z2 are dropped
        (single level: w and g are outcomes like any other)."""
        frame = mixed_frame(**kw)
        if self.two_level and not self.level2:
            frame = frame.drop(columns=LEVEL2 + ["z2"])
        if not self.two_level:
            frame = frame.drop(columns="z2")
        return frame

    @property
    def outcomes(self):
        """Columns that must come back without missing values."""
        cols = ["y1", "b", "flag", "count", "y2"]
        return cols + LEVEL2 if self.level2 or not self.two_level else cols

    def make(self, **kw):
        if self.two_level:
            roles = dict(cluster_col="cluster", covariate_cols=["x"], exclude_cols=["note"])
            if self.level2:
                roles.update(level2_cols=LEVEL2, level2_covariate_cols=["z2"])
        else:
            roles = dict(covariate_cols=["x"], exclude_cols=["cluster", "note"])
        return self.cls(**{**roles, **self.params, **FAST, "random_state": 0, **kw})


CONFIGS = [Config(JointModelImputer)]
CONFIGS += [
    Config(cls, {"cov_method": m}, level2)
    for cls in TWO_LEVEL
    for m in COV_METHODS
    for level2 in (False, True)
]
CONFIGS += [
    Config(MultilevelJointImputer, {"cov_method": m, "random_slope_cols": ["x"]}, level2=True)
    for m in COV_METHODS
]
IDS = [c.id for c in CONFIGS]


@pytest.fixture(params=CONFIGS, ids=IDS, scope="module")
def config(request):
    return request.param


@pytest.fixture(scope="module")
def frame(config):
    return config.frame()


@pytest.fixture(scope="module")
def fitted(config, frame):
    return config.make().fit(frame)


# ---------------------------------------------------------------- helpers


def assert_dtypes_kept(out, original):
    """Dtypes kept; a nullable integer column holding imputed reals becomes
    nullable float; categories are those of the input."""
    for column in original.columns:
        if column == "count" and original[column].isna().any():
            assert out[column].dtype == pd.Float64Dtype()
        else:
            assert out[column].dtype == original[column].dtype, column
    assert list(out["b"].cat.categories) == list(original["b"].cat.categories)
    if "g" in original:
        assert set(out["g"].dropna()) <= set(original["g"].dropna())


def assert_complete(out, config, original):
    """Nothing missing left in the model's columns, level-2 values constant
    within clusters, the excluded column passed through."""
    assert not out[config.outcomes].isna().any().any()
    if config.two_level and config.level2:
        for column in LEVEL2 + ["z2"]:
            assert out.groupby("cluster")[column].nunique().eq(1).all(), column
    pd.testing.assert_series_equal(out["note"], original["note"])


def posterior_means(imputer):
    return {
        name: getattr(imputer, name)
        for name in POSTERIOR_MEANS
        if getattr(imputer, name, None) is not None
    }


def assert_same_posterior_means(a, b, exact=True):
    means_a, means_b = posterior_means(a), posterior_means(b)
    assert means_a.keys() == means_b.keys()
    rtol = 0 if exact else 1e-12
    for name, value in means_a.items():
        other = means_b[name]
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(value, other, check_exact=exact, rtol=rtol or 1e-5)
        else:
            np.testing.assert_allclose(value, other, rtol=rtol, atol=0, err_msg=name)


def new_rows(config, frame):
    """Rows of known clusters (and, unless cov_method="fixed", of a new
    cluster) with more missing cells, under a new index."""
    new = frame.iloc[:12].copy()
    new.index = [f"n{i}" for i in range(len(new))][::-1]
    new.loc[new.index[[0, 3, 6]], "y1"] = np.nan
    new.loc[new.index[[1, 4]], "b"] = np.nan
    new.loc[new.index[[2, 7]], "flag"] = pd.NA
    if config.cov_method != "fixed":
        rows = new.index[8:]
        new.loc[rows, "cluster"] = "brand-new"
        if config.level2:
            new.loc[rows, LEVEL2] = None
            new.loc[rows, "z2"] = 0.5
    return new


# ---------------------------------------------------------------- cells, frame, input
def test_observed_cells_bit_identical_and_input_untouched(config, frame):
    before = frame.copy(deep=True)
    completed = config.make().fit(frame).sample()
    pd.testing.assert_frame_equal(frame, before)
    assert len(completed) == FAST["n_imputations"]
    for out in completed:
        assert_observed_identical(out, frame)
        assert_dtypes_kept(out, frame)
        assert_complete(out, config, frame)


def test_transform_new_rows(config, fitted):
    original = config.frame()
    new = new_rows(config, original)
    before = new.copy(deep=True)
    out = fitted.transform(new)
    pd.testing.assert_frame_equal(new, before)
    assert_observed_identical(out, new)
    assert_dtypes_kept(out, new)
    assert_complete(out, config, new)
    draws = fitted.sample(3, X=new)  # one per stored posterior draw
    for a in draws:
        assert_observed_identical(a, new)
    assert not draws[0]["y1"].equals(draws[1]["y1"])
    for a, b in zip(draws, fitted.sample(3, X=new)):  # repeatable
        pd.testing.assert_frame_equal(a, b)


@pytest.mark.filterwarnings("ignore:Clusters .* have fewer rows")
def test_complete_data_comes_back_unchanged(config, fitted, frame):
    complete = frame.dropna(subset=config.outcomes)
    assert len(complete) >= 10
    pd.testing.assert_frame_equal(fitted.transform(complete), complete)
    pd.testing.assert_frame_equal(config.make().fit_transform(complete), complete)


def test_set_output_pandas_on_frames(config, fitted, frame):
    imputer = clone(fitted).set_output(transform="pandas").fit(frame)
    pd.testing.assert_frame_equal(imputer.transform(frame), fitted.transform(frame))


def test_fit_transform_is_the_first_imputation(config, frame, fitted):
    pd.testing.assert_frame_equal(config.make().fit_transform(frame), fitted.sample(1)[0])


def test_feature_names(fitted, frame):
    assert list(fitted.feature_names_in_) == list(frame.columns)
    assert list(fitted.get_feature_names_out()) == list(frame.columns)
    assert fitted.n_features_in_ == frame.shape[1]
    with pytest.raises(ValueError, match="feature names"):
        fitted.transform(frame.drop(columns="y2"))


# ---------------------------------------------------------------- seeds
def test_same_seed_same_result_any_n_jobs(config, frame):
    one = config.make(n_chains=2, n_jobs=1).fit(frame)
    two = config.make(n_chains=2, n_jobs=2).fit(frame)
    for a, b in zip(one.sample(), two.sample()):
        pd.testing.assert_frame_equal(a, b)
    assert_same_posterior_means(one, two)
    for name in one.chains_:
        np.testing.assert_array_equal(one.chains_[name], two.chains_[name])


def test_different_seed_different_output(config, frame):
    a = config.make(random_state=1).fit(frame).sample(1)[0]
    b = config.make(random_state=2).fit(frame).sample(1)[0]
    assert not a["y1"].equals(b["y1"])


def test_sample_is_repeatable_and_extends(fitted):
    first = fitted.sample(2)
    again = fitted.sample(5)  # beyond the 3 stored: the chains continue
    assert len(again) == 5
    for a, b in zip(first, again[:2]):
        pd.testing.assert_frame_equal(a, b)
    assert not again[3]["y1"].equals(again[4]["y1"])
    for a, b in zip(again, fitted.sample(5)):
        pd.testing.assert_frame_equal(a, b)


# ---------------------------------------------------------------- posterior means
def test_posterior_means_do_not_depend_on_keep_chains(config, frame, fitted):
    """The burn-in kept for diagnostics does not enter the posterior means."""
    everything = config.make(keep_chains="all").fit(frame)
    assert_same_posterior_means(fitted, everything, exact=False)
    for name in fitted.chains_:
        kept = everything.chains_[name]
        assert kept.shape[1] == fitted.chains_[name].shape[1] + FAST["n_burn"]
        np.testing.assert_array_equal(kept[:, FAST["n_burn"] :], fitted.chains_[name])


def test_warm_start_continues_like_one_longer_run(config, frame):
    """A warm-started second part equals the end of one run of the same
    total length (draws and posterior means)."""
    two_part = config.make().fit(frame)
    two_part.set_params(warm_start=True, n_burn=7).fit(frame)
    total = FAST["n_burn"] + FAST["n_between"] * FAST["n_imputations"] + 7
    one_run = config.make(n_burn=total).fit(frame)
    assert two_part.n_iter_ == one_run.n_iter_
    for name in one_run.chains_:
        np.testing.assert_array_equal(two_part.chains_[name], one_run.chains_[name])
    assert_same_posterior_means(two_part, one_run, exact=False)
    for a, b in zip(two_part.sample(), one_run.sample()):
        pd.testing.assert_frame_equal(a, b)


def test_fitted_attributes_follow_the_model(config, fitted):
    expected = {"beta_", "omega_"}
    if config.two_level:
        expected |= {"sigma_", "random_effects_"}
        if config.level2:
            expected.add("beta2_")
        if config.cov_method != "common":
            expected.add("cluster_covariances_")
        if config.cov_method == "random":
            expected.add("a_")
        assert list(fitted.random_effects_.index) == list(fitted.cluster_labels_)
    assert set(posterior_means(fitted)) == expected
    for name, value in posterior_means(fitted).items():
        assert np.all(np.isfinite(np.asarray(value, dtype=float))), name


def test_chains_and_summary_follow_the_model(config, fitted):
    groups = {"beta", "omega"}
    if config.two_level:
        groups |= {"sigma", "u_mean"} | ({"beta2"} if config.level2 else set())
        groups |= {"a"} if config.cov_method == "random" else set()
    assert set(fitted.chains_) == groups
    for name in groups:
        # every iteration after burn-in
        n_draws = FAST["n_between"] * FAST["n_imputations"]
        assert fitted.chains_[name].shape[:2] == (1, n_draws), name
    assert isinstance(fitted.acceptance_rates_, dict)
    assert all(0 <= rate <= 1 for rate in fitted.acceptance_rates_.values())
    report = fitted.summary(warn=False)
    assert report.startswith(config.cls.__name__)
    assert "Missing data per variable" in report


# ---------------------------------------------------------------- pickling, cloning
def test_pickle_roundtrip(config, fitted):
    again = pickle.loads(pickle.dumps(fitted))
    for a, b in zip(fitted.sample(4), again.sample(4)):  # 4 > 3 stored: chains continue
        pd.testing.assert_frame_equal(a, b)
    new = new_rows(config, config.frame())
    pd.testing.assert_frame_equal(fitted.transform(new), again.transform(new))
    for a, b in zip(fitted.sample(2, X=new), again.sample(2, X=new)):
        pd.testing.assert_frame_equal(a, b)
    assert_same_posterior_means(fitted, again)


def test_get_set_params_and_clone(config, frame, fitted):
    params = fitted.get_params()
    signature = inspect.signature(config.cls.__init__).parameters
    assert set(params) == set(signature) - {"self"}
    # parameters after the first are keyword-only
    kinds = [p.kind for name, p in signature.items() if name != "self"]
    assert kinds[0] is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert all(k is inspect.Parameter.KEYWORD_ONLY for k in kinds[1:])
    for name, value in {**FAST, "random_state": 0, **config.params}.items():
        assert params[name] == value, name
    twin = clone(fitted)
    assert type(twin) is config.cls
    assert twin.get_params() == params
    assert not hasattr(twin, "beta_") and not hasattr(twin, "random_seed_")
    for a, b in zip(fitted.sample(), twin.fit(frame).sample()):
        pd.testing.assert_frame_equal(a, b)
    twin.set_params(n_burn=30, prior_df=7.5)
    assert (twin.n_burn, twin.prior_df) == (30, 7.5)
    assert fitted.n_burn == FAST["n_burn"]


# ---------------------------------------------------------------- array input
def _array_config(cls, cov_method=None):
    """Numeric array: cluster code, x, y1, b coded 0/1 (categorical), w;
    the cluster column and w as level-2 outcome for the two-level classes."""
    frame = mixed_frame()[["cluster", "x", "y1", "b", "w"]]
    frame = frame.assign(
        cluster=frame["cluster"].str[1:].astype(float),
        b=(frame["b"] == "yes").astype(float).where(frame["b"].notna()),
    )
    X = frame.to_numpy(dtype=float)
    params = dict(covariate_cols=[1], categorical_cols=[3], random_state=0, **FAST)
    if cls is not JointModelImputer:
        params.update(cluster_col=0, level2_cols=[4], cov_method=cov_method)
    return X, cls(**params)


ARRAY_CONFIGS = [(JointModelImputer, None)] + [(cls, m) for cls in TWO_LEVEL for m in COV_METHODS]


@pytest.mark.parametrize(
    "cls, cov_method", ARRAY_CONFIGS, ids=[f"{c.__name__}-{m}" for c, m in ARRAY_CONFIGS]
)
def test_array_input_gives_array_output_and_set_output(cls, cov_method):
    X, imputer = _array_config(cls, cov_method)
    out = imputer.fit_transform(X)
    assert isinstance(out, np.ndarray) and out.shape == X.shape
    observed = ~np.isnan(X)
    assert np.array_equal(out[observed].view(np.int64), X[observed].view(np.int64))
    assert not np.isnan(out).any()
    assert set(out[:, 3]) == {0.0, 1.0}
    frame_out = clone(imputer).set_output(transform="pandas").fit_transform(X)
    assert isinstance(frame_out, pd.DataFrame)
    assert list(frame_out.columns) == list(imputer.get_feature_names_out())
    np.testing.assert_array_equal(frame_out.to_numpy(), out)
    if cls is not JointModelImputer:
        assert frame_out.groupby(frame_out.columns[0])[frame_out.columns[4]].nunique().eq(1).all()


# ---------------------------------------------------------------- scikit-learn checks
# The one table of scikit-learn checks an estimator is exempt from, and why.
# Keys: check name -> (classes it applies to, reason). (scikit-learn itself
# skips its array-API check unless SCIPY_ARRAY_API is set.)
EXEMPTIONS = {
    "check_estimators_pickle": (
        TWO_LEVEL,
        "with allow_nan the check writes NaN into random cells of every column, the "
        "cluster column (column 0) included, and a row without a cluster label is an "
        "error (a row must belong to a cluster); pickling is tested in "
        "test_pickle_roundtrip",
    ),
}


def expected_failed_checks(estimator):
    return {
        check: reason
        for check, (classes, reason) in EXEMPTIONS.items()
        if isinstance(estimator, classes)
    }


# The generic checks feed random numeric arrays: column 0 is the cluster, so
# every row is a cluster of its own (which must work too).
CHECKED = [JointModelImputer(random_state=0, n_burn=20, n_between=5, n_imputations=2)]
CHECKED += [
    cls(cluster_col=0, cov_method=m, random_state=0, n_burn=20, n_between=5, n_imputations=2)
    for cls in TWO_LEVEL
    for m in COV_METHODS
]


@parametrize_with_checks(CHECKED, expected_failed_checks=expected_failed_checks)
@pytest.mark.filterwarnings("ignore:Clusters .* have fewer rows")
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# ---------------------------------------------------------------- parameter validation
BAD_RUN_PARAMETERS = {
    "n_burn": -1,
    "n_between": 0,
    "n_imputations": 0,
    "n_chains": 0,
    "keep_chains": "some",
    "warm_start": "yes",
    "verbose": "loud",
    "random_state": "seed",
    "n_jobs": 1.5,
}


def _base_estimator(cls):
    return cls(cluster_col="cluster") if cls in TWO_LEVEL else cls()


@pytest.mark.parametrize("name, value", sorted(BAD_RUN_PARAMETERS.items()))
def test_every_estimator_rejects_a_bad_run_parameter_alike(name, value):
    frame = mixed_frame()
    messages = set()
    for cls in CLASSES:
        imputer = _base_estimator(cls).set_params(**{name: value})
        with pytest.raises(
            InvalidParameterError, match=rf"The '{name}' parameter of {cls.__name__} must be"
        ) as err:
            imputer.fit(frame)
        assert isinstance(err.value, ValueError)
        messages.add(str(err.value).replace(cls.__name__, "<imputer>"))
    assert len(messages) == 1, messages


@pytest.mark.parametrize("name, value", [("cov_method", "shared"), ("a_prior", 0.0)])
def test_two_level_estimators_reject_a_bad_model_parameter_alike(name, value):
    frame = mixed_frame()
    messages = set()
    for cls in TWO_LEVEL:
        imputer = cls(cluster_col="cluster", **{name: value})
        with pytest.raises(InvalidParameterError, match=rf"The '{name}' parameter") as err:
            imputer.fit(frame)
        messages.add(str(err.value).replace(cls.__name__, "<imputer>"))
    assert len(messages) == 1, messages
    message = messages.pop()
    if name == "cov_method":
        assert all(f"'{method}'" in message for method in COV_METHODS), message


# ---------------------------------------------------------------- the cov_method family
@pytest.mark.parametrize("cls", TWO_LEVEL)
def test_loop_over_cov_method(cls):
    """One instance refitted with each cov_method gives that model, and the
    two classes fit the same model for the same cov_method."""
    config = Config(cls, level2=True)
    frame = config.frame()
    imputer = config.make()
    other_cls = TWO_LEVEL[1 - TWO_LEVEL.index(cls)]
    for method in COV_METHODS:
        imputer.set_params(cov_method=method).fit(frame)
        assert hasattr(imputer, "cluster_covariances_") == (method != "common")
        assert hasattr(imputer, "a_") == (method == "random")
        assert "a" in imputer.chains_ if method == "random" else "a" not in imputer.chains_
        sibling = Config(other_cls, {"cov_method": method}, level2=True).make().fit(frame)
        for a, b in zip(imputer.sample(), sibling.sample()):
            pd.testing.assert_frame_equal(a, b)
        assert_same_posterior_means(imputer, sibling)


@pytest.mark.parametrize("cls", CLASSES)
def test_grid_search_over_imputer_settings(cls):
    """GridSearchCV over the imputer's settings (cov_method for the two-level
    classes) and a ridge penalty, in a pipeline on array input; every
    cluster is in every fold, as "fixed" requires."""
    frame = mixed_frame(n_clusters=12, cluster_size=9).dropna(subset=["y1"])
    codes = frame["cluster"].str[1:].astype(float)
    X = frame.assign(cluster=codes)[["cluster", "x", "y2", "w"]].to_numpy(dtype=float)
    y = frame["y1"].to_numpy()
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, codes))
    settings = dict(n_burn=10, n_between=5, n_imputations=1, random_state=0)
    if cls is JointModelImputer:
        imputer = cls(covariate_cols=[0, 1], **settings)
        grid = {"impute__n_burn": [10, 30], "impute__prior_df": [None, 5.0]}
    else:
        imputer = cls(cluster_col=0, covariate_cols=[1], level2_cols=[3], **settings)
        grid = {"impute__cov_method": list(COV_METHODS)}
    search = GridSearchCV(
        Pipeline([("impute", imputer), ("ridge", Ridge())]),
        {**grid, "ridge__alpha": [0.1, 10.0]},
        cv=folds,
        error_score="raise",
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Clusters .* have fewer rows")
        search.fit(X, y)
    n_candidates = np.prod([len(v) for v in grid.values()]) * 2
    assert len(search.cv_results_["params"]) == n_candidates
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    best = search.best_estimator_.named_steps["impute"].get_params()
    for name, value in search.best_params_.items():
        if name.startswith("impute__"):
            assert best[name.removeprefix("impute__")] == value


# ---------------------------------------------------------------- bad data, any estimator
def _fit_bad(config, frame, match, error=ValueError, **kw):
    with pytest.raises(error, match=match):
        config.make(n_burn=2, n_between=1, n_imputations=1, **kw).fit(frame)


BAD_DATA_CONFIGS = [
    c for c in CONFIGS if c.cov_method == "common" and not c.params.get("random_slope_cols")
]


@pytest.mark.parametrize("config", BAD_DATA_CONFIGS, ids=[c.id for c in BAD_DATA_CONFIGS])
def test_bad_data_gets_a_clear_error_naming_the_column(config):
    """The same errors from every estimator, for a level-1 and (with
    level-2 roles) a level-2 column."""
    columns = ["y1", "w"] if config.level2 else ["y1"]
    for column in columns:
        frame = config.frame()
        cluster = frame["cluster"] == frame["cluster"].iloc[3]  # level-2 values stay constant
        frame.loc[cluster, column] = np.inf
        _fit_bad(config, frame, rf"Column '{column}' .*infinite")
        frame[column] = np.nan
        _fit_bad(config, frame, rf"Column '{column}' is entirely missing")
        days = pd.to_timedelta(frame["cluster"].str[1:].astype(int), unit="D")
        frame[column] = pd.Timestamp("2020-01-01") + days
        _fit_bad(config, frame, rf"Column '{column}' .*datetime64", error=TypeError)
    frame = config.frame()
    frame.loc[frame.index[3], "x"] = np.inf
    _fit_bad(config, frame, r"Column 'x' .*infinite")
    frame.loc[frame.index[3], "x"] = np.nan
    _fit_bad(config, frame, r"Covariate 'x' has missing values")
    frame = config.frame()
    frame["b"] = pd.Categorical(["yes"] * len(frame), categories=["no", "yes"])
    with pytest.warns(UserWarning, match=r"\['no'\] of column 'b' never occur"):
        _fit_bad(config, frame, r"column 'b' has only one observed category")
    frame = config.frame()
    _fit_bad(config, frame.iloc[:0], "empty")
    _fit_bad(config, frame.iloc[:, :0], "no columns|0 feature")
    _fit_bad(
        config,
        frame,
        r"Column 'nope' given as covariate is not in the data",
        covariate_cols=["nope"],
    )
    _fit_bad(config, frame, r"Column 'x' is given two roles", exclude_cols=["x"])
    # an excluded column of any dtype passes through untouched
    frame["when"] = pd.date_range("2020-01-01", periods=len(frame))
    exclude = ["note", "when"] + ([] if config.two_level else ["cluster"])
    out = config.make(exclude_cols=exclude).fit(frame).transform(frame)
    pd.testing.assert_series_equal(out["when"], frame["when"])


@pytest.mark.parametrize("config", BAD_DATA_CONFIGS, ids=[c.id for c in BAD_DATA_CONFIGS])
def test_transform_with_an_unknown_category(config):
    frame = config.frame()
    imputer = config.make(n_burn=2, n_between=1, n_imputations=1).fit(frame)
    new = frame.iloc[:4].copy()
    new["b"] = new["b"].cat.add_categories(["new"])
    new.loc[new.index[0], "b"] = "new"
    with pytest.raises(ValueError, match=r"Column 'b' has categories \['new'\] not seen in fit"):
        imputer.transform(new)
    with pytest.raises(ValueError, match="empty|0 sample"):
        imputer.transform(frame.iloc[:0])
