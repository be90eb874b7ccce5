"""
Convergence workflow on JSPmiss: dry run, diagnostics, imputation
=================================================================

The workflow the jomo article recommends, with skjomo:

1. a first run with every draw kept (``keep_chains="all"``) and several
   chains started from dispersed values; ``summary()`` reports Rhat and
   effective sample sizes by parameter group and names the worst parameter;
2. trace and autocorrelation plots;
3. the chains continue from where they stopped (``warm_start=True``) and the
   imputations are analysed and pooled.

The chains here are short so that the page builds in seconds (``n_burn=300``,
``n_between=50``); the article's run uses ``n_burn=1000`` and
``n_between=1000`` (see :doc:`/guidance/burn_in` for choosing them).
"""

# %%
# A dry run with two chains
# -------------------------
import statsmodels.formula.api as smf

from skjomo import MultilevelJointImputer
from skjomo.datasets import load_jspmiss
from skjomo.pooling import pool_estimates

data = load_jspmiss()[["school", "english", "ravens", "fluent", "sex"]]
imputer = MultilevelJointImputer(
    cluster_col="school",
    covariate_cols=["sex"],
    n_burn=300,
    n_between=50,
    n_imputations=10,
    n_chains=2,
    n_jobs=1,
    keep_chains="all",
    random_state=2026,
)
imputer.fit(data)
print(imputer.summary(warn=False))

# %%
# Trace plots, burn-in shaded
# ---------------------------
# One panel per parameter, one line per chain. Chains that overlap after the
# shaded burn-in and show no trend are what we want to see.
figure = imputer.plot_trace(
    [
        "beta[sex, english]",
        "omega[ravens, english]",
        "sigma[english|(Intercept), english|(Intercept)]",
    ],
    phase="all",
)

# %%
# Autocorrelation
# ---------------
# The lag at which the autocorrelation has died out is a lower bound for
# ``n_between``: imputations that far apart are nearly independent.
figure = imputer.plot_autocorrelation(["beta[sex, english]", "omega[ravens, english]"])

# %%
# Continue the chains and analyse
# -------------------------------
# ``warm_start=True`` continues every chain from its last state, so the
# burn-in is not repeated.
imputer.set_params(warm_start=True, n_burn=0, n_imputations=20).fit(data)
fits = [smf.ols("english ~ ravens + sex + C(fluent)", data=d).fit() for d in imputer.sample()]
print(pool_estimates(fits))
