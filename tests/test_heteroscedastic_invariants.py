"""Cluster-specific covariances (cov_method "fixed" and "random").

The invariants of every imputer (observed cells bit-identical, input not
modified, index / columns / dtypes kept, results independent of ``n_jobs``,
scikit-learn checks, parameter validation) are tested for every
``cov_method`` in tests/test_common.py. Here, what is specific to
cluster-specific covariances: the fitted covariances, rows in any order
(jomo assumes rows sorted by cluster), clusters too small for their own
covariance, clusters not seen in fit, categorical outcomes, level-2
outcomes and random slopes.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from jomo_compare import batch_means_se

from skjomo import HeteroscedasticMultilevelImputer
from skjomo.datasets import load_jspmiss
from skjomo.diagnostics import ConvergenceWarning

FAST = dict(n_burn=50, n_between=10, n_imputations=3)
METHODS = ["fixed", "random"]


@pytest.fixture(scope="module")
def jsp():
    """JSPmiss in file order, school labels as strings, an excluded column."""
    frame = load_jspmiss()[["school", "english", "ravens", "sex"]].copy()
    frame["school"] = frame["school"].map(lambda s: f"school-{s:02d}").astype(object)
    frame["note"] = pd.array(np.where(frame["sex"] == 1, "g", None), dtype=object)
    return frame


def _imputer(method, **kw):
    settings = {**FAST, "random_state": 0, **kw}
    return HeteroscedasticMultilevelImputer(
        cluster_col="school",
        covariate_cols=["sex"],
        exclude_cols=["note"],
        cov_method=method,
        **settings,
    )


@pytest.mark.parametrize("method", METHODS)
def test_fitted_attributes(jsp, method):
    imputer = _imputer(method).fit(jsp)
    n_clusters = jsp["school"].nunique()
    assert list(imputer.cluster_labels_) == sorted(jsp["school"].unique())
    assert imputer.cluster_covariances_.shape == (n_clusters, 2, 2)
    assert np.allclose(
        imputer.cluster_covariances_, np.swapaxes(imputer.cluster_covariances_, 1, 2)
    )
    assert np.all(np.linalg.eigvalsh(imputer.cluster_covariances_) > 0)
    # omega_ is the posterior mean of the average cluster covariance
    assert np.allclose(imputer.omega_.to_numpy(), imputer.cluster_covariances_.mean(axis=0))
    assert list(imputer.omega_.index) == ["english", "ravens"]
    if method == "random":
        assert imputer.a_ > 2 and np.all(imputer.chains_["a"] > 2)
        assert imputer.a_ == pytest.approx(imputer.chains_["a"].mean())
    else:
        assert not hasattr(imputer, "a_") and "a" not in imputer.chains_


def _posterior(frame, method, seed):
    """Posterior means and batch-means MC errors of beta, the average
    covariance and the cluster covariances (by cluster label)."""
    imputer = _imputer(method, n_burn=500, n_between=2, n_imputations=2500, random_state=seed).fit(
        frame
    )
    beta = imputer.chains_["beta"][0]
    average = imputer.chains_["omega"][0]
    clusters = imputer._chains.draws["cov"]
    out = {
        "beta": (beta.mean(axis=0), batch_means_se(beta)),
        "average": (average.mean(axis=0), batch_means_se(average)),
        "clusters": (clusters.mean(axis=0), batch_means_se(clusters)),
    }
    return out, list(imputer.cluster_labels_)


@pytest.mark.parametrize("method", METHODS)
def test_row_order_does_not_matter(jsp, method):
    """Rows sorted by school and in random order give the same posterior.

    jomo's covariance updates take each cluster's rows as a contiguous block
    (jomo-samplers.md §8); skjomo groups rows by cluster. Compared: the
    fixed effects, the average covariance and the covariance of each of the
    47 schools (141 distinct entries) with independent chains; every
    difference within 4.5 combined MC standard errors (4.5 rather than 4
    because of the ~150 comparisons; P(max |z| > 4.5) is about 0.1% for
    exact standard errors).
    """
    by_school = jsp.sort_values("school", kind="stable")
    shuffled = jsp.sample(frac=1.0, random_state=5)
    sorted_post, labels_a = _posterior(by_school, method, seed=1)
    shuffled_post, labels_b = _posterior(shuffled, method, seed=2)
    assert labels_a == labels_b
    iu = np.triu_indices(2)
    for key in sorted_post:
        (m1, s1), (m2, s2) = sorted_post[key], shuffled_post[key]
        z = (m1 - m2) / np.sqrt(s1**2 + s2**2)
        if key != "beta":
            z = z[..., iu[0], iu[1]]
        assert np.max(np.abs(z)) <= 4.5, (key, np.max(np.abs(z)))


# ------------------------------------------------------------------ bad input
def _with_tiny_cluster(jsp):
    tiny = pd.DataFrame(
        {
            "school": ["tiny-school"],
            "english": [30.0],
            "ravens": [np.nan],
            "sex": [1],
            "note": [None],
        }
    )
    return pd.concat([jsp, tiny.astype(jsp.dtypes.to_dict())], ignore_index=True)


def test_fixed_small_cluster_warning_names_it(jsp):
    data = _with_tiny_cluster(jsp)
    with pytest.warns(UserWarning, match="tiny-school") as record:
        _imputer("fixed").fit(data)
    assert any("fixed" in str(w.message) for w in record)


def test_random_small_cluster_is_fine(jsp):
    data = _with_tiny_cluster(jsp)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # short chains: fit's own convergence check is not what is tested here
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        imputer = _imputer("random").fit(data)
    assert np.all(np.isfinite(imputer.cluster_covariances_))
    assert not imputer.sample(1)[0][["english", "ravens"]].isna().any().any()


def test_fixed_improper_cluster_posterior_is_a_clear_error(jsp):
    data = _with_tiny_cluster(jsp)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="tiny-school"):
            _imputer("fixed", prior_df=0).fit(data)


def test_fixed_rejects_new_cluster_in_transform(jsp):
    imputer = _imputer("fixed").fit(jsp)
    new = jsp[jsp["school"] == "school-01"].assign(school="new-school")
    with pytest.raises(ValueError, match="not seen in fit.*cov_method='random'"):
        imputer.transform(new)
    with pytest.raises(ValueError, match="not seen in fit"):
        imputer.sample(2, X=new)
    # known clusters are fine
    out = imputer.transform(jsp.iloc[:40])
    assert not out[["english", "ravens"]].isna().any().any()


def test_random_imputes_new_cluster(jsp):
    imputer = _imputer("random").fit(jsp)
    new = jsp[jsp["school"].isin(["school-01", "school-02"])].copy()
    new["school"] = new["school"].str.replace("school", "new")
    new.index = [f"n{i}" for i in range(len(new))]
    before = new.copy()
    out = imputer.transform(new)
    pd.testing.assert_frame_equal(new, before)
    assert out.index.equals(new.index)
    assert not out[["english", "ravens"]].isna().any().any()
    observed = new["english"].notna()
    assert out.loc[observed, "english"].equals(new.loc[observed, "english"])
    # imputations are on the scale of the data (english 0-100, ravens 0-40)
    filled = out.loc[new["english"].isna(), "english"]
    assert filled.between(-60, 160).all()
    datasets = imputer.sample(3, X=new)
    assert not datasets[0]["ravens"].equals(datasets[1]["ravens"])


@pytest.mark.parametrize("method", ["random", "fixed"])
def test_two_categorical_outcomes(method):
    data = load_jspmiss()[["school", "english", "ravens", "fluent", "behaviour", "sex"]]
    imputer = HeteroscedasticMultilevelImputer(
        cluster_col="school", covariate_cols=["sex"], cov_method=method, random_state=0, **FAST
    )
    completed = imputer.fit(data).sample(1)[0]
    for column in ("fluent", "behaviour"):
        assert completed[column].dtype == data[column].dtype
        observed = data[column].notna()
        assert completed.loc[observed, column].equals(data.loc[observed, column])
    assert not completed.isna().any().any()
    covariances = imputer.cluster_covariances_
    # latent blocks fixed; the covariance of the two latents' columns varies
    assert np.allclose(covariances[:, 2:4, 2:4], [[1.0, 0.5], [0.5, 1.0]])
    assert np.allclose(covariances[:, 4, 4], 1.0)
    assert np.ptp(covariances[:, 2, 4]) > 0.05
    new = data.iloc[:12].copy()
    new["school"] = "new school"
    if method == "fixed":
        with pytest.raises(ValueError, match="clusters not seen in fit"):
            imputer.transform(new)
    else:
        assert not imputer.transform(new).isna().any().any()


def test_random_with_categorical_outcomes_needs_a_positive_prior_df():
    data = load_jspmiss()[["school", "english", "fluent", "behaviour"]]
    imputer = HeteroscedasticMultilevelImputer(
        cluster_col="school", cov_method="random", prior_df=-1, **FAST
    )
    with pytest.raises(ValueError, match="prior_df.*positive"):
        imputer.fit(data)


@pytest.mark.parametrize(
    "settings, message",
    [
        (dict(cov_method="random", a_start=2.0), "a_start must exceed p = 2"),
        (dict(cov_method="fixed", cov_start=np.eye(3)), "cov_start must have shape"),
    ],
)
def test_bad_settings(jsp, settings, message):
    method = settings.pop("cov_method")
    with pytest.raises(ValueError, match=message):
        _imputer(method, **settings).fit(jsp)


def test_cov_start_per_cluster(jsp):
    n_clusters = jsp["school"].nunique()
    start = np.stack([np.diag([400.0, 40.0])] * n_clusters)
    imputer = _imputer("fixed", cov_start=start).fit(jsp)
    assert imputer.cluster_covariances_.shape == (n_clusters, 2, 2)


def test_cov_start_wrong_number_of_clusters(jsp):
    n_clusters = jsp["school"].nunique()
    start = np.stack([np.eye(2)] * (n_clusters + 1))
    with pytest.raises(ValueError, match="cov_start"):
        _imputer("fixed", cov_start=start).fit(jsp)


@pytest.mark.parametrize("method", METHODS)
def test_level2_outcomes_and_random_slopes(method):
    """The jomo2hr family: level-2 outcomes stay constant within clusters and
    observed values are kept; random slopes give the documented layouts."""
    from skjomo.datasets import load_examscores

    data = load_examscores()[["school", "normexam", "standlrt", "avslrt"]]
    imputer = HeteroscedasticMultilevelImputer(
        cluster_col="school", level2_cols=["avslrt"], cov_method=method, random_state=0, **FAST
    ).fit(data)
    for frame in imputer.sample():
        assert frame.groupby("school")["avslrt"].nunique().max() == 1
        observed = data["avslrt"].notna()
        assert frame.loc[observed, "avslrt"].equals(data.loc[observed, "avslrt"])
        assert not frame.isna().any().any()
    assert imputer.sigma_.shape == (3, 3)
    n_clusters = data["school"].nunique()
    assert imputer.cluster_covariances_.shape == (n_clusters, 2, 2)

    jsp = load_jspmiss()[["school", "english", "ravens", "sex"]]
    sloped = HeteroscedasticMultilevelImputer(
        cluster_col="school",
        covariate_cols=["sex"],
        random_slope_cols=["sex"],
        cov_method=method,
        random_state=0,
        **FAST,
    ).fit(jsp)
    assert sloped.random_effects_.shape == (47, 4)
    assert list(sloped.sigma_.index) == [
        "english|(Intercept)",
        "english|sex",
        "ravens|(Intercept)",
        "ravens|sex",
    ]
