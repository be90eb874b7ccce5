"""MultipleImputationPipeline and StatsmodelsModel."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import RandomForestRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils import check_random_state

import skjomo
from skjomo import MultipleImputationPipeline, StatsmodelsModel
from skjomo.pooling import compare_models, pool_estimates


class StochasticRegressionImputer(BaseEstimator):
    """Test-only imputer honouring the skjomo imputer contract.

    Chained stochastic regression: numeric columns are regressed (ridge
    penalty ``prior_df``) on all other columns and drawn with normal noise;
    categorical columns are drawn from their observed frequencies.
    """

    def __init__(
        self,
        n_burn=3,
        n_between=1,
        prior_df=None,
        prior_scale=None,
        n_imputations=5,
        random_state=None,
    ):
        self.n_burn = n_burn
        self.n_between = n_between
        self.prior_df = prior_df
        self.prior_scale = prior_scale
        self.n_imputations = n_imputations
        self.random_state = random_state

    def fit(self, X, y=None):
        self.columns_ = list(X.columns)
        self.train_ = X.copy()
        self.random_seed_ = int(check_random_state(self.random_state).randint(2**31 - 1))
        return self

    def _design(self, frame, exclude):
        parts = []
        for c in frame.columns:
            if c == exclude:
                continue
            col = frame[c]
            if isinstance(col.dtype, pd.CategoricalDtype):
                parts.append(
                    pd.get_dummies(col, prefix=str(c), drop_first=True, dtype=float).to_numpy()
                )
            else:
                parts.append(col.to_numpy(dtype=float)[:, None])
        parts.append(np.ones((len(frame), 1)))
        return np.hstack(parts)

    def _impute(self, frame, rng):
        out = frame.copy()
        miss = frame.isna()
        for c in frame.columns:
            col = frame[c]
            if not miss[c].any():
                continue
            if isinstance(col.dtype, pd.CategoricalDtype):
                freq = (
                    col.value_counts(normalize=True)
                    .reindex(col.cat.categories)
                    .fillna(0)
                    .to_numpy()
                )
                draws = rng.choice(len(freq), size=int(miss[c].sum()), p=freq)
                out.loc[miss[c], c] = col.cat.categories[draws]
            else:
                out.loc[miss[c], c] = col.mean()
        penalty = 1e-8 if self.prior_df is None else float(self.prior_df)
        for _ in range(self.n_burn + self.n_between):
            for c in frame.columns:
                if not miss[c].any() or isinstance(frame[c].dtype, pd.CategoricalDtype):
                    continue
                D = self._design(out, c)
                obs = ~miss[c].to_numpy()
                yv = out[c].to_numpy(dtype=float)
                A = D[obs].T @ D[obs] + penalty * np.eye(D.shape[1])
                beta = np.linalg.solve(A, D[obs].T @ yv[obs])
                resid = yv[obs] - D[obs] @ beta
                sigma = np.sqrt(resid @ resid / max(obs.sum() - D.shape[1], 1))
                out.loc[~obs, c] = D[~obs] @ beta + sigma * rng.standard_normal((~obs).sum())
        return out

    def sample(self, n_imputations=None, X=None):
        m = self.n_imputations if n_imputations is None else n_imputations
        rng = np.random.default_rng(self.random_seed_)
        if X is None:
            return [self._impute(self.train_, rng) for _ in range(m)]
        return [self.transform(X, _rng=rng) for _ in range(m)]

    def transform(self, X, _rng=None):
        rng = np.random.default_rng(self.random_seed_ + 1) if _rng is None else _rng
        both = pd.concat([self.train_, X[self.columns_]], ignore_index=True)
        for c in self.columns_:
            if isinstance(self.train_[c].dtype, pd.CategoricalDtype):
                both[c] = pd.Categorical(both[c], dtype=self.train_[c].dtype)
        done = self._impute(both, rng).iloc[len(self.train_) :]
        done.index = X.index
        return done


class TransformOnlyImputer(StochasticRegressionImputer):
    """Its ``sample`` takes no new rows, so prediction uses ``transform``."""

    def sample(self, n_imputations=None):
        return super().sample(n_imputations)


def make_data(n=120, seed=0, classification=False):
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = 0.5 * x1 + rng.normal(size=n)
    g = rng.integers(0, 3, n)
    y = 1.0 + 0.8 * x1 - 0.5 * x2 + 0.3 * g + rng.normal(scale=0.7, size=n)
    X = pd.DataFrame({"x1": x1, "x2": x2, "g": pd.Categorical(g, categories=[0, 1, 2])})
    if classification:
        y = pd.Series(np.where(y > 1.0, "high", "low"), name="y")
        y = pd.Series(pd.Categorical(y, categories=["high", "low"]), name="y")
    else:
        y = pd.Series(y, name="y")
    X.loc[rng.random(n) < 0.15, "x1"] = np.nan
    X.loc[rng.random(n) < 0.1, "x2"] = np.nan
    y[rng.random(n) < 0.15] = np.nan
    return X, y


def numeric(X):
    return X[["x1", "x2"]]


# ------------------------------------------------------------------ basics


def test_fit_pools_and_imputes_outcome():
    X, y = make_data()
    pipe = MultipleImputationPipeline(
        StochasticRegressionImputer(),
        LinearRegression(),
        n_imputations=4,
        keep_imputations=True,
        random_state=1,
    )
    est = FunctionTransformer(numeric)
    pipe.set_params(estimator=Pipeline([("num", est), ("lr", LinearRegression())]))
    # a sklearn Pipeline is pooled through its final step, named by the features that step saw
    pipe.fit(X, y)
    direct = [LinearRegression().fit(numeric(d), d["y"]) for d in pipe.imputations_]
    assert pipe.pooled_.names == ["Intercept", "x1", "x2"]
    pd.testing.assert_series_equal(pipe.pooled_.estimate, pool_estimates(direct).estimate)
    assert pipe.pooled_.std_error is None and "Unadjusted" not in pipe.summary()
    pipe = MultipleImputationPipeline(
        StochasticRegressionImputer(),
        StatsmodelsModel("y ~ x1 + x2 + g"),
        n_imputations=4,
        keep_imputations=True,
        random_state=1,
    ).fit(X, y)
    assert len(pipe.estimators_) == 4 and pipe.target_name_ == "y"
    # rows with missing y are imputed, not dropped
    for d, e in zip(pipe.imputations_, pipe.estimators_):
        assert d["y"].notna().all() and len(d) == len(X)
        assert e.results_.nobs == len(X)
    assert pipe.pooled_.names == ["Intercept", "g[T.1]", "g[T.2]", "x1", "x2"]
    manual = pool_estimates([e.results_ for e in pipe.estimators_], extra_params=True)
    pd.testing.assert_frame_equal(pipe.pooled_.to_frame(), manual.to_frame())
    assert "Residual~~Residual" in pipe.pooled_.extra.index
    assert "Final parameter estimates" in pipe.summary()
    # D1 on the stored fits
    null = [
        StatsmodelsModel("y ~ x1 + x2").fit(d[["x1", "x2", "g"]], d["y"]).results_
        for d in pipe.imputations_
    ]
    assert compare_models([e.results_ for e in pipe.estimators_], null).df1 == 2
    # Barnard-Rubin df from the models
    res = pipe.pool(df_com="model")
    assert np.all(res.df < len(X))


@pytest.mark.filterwarnings("ignore:the fits are penalised")  # Ridge: see test_catalogue_analysis
def test_same_results_for_any_n_jobs_and_reproducible():
    X, y = make_data()
    kw = dict(n_imputations=3, random_state=7)
    a = MultipleImputationPipeline(
        StochasticRegressionImputer(), Ridge(alpha=0.1), n_jobs=1, **kw
    ).fit(numeric(X), y)
    b = MultipleImputationPipeline(
        StochasticRegressionImputer(), Ridge(alpha=0.1), n_jobs=2, **kw
    ).fit(numeric(X), y)
    c = MultipleImputationPipeline(
        StochasticRegressionImputer(), Ridge(alpha=0.1), n_jobs=1, **kw
    ).fit(numeric(X), y)
    pd.testing.assert_series_equal(a.pooled_.estimate, b.pooled_.estimate)
    pd.testing.assert_series_equal(a.pooled_.estimate, c.pooled_.estimate)
    assert a.pooled_.std_error is None  # Ridge: point estimates only
    d = MultipleImputationPipeline(
        StochasticRegressionImputer(), Ridge(alpha=0.1), n_imputations=3, random_state=8
    ).fit(numeric(X), y)
    assert not np.allclose(a.pooled_.estimate, d.pooled_.estimate)
    # estimator seeds differ across imputations
    rf = MultipleImputationPipeline(
        StochasticRegressionImputer(),
        RandomForestRegressor(n_estimators=5),
        n_imputations=3,
        random_state=0,
    ).fit(numeric(X), y)
    seeds = {e.random_state for e in rf.estimators_}
    assert len(seeds) == 3 and rf.pooled_ is None
    assert rf.predict(numeric(X)).shape == (len(X),)


def test_predict_and_score_regression():
    X, y = make_data()
    Xn, yn = make_data(n=40, seed=3)
    pipe = MultipleImputationPipeline(
        StochasticRegressionImputer(), LinearRegression(), n_imputations=3, random_state=0
    ).fit(numeric(X), y)
    pred = pipe.predict(numeric(Xn))
    assert pred.shape == (40,) and np.all(np.isfinite(pred))
    # complete rows are not imputed: the mean of the m predictions
    complete = numeric(Xn).dropna()
    expected = np.mean([e.predict(complete) for e in pipe.estimators_], axis=0)
    np.testing.assert_allclose(pipe.predict(complete), expected)
    score = pipe.score(numeric(Xn), yn)
    assert -1 < score <= 1
    # an imputer whose sample() takes no new rows: transform is used
    pipe2 = MultipleImputationPipeline(
        TransformOnlyImputer(), LinearRegression(), n_imputations=3, random_state=0
    ).fit(numeric(X), y)
    assert np.all(np.isfinite(pipe2.predict(numeric(Xn))))
    # arrays are accepted
    pipe3 = MultipleImputationPipeline(
        StochasticRegressionImputer(), LinearRegression(), n_imputations=2, random_state=0
    ).fit(numeric(X).to_numpy(), y.to_numpy())
    assert pipe3.pooled_.names == ["Intercept", "x0", "x1"] and pipe3.target_name_ == "target"
    assert pipe3.predict(numeric(Xn).to_numpy()).shape == (40,)


@pytest.mark.filterwarnings("ignore:the fits are penalised")
def test_classification():
    X, y = make_data(classification=True)
    Xn, yn = make_data(n=50, seed=5, classification=True)
    pipe = MultipleImputationPipeline(
        StochasticRegressionImputer(), LogisticRegression(), n_imputations=3, random_state=0
    ).fit(numeric(X), y)
    assert list(pipe.classes_) == ["high", "low"]
    proba = pipe.predict_proba(numeric(Xn))
    assert proba.shape == (50, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    pred = pipe.predict(numeric(Xn))
    assert set(pred) <= {"high", "low"}
    assert 0 <= pipe.score(numeric(Xn), yn) <= 1
    assert pipe.pooled_.names == ["Intercept", "x1", "x2"]
    # integer labels come back as integers
    yi = y.cat.codes.astype(float).where(y.notna())
    pipe = MultipleImputationPipeline(
        StochasticRegressionImputer(), LogisticRegression(), n_imputations=2, random_state=0
    ).fit(numeric(X), yi)
    assert set(pipe.predict(numeric(Xn))) <= {0.0, 1.0}


def test_errors():
    X, y = make_data()
    with pytest.raises(ValueError, match="at least 2"):
        MultipleImputationPipeline(
            StochasticRegressionImputer(), LinearRegression(), n_imputations=1
        ).fit(X, y)
    with pytest.raises(ValueError, match="also a column"):
        MultipleImputationPipeline(StochasticRegressionImputer(), LinearRegression()).fit(
            X, X["x1"].rename("x1")
        )
    with pytest.raises(ValueError, match="needs the outcome"):
        MultipleImputationPipeline(StochasticRegressionImputer(), LinearRegression()).fit(X, None)
    pipe = MultipleImputationPipeline(
        StochasticRegressionImputer(), LinearRegression(), n_imputations=2
    )
    assert not hasattr(pipe, "predict_proba")
    with pytest.raises(AttributeError, match="predict_proba") as info:
        pipe.predict_proba(X)
    assert "LinearRegression has no method" in str(info.value.__cause__)
    pipe.fit(numeric(X), y)
    with pytest.raises(ValueError, match="lacks the columns"):
        pipe.predict(X[["x1"]])


def test_clone_and_params():
    pipe = MultipleImputationPipeline(
        StochasticRegressionImputer(prior_df=1.0), Ridge(), n_imputations=3
    )
    params = pipe.get_params()
    assert params["imputer__prior_df"] == 1.0 and params["estimator__alpha"] == 1.0
    c = clone(pipe)
    assert c.imputer is not pipe.imputer and c.get_params()["imputer__prior_df"] == 1.0
    c.set_params(imputer__n_burn=2, estimator__alpha=3.0)
    assert c.imputer.n_burn == 2 and c.estimator.alpha == 3.0


# ------------------------------------------------------------------ model selection


@pytest.mark.filterwarnings("ignore:the fits are penalised")
def test_grid_search_over_imputer_and_estimator():
    X, y = make_data(n=90)
    pipe = MultipleImputationPipeline(
        StochasticRegressionImputer(), Ridge(), n_imputations=2, random_state=0
    )
    grid = GridSearchCV(
        pipe,
        {
            "imputer__prior_df": [None, 5.0],
            "imputer__n_burn": [1, 2],
            "estimator__alpha": [0.1, 10.0],
        },
        cv=KFold(3),
    )
    grid.fit(numeric(X), y)
    assert set(grid.best_params_) == {"imputer__prior_df", "imputer__n_burn", "estimator__alpha"}
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    assert grid.predict(numeric(X)).shape == (len(X),)


@pytest.mark.filterwarnings("ignore:the fits are penalised")
def test_grid_search_classifier_uses_stratified_folds():
    from sklearn.base import is_classifier

    X, y = make_data(n=90, classification=True)
    keep = y.notna()
    pipe = MultipleImputationPipeline(
        StochasticRegressionImputer(), LogisticRegression(), n_imputations=2, random_state=0
    )
    assert is_classifier(pipe)
    grid = GridSearchCV(pipe, {"estimator__C": [0.1, 1.0]}, cv=3).fit(numeric(X)[keep], y[keep])
    assert 0 <= grid.best_score_ <= 1


def test_inside_sklearn_pipeline():
    X, y = make_data()
    outer = Pipeline(
        [
            ("select", FunctionTransformer(numeric)),
            (
                "mi",
                MultipleImputationPipeline(
                    StochasticRegressionImputer(),
                    LinearRegression(),
                    n_imputations=2,
                    random_state=0,
                ),
            ),
        ]
    )
    outer.fit(X, y)
    assert outer.named_steps["mi"].pooled_.names == ["Intercept", "x1", "x2"]
    assert np.isfinite(outer.score(X, y))
    grid = GridSearchCV(outer, {"mi__imputer__n_burn": [1, 2]}, cv=KFold(2)).fit(X, y)
    assert grid.best_params_["mi__imputer__n_burn"] in (1, 2)


# ------------------------------------------------------------------ statsmodels models


def multilevel_data(n_groups=12, size=10, seed=0):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), size)
    x = rng.normal(size=g.size)
    y = 2 + 0.7 * x + rng.normal(scale=0.8, size=n_groups)[g] + rng.normal(size=g.size)
    X = pd.DataFrame({"school": g, "x": x})
    y = pd.Series(y, name="score")
    X.loc[rng.random(g.size) < 0.15, "x"] = np.nan
    y[rng.random(g.size) < 0.15] = np.nan
    return X, y


def test_statsmodels_mixedlm_in_pipeline():
    X, y = multilevel_data()
    model = StatsmodelsModel(
        "score ~ x", "mixedlm", groups="school", fit_kwargs={"method": ["powell"]}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = MultipleImputationPipeline(
            StochasticRegressionImputer(), model, n_imputations=3, random_state=0
        ).fit(X, y)
    res = pipe.pooled_
    assert res.names == ["Intercept", "x"]
    assert list(res.extra.index) == [
        "Intercept~~Intercept|school",
        "Residual~~Residual",
        "ICC|school",
    ]
    assert 0 < res.extra["ICC|school"] < 1
    assert pipe.predict(X).shape == (len(X),)
    # a null model on the same imputations: compare the two pipelines
    null = StatsmodelsModel(
        "score ~ 1", "mixedlm", groups="school", fit_kwargs={"method": ["powell"]}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe0 = MultipleImputationPipeline(
            StochasticRegressionImputer(), null, n_imputations=3, random_state=0
        ).fit(X, y)
        d1 = compare_models(pipe, pipe0)
        d3 = compare_models(pipe, pipe0, method="D3")
        d4 = compare_models(pipe, pipe0, method="D4")
    assert d1.parameters == ["x"] and d3.reml == "refit" and d3.df1 == 1
    assert np.isfinite(d4.F) and d4.F > 10  # a strong effect
    pd.testing.assert_frame_equal(pool_estimates(pipe).to_frame(), pipe.pooled_.to_frame())


def test_statsmodels_model_variants():
    X, y = make_data()
    Xc, yc = X.dropna(), y[X.notna().all(axis=1)].fillna(0.0)
    ols = StatsmodelsModel("y ~ x1 + x2").fit(Xc, yc)
    assert ols.outcome_ == "y"
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    glm = StatsmodelsModel("y ~ x1 + x2", sm.GLM, family=sm.families.Gaussian()).fit(Xc, yc)
    np.testing.assert_allclose(glm.results_.params, ols.results_.params)
    fn = StatsmodelsModel("y ~ x1 + x2", smf.ols).fit(Xc, yc)
    np.testing.assert_allclose(fn.predict(Xc), ols.predict(Xc))
    clone(glm)
    with pytest.raises(ValueError, match="must be one of"):
        StatsmodelsModel("y ~ x1", "nonsense").fit(Xc, yc)


# ------------------------------------------------------------------ real imputers, when they exist


JointModelImputer = getattr(skjomo, "JointModelImputer", None)


@pytest.mark.skipif(JointModelImputer is None, reason="JointModelImputer has not landed")
def test_joint_model_imputer_pipeline_and_grid_search():
    from skjomo.datasets import load_jspmiss

    data = load_jspmiss().iloc[:300]
    X, y = data[["ravens", "sex", "fluent"]], data["english"]
    imputer = JointModelImputer(covariate_cols=["sex"], n_burn=50, n_between=5)
    pipe = MultipleImputationPipeline(
        imputer,
        StatsmodelsModel("english ~ ravens + sex + fluent"),
        n_imputations=3,
        random_state=0,
    ).fit(X, y)
    assert pipe.pooled_.names[0] == "Intercept" and np.all(np.isfinite(pipe.pooled_.std_error))
    assert pipe.predict(X).shape == (len(X),)
    grid = GridSearchCV(
        MultipleImputationPipeline(imputer, LinearRegression(), n_imputations=2, random_state=0),
        {"imputer__prior_df": [None, 10.0], "imputer__n_burn": [20, 40]},
        cv=KFold(2),
    ).fit(data[["ravens", "sex"]], y)
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))


@pytest.mark.slow
def test_jsp_example_runs():
    import runpy
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / "pooling_jsp_multilevel.py"
    pipe = runpy.run_path(str(path))["main"](quick=True)
    assert list(pipe.pooled_.extra.index) == [
        "Intercept~~Intercept|school",
        "Residual~~Residual",
        "ICC|school",
    ]


MultilevelJointImputer = getattr(skjomo, "MultilevelJointImputer", None)


@pytest.mark.skipif(MultilevelJointImputer is None, reason="MultilevelJointImputer has not landed")
def test_multilevel_imputer_with_mixedlm():
    from skjomo.datasets import load_jspmiss

    data = load_jspmiss()
    data = data[data["school"].isin(sorted(data["school"].unique())[:15])]
    X, y = data[["school", "sex", "fluent", "ravens"]], data["english"]
    imputer = MultilevelJointImputer(
        cluster_col="school", covariate_cols=["sex"], n_burn=50, n_between=5
    )
    model = StatsmodelsModel(
        "english ~ ravens + sex + fluent",
        "mixedlm",
        groups="school",
        fit_kwargs={"method": ["powell", "lbfgs"]},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = MultipleImputationPipeline(imputer, model, n_imputations=3, random_state=0).fit(X, y)
    assert list(pipe.pooled_.extra.index) == [
        "Intercept~~Intercept|school",
        "Residual~~Residual",
        "ICC|school",
    ]
    assert np.all(np.isfinite(pipe.pooled_.std_error))


# ------------------------------------------------------------------ mixed models that converge (mitml vignette)


def studentratings_pipeline(fit_kwargs, m, n_burn=300, n_between=20, seed=123):
    from skjomo.datasets import load_studentratings

    data = load_studentratings()
    imputer = MultilevelJointImputer(
        cluster_col="ID",
        outcome_cols=["ReadDis", "SES"],
        covariate_cols=["ReadAchiev"],
        n_burn=n_burn,
        n_between=n_between,
    )
    model = StatsmodelsModel("ReadAchiev ~ ReadDis", "mixedlm", groups="ID", fit_kwargs=fit_kwargs)
    # the vignette's imputation model: ReadDis + SES ~ ReadAchiev + (1|ID); ReadAchiev is complete
    pipe = MultipleImputationPipeline(
        imputer, model, n_imputations=m, random_state=seed, keep_imputations=True
    )
    return pipe.fit(data[["ID", "ReadDis", "SES"]], data["ReadAchiev"])


@pytest.mark.skipif(MultilevelJointImputer is None, reason="MultilevelJointImputer has not landed")
def test_studentratings_fits_that_do_not_converge_are_named():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        good = studentratings_pipeline({"method": ["powell", "lbfgs"]}, m=3)
    assert good.pooled_.not_converged == [] and 0.05 < good.pooled_.extra["ICC|ID"] < 0.2
    from statsmodels.tools.sm_exceptions import ConvergenceWarning as StatsmodelsConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore", StatsmodelsConvergenceWarning
        )  # statsmodels' own, not skjomo's
        with pytest.warns(
            ConvergenceWarning, match=r"imputation\(s\) \[1, 2, 3\] of 3 did not converge"
        ):
            bad = studentratings_pipeline({"method": "nm", "maxiter": 3}, m=3)
    assert bad.pooled_.not_converged == [1, 2, 3] and "did not converge" in bad.summary()


@pytest.mark.slow
@pytest.mark.rjomo
@pytest.mark.skipif(MultilevelJointImputer is None, reason="MultilevelJointImputer has not landed")
def test_studentratings_converged_fits_match_lme4(tmp_path):
    """The vignette's random-intercept model on 100 imputations: statsmodels against lme4.

    statsmodels' default MixedLM fit stops short of the maximum on some
    imputations (and says it converged); skjomo names them. With
    method=["powell", "lbfgs"] every fit converges and the pooled variance
    components agree with lme4 on the same imputations.
    """
    import subprocess

    from skjomo.pooling._convergence import fit_problem

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = studentratings_pipeline(
            {"method": ["powell", "lbfgs"]}, m=100, n_burn=5000, n_between=100
        )
    for i, d in enumerate(pipe.imputations_):
        d.to_csv(tmp_path / f"imp{i}.csv", index=False, float_format="%.17g")
    script = tmp_path / "lme4.R"
    script.write_text(
        "suppressMessages(library(lme4))\n"
        f"res <- t(sapply(0:99, function(i) {{ d <- read.csv(sprintf('{tmp_path}/imp%d.csv', i)); "
        "f <- lmer(ReadAchiev ~ ReadDis + (1|ID), data = d); vc <- as.data.frame(VarCorr(f))$vcov; "
        "c(fixef(f), vc[1], vc[2]) }))\n"
        f"write.csv(res, '{tmp_path}/lme4.csv', row.names = FALSE)\n"
    )
    subprocess.run(["Rscript", str(script)], check=True, capture_output=True)
    lme4 = pd.read_csv(tmp_path / "lme4.csv").to_numpy()
    tau, sigma2 = lme4[:, 2], lme4[:, 3]
    assert pipe.pooled_.not_converged == []
    extra = pipe.pooled_.extra
    np.testing.assert_allclose(extra["Intercept~~Intercept|ID"], tau.mean(), rtol=1e-3)
    np.testing.assert_allclose(extra["ICC|ID"], np.mean(tau / (tau + sigma2)), rtol=1e-3)
    np.testing.assert_allclose(pipe.pooled_.estimate, lme4[:, :2].mean(axis=0), rtol=1e-4)
    # statsmodels' default optimiser on the same imputations: the flagged fits are the ones that miss
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        default = [smf_mixedlm(d) for d in pipe.imputations_]
    flagged = np.array([fit_problem(f) is not None for f in default])
    tau_default = np.array([float(f.cov_re.iloc[0, 0]) for f in default])
    assert flagged.any()
    assert np.max(np.abs(tau_default[~flagged] - tau[~flagged]) / tau[~flagged]) < 0.01
    assert np.max(np.abs(tau_default[flagged] - tau[flagged]) / tau[flagged]) > 0.01


def smf_mixedlm(data):
    import statsmodels.formula.api as smf

    return smf.mixedlm("ReadAchiev ~ ReadDis", data, groups="ID").fit()
