"""The jomo article's workflow on JSPmiss, with skjomo.

1. A first run with every draw kept (``keep_chains="all"``) and several
   chains from dispersed starting values; ``summary()`` reports Rhat and
   effective sample sizes by parameter group and names the worst parameter.
2. Trace and autocorrelation plots (written to ``doc/_static``).
3. The chains continue (``warm_start=True``) and the imputations are
   analysed and pooled.

Run: ``python examples/jsp_convergence_workflow.py`` (needs matplotlib).
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import statsmodels.formula.api as smf  # noqa: E402

from skjomo import MultilevelJointImputer  # noqa: E402
from skjomo.datasets import load_jspmiss  # noqa: E402
from skjomo.pooling import pool_estimates  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "doc" / "_static"


def main():
    data = load_jspmiss()[["school", "english", "ravens", "fluent", "sex"]]
    imputer = MultilevelJointImputer(cluster_col="school", covariate_cols=["sex"],
                                     n_burn=1000, n_between=200, n_imputations=10,
                                     n_chains=2, n_jobs=2, keep_chains="all",
                                     random_state=2026)
    imputer.fit(data)
    print(imputer.summary(warn=False))
    OUT.mkdir(parents=True, exist_ok=True)
    figure = imputer.plot_trace(["beta[sex, english]", "omega[ravens, english]",
                                 "sigma[english|(Intercept), english|(Intercept)]"],
                                phase="all")
    figure.savefig(OUT / "trace_jsp.png", dpi=80)
    imputer.plot_autocorrelation(["beta[sex, english]"]).savefig(OUT / "acf_jsp.png", dpi=80)
    # continue the chains, then analyse
    imputer.set_params(warm_start=True, n_burn=0, n_imputations=20).fit(data)
    fits = [smf.ols("english ~ ravens + sex + C(fluent)", data=d).fit()
            for d in imputer.sample()]
    print(pool_estimates(fits))


if __name__ == "__main__":
    main()
