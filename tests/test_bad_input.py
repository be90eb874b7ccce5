"""JointModelImputer: bad input gets a clear error naming the column.

The errors every imputer gives alike (infinite, entirely missing, datetime,
one-category columns, covariates with missing values, unknown or doubly
assigned columns, empty frames, unknown categories in transform, bad run
parameters) are tested on every estimator in tests/test_common.py.
"""

import numpy as np
import pandas as pd
import pytest

from skjomo import JointModelImputer

FAST = dict(n_burn=5, n_between=2, n_imputations=2, random_state=0)


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    data = pd.DataFrame(
        {
            "y": rng.normal(size=30),
            "z": rng.normal(size=30),
            "c": pd.Categorical(rng.choice(["a", "b", "c"], size=30)),
            "x": rng.normal(size=30),
        }
    )
    data.loc[::4, "y"] = np.nan
    return data


def fit(frame, **kw):
    return JointModelImputer(**{**FAST, **kw}).fit(frame)


def test_unused_category_warns_and_is_never_imputed(frame):
    frame["c"] = frame["c"].cat.add_categories(["zzz"])
    frame.loc[::3, "c"] = np.nan
    with pytest.warns(UserWarning, match=r"\['zzz'\] of column 'c' never occur"):
        imputer = fit(frame)
    assert "zzz" not in set(imputer.sample(1)[0]["c"])


def test_constant_or_collinear_covariates(frame):
    frame["one"] = 1.0
    with pytest.raises(ValueError, match=r"Covariate 'one' is constant"):
        fit(frame, covariate_cols=["one"])
    frame["x2"] = 2 * frame["x"]
    with pytest.raises(ValueError, match="collinear"):
        fit(frame, covariate_cols=["x", "x2"])


def test_bad_prior_settings(frame):
    with pytest.raises(ValueError, match="prior_df"):
        fit(frame, prior_df=-40)
    with pytest.raises(ValueError, match=r"prior_scale must have shape \(5, 5\)"):
        fit(frame, prior_scale=np.eye(2))
