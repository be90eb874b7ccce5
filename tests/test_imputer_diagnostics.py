"""Stored chains, Rhat/ESS summaries, plots, warm starts and parallel chains."""

import warnings

import matplotlib
import numpy as np
import pytest

from skjomo import HeteroscedasticMultilevelImputer, JointModelImputer, MultilevelJointImputer
from skjomo.datasets import load_jspmiss
from skjomo.diagnostics import ChainSet, ConvergenceWarning

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def jsp():
    return load_jspmiss()[["school", "english", "ravens", "fluent", "sex"]]


def _multilevel(**kw):
    settings = dict(
        cluster_col="school",
        covariate_cols=["sex"],
        n_burn=100,
        n_between=20,
        n_imputations=4,
        n_chains=2,
        random_state=3,
    )
    settings.update(kw)
    return MultilevelJointImputer(**settings)


def test_chains_have_groups_labels_and_burn_in(jsp):
    imputer = _multilevel(keep_chains="all").fit(jsp)
    chains = imputer.chains_
    assert isinstance(chains, ChainSet)
    assert chains.n_chains == 2 and chains.n_draws == 100 + 2 * 20
    assert set(chains) >= {"beta", "omega", "sigma", "u_mean"}
    assert "beta[sex, english]" in chains.param_names()
    assert "omega[ravens, english]" in chains.param_names()
    # latent blocks fixed at C_K are constant in every draw
    fixed = chains.chain("omega[fluent[1], fluent[0]]")
    assert np.all(fixed == 0.5)
    only_after = _multilevel().fit(jsp).chains_
    assert only_after.n_draws == 2 * 20


def test_rhat_flags_short_chain_from_bad_start_and_not_long_run(jsp):
    data = jsp[["english", "ravens", "sex"]]
    bad = JointModelImputer(
        covariate_cols=["sex"],
        n_burn=0,
        n_between=15,
        n_imputations=4,
        n_chains=4,
        cov_start=np.diag([1e5, 1e4]),
        random_state=0,
    ).fit(data)
    with pytest.warns(ConvergenceWarning):
        report = bad.summary()
    assert "Largest potential scale reduction" in report
    assert bad.convergence_summary().table["rhat"].max() > 1.05
    good = JointModelImputer(
        covariate_cols=["sex"],
        n_burn=500,
        n_between=500,
        n_imputations=4,
        n_chains=4,
        random_state=0,
    ).fit(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        report = good.summary()
    assert good.convergence_summary().table["rhat"].max() < 1.05
    assert "Missing data per variable" in report and "english" in report


def test_different_seeds_and_chains_differ(jsp):
    """(Same seed, same chains for any n_jobs: tests/test_common.py.)"""
    one = _multilevel().fit(jsp)
    other = _multilevel(random_state=4).fit(jsp)
    assert not np.array_equal(one.chains_["beta"], other.chains_["beta"])
    # chains start from dispersed values and differ
    assert not np.array_equal(one.chains_["beta"][0], one.chains_["beta"][1])


def test_plots_render_to_png(jsp, tmp_path):
    imputer = _multilevel(keep_chains="all").fit(jsp)
    for method, params in (
        ("plot_trace", ["beta"]),
        ("plot_autocorrelation", "omega"),
        ("plot_density", ["sigma[english|(Intercept), english|(Intercept)]"]),
    ):
        figure = getattr(imputer, method)(params)
        path = tmp_path / f"{method}.png"
        figure.savefig(path)
        assert path.stat().st_size > 1000


def test_warm_start_continues_the_chains(jsp):
    first = _multilevel().fit(jsp)
    iterations = first.n_iter_
    final_beta = first._chains.final_states[0].beta.copy()
    first.set_params(warm_start=True, n_burn=10)
    first.fit(jsp)
    assert first.n_iter_ == iterations + 10 + 2 * 20
    # (a warm-started run equals one longer run: tests/test_common.py)
    assert not np.array_equal(first._chains.final_states[0].beta, final_beta)
    with pytest.raises(ValueError, match="same n_chains"):
        first.set_params(n_chains=3).fit(jsp)


def test_heteroscedastic_random_traces_a(jsp):
    data = jsp[["school", "english", "ravens", "sex"]]
    imputer = HeteroscedasticMultilevelImputer(
        cluster_col="school",
        covariate_cols=["sex"],
        n_burn=50,
        n_between=10,
        n_imputations=2,
        random_state=0,
    ).fit(data)
    assert "a" in imputer.chains_
    assert np.all(imputer.chains_["a"] > 2)


def test_inference_data_export(jsp):
    pytest.importorskip("arviz")
    idata = _multilevel().fit(jsp).to_inference_data()
    assert "beta" in idata.posterior


def test_verbose_reports_the_sampler_and_quiet_by_default(jsp, capsys):
    data = jsp[["english", "ravens", "sex"]]
    JointModelImputer(
        covariate_cols=["sex"], n_burn=10, n_between=5, n_imputations=2, random_state=0
    ).fit(data)
    assert capsys.readouterr().out == ""
    JointModelImputer(
        covariate_cols=["sex"], n_burn=10, n_between=5, n_imputations=2, verbose=1, random_state=0
    ).fit(data)
    out = capsys.readouterr().out
    assert "JointModelImputer: 1 chain(s), 20 iterations" in out
    assert "2 imputations 5 iterations apart" in out


def _random_slope(**kw):
    settings = dict(
        cluster_col="school",
        covariate_cols=["sex"],
        random_slope_cols=["sex"],
        n_burn=100,
        n_between=5,
        n_imputations=10,
        random_state=11,
    )
    settings.update(kw)
    return settings


@pytest.mark.parametrize(
    "cls, extra",
    [(MultilevelJointImputer, {}), (HeteroscedasticMultilevelImputer, {"cov_method": "fixed"})],
)
def test_posterior_means_average_only_the_draws_after_burn_in(jsp, cls, extra):
    """random_effects_ are on the scale of the random intercepts with
    keep_chains="all" and after a warm start (they were about 9x and 2x too
    large when the burn-in entered the running sums). Equality of every
    posterior mean across keep_chains and warm starts, for every estimator
    configuration: tests/test_common.py."""
    data = jsp[["school", "english", "ravens", "sex"]]
    everything = cls(**_random_slope(keep_chains="all", **extra)).fit(data)
    warm = cls(**_random_slope(**extra)).fit(data)
    warm.set_params(warm_start=True, n_burn=30).fit(data)
    for imputer in (everything, warm):
        sd = imputer.random_effects_.iloc[:, 0].std()
        assert 2 < sd < 20, sd  # SD of the random intercepts of english (about 7)
    # the 10 stored draws (every 5th iteration after burn-in) average to
    # about the posterior mean (over every iteration after burn-in)
    stored = everything._chains.draws["u"]
    assert stored.shape[0] == 10
    intercepts = stored.mean(axis=0).reshape(47, -1)[:, 0]
    assert np.corrcoef(intercepts, everything.random_effects_.iloc[:, 0])[0, 1] > 0.9
