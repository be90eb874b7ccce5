"""Coverage of 95% intervals after two-level imputation, on data with a known truth.

Each replicate draws two-level mixed data with MAR missingness at both
levels (skjomo.datasets.make_multilevel_data: 40 clusters of 10 rows; y1,
y2, b missing given x; w, g missing for whole clusters given the cluster
mean of x, about 25% each), imputes it m = 10 times with
MultilevelJointImputer (w and g as level-2 outcomes), fits the
random-intercept model ``y1 ~ x + w + (1 | cluster)`` by REML on each data
set and pools with Rubin's rules. The true fixed effects follow in closed
form from the joint model.

Sampler settings: from the default start the chain reaches its stationary
distribution within about 25 iterations on these data, and the largest
lag-30 autocorrelation of any parameter (the random-intercept covariance of
the latent of b) is about 0.03, so n_burn=300 and n_between=30 are ample.

For the analysis fits, jomo_compare.random_intercept_reml (exact REML for
a random intercept, per-cluster sums) replaces statsmodels' MixedLM, which
is about a hundred times slower.

The 250-replicate study runs with ``-m slow``; the default suite runs 15
replicates and checks the 45 intervals of all three terms together: at a
true coverage of 95%, 37 or fewer covered has a probability below 0.2%
(binomial).
"""

import numpy as np
import pytest
from jomo_compare import pool_random_intercept
from scipy import stats

from skjomo import MultilevelJointImputer
from skjomo.datasets import make_multilevel_data

N_REPLICATES = 250
TERMS = ("Intercept", "x", "w")


def _one_replicate(seed):
    data = make_multilevel_data(
        n_clusters=40, cluster_size=10, missing_fraction=0.25, random_state=seed
    )
    imputer = MultilevelJointImputer(
        cluster_col="cluster",
        covariate_cols=["x"],
        level2_cols=["w", "g"],
        n_burn=300,
        n_between=30,
        n_imputations=10,
        random_state=seed,
    )
    datasets = imputer.fit(data.frame).sample()
    pooled, _ = pool_random_intercept(datasets, "y1", ["x", "w"], "cluster")
    ci = pooled.conf_int()
    truth = data.truth["coef"]
    return {
        name: bool(ci.loc[name].iloc[0] <= truth[name] <= ci.loc[name].iloc[1]) for name in TERMS
    }


@pytest.mark.slow
def test_coverage_of_pooled_intervals_multilevel():
    results = [_one_replicate(seed) for seed in range(N_REPLICATES)]
    coverage = {name: np.mean([r[name] for r in results]) for name in TERMS}
    print(
        "coverage of 95% intervals over",
        N_REPLICATES,
        "replicates:",
        {name: round(float(value), 3) for name, value in coverage.items()},
    )
    # binomial sd of a coverage estimate near 0.95 is about 1.4 percentage points;
    # the level-1 fixed effect of x and the level-2 coefficient of w are checked
    for name in ("x", "w"):
        assert 0.90 <= coverage[name] <= 0.99, f"coverage of {name}: {coverage}"


def test_coverage_of_pooled_intervals_multilevel_few_replicates():
    n_replicates = 15
    results = [_one_replicate(seed) for seed in range(1000, 1000 + n_replicates)]
    covered = sum(sum(r.values()) for r in results)
    n_intervals = len(TERMS) * n_replicates
    assert stats.binom.cdf(37, n_intervals, 0.95) < 0.002
    assert covered > 37, f"{covered} of {n_intervals} intervals cover the truth"
