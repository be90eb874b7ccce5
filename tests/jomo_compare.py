"""Helpers to compare skjomo with the R jomo fixtures in tests/fixtures/jomo.

Each fixture holds jomo's pooled analysis over m imputations (with the
between-imputation variance, so the Monte Carlo sd of a pooled estimate is
``sqrt(B / m)``) and posterior means of the parameters from a long chain
with batch-means Monte Carlo standard errors. See tests/r/README.md.
"""

import json

import numpy as np

from conftest import FIXTURES


def load_fixture(name):
    with open(FIXTURES / "jomo" / f"{name}.json") as fh:
        return json.load(fh)


def batch_means_se(draws, n_batches=50):
    """Monte Carlo standard error of the mean of each column of ``draws``."""
    draws = np.asarray(draws)
    n = draws.shape[0] // n_batches * n_batches
    batches = draws[:n].reshape((n_batches, -1) + draws.shape[1:]).mean(axis=1)
    return batches.std(axis=0, ddof=1) / np.sqrt(n_batches)


def assert_pooled_agree(pooled, fixture, names, n_sd=4.0, se_tol=0.10):
    """Pooled estimates within ``n_sd`` Monte Carlo sds, SEs within ``se_tol``."""
    ref = fixture["pooled"]["fixed"]
    m_ref = fixture["pooled"]["m"]
    mc_ref = np.sqrt(np.asarray(ref["b"]) / m_ref)
    ours = pooled.estimate[names].to_numpy()
    mc_ours = np.sqrt(np.diag(pooled.between.loc[names, names].to_numpy()) / pooled.m)
    limit = n_sd * np.sqrt(mc_ref**2 + mc_ours**2)
    diff = np.abs(ours - np.asarray(ref["estimate"]))
    report = dict(zip(ref["terms"], zip(ours, ref["estimate"], diff / np.sqrt(mc_ref**2 + mc_ours**2))))
    assert np.all(diff <= limit), f"estimates (ours, jomo, z): {report}"
    se_ratio = pooled.std_error[names].to_numpy() / np.asarray(ref["std_error"])
    assert np.all(np.abs(se_ratio - 1) <= se_tol), f"SE ratios {dict(zip(ref['terms'], se_ratio))}"


def assert_posterior_agree(draws, block, n_sd=4.0, rows=None, cols=None):
    """Posterior means of a parameter block within ``n_sd`` combined MC se.

    ``draws`` has shape (n_draws, r, c) in the fixture's row/column order;
    ``rows``/``cols`` select a sub-block (e.g. the continuous part).
    """
    mean_ref = np.asarray(block["mean"])
    mcse_ref = np.asarray(block["mcse"])
    rows = slice(None) if rows is None else rows
    cols = slice(None) if cols is None else cols
    ours = draws.mean(axis=0)[rows][:, cols]
    mcse_ours = batch_means_se(draws)[rows][:, cols]
    ref = mean_ref[rows][:, cols]
    z = np.abs(ours - ref) / np.sqrt(mcse_ours**2 + mcse_ref[rows][:, cols] ** 2)
    assert np.all(z <= n_sd), f"posterior means ours={ours}, jomo={ref}, z={z}"
