"""
The jomo article's workflow with a formula and an imputation list
=================================================================

The jomo article imputes JSPmiss (1119 pupils in 47 schools) under the
two-level model ``english + ravens + fluent ~ sex + (1 | school)`` and
analyses the completed data with a random-intercept model. In skjomo the
model is the same formula (doc/formula.rst); ``sample()`` returns an
:class:`~skjomo.ImputationList` that fits the analysis on every data set,
pools it, compares nested models and exports the long format.

Short chains keep this page fast; for a real analysis use ``n_burn=2000``,
``n_between=500`` and ``n_imputations=100`` (the settings of the article's
replay in the tutorials), and check convergence with ``summary()``.
"""

# %%
# Impute: the formula states every role
# -------------------------------------
import warnings

import statsmodels.formula.api as smf

from skjomo import MultilevelJointImputer
from skjomo.datasets import load_jspmiss

data = load_jspmiss()
imputer = MultilevelJointImputer(
    formula="english + ravens + fluent ~ sex + (1 | school)",
    n_burn=300,
    n_between=30,
    n_imputations=5,
    random_state=1,
)
implist = imputer.fit(data).sample()

# %%
# ``summary()`` states the roles it found, the columns left out, and the
# convergence diagnostics (short chains here, hence the warning is silenced):
print(imputer.summary(warn=False))

# %%
# The long format: the original data are imputation 0
long = implist.complete("long")
print(long.groupby("imputation")[["english", "ravens"]].mean().round(2))
print("imputed cells:", int(implist.imputed_mask.to_numpy().sum()))

# %%
# Analyse and pool
# ----------------
# mitml's ``with`` is ``fit``; ``pool`` applies Rubin's rules and averages
# the variance components. Powell's optimiser reaches lme4's REML optimum.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # MixedLM optimiser chatter
    full = implist.fit(
        "english ~ ravens + sex + C(fluent)",
        model=smf.mixedlm,
        groups="school",
        fit_kwargs={"reml": False, "method": "powell"},
    )
    small = implist.fit(
        "english ~ ravens + sex",
        model=smf.mixedlm,
        groups="school",
        fit_kwargs={"reml": False, "method": "powell"},
    )
print(full.pool(extra_params=True))

# %%
# Does fluency add to the model? A pooled Wald test (D1) of the nested models,
# and the explained variance (mitml's ``multilevelR2``):
print(full.anova(small))
print(full.multilevel_r2().round(3))

# %%
# Export: ``implist.to_csv("imputed.csv")`` writes the long format;
# ``implist.to_files("imputed_{}.dta")`` one Stata file per imputation.
