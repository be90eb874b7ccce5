"""Coverage of 95% intervals after imputation, on data with a known truth.

Each replicate draws single-level mixed data with MAR missingness
(skjomo.datasets.make_mixed_data), imputes it m = 10 times with
JointModelImputer, fits ``y1 ~ x + y2`` by OLS on each data set and pools
with Rubin's rules. The true coefficients follow from the joint model.

The 200-replicate study runs with ``-m slow``; the default suite runs 20
replicates and checks the 60 intervals together: at a true coverage of
95%, 50 or fewer covered has a probability below 0.1% (binomial).
"""

import numpy as np
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from skjomo import JointModelImputer
from skjomo.datasets import make_mixed_data
from skjomo.pooling import pool_estimates

N_REPLICATES = 200


def _one_replicate(seed):
    data = make_mixed_data(n_samples=300, missing_fraction=0.3, random_state=seed)
    imputer = JointModelImputer(
        covariate_cols=["x"], n_burn=200, n_between=20, n_imputations=10, random_state=seed
    )
    fits = [smf.ols("y1 ~ x + y2", data=d).fit() for d in imputer.fit(data.frame).sample()]
    pooled = pool_estimates(fits)
    ci = pooled.conf_int()
    truth = data.truth["coef"]
    covered = {}
    for name, key in (("x", "x"), ("y2", "y2"), ("Intercept", "Intercept")):
        low, high = ci.loc[name]
        covered[name] = low <= truth[key] <= high
    return covered


@pytest.mark.slow
def test_coverage_of_pooled_intervals():
    results = [_one_replicate(seed) for seed in range(N_REPLICATES)]
    for name in ("x", "y2", "Intercept"):
        coverage = np.mean([r[name] for r in results])
        # binomial sd of the coverage estimate is about 1.5 percentage points
        assert 0.90 <= coverage <= 0.99, f"coverage of {name}: {coverage:.3f}"


def test_coverage_of_pooled_intervals_few_replicates():
    n_replicates = 20
    results = [_one_replicate(seed) for seed in range(1000, 1000 + n_replicates)]
    covered = sum(sum(r.values()) for r in results)
    n_intervals = 3 * n_replicates
    assert stats.binom.cdf(50, n_intervals, 0.95) < 0.001
    assert covered > 50, f"{covered} of {n_intervals} intervals cover the truth"
