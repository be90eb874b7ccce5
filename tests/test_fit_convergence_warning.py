"""``fit`` warns (ConvergenceWarning) when the split Rhat of its stored
traces says the chains have not converged (issue 16)."""

import warnings

import numpy as np
import pytest

from skjomo import JointModelImputer
from skjomo.datasets import load_jspmiss
from skjomo.diagnostics import ConvergenceWarning


@pytest.fixture(scope="module")
def data():
    return load_jspmiss()[["english", "ravens", "sex"]]


def test_short_chain_from_a_bad_start_warns_and_recommends_two_chains(data):
    imputer = JointModelImputer(
        covariate_cols=["sex"],
        n_burn=0,
        n_between=15,
        n_imputations=4,
        cov_start=np.diag([1e5, 1e4]),
        random_state=0,
    )
    with pytest.warns(ConvergenceWarning, match=r"Rhat > 1\.05.*n_chains >= 2") as record:
        imputer.fit(data)
    assert record[0].filename == __file__  # points at the caller of fit
    assert imputer.convergence_summary().table["rhat"].max() > 1.05


def test_converged_chains_do_not_warn(data):
    imputer = JointModelImputer(
        covariate_cols=["sex"],
        n_burn=300,
        n_between=100,
        n_imputations=4,
        n_chains=2,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        imputer.fit(data)
    assert imputer.convergence_summary().table["rhat"].max() < 1.05


def test_several_chains_advise_the_trace_plots(data):
    imputer = JointModelImputer(
        covariate_cols=["sex"],
        n_burn=0,
        n_between=10,
        n_imputations=4,
        n_chains=2,
        cov_start=np.diag([1e5, 1e4]),
        random_state=0,
    )
    with pytest.warns(ConvergenceWarning, match="plot_trace"):
        imputer.fit(data)
