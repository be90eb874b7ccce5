"""
Multilevel analysis of JSPmiss pooled over imputations (jomo article replay)
============================================================================

The jomo article (Quartagno, Grund & Carpenter, R Journal 2019) imputes the
partially observed Junior School Project data (JSPmiss: english, ravens and
fluent missing) with a two-level joint model, fits the random-intercept model
``english ~ ravens + sex + fluent + (1 | school)`` with lme4 on each of 5
imputed data sets and pools the results with mitml's ``testEstimates``.

Here the same analysis runs in one call: :class:`MultipleImputationPipeline`
imputes the data (with the outcome in the imputation model), fits a
statsmodels MixedLM with the school as groups on each completed data set and
pools fixed effects by Rubin's rules and the variance components and ICC by
averaging, as mitml does.

The imputer is :class:`skjomo.MultilevelJointImputer` (random school
intercepts for english, ravens and fluent, sex as covariate). While that
class is not available, the example falls back on the single-level
:class:`skjomo.JointModelImputer` with school dummies as covariates (a
fixed-effects approximation of the two-level imputation model).

Run: ``python examples/pooling_jsp_multilevel.py [--quick]``.
"""

import sys
import warnings
from pathlib import Path

import pandas as pd

import skjomo
from skjomo import MultipleImputationPipeline, StatsmodelsModel
from skjomo.datasets import load_jspmiss

# Table of the article (mitml section; the same fits as its MIcombine output):
# lme4 on 5 data sets imputed by jomoImpute(english + ravens + fluent ~ sex + (1|school),
# n.burn = 1000, n.iter = 1000, m = 5, seed = 1569).
ARTICLE = pd.DataFrame(
    {
        "Estimate": [-16.133, 1.623, 6.837, 5.001, 14.345],
        "Std.Error": [3.737, 0.120, 1.145, 4.241, 3.139],
        "t.value": [-4.317, 13.552, 5.970, 1.179, 4.570],
        "df": [139.189, 21.626, 142.006, 94.051, 56.201],
        "P(>|t|)": [0.000, 0.000, 0.000, 0.241, 0.000],
        "RIV": [0.204, 0.755, 0.202, 0.260, 0.364],
        "FMI": [0.181, 0.476, 0.179, 0.223, 0.292],
    },
    index=["Intercept", "ravens", "sex", "fluent[T.1]", "fluent[T.2]"],
)
ARTICLE_EXTRA = pd.Series(
    {"Intercept~~Intercept|school": 32.231, "Residual~~Residual": 291.538, "ICC|school": 0.099},
    name="Estimate",
)


# A second mitml run for scale (tests/r/mitml_fixtures.R: jomoImpute with
# n.burn = 500, n.iter = 100, m = 5, seed = 1569; lme4; testEstimates): two
# mitml runs differ by Monte Carlo error of the same size as skjomo's.
FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "mitml" / "results.csv"


def mitml_rerun():
    if not FIXTURE.exists():
        return None
    raw = pd.read_csv(FIXTURE, keep_default_na=False, dtype={"value": float})
    est = raw[raw["block"] == "jsp_estimates"].pivot(index="row", columns="column", values="value")
    est = est.rename(
        index={"(Intercept)": "Intercept", "fluent1": "fluent[T.1]", "fluent2": "fluent[T.2]"}
    )
    extra = raw[raw["block"] == "jsp_extra"].set_index("row")["value"].rename("Estimate")
    return est.loc[ARTICLE.index, ["Estimate", "Std.Error", "df", "FMI"]], extra


def make_imputer(quick):
    n_burn, n_between = (200, 50) if quick else (1000, 200)
    multilevel = getattr(skjomo, "MultilevelJointImputer", None)
    if multilevel is not None:
        imputer = multilevel(
            cluster_col="school", covariate_cols=["sex"], n_burn=n_burn, n_between=n_between
        )
        return imputer, "MultilevelJointImputer (random school intercepts)"
    imputer = skjomo.JointModelImputer(
        covariate_cols=["sex", "school"],
        categorical_cols=["school"],
        n_burn=n_burn,
        n_between=n_between,
    )
    return imputer, "JointModelImputer with school dummies (fallback)"


def main(quick=False):
    data = load_jspmiss()
    X = data[["school", "sex", "fluent", "ravens"]]
    y = data["english"]
    imputer, label = make_imputer(quick)
    analysis = StatsmodelsModel(
        "english ~ ravens + sex + fluent",
        "mixedlm",
        groups="school",
        fit_kwargs={"method": ["powell", "lbfgs"]},
    )
    pipe = MultipleImputationPipeline(imputer, analysis, n_imputations=5, random_state=1569)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MixedLM convergence chatter
        pipe.fit(X, y)

    print(f"Imputation model: {label}")
    print(
        "Analysis model: english ~ ravens + sex + fluent, random intercept per school (MixedLM, REML)\n"
    )
    print(pipe.pooled_)
    print("\nSide by side with the article (mitml testEstimates on lme4 fits):\n")
    ours = pipe.pooled_.to_frame()
    columns = {"article": ARTICLE[["Estimate", "Std.Error", "df", "FMI"]]}
    rerun = mitml_rerun()
    extras = {"article": ARTICLE_EXTRA}
    if rerun is not None:
        columns["mitml rerun"] = rerun[0]
        extras["mitml rerun"] = rerun[1]
    extras["skjomo"] = pipe.pooled_.extra
    columns["skjomo"] = ours.loc[ARTICLE.index, ["Estimate", "Std.Error", "df", "FMI"]]
    side = pd.concat(columns, axis=1)
    print(side.round(3).to_string())
    extra = pd.concat(extras, axis=1)
    print()
    print(extra.round(3).to_string())
    return pipe


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
