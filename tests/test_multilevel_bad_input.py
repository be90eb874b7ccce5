"""MultilevelJointImputer: bad input gets a clear error naming the column
(and the cluster, for cluster-level problems).

Cluster labels, level-2 values varying within a cluster, random-slope and
level-2 covariates, roles, level-2 settings. The errors every imputer gives
alike, for level-1 and level-2 outcomes (infinite, entirely missing,
datetime, one-category columns, covariates with missing values, empty
frames, unknown categories, missing columns in transform) are tested on
every estimator configuration in tests/test_common.py.
"""

import numpy as np
import pandas as pd
import pytest

from skjomo import MultilevelJointImputer

FAST = dict(n_burn=5, n_between=2, n_imputations=2, random_state=0)

# Without level-2 roles, the cluster-level columns w, k, z2 of the frame are
# level-1 outcomes, which fit rightly warns about; not what is tested here.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Outcome column .* is constant within every cluster:UserWarning"
)


@pytest.fixture
def frame():
    """Six clusters "a".."f" of five rows; level-1 y, z, c, x, s; level-2 w, k, z2."""
    rng = np.random.default_rng(0)
    clusters = np.array(list("abcdef"), dtype=object)
    data = pd.DataFrame(
        {
            "school": pd.array(np.repeat(clusters, 5), dtype=object),
            "y": rng.normal(size=30),
            "z": rng.normal(size=30),
            "c": pd.Categorical(rng.choice(["u", "v", "t"], size=30)),
            "x": rng.normal(size=30),
            "s": rng.normal(size=30),
            "w": np.repeat(rng.normal(size=6), 5),
            "k": pd.Categorical(np.repeat(["p", "q", "p", "q", "q", "p"], 5)),
            "z2": np.repeat(rng.normal(size=6), 5),
        }
    )
    data.loc[::4, "y"] = np.nan
    data.loc[data["school"] == "b", "w"] = np.nan
    return data


def fit(frame, **kw):
    settings = dict(cluster_col="school", covariate_cols=["x"], **FAST)
    settings.update(kw)
    return MultilevelJointImputer(**settings).fit(frame)


def level2(**kw):
    return dict(level2_cols=["w", "k"], level2_covariate_cols=["z2"], **kw)


# ------------------------------------------------------------ clusters
def test_cluster_col_is_required(frame):
    with pytest.raises(ValueError, match="cluster_col is required"):
        fit(frame, cluster_col=None)


def test_cluster_col_not_in_data(frame):
    with pytest.raises(ValueError, match=r"Column 'class' given as cluster is not in the data"):
        fit(frame, cluster_col="class")


@pytest.mark.parametrize("missing", [None, np.nan, pd.NA])
def test_missing_cluster_labels(frame, missing):
    frame.loc[7, "school"] = missing
    with pytest.raises(
        ValueError,
        match=r"Cluster column 'school' has missing labels "
        r"\(e\.g\. at index \[7\]\)",
    ):
        fit(frame)


def test_missing_cluster_labels_in_transform(frame):
    imputer = fit(frame)
    new = frame.iloc[:6].copy()
    new.index = list("pqrstu")
    new.loc["s", "school"] = None
    with pytest.raises(
        ValueError,
        match=r"Cluster column 'school' has missing labels "
        r"\(e\.g\. at index \['s'\]\)",
    ):
        imputer.transform(new)


def test_cluster_column_with_another_role(frame):
    with pytest.raises(
        ValueError,
        match=r"Column 'school' is given two roles: cluster and "
        r"covariate",
    ):
        fit(frame, covariate_cols=["school"])
    with pytest.raises(
        ValueError,
        match=r"Column 'school' is given two roles: cluster and "
        r"level-2 outcome",
    ):
        fit(frame, level2_cols=["school"])
    with pytest.raises(
        ValueError,
        match=r"Column 'school' is given two roles: cluster and "
        r"level-2 covariate",
    ):
        fit(frame, level2_cols=["w"], level2_covariate_cols=["school"])
    with pytest.raises(
        ValueError,
        match=r"Column 'school' is given two roles: cluster and "
        r"excluded",
    ):
        fit(frame, exclude_cols=["school"])


def test_only_the_cluster_column(frame):
    with pytest.raises(ValueError, match=r"1 feature\(s\), the cluster column"):
        fit(frame[["school"]], covariate_cols=None)


# ------------------------------------------------------------ level 2
@pytest.mark.parametrize("column, value", [("w", 9.5), ("k", "q"), ("z2", 0.0)])
def test_level2_value_varying_within_a_cluster(frame, column, value):
    rows = frame.index[frame["school"] == "c"]
    frame.loc[rows[3], column] = value
    with pytest.raises(
        ValueError,
        match=rf"Level-2 column '{column}' varies within cluster "
        r"'c'",
    ):
        fit(frame, **level2())


def test_level2_value_varying_within_a_new_cluster_in_transform(frame):
    imputer = fit(frame, **level2())
    new = frame[frame["school"].isin(["a", "c"])].copy()
    new["school"] = np.where(new["school"] == "a", "a", "new-school")
    new.loc[new.index[-1], "w"] = 123.0
    with pytest.raises(
        ValueError,
        match=r"Level-2 column 'w' varies within cluster "
        r"'new-school'",
    ):
        imputer.transform(new)


def test_level2_covariate_without_level2_outcomes(frame):
    with pytest.raises(ValueError, match="level2_covariate_cols needs level2_cols"):
        fit(frame, level2_covariate_cols=["z2"])


def test_level2_covariate_missing_for_a_cluster(frame):
    frame.loc[frame["school"] == "d", "z2"] = np.nan
    with pytest.raises(
        ValueError,
        match=r"Level-2 covariate 'z2' is missing on every row of "
        r"cluster 'd'",
    ):
        fit(frame, **level2())


def test_level2_covariate_missing_for_a_new_cluster_in_transform(frame):
    imputer = fit(frame, **level2())
    new = frame[frame["school"] == "a"].copy()
    new["school"] = "new-school"
    new["z2"] = np.nan
    with pytest.raises(
        ValueError,
        match=r"Level-2 covariate 'z2' is missing on every row of "
        r"cluster 'new-school'",
    ):
        imputer.transform(new)


def test_level2_column_with_two_roles(frame):
    with pytest.raises(
        ValueError,
        match=r"Column 'w' is given two roles: level-2 outcome and "
        r"covariate",
    ):
        fit(frame, covariate_cols=["w"], level2_cols=["w"])
    with pytest.raises(
        ValueError,
        match=r"Column 'w' is given two roles: level-2 outcome and "
        r"level-2 covariate",
    ):
        fit(frame, level2_cols=["w"], level2_covariate_cols=["w"])
    with pytest.raises(
        ValueError,
        match=r"Column 'w' is given two roles: level-2 outcome and "
        r"excluded",
    ):
        fit(frame, level2_cols=["w"], exclude_cols=["w"])


def test_unknown_level2_columns(frame):
    with pytest.raises(
        ValueError,
        match=r"Column 'nope' given as level-2 outcome is not in "
        r"the data",
    ):
        fit(frame, level2_cols=["nope"])
    with pytest.raises(
        ValueError,
        match=r"Column 'nope' given as level-2 covariate is not in "
        r"the data",
    ):
        fit(frame, level2_cols=["w"], level2_covariate_cols=["nope"])


def test_level2_unknown_category_in_transform(frame):
    imputer = fit(frame, **level2())
    new = frame[frame["school"] == "e"].copy()
    new["k"] = new["k"].cat.add_categories(["r"])
    new["k"] = "r"
    new["k"] = new["k"].astype("category")
    with pytest.raises(ValueError, match=r"Column 'k' has categories \['r'\] not seen in fit"):
        imputer.transform(new)


# ------------------------------------------------------------ random slopes
def test_random_slope_with_missing_values(frame):
    frame.loc[4, "s"] = np.nan
    with pytest.raises(ValueError, match=r"Random-slope covariate 's' has missing values"):
        fit(frame, random_slope_cols=["s"])


def test_random_slope_with_missing_values_in_transform(frame):
    imputer = fit(frame, random_slope_cols=["s"])
    new = frame.iloc[:5].copy()
    new.loc[2, "s"] = np.nan
    with pytest.raises(ValueError, match=r"Covariate 's' has missing values"):
        imputer.transform(new)


def test_random_slope_not_numeric(frame):
    with pytest.raises(
        TypeError,
        match=r"Random-slope covariate 'c' must be numeric; got "
        r"dtype category",
    ):
        fit(frame, random_slope_cols=["c"])


def test_random_slope_not_in_data(frame):
    with pytest.raises(
        ValueError,
        match=r"Column 'nope' given as random slope is not in the "
        r"data",
    ):
        fit(frame, random_slope_cols=["nope"])


# ------------------------------------------------------------ other cases
def test_level2_categorical_with_one_category(frame):
    frame["k"] = pd.Categorical(["u"] * 30)
    with pytest.raises(ValueError, match=r"column 'k' has only one observed category"):
        fit(frame, **level2())


def test_cluster_column_of_any_dtype_is_not_an_outcome(frame):
    frame["school"] = pd.Series(pd.date_range("2020-01-01", periods=6).repeat(5))
    imputer = fit(frame, **level2())
    assert len(imputer.cluster_labels_) == 6


@pytest.mark.parametrize("column", ["s", "z2"])
def test_infinite_random_slope_or_level2_covariate(frame, column):
    frame.loc[frame["school"] == "e", column] = np.inf
    with pytest.raises(ValueError, match=rf"Column '{column}' .*infinite"):
        fit(frame, random_slope_cols=["s"], **level2())


def test_bad_level2_settings(frame):
    # level 1: y, z, s and c (2 latents), one random intercept each: p q = 5;
    # level 2: w and k (1 latent): d = 7
    with pytest.raises(ValueError, match=r"level2_prior_scale must have shape \(7, 7\)"):
        fit(frame, level2_prior_scale=np.eye(2), **level2())
    with pytest.raises(ValueError, match="level2_prior_df"):
        fit(frame, level2_prior_df=-30, **level2())
    # without level-2 roles, w, k and z2 are level-1 outcomes too: p q = 8
    with pytest.raises(ValueError, match=r"random_effects_start must have shape \(6, 8\)"):
        fit(frame, random_effects_start=np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"level2_cov_start must have shape \(8, 8\)"):
        fit(frame, level2_cov_start=np.eye(3))
