"""Tests of skjomo.diagnostics: Rhat (mitml and rank-normalised), ESS, ACF,
ChainSet, summaries, warnings, plots and the arviz export."""

import csv
import math
import shutil
import subprocess
import sys
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from skjomo.diagnostics import (
    ChainSet,
    ConvergenceSummary,
    ConvergenceWarning,
    autocorrelation,
    check_convergence,
    ess_bulk,
    ess_mean,
    ess_tail,
    mitml_rhat,
    mitml_smoothed_acf,
    moving_average,
    plot_autocorrelation,
    plot_density,
    plot_diagnostics,
    plot_trace,
    rank_diagnostics,
    rhat,
    summarize_autocorrelation,
    summarize_convergence,
    to_inference_data,
)

FIXTURES = Path(__file__).parent / "fixtures" / "mitml_rhat"
R_SCRIPT = Path(__file__).parent / "r" / "mitml_rhat.R"

# spec mitml-analysis.md section 9.3
T100 = np.arange(1, 101)
SPEC_CHAIN = np.sin(0.1 * T100) + 0.01 * T100


def _num(s):
    return math.nan if s == "NA" else float(s)


def _read_fixtures(directory=FIXTURES):
    chains = defaultdict(list)
    with open(directory / "chains.csv") as fh:
        for row in csv.DictReader(fh):
            chains[row["chain"]].append(_num(row["value"]))
    chains = {k: np.array(v) for k, v in chains.items()}
    with open(directory / "rhat.csv") as fh:
        rhat_rows = [
            (r["chain"], int(r["n_segments"]), _num(r["rhat"])) for r in csv.DictReader(fh)
        ]
    with open(directory / "acf.csv") as fh:
        acf_rows = [
            (r["chain"], int(r["lag"]), int(r["smooth"]), _num(r["acf"]))
            for r in csv.DictReader(fh)
        ]
    movavg = defaultdict(list)
    with open(directory / "movavg.csv") as fh:
        for r in csv.DictReader(fh):
            movavg[(r["chain"], int(r["half_width"]))].append(_num(r["value"]))
    movavg = {k: np.array(v) for k, v in movavg.items()}
    return chains, rhat_rows, acf_rows, movavg


CHAINS, RHAT_ROWS, ACF_ROWS, MOVAVG = _read_fixtures()


def _same(got, ref, rtol=1e-8):
    if math.isnan(ref):
        return math.isnan(got)
    if math.isinf(ref):
        return got == ref
    return abs(got - ref) <= rtol * abs(ref)


def ar1(rng, shape, phi, n):
    """AR(1) chains of shape (*shape[:1], n, *shape[1:]) with unit innovations."""
    x = np.empty((shape[0], n) + tuple(shape[1:]))
    x[:, 0] = rng.normal(size=(shape[0],) + tuple(shape[1:])) / np.sqrt(1 - phi**2)
    for t in range(1, n):
        x[:, t] = phi * x[:, t - 1] + rng.normal(size=(shape[0],) + tuple(shape[1:]))
    return x


# ---------------------------------------------------------------------------
# mitml's single-chain Rhat


def test_mitml_rhat_spec_reference_values():
    assert mitml_rhat(SPEC_CHAIN) == pytest.approx(4.3763513999103774, rel=1e-12)
    assert mitml_rhat(SPEC_CHAIN, 4) == pytest.approx(1.9152265493569913, rel=1e-12)


@pytest.mark.parametrize(
    "chain,n_segments,ref", RHAT_ROWS, ids=[f"{c}-S{s}" for c, s, _ in RHAT_ROWS]
)
def test_mitml_rhat_matches_r_fixture(chain, n_segments, ref):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarnings leak out
        got = mitml_rhat(CHAINS[chain], n_segments)
    assert isinstance(got, float)
    assert _same(got, ref), (got, ref)


def test_mitml_rhat_fixture_covers_special_cases():
    refs = {(c, s): r for c, s, r in RHAT_ROWS}
    assert refs[("constant_n30", 3)] == 1.0
    assert math.isinf(refs[("steps_n9", 3)])
    assert math.isnan(refs[("nan_used_n10", 3)])
    assert math.isfinite(refs[("nan_dropped_n10", 3)])  # trailing NaN is dropped


def test_mitml_rhat_vectorised_over_trailing_axes():
    names = ["ar1_phi05_n101", "spec93", "trend_n64", "ar1_phi09_n250"]
    n = min(len(CHAINS[k]) for k in names)
    x = np.stack([CHAINS[k][:n] for k in names], axis=-1).reshape(n, 2, 2)
    got = mitml_rhat(x, 3)
    assert got.shape == (2, 2)
    for k, name in enumerate(names):
        assert got.ravel()[k] == pytest.approx(mitml_rhat(CHAINS[name][:n], 3), rel=1e-14)
    # ChainSet layout (n_chains, n_draws, ...) with axis=1 gives one value per chain
    y = np.stack([x, x[:, ::-1]], axis=0)
    per_chain = mitml_rhat(y, 3, axis=1)
    assert per_chain.shape == (2, 2, 2)
    np.testing.assert_allclose(per_chain[0], got, rtol=1e-14)


def test_mitml_rhat_input_checks():
    with pytest.raises(ValueError, match="n_segments"):
        mitml_rhat(SPEC_CHAIN, 1)
    with pytest.raises(ValueError, match="n_segments"):
        mitml_rhat(SPEC_CHAIN, 2.5)
    assert math.isnan(mitml_rhat(np.arange(5.0), 3))  # segments of one draw
    assert mitml_rhat(np.full(12, -3.0)) == 1.0


# ---------------------------------------------------------------------------
# ACF and moving average (mitml sections 4.4, 4.5)


def test_acf_spec_reference_values():
    assert autocorrelation(SPEC_CHAIN, 1)[1] == pytest.approx(0.99101605138130977, rel=1e-12)
    assert mitml_smoothed_acf(SPEC_CHAIN, 10) == pytest.approx(0.58498907191669491, rel=1e-12)
    assert mitml_smoothed_acf(SPEC_CHAIN, 20) == pytest.approx(-0.14646281434699412, rel=1e-12)
    np.testing.assert_allclose(
        moving_average(SPEC_CHAIN, 2)[:6],
        [
            0.10983341664682815,
            0.218007651367743,
            0.32257336700321654,
            0.42553517835285798,
            0.52464484964138391,
            0.61901202648902065,
        ],
        rtol=1e-13,
    )


@pytest.mark.parametrize("chain,lag,smooth,ref", ACF_ROWS)
def test_smoothed_acf_matches_r_fixture(chain, lag, smooth, ref):
    assert mitml_smoothed_acf(CHAINS[chain], lag, smooth) == pytest.approx(
        ref, rel=1e-10, abs=1e-13
    )


@pytest.mark.parametrize("key", sorted(MOVAVG))
def test_moving_average_matches_r_fixture(key):
    chain, half_width = key
    np.testing.assert_allclose(
        moving_average(CHAINS[chain], half_width), MOVAVG[key], rtol=1e-12, atol=1e-13
    )


def test_autocorrelation_shapes_and_definition():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 3, 2))
    ac = autocorrelation(x, 5)
    assert ac.shape == (6, 3, 2)
    np.testing.assert_allclose(ac[0], 1.0)
    y = x[:, 1, 0] - x[:, 1, 0].mean()
    direct = [np.sum(y[: 40 - l] * y[l:]) / np.sum(y * y) for l in range(6)]
    np.testing.assert_allclose(ac[:, 1, 0], direct, atol=1e-13)
    # draws on another axis; lags beyond N - 1 are 0; constant trace
    np.testing.assert_allclose(autocorrelation(np.moveaxis(x, 0, 2), 5, axis=2), ac, atol=1e-14)
    assert autocorrelation(x[:, 0, 0], 45)[40:].tolist() == [0.0] * 6
    np.testing.assert_array_equal(autocorrelation(np.ones(10), 3), [1, 0, 0, 0])
    # small lags: symmetric extension ac(-l) = ac(l) where mitml is undefined
    w = np.exp(-2.0 * np.arange(-2, 3) ** 2)
    full = autocorrelation(SPEC_CHAIN, 3)
    expected = np.dot(w / w.sum(), full[[1, 0, 1, 2, 3]])
    assert mitml_smoothed_acf(SPEC_CHAIN, 1) == pytest.approx(expected, rel=1e-14)


# ---------------------------------------------------------------------------
# rank-normalised Rhat and ESS


def test_rhat_iid_chains_near_one_and_shifted_chain_flagged():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4, 1000, 3))
    r = rhat(x)
    assert r.shape == (3,)
    assert np.all(np.abs(r - 1) < 0.01)
    x[0, :, 1] += 2.0  # one chain stuck elsewhere
    x[:2, :, 2] *= 4.0  # same location, different scale: caught by the tail part
    r = rhat(x)
    assert r[1] > 1.05 and r[2] > 1.05
    assert abs(r[0] - 1) < 0.01
    assert rhat(x[..., 2], method="bulk") < rhat(x[..., 2], method="tail")


def test_rhat_detects_trend_within_single_chain():
    rng = np.random.default_rng(3)
    x = rng.normal(size=400) + np.linspace(0, 3, 400)
    assert rhat(x) > 1.05  # one chain is split into halves
    assert abs(rhat(rng.normal(size=400)) - 1) < 0.02


def test_rhat_and_ess_edge_cases():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 50, 3))
    x[1, 7, 0] = np.nan
    x[:, :, 1] = 2.0
    r = rhat(x)
    assert math.isnan(r[0]) and math.isnan(r[1]) and math.isfinite(r[2])
    e = ess_bulk(x)
    assert math.isnan(e[0]) and e[1] == 100 and math.isfinite(e[2])
    assert math.isnan(rhat(rng.normal(size=(2, 3))))
    assert math.isnan(ess_tail(rng.normal(size=(2, 3))))
    assert isinstance(rhat(rng.normal(size=(2, 20))), float)
    with pytest.raises(ValueError, match="method"):
        rhat(x, method="folded")
    with pytest.raises(ValueError, match="two chains"):
        rhat(rng.normal(size=(1, 20)), method="identity")


def test_rank_diagnostics_equals_separate_functions():
    rng = np.random.default_rng(12)
    x = _random_chains(rng, 3, 150).reshape(3, 150, 5, 1)
    x[1, 3, 0, 0] = np.nan
    r, eb, et = rank_diagnostics(x)
    assert r.shape == eb.shape == et.shape == (5, 1)
    np.testing.assert_array_equal(r, rhat(x))
    np.testing.assert_array_equal(eb, ess_bulk(x))
    np.testing.assert_array_equal(et, ess_tail(x))
    assert np.isnan(r[0, 0]) and np.isnan(et[0, 0])


def test_bulk_rhat_and_ess_invariant_to_monotone_transform():
    rng = np.random.default_rng(5)
    x = ar1(rng, (3, 2), 0.6, 200)
    np.testing.assert_allclose(rhat(np.exp(x), method="bulk"), rhat(x, method="bulk"), rtol=1e-12)
    np.testing.assert_allclose(ess_bulk(np.exp(x)), ess_bulk(x), rtol=1e-12)


def test_ess_of_iid_and_ar1_draws():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(4, 1000, 4))
    for f in (ess_bulk, ess_tail, ess_mean):
        e = f(x)
        assert e.shape == (4,)
        assert np.all((e > 0.8 * 4000) & (e < 1.25 * 4000)), (f.__name__, e)
    phi = 0.8
    y = ar1(rng, (4, 4), phi, 2000)
    expected = 8000 * (1 - phi) / (1 + phi)
    e = ess_bulk(y)
    assert np.all((e > 0.7 * expected) & (e < 1.4 * expected)), (e, expected)


def _random_chains(rng, n_chains, n_draws, n_params=5):
    phi = rng.uniform(-0.5, 0.995, size=n_params)
    x = np.empty((n_chains, n_draws, n_params))
    x[:, 0] = rng.normal(size=(n_chains, n_params))
    for t in range(1, n_draws):
        x[:, t] = phi * x[:, t - 1] + rng.normal(size=(n_chains, n_params))
    x[:, :, 1] += rng.normal(size=(n_chains, 1)) * rng.uniform(0, 2)  # unequal chains
    x[:, :, 2] = np.round(x[:, :, 2])  # ties
    x[:, :, 3] = np.exp(x[:, :, 3])  # skewed
    return x


def test_matches_arviz():
    az = pytest.importorskip("arviz")
    rng = np.random.default_rng(7)
    checks = [
        (lambda x: rhat(x), dict(f="rhat", method="rank")),
        (lambda x: rhat(x, method="bulk"), dict(f="rhat", method="z_scale")),
        (lambda x: rhat(x, method="tail"), dict(f="rhat", method="folded")),
        (lambda x: rhat(x, method="split"), dict(f="rhat", method="split")),
        (lambda x: rhat(x, method="identity"), dict(f="rhat", method="identity")),
        (ess_bulk, dict(f="ess", method="bulk")),
        (ess_tail, dict(f="ess", method="tail")),
        (ess_mean, dict(f="ess", method="mean")),
    ]
    for n_chains, n_draws in [(2, 4), (2, 5), (3, 57), (4, 200), (2, 681), (4, 1000)]:
        x = _random_chains(rng, n_chains, n_draws)
        ds = az.convert_to_dataset({"x": x})
        for ours, spec in checks:
            theirs = getattr(az, spec["f"])(ds, method=spec["method"])["x"].values
            np.testing.assert_allclose(
                ours(x), theirs, rtol=1e-10, err_msg=f"{spec} {n_chains}x{n_draws}"
            )


# ---------------------------------------------------------------------------
# ChainSet


def make_chainset(rng=None, n_chains=2, n_draws=120, n_burn=20, n_iter=10, bad=False):
    rng = np.random.default_rng(8) if rng is None else rng
    beta = rng.normal(size=(n_chains, n_draws, 2, 2))
    if bad:
        beta[0, :, 1, 1] += 5.0
    a = rng.normal(size=(n_chains, n_draws, 2, 3))
    omega = a @ a.swapaxes(-1, -2)
    return ChainSet(
        {"beta": beta, "omega": omega, "a": rng.gamma(2.0, size=(n_chains, n_draws))},
        labels={
            "beta": [["(Intercept)", "sex"], ["english", "ravens"]],
            "omega": [["english", "ravens"], ["english", "ravens"]],
        },
        n_burn=n_burn,
        n_iter=n_iter,
    )


def test_chainset_names_and_selection():
    cs = make_chainset()
    assert cs.group_names == ("beta", "omega", "a")
    assert cs.symmetric == ("omega",)
    assert cs.param_names() == [
        "beta[(Intercept), english]",
        "beta[(Intercept), ravens]",
        "beta[sex, english]",
        "beta[sex, ravens]",
        "omega[english, english]",
        "omega[ravens, english]",
        "omega[ravens, ravens]",
        "a",
    ]
    assert cs.param_names("omega") == cs.param_names()[4:7]
    # order follows the request; whitespace ignored; transposed symmetric alias
    assert cs.param_names(["a", "beta[sex,ravens]", "omega[english, ravens]", "a"]) == [
        "a",
        "beta[sex, ravens]",
        "omega[ravens, english]",
    ]
    p = cs.params("omega[ravens, english]")[0]
    assert (p.group, p.index) == ("omega", (1, 0))
    with pytest.raises(KeyError, match="did you mean"):
        cs.params("beta[sex, englsh]")
    x = cs.flatten(["beta", "a"])
    assert x.shape == (2, 100, 5)
    np.testing.assert_array_equal(x[:, :, 3], cs["beta"][:, 20:, 1, 1])
    np.testing.assert_array_equal(cs.chain("a", phase="all"), cs["a"])
    assert cs.flatten("omega", phase="burnin").shape == (2, 20, 3)
    np.testing.assert_array_equal(cs.iterations()[[0, -1]], [21, 120])
    assert cs.n_draws_phase("imputation") == 100
    assert len(cs) == 3 and set(cs) == {"beta", "omega", "a"}
    with pytest.raises(ValueError):
        cs["beta"][0, 0, 0, 0] = 1.0  # read-only
    assert "8 parameters" in repr(cs)
    sub = cs.subset(["omega"])
    assert sub.param_names() == cs.param_names("omega") and sub.n_burn == 20


def test_chainset_defaults_padding_and_validation():
    rng = np.random.default_rng(9)
    beta = rng.normal(size=(1, 30, 3, 2))
    beta[:, :, 2, 1] = np.nan  # padding
    sigma = rng.normal(size=(1, 30, 2, 2))
    cs = ChainSet(
        {"beta": beta, "sigma": sigma, "v": rng.normal(size=(1, 30, 2))}, labels={"v": ["x", "y"]}
    )
    assert cs.param_names("beta") == [
        "beta[0, 0]",
        "beta[0, 1]",
        "beta[1, 0]",
        "beta[1, 1]",
        "beta[2, 0]",
    ]
    assert cs.param_names("sigma") == ["sigma[0, 0]", "sigma[1, 0]", "sigma[1, 1]"]
    assert cs.param_names("v") == ["v[x]", "v[y]"]
    assert ChainSet({"sigma": sigma}, symmetric=()).param_names() == [
        "sigma[0, 0]",
        "sigma[0, 1]",
        "sigma[1, 0]",
        "sigma[1, 1]",
    ]
    assert ChainSet({"k": sigma}, symmetric=["k"]).param_names() == [
        "k[0, 0]",
        "k[1, 0]",
        "k[1, 1]",
    ]
    with pytest.raises(ValueError, match="same|expected"):
        ChainSet({"a": np.zeros((2, 10)), "b": np.zeros((2, 11))})
    with pytest.raises(ValueError, match="unique"):
        ChainSet({"b": beta}, labels={"b": [["x", "x", "y"], None]})
    with pytest.raises(ValueError, match="per parameter axis"):
        ChainSet({"b": beta}, labels={"b": [["x", "y", "z"]]})
    with pytest.raises(ValueError, match="square"):
        ChainSet({"b": beta}, symmetric=["b"])
    with pytest.raises(ValueError, match="n_burn"):
        ChainSet({"b": beta}, n_burn=31)
    with pytest.raises(ValueError, match="unknown"):
        ChainSet({"b": beta}, labels={"c": []})


# ---------------------------------------------------------------------------
# summaries and warnings


def test_summarize_convergence_table_and_groups():
    cs = make_chainset(bad=True)
    s = summarize_convergence(cs)
    assert isinstance(s, ConvergenceSummary)
    t = s.table
    assert list(t.columns) == [
        "group",
        "mean",
        "sd",
        "q2.5",
        "q97.5",
        "rhat",
        "rhat_mitml",
        "ess_bulk",
        "ess_tail",
    ]
    assert list(t.index) == cs.param_names()
    x = cs.flatten()
    np.testing.assert_allclose(t["mean"], x.mean(axis=(0, 1)))
    np.testing.assert_allclose(t["rhat"], rhat(x))
    np.testing.assert_allclose(t["ess_tail"], ess_tail(x))
    np.testing.assert_allclose(t["rhat_mitml"], mitml_rhat(x, 3, axis=1).max(axis=0))
    g = s.by_group
    assert list(g.index) == ["beta", "omega", "a"]
    assert list(g.columns[:7]) == ["n_params", "Min", "25%", "Mean", "Median", "75%", "Max"]
    assert g.loc["beta", "worst"] == "beta[sex, ravens]" == s.worst
    assert g.loc["beta", "Max"] == t.loc["beta[sex, ravens]", "rhat"] > 1.5
    assert g.loc["omega", "n_params"] == 3
    text = str(s)
    assert "beta:" in text and "beta[sex, ravens]" in text and "Median" in text
    assert s.problems().index.tolist() == ["beta[sex, ravens]"]
    # one chain, mitml statistic: exactly mitml's per-parameter Rhat
    one = ChainSet({"beta": cs["beta"][:1]}, n_burn=20)
    s1 = summarize_convergence(one, statistic="rhat_mitml", n_segments=4)
    np.testing.assert_array_equal(s1.table["rhat_mitml"], mitml_rhat(one.flatten()[0], 4))
    assert s1.by_group.loc["beta", "Max"] == s1.table["rhat_mitml"].max()


def test_check_convergence_warns():
    bad = summarize_convergence(make_chainset(bad=True))
    with pytest.warns(ConvergenceWarning, match=r"Rhat > 1\.05.*beta\[sex, ravens\]"):
        assert check_convergence(bad) is False
    assert issubclass(ConvergenceWarning, UserWarning)
    good = make_chainset(np.random.default_rng(10), n_chains=4, n_draws=520)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_convergence(good) is True  # accepts a ChainSet too
        assert check_convergence(bad, warn=False) is False
    # ESS rule alone
    short = make_chainset(np.random.default_rng(11), n_chains=1, n_draws=60, n_burn=0)
    with pytest.warns(ConvergenceWarning, match="bulk ESS < 100"):
        short.summary().check(rhat_threshold=None)
    # constant parameters (fixed latent variances) are never flagged
    fixed = ChainSet({"omega": np.ones((1, 40, 2, 2)), "b": good["beta"][:1, :40]})
    s = fixed.summary()
    assert s.table.loc["omega[0, 0]", "ess_bulk"] == 40
    with pytest.warns(ConvergenceWarning) as rec:
        check_convergence(s)
    assert "omega" not in str(rec[0].message)
    assert "omega[0, 0]" not in s.problems().index


def test_summarize_autocorrelation():
    cs = make_chainset()
    table, by_group = summarize_autocorrelation(cs)
    x = cs.flatten()
    np.testing.assert_allclose(table["lagk"], mitml_smoothed_acf(x, 10, axis=1).mean(axis=0))
    np.testing.assert_allclose(table["lag2k"], mitml_smoothed_acf(x, 20, axis=1).mean(axis=0))
    np.testing.assert_allclose(table["lag1"], autocorrelation(x, 1, axis=1)[1].mean(axis=0))
    assert list(by_group.index) == ["beta", "omega", "a"]
    assert by_group.loc["omega", "worst"] in cs.param_names("omega")


# ---------------------------------------------------------------------------
# plots


@pytest.fixture
def agg():
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg", force=True)
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_plots_render_png(agg, tmp_path):
    from matplotlib.figure import Figure

    cs = make_chainset(n_chains=3)
    figs = {
        "trace": plot_trace(cs, ["beta", "a"], phase="all"),
        "trace1": plot_trace(cs, "omega[english, ravens]", thin=2, smooth=None, ncols=2),
        "acf": plot_autocorrelation(cs, "omega"),
        "density": plot_density(cs, ["a", "beta[sex, english]"], combined=True),
        "density_chains": plot_density(cs),
        "panel": plot_diagnostics(cs, "beta[sex, ravens]", phase="all"),
        "panel_one_chain": plot_diagnostics(cs.subset("a"), "a", max_lag=5),
    }
    for name, fig in figs.items():
        assert isinstance(fig, Figure)
        out = tmp_path / f"{name}.png"
        fig.savefig(out, dpi=50)
        assert out.stat().st_size > 1000
    assert len(figs["trace"].axes) == 5
    assert len(figs["trace"].axes[0].get_lines()) >= 3  # one line per chain
    assert len(figs["acf"].axes) == 3
    assert figs["trace1"].axes[0].get_title(loc="left") == "omega[ravens, english]"
    with pytest.raises(ValueError, match="one parameter"):
        plot_diagnostics(cs, "beta")


def test_plots_without_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"skjomo\[plots\]"):
        plot_trace(make_chainset())


# ---------------------------------------------------------------------------
# arviz export


def test_to_inference_data():
    az = pytest.importorskip("arviz")
    cs = make_chainset(n_chains=3)
    idata = to_inference_data(cs)
    post = idata.posterior
    assert post["beta"].shape == (3, 100, 2, 2)
    assert list(post["beta"].coords["beta_dim_0"].values) == ["(Intercept)", "sex"]
    assert post["a"].dims == ("chain", "draw")
    assert idata.warmup_posterior["omega"].shape == (3, 20, 2, 2)
    r = az.rhat(idata)
    assert r["beta"].values[1, 1] == pytest.approx(rhat(cs.chain("beta[sex, ravens]")), rel=1e-12)
    named = ChainSet(
        {"beta": cs["beta"], "omega": cs["omega"]},
        labels={"beta": cs.labels("beta"), "omega": cs.labels("omega")},
        dims={"beta": ["covariate", "outcome"], "omega": ["outcome", "outcome2"]},
    )
    idata2 = named.to_inference_data(groups=["beta", "omega"])
    assert idata2.posterior["omega"].dims == ("chain", "draw", "outcome", "outcome2")
    assert "warmup_posterior" not in idata2.groups()
    clash = ChainSet(
        {"b": cs["beta"], "c": cs["beta"]},
        labels={"b": [["u", "v"], ["x", "y"]], "c": [["u", "w"], ["x", "y"]]},
        dims={"b": ["r", "k"], "c": ["r", "k"]},
    )
    with pytest.raises(ValueError, match="different labels"):
        to_inference_data(clash)


def test_to_inference_data_without_arviz(monkeypatch):
    monkeypatch.setitem(sys.modules, "arviz", None)
    with pytest.raises(ImportError, match=r"skjomo\[diagnostics\]"):
        to_inference_data(make_chainset())


# ---------------------------------------------------------------------------
# the fixtures are what the R script makes


@pytest.mark.rjomo
def test_r_script_reproduces_fixtures(tmp_path):
    res = subprocess.run(
        [shutil.which("Rscript") or "Rscript", str(R_SCRIPT), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if res.returncode != 0 and "mitml" in res.stderr and "no package" in res.stderr:
        pytest.skip("R package mitml is not installed")
    assert res.returncode == 0, res.stderr
    for name in ("chains.csv", "rhat.csv", "acf.csv", "movavg.csv"):
        assert (tmp_path / name).read_text() == (FIXTURES / name).read_text(), name
