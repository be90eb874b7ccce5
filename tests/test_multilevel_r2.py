"""Explained variance of pooled multilevel fits (mitml's multilevelR2)."""

import subprocess
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from skjomo import ImputationList, MultilevelJointImputer
from skjomo.datasets import load_jspmiss, load_studentratings


@pytest.fixture(scope="module")
def implist():
    imputer = MultilevelJointImputer(
        formula="ReadAchiev + ReadDis + SchClimate ~ 1 + (1|ID)",
        n_burn=300,
        n_between=20,
        n_imputations=3,
        random_state=4,
    )
    return imputer.fit(load_studentratings()).sample()


def _fit(implist, formula, reml, **kwargs):
    # statsmodels' default optimiser can stop short of the REML optimum on
    # these data; Powell's method reaches lme4's
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return implist.fit(
            formula,
            model=smf.mixedlm,
            groups="ID",
            fit_kwargs={"reml": reml, "method": "powell"},
            **kwargs,
        )


def test_measures_by_hand(implist):
    fits = _fit(implist, "ReadAchiev ~ ReadDis + SchClimate", reml=True)
    r2 = fits.multilevel_r2()
    assert r2.index.tolist() == ["RB1", "RB2", "SB", "MVP"]
    values = []
    for fit, data in zip(fits, implist):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            null = smf.mixedlm("ReadAchiev ~ 1", data, groups="ID").fit(reml=True, method="powell")
        s2, t00 = fit.scale, float(np.asarray(fit.cov_re)[0, 0])
        s2_0, t00_0 = null.scale, float(np.asarray(null.cov_re)[0, 0])
        fixed = np.var(
            data[["ReadDis", "SchClimate"]].to_numpy()
            @ fit.fe_params[["ReadDis", "SchClimate"]].to_numpy(),
            ddof=1,
        )
        values.append(
            [
                1 - s2 / s2_0,
                1 - t00 / t00_0,
                1 - (s2 + t00) / (s2_0 + t00_0),
                fixed / (fixed + t00 + s2),
            ]
        )
    np.testing.assert_allclose(r2.to_numpy(), np.mean(values, axis=0), rtol=1e-6)
    assert fits.multilevel_r2(["MVP", "rb1"]).index.tolist() == ["MVP", "RB1"]


def test_random_slope_total_variance():
    """With random slopes the total variance adds the slopes' contribution:
    the mean over rows of z' T z (plus the n/(n-1) correction of S)."""
    data = load_jspmiss().dropna(subset=["english", "ravens"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = ImputationList([data]).fit(
            "english ~ ravens + sex",
            model=smf.mixedlm,
            groups="school",
            re_formula="~ravens",
            fit_kwargs={"reml": False, "method": "powell"},
        )
    fit = fits[0]
    T = np.asarray(fit.cov_re)
    z = np.column_stack([np.ones(len(data)), data["ravens"].to_numpy()])
    fixed = np.var(
        z[:, 1:] @ fit.fe_params[["ravens"]].to_numpy()
        + data["sex"].to_numpy() * fit.fe_params["sex"],
        ddof=1,
    )
    total = (
        fixed
        + np.mean(np.einsum("ij,jk,ik->i", z, T, z))
        + T[1, 1] * np.var(data["ravens"], ddof=1) / len(data)
        + fit.scale
    )
    assert fits.multilevel_r2(["MVP"])["MVP"] == pytest.approx(fixed / total, rel=1e-10)


def test_refuses_other_models(implist):
    fits = implist.fit("ReadAchiev ~ ReadDis")
    with pytest.raises(TypeError, match="MixedLM"):
        fits.multilevel_r2()
    with pytest.raises(ValueError, match="Unknown measures"):
        _fit(implist, "ReadAchiev ~ ReadDis", reml=True).multilevel_r2(["R2"])


@pytest.mark.rjomo
def test_matches_mitml(implist, tmp_path):
    """Random-intercept models, REML and ML, against mitml::multilevelR2 on
    lme4 fits of the same imputed data sets."""
    path = tmp_path / "long.csv"
    implist.to_csv(path, include_original=False, index=False)
    script = f"""
    suppressMessages({{library(mitml); library(lme4)}})
    d <- read.csv("{path}")
    implist <- as.mitml.list(split(d[, names(d) != "imputation"], d$imputation))
    a <- with(implist, lmer(ReadAchiev ~ ReadDis + SchClimate + (1|ID), REML = TRUE))
    b <- with(implist, lmer(ReadAchiev ~ ReadDis + (1|ID), REML = FALSE))
    write.csv(rbind(multilevelR2(a), multilevelR2(b)), "{tmp_path / "r2.csv"}")
    """
    subprocess.run(["Rscript", "-e", script], check=True, capture_output=True)
    reference = pd.read_csv(tmp_path / "r2.csv", index_col=0).to_numpy()
    ours = np.array(
        [
            _fit(implist, "ReadAchiev ~ ReadDis + SchClimate", reml=True).multilevel_r2(),
            _fit(implist, "ReadAchiev ~ ReadDis", reml=False).multilevel_r2(),
        ]
    )
    np.testing.assert_allclose(ours, reference, rtol=2e-3, atol=1e-5)
