"""Catalogue of bad or awkward inputs to the analysis side: pooling and the pipeline.

One row per case; each asserts the clear error, the clear warning, or the
correct result. The same rows, with the reason for each outcome, are the
table "What is refused, and why" in doc/pooling.rst.
"""

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.compose import make_column_transformer
from sklearn.ensemble import RandomForestRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from test_pipeline import StochasticRegressionImputer, make_data, numeric

import skjomo.pooling
from skjomo import MultipleImputationPipeline, StatsmodelsModel
from skjomo.datasets import load_studentratings
from skjomo.pooling import compare_models, pool_estimates, pool_wald, read_fit

Q = np.array([[1.2, 0.5], [1.4, 0.45], [1.1, 0.6]])
V = np.array([[0.04, 0.01], [0.05, 0.012], [0.045, 0.011]])
U = np.array([np.diag(v) for v in V])


def _with(array, index, value):
    out = np.array(array, dtype=object if isinstance(value, str) else float)
    out[index] = value
    return out


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(3)
    out = []
    for _ in range(3):
        x = rng.normal(size=(60, 2))
        y = 1 + x @ [0.5, -0.3] + rng.normal(size=60)
        b = (rng.random(60) < 1 / (1 + np.exp(-x[:, 0]))).astype(float)
        out.append(pd.DataFrame({"y": y, "x1": x[:, 0], "x2": x[:, 1], "b": b}))
    return out


@pytest.fixture(scope="module")
def ratings():
    """Complete cases of the mitml vignette's studentratings variables (bundled data)."""
    return load_studentratings()[["ID", "ReadDis", "ReadAchiev"]].dropna().reset_index(drop=True)


class FailOnSecondFit(BaseEstimator, RegressorMixin):
    """Linear regression that breaks on its second fit (the second imputed data set)."""

    calls = itertools.count()
    mode = "raise"

    def fit(self, X, y):
        self.coef_ = np.linalg.lstsq(np.asarray(X, float), np.asarray(y, float), rcond=None)[0]
        self.intercept_ = 0.0
        self.fit_intercept = False
        if next(FailOnSecondFit.calls) == 1:
            if self.mode == "raise":
                raise np.linalg.LinAlgError("singular matrix")
            self.coef_ = self.coef_ * np.nan
        return self

    def predict(self, X):
        return np.asarray(X, float) @ self.coef_


def _failing(mode):
    FailOnSecondFit.calls = itertools.count()
    FailOnSecondFit.mode = mode
    X, y = make_data()
    return MultipleImputationPipeline(
        StochasticRegressionImputer(), FailOnSecondFit(), n_imputations=3, random_state=0
    ).fit(numeric(X), y)


def _pipe(estimator, X=None, y=None, imputer=None, seed=0, **kw):
    Xd, yd = make_data()
    X = numeric(Xd) if X is None else X
    y = yd if y is None else y
    return MultipleImputationPipeline(
        imputer or StochasticRegressionImputer(),
        estimator,
        n_imputations=3,
        random_state=seed,
        **kw,
    ).fit(X, y)


def _binary_outcome(kind):
    y = pd.Series(np.tile(["no", "yes", "yes", "no", "yes"], 12), name="y")
    if kind == "categorical":
        return y.astype("category")
    if kind == "object":
        return y.astype(object)
    if kind == "str":
        return y.astype("string")
    return y == "yes"  # bool


def _logit_on(kind):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=60)})
    y = _binary_outcome(kind)
    model = StatsmodelsModel("y ~ x", "logit", fit_kwargs={"disp": 0}).fit(X, y)
    reference = smf.logit(
        "y ~ x", X.assign(y=(y.astype(str).isin(["yes", "True"])).astype(float))
    ).fit(disp=0)
    assert list(model.classes_) in (["no", "yes"], [False, True])
    np.testing.assert_allclose(model.results_.params, reference.params, rtol=1e-10)


def _not_pooled_random_forest():
    pipe = _pipe(RandomForestRegressor(n_estimators=3))
    assert pipe.pooled_ is None
    with pytest.raises(ValueError, match="no parameters that skjomo can read.*predictions only"):
        pipe.summary()


def _sklearn_point_estimates(frames):
    res = pool_estimates([LinearRegression().fit(d[["x1", "x2"]], d["y"]) for d in frames])
    text = res.summary()
    assert res.std_error is None and "hypothesis" not in text.lower() and "Unadjusted" not in text
    assert "LinearRegression reports no sampling variance" in text and "StatsmodelsModel" in text
    ols = pool_estimates([smf.ols("y ~ x1 + x2", d).fit() for d in frames])
    np.testing.assert_allclose(res.estimate, ols.estimate, rtol=1e-8)
    with pytest.raises(ValueError, match="LinearRegression\\) report no standard errors"):
        res.conf_int()


def _unpenalised_logistic(frames):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = pool_estimates(
            [LogisticRegression(C=np.inf).fit(d[["x1", "x2"]], d["b"]) for d in frames]
        )
    ml = pool_estimates([smf.logit("b ~ x1 + x2", d).fit(disp=0) for d in frames])
    np.testing.assert_allclose(res.estimate, ml.estimate, rtol=1e-3, atol=1e-3)


def _pipeline_of_sklearn_pipeline():
    X, _ = make_data()
    est = make_pipeline(
        make_column_transformer((OneHotEncoder(drop="first"), ["g"]), remainder="passthrough"),
        LinearRegression(),
    )
    pipe = _pipe(est, X=X, keep_imputations=True)
    assert pipe.pooled_.names == [
        "Intercept",
        "onehotencoder__g_1",
        "onehotencoder__g_2",
        "remainder__x1",
        "remainder__x2",
    ]
    # the dummy coefficients equal those of the formula model on the same imputations
    sm = pool_estimates([smf.ols("y ~ g + x1 + x2", d).fit() for d in pipe.imputations_])
    np.testing.assert_allclose(
        pipe.pooled_.estimate.to_numpy(),
        sm.estimate[["Intercept", "g[T.1]", "g[T.2]", "x1", "x2"]].to_numpy(),
        rtol=1e-8,
    )


def _independent_pipelines():
    full = _pipe(StatsmodelsModel("y ~ x1 + x2"), seed=1)
    null = _pipe(StatsmodelsModel("y ~ x1"), seed=2)
    compare_models(full, null)


def _shared_imputations():
    full = _pipe(StatsmodelsModel("y ~ x1 + x2"), seed=1)
    null = _pipe(StatsmodelsModel("y ~ x1"), seed=1)
    assert full.imputation_fingerprint_ == null.imputation_fingerprint_
    res = compare_models(full, null)
    assert res.parameters == ["x2"] and 0 <= res.p_value <= 1


def _pipeline_logit_categorical_outcome():
    X, y = make_data(classification=True)
    pipe = _pipe(
        StatsmodelsModel("y ~ x1 + x2", "logit", fit_kwargs={"disp": 0}), X=numeric(X), y=y
    )
    assert pipe.pooled_.names == ["Intercept", "x1", "x2"] and np.all(
        np.isfinite(pipe.pooled_.std_error)
    )
    assert all(list(e.classes_) == ["high", "low"] for e in pipe.estimators_)
    # predictions are P(y = "low"); the score codes the outcome against that class
    proba = pipe.predict(numeric(X))
    keep = y.notna().to_numpy()
    truth = (y[keep] == "low").to_numpy(dtype=float)
    expected = 1 - np.sum((truth - proba[keep]) ** 2) / np.sum((truth - truth.mean()) ** 2)
    np.testing.assert_allclose(pipe.score(numeric(X), y), expected, rtol=1e-12)


def _mixedlm_group_name(ratings):
    model = StatsmodelsModel(
        "ReadAchiev ~ ReadDis", "mixedlm", groups="ID", fit_kwargs={"method": ["powell", "lbfgs"]}
    ).fit(ratings[["ID", "ReadDis"]], ratings["ReadAchiev"])
    assert not hasattr(model.results_, "_skjomo_group_name")
    assert list(read_fit(model).extra) == [
        "Intercept~~Intercept|ID",
        "Residual~~Residual",
        "ICC|ID",
    ]


def _mixedlm_stopped_short(ratings):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # a fit its optimiser flags converged although it stopped short of the
        # maximum: recent statsmodels' default optimiser does this on these data;
        # built here (one L-BFGS step, flagged) so that it exists on every version
        bad = smf.mixedlm("ReadAchiev ~ ReadDis", ratings, groups="ID").fit(
            method="lbfgs", maxiter=1
        )
        bad._results.converged = True  # the flag the pooling reads
        good = smf.mixedlm("ReadAchiev ~ ReadDis", ratings, groups="ID").fit(
            method=["powell", "lbfgs"]
        )
    assert bad.converged and bad.llf < good.llf - 0.5
    res = pool_estimates([good, bad, good], extra_params=True)
    assert res.not_converged == [2]


def _mixedlm_not_converged(ratings):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        good = smf.mixedlm("ReadAchiev ~ ReadDis", ratings, groups="ID").fit(
            method=["powell", "lbfgs"]
        )
        stopped = [
            smf.mixedlm("ReadAchiev ~ ReadDis", ratings.iloc[i:], groups="ID").fit(
                method="nm", maxiter=3
            )
            for i in (1, 2)
        ]
    pool_estimates([good] + stopped)


def _converged_mixedlm(ratings):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        fits = [
            smf.mixedlm("ReadAchiev ~ ReadDis", ratings.iloc[i:], groups="ID").fit(
                method=["powell", "lbfgs"]
            )
            for i in (0, 1, 2)
        ]
        res = pool_estimates(fits, extra_params=True)
    assert res.not_converged == [] and 0 < res.extra["ICC|ID"] < 1


def _nan_reader(frames):
    fits = [smf.ols("y ~ x1 + x2", d).fit() for d in frames]
    reader = lambda f: (f.params * (np.nan if f is fits[1] else 1.0), f.cov_params())
    pool_estimates(fits, reader=reader)


def _different_outcomes(frames):
    full = [smf.ols("y ~ x1 + x2", d).fit() for d in frames]
    null = [smf.ols("y ~ x1", d.assign(y=d["y"] + (i == 2))).fit() for i, d in enumerate(frames)]
    compare_models(full, null)


def _declared_categorical():
    X, _ = make_data()
    X = numeric(X).assign(k=np.tile([0, 1, 2], len(X) // 3))
    _pipe(LinearRegression(), X=X, imputer=_Declared())


class _Declared(StochasticRegressionImputer):
    """The test imputer with a ``categorical_cols`` parameter, as skjomo's imputers have."""

    def __init__(
        self,
        categorical_cols=("k",),
        n_burn=3,
        n_between=1,
        prior_df=None,
        prior_scale=None,
        n_imputations=5,
        random_state=None,
    ):
        super().__init__(n_burn, n_between, prior_df, prior_scale, n_imputations, random_state)
        self.categorical_cols = categorical_cols


ERROR, WARNING, RESULT = "error", "warning", "result"

# (id, kind, what, expected): kind ERROR -> (exception type, regex), WARNING -> (warning type, regex),
# RESULT -> None (the callable asserts the correct result itself)
CATALOGUE = [
    # ------------------------------------------------------------- pooling from arrays
    (
        "estimates-unequal-length",
        ERROR,
        lambda f, r: pool_estimates(estimates=[[1.0, 2.0], [1.0, 2.0, 3.0], [1.0, 2.0]]),
        (ValueError, "imputation 2 have 3 values but those of imputation 1 have 2"),
    ),
    (
        "estimates-unequal-length-wald",
        ERROR,
        lambda f, r: pool_wald([[1.0, 2.0], [1.0], [1.0, 2.0]], U),
        (ValueError, "imputation 2 have 1 values"),
    ),
    (
        "estimates-text-value",
        ERROR,
        lambda f, r: pool_estimates(estimates=_with(Q, (1, 0), "1.3"), covariances=U),
        (ValueError, "not a number: '1.3' of type str"),
    ),
    (
        "estimates-text-column",
        ERROR,
        lambda f, r: pool_estimates(
            estimates=pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "z"]})
        ),
        (ValueError, r"column\(s\) \['b'\] are not numbers"),
    ),
    (
        "estimates-nan-one-imputation",
        ERROR,
        lambda f, r: pool_estimates(
            estimates=_with(Q, (1, 1), np.nan), covariances=U, names=["a", "b"]
        ),
        (ValueError, r"imputation\(s\) 2 are not finite .* parameter\(s\) \['b'\]"),
    ),
    (
        "variances-negative",
        ERROR,
        lambda f, r: pool_estimates(
            estimates=Q, covariances=_with(V, (2, 0), -0.01), names=["a", "b"]
        ),
        (ValueError, "variance of parameter 'a' in imputation 3 is negative"),
    ),
    (
        "covariance-negative-diagonal",
        ERROR,
        lambda f, r: pool_estimates(
            estimates=Q, covariances=_with(U, (1, 1, 1), -1.0), names=["a", "b"]
        ),
        (ValueError, "variance of parameter 'b' in imputation 2 is negative"),
    ),
    (
        "covariance-nan",
        ERROR,
        lambda f, r: pool_estimates(estimates=Q, covariances=_with(U, (0, 0, 1), np.nan)),
        (ValueError, r"covariances of imputation\(s\) 1 contain non-finite"),
    ),
    (
        "covariance-text",
        ERROR,
        lambda f, r: pool_estimates(estimates=Q, covariances=[V[0], ["0.1", "x"], V[2]]),
        (ValueError, "covariances of imputation 2 contain a value that is not a number"),
    ),
    (
        "covariance-wrong-shape-one-imputation",
        ERROR,
        lambda f, r: pool_estimates(estimates=Q, covariances=[U[0], np.eye(3), U[2]]),
        (ValueError, r"covariance of imputation 2 has shape \(3, 3\)"),
    ),
    (
        "covariances-too-few",
        ERROR,
        lambda f, r: pool_estimates(estimates=Q, covariances=[U[0], U[1]]),
        (ValueError, "2 covariances given for m = 3"),
    ),
    (
        "estimates-only-no-test-footer",
        RESULT,
        lambda f, r: _assert_estimates_only(pool_estimates(estimates=Q, names=["a", "b"])),
        None,
    ),
    # ------------------------------------------------------------- pooling fitted models
    ("sklearn-linear-point-estimates-only", RESULT, lambda f, r: _sklearn_point_estimates(f), None),
    (
        "sklearn-logistic-penalised-default",
        WARNING,
        lambda f, r: pool_estimates([LogisticRegression().fit(d[["x1", "x2"]], d["b"]) for d in f]),
        (UserWarning, "penalised LogisticRegression fits.*not estimates of the unpenalised"),
    ),
    (
        "sklearn-ridge-penalised",
        WARNING,
        lambda f, r: pool_estimates([Ridge().fit(d[["x1", "x2"]], d["y"]) for d in f]),
        (UserWarning, "penalised Ridge fits"),
    ),
    ("sklearn-logistic-unpenalised-equals-ml", RESULT, lambda f, r: _unpenalised_logistic(f), None),
    (
        "model-nan-estimates-one-imputation",
        ERROR,
        lambda f, r: _nan_reader(f),
        (ValueError, r"estimates of imputation\(s\) 2 are not finite"),
    ),
    (
        "mixedlm-stopped-short-studentratings",
        WARNING,
        lambda f, r: _mixedlm_stopped_short(r),
        (ConvergenceWarning, r"imputation\(s\) \[2\] of 3 did not converge: the fit stopped short"),
    ),
    (
        "mixedlm-not-converged-flag",
        WARNING,
        lambda f, r: _mixedlm_not_converged(r),
        (
            ConvergenceWarning,
            r"imputation\(s\) \[2, 3\] of 3 did not converge: statsmodels reports",
        ),
    ),
    ("mixedlm-converged-powell-lbfgs", RESULT, lambda f, r: _converged_mixedlm(r), None),
    (
        "compare-different-outcomes",
        ERROR,
        lambda f, r: _different_outcomes(f),
        (ValueError, r"different data in imputation\(s\) \[3\]"),
    ),
    (
        "compare-independent-pipelines",
        ERROR,
        lambda f, r: _independent_pipelines(),
        (ValueError, "fitted to different imputed data sets"),
    ),
    ("compare-pipelines-shared-imputations", RESULT, lambda f, r: _shared_imputations(), None),
    # ------------------------------------------------------------- the pipeline
    (
        "pipeline-categorical-predictor-linear",
        ERROR,
        lambda f, r: _pipe(LinearRegression(), X=make_data()[0]),
        (
            ValueError,
            r"predictor column\(s\) \['g'\] are categorical, but LinearRegression would receive them as",
        ),
    ),
    (
        "pipeline-declared-categorical-int-column",
        ERROR,
        lambda f, r: _declared_categorical(),
        (ValueError, r"column\(s\) \['k'\] are categorical"),
    ),
    (
        "pipeline-sklearn-pipeline-one-hot",
        RESULT,
        lambda f, r: _pipeline_of_sklearn_pipeline(),
        None,
    ),
    ("pipeline-random-forest-not-pooled", RESULT, lambda f, r: _not_pooled_random_forest(), None),
    (
        "pipeline-estimator-fails-on-one-imputation",
        ERROR,
        lambda f, r: _failing("raise"),
        (
            np.linalg.LinAlgError,
            "FailOnSecondFit on imputed data set 2 of 3 failed: singular matrix",
        ),
    ),
    (
        "pipeline-nan-estimates-one-imputation",
        ERROR,
        lambda f, r: _failing("nan"),
        (ValueError, r"estimates of imputation\(s\) 2 are not finite"),
    ),
    (
        "pipeline-logit-categorical-outcome",
        RESULT,
        lambda f, r: _pipeline_logit_categorical_outcome(),
        None,
    ),
    # ------------------------------------------------------------- StatsmodelsModel outcomes
    ("logit-outcome-categorical", RESULT, lambda f, r: _logit_on("categorical"), None),
    ("logit-outcome-object", RESULT, lambda f, r: _logit_on("object"), None),
    ("logit-outcome-string", RESULT, lambda f, r: _logit_on("str"), None),
    ("logit-outcome-bool", RESULT, lambda f, r: _logit_on("bool"), None),
    (
        "logit-outcome-three-categories",
        ERROR,
        lambda f, r: StatsmodelsModel("y ~ x", "logit").fit(
            pd.DataFrame({"x": np.arange(6.0)}), pd.Series(list("abcabc"), name="y")
        ),
        (ValueError, "outcome 'y' of a binary model must have exactly two categories; it has 3"),
    ),
    (
        "ols-outcome-categorical",
        ERROR,
        lambda f, r: StatsmodelsModel("y ~ x").fit(
            pd.DataFrame({"x": np.arange(6.0)}),
            pd.Series(pd.Categorical([1, 2, 3, 1, 2, 3]), name="y"),
        ),
        (ValueError, "outcome 'y' is categorical or text .* needs a numeric outcome"),
    ),
    ("mixedlm-group-name-passed-explicitly", RESULT, lambda f, r: _mixedlm_group_name(r), None),
]


def _assert_estimates_only(res):
    text = res.summary()
    assert res.std_error is None and "hypothesis" not in text.lower()
    assert "no covariances were given" in text


@pytest.mark.parametrize("case", CATALOGUE, ids=[row[0] for row in CATALOGUE])
def test_catalogue(case, frames, ratings):
    _, kind, what, expected = case
    if kind == ERROR:
        exc, pattern = expected
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(exc, match=pattern):
                what(frames, ratings)
    elif kind == WARNING:
        category, pattern = expected
        with pytest.warns(category, match=pattern):
            what(frames, ratings)
    else:
        what(frames, ratings)


def test_catalogue_is_in_the_docs():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "doc" / "pooling.rst").read_text()
    missing = [row[0] for row in CATALOGUE if f"``{row[0]}``" not in doc]
    assert not missing, f"catalogue rows without a row in doc/pooling.rst: {missing}"


def test_pooling_exports_what_a_user_calls():
    assert sorted(skjomo.pooling.__all__) == sorted(
        [
            "pool_estimates",
            "compare_models",
            "pool_constraints",
            "pool_wald",
            "pool_chi2",
            "pool_lrt",
            "pool_stacked_lrt",
            "read_fit",
            "PooledEstimates",
            "MultiParameterTest",
            "ConstraintTest",
            "FitSummary",
        ]
    )
    public = {n for n in dir(skjomo.pooling) if not n.startswith("_")}
    assert public == set(skjomo.pooling.__all__)
