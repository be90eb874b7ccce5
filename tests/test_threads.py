"""Threads within one chain (``n_threads``) give the output of one thread.

The per-cluster and per-row kernels are written once over ``numba.prange``
and compiled serially and threaded (skjomo/_gibbs/_threads.py). The default
tests compare each pair of kernels on random inputs (bit-identical outputs,
the same random numbers consumed); the slow tests compare whole fits,
``sample`` and ``transform`` on one and two threads (compiling the threaded
chain takes about a minute of CPU on a cold cache).
"""

import numpy as np
import pandas as pd
import pytest

from skjomo import HeteroscedasticMultilevelImputer, MultilevelJointImputer
from skjomo._gibbs._missing import (
    draw_missing,
    draw_missing_from,
    draw_missing_from_threaded,
    missingness_groups,
)
from skjomo._gibbs._regression import (
    draw_random_effects,
    draw_random_effects_threaded,
    row_means,
    row_means_threaded,
)
from skjomo._gibbs._suffstats import (
    refresh_statistics,
    refresh_statistics_threaded,
    residual_scatter,
    residual_scatter_threaded,
    rows_by_cluster,
)
from skjomo._gibbs._threads import ROW_CHUNK, chain_threads


def _spd(rng, g, p):
    a = rng.normal(size=(g, p, p))
    return a @ np.swapaxes(a, 1, 2) + p * np.eye(p)


@pytest.fixture
def layout():
    """Rows of 7 clusters in shuffled order (more rows than one task)."""
    rng = np.random.default_rng(5)
    n, p, m, q, n_clusters = 3 * ROW_CHUNK + 17, 4, 2, 2, 7
    cluster = rng.integers(0, n_clusters, size=n)
    x = np.column_stack([np.ones(n), rng.normal(size=n)])
    z = np.column_stack([np.ones(n), rng.normal(size=n)])
    return dict(
        rng=rng,
        n_clusters=n_clusters,
        cluster=cluster,
        x=x,
        z=z,
        w=np.column_stack([x, z]),
        values=rng.normal(size=(n, p)),
        beta=rng.normal(size=(m, p)),
        u=rng.normal(size=(n_clusters, p, q)),
    )


def _twice(serial, threaded, make_args, outputs):
    """Run both kernels on copies of the same inputs; compare every output."""
    first, second = make_args(), make_args()
    serial(*first)
    with chain_threads(2):
        threaded(*second)
    for k in outputs:
        assert np.array_equal(first[k], second[k], equal_nan=True)
    return first, second


def test_refresh_statistics_threaded_is_serial_and_sums_the_rows(layout):
    from skjomo._gibbs._suffstats import add_rows, symmetrize

    n_clusters, r, p = layout["n_clusters"], layout["w"].shape[1], layout["values"].shape[1]
    rows, ptr = rows_by_cluster(layout["cluster"], n_clusters)
    static_h = layout["rng"].normal(size=(n_clusters, r, p))
    static_k = _spd(layout["rng"], n_clusters, p)

    def args():
        out_h, out_k = np.zeros((n_clusters, r, p)), np.zeros((n_clusters, p, p))
        return (static_h, static_k, layout["w"], layout["values"], rows, ptr, out_h, out_k)

    first, _ = _twice(refresh_statistics, refresh_statistics_threaded, args, (6, 7))
    # the sums of add_rows, row by row (refresh_statistics adds four rows at
    # a time: the same terms, rounded in another order)
    h, k = static_h.copy(), static_k.copy()
    add_rows(layout["w"], layout["values"], layout["cluster"], h, k)
    symmetrize(k)
    np.testing.assert_allclose(first[6], h, rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(first[7], k, rtol=1e-13, atol=1e-12)
    assert np.array_equal(first[7], np.swapaxes(first[7], 1, 2))


def test_row_means_threaded_is_serial(layout):
    def args():
        out = np.empty_like(layout["values"])
        return (layout["x"], layout["z"], layout["cluster"], layout["beta"], layout["u"], out)

    first, _ = _twice(row_means, row_means_threaded, args, (5,))
    expected = layout["x"] @ layout["beta"] + np.einsum(
        "ik,itk->it", layout["z"], layout["u"][layout["cluster"]]
    )
    np.testing.assert_allclose(first[5], expected, rtol=1e-12, atol=1e-12)
    # every row's sums in the order a = 0..m-1, then k = 0..q-1, bit for bit
    # (rows are computed four at a time, plus a remainder)
    x, z, u = layout["x"], layout["z"], layout["u"][layout["cluster"]]
    in_order = np.zeros_like(first[5])
    for a in range(x.shape[1]):
        in_order += x[:, a, None] * layout["beta"][a]
    for k in range(z.shape[1]):
        in_order += z[:, k, None] * u[:, :, k]
    assert np.array_equal(first[5], in_order)


def test_residual_scatter_threaded_is_serial(layout):
    rng, n_clusters, p = layout["rng"], layout["n_clusters"], layout["values"].shape[1]
    r = layout["w"].shape[1]
    gram = _spd(rng, n_clusters, r)
    h = rng.normal(size=(n_clusters, r, p))
    k = _spd(rng, n_clusters, p)
    cov_group = np.arange(n_clusters) % 3

    def args():
        return (gram, h, k, layout["beta"], layout["u"], cov_group, np.empty((3, p, p)))

    _twice(residual_scatter, residual_scatter_threaded, args, (6,))


def test_random_effects_threaded_is_serial_and_draws_the_same_numbers(layout):
    rng, n_clusters, p = layout["rng"], layout["n_clusters"], layout["values"].shape[1]
    q, r = layout["u"].shape[2], layout["w"].shape[1]
    gram, h = _spd(rng, n_clusters, r), rng.normal(size=(n_clusters, r, p))
    shift, prior = rng.normal(size=(n_clusters, p * q)), _spd(rng, 1, p * q)[0]
    precisions, cov_group = _spd(rng, 2, p), np.arange(n_clusters) % 2
    selected = np.arange(n_clusters) % 3 != 1

    def args():
        return (
            np.random.default_rng(3),
            gram,
            h,
            layout["beta"],
            shift,
            prior,
            precisions,
            cov_group,
            selected,
            layout["u"].copy(),
        )

    first, second = _twice(draw_random_effects, draw_random_effects_threaded, args, (9,))
    assert np.array_equal(first[9][~selected], layout["u"][~selected])
    assert first[0].random() == second[0].random()  # the same draws consumed


def test_missing_values_threaded_are_serial(layout):
    rng, p = layout["rng"], layout["values"].shape[1]
    n = layout["values"].shape[0]
    missing = rng.random((n, p)) < 0.3
    missing[: ROW_CHUNK + 5, 1] = True  # a large group: several tasks
    row_group = layout["cluster"] % 2
    groups = missingness_groups(missing, row_group)
    precisions = _spd(rng, 2, p)
    means = rng.normal(size=(n, p))
    key = 123456789

    def args():
        values = layout["values"].copy()
        values[missing] = np.nan
        return (key, values, means, precisions, *groups)

    first, _ = _twice(draw_missing_from, draw_missing_from_threaded, args, (1,))
    assert not np.isnan(first[1]).any()
    assert np.array_equal(first[1][~missing], layout["values"][~missing])
    # draw_missing: the same, with the generator's next integer as the key
    values = layout["values"].copy()
    values[missing] = np.nan
    draw_missing(np.random.default_rng(4), values, means, precisions, *groups)
    again = layout["values"].copy()
    again[missing] = np.nan
    key = np.random.default_rng(4).integers(0, np.iinfo(np.int64).max)
    draw_missing_from(key, again, means, precisions, *groups)
    assert np.array_equal(values, again)


def test_chain_threads_sets_and_restores_numba_threads():
    import numba

    before = numba.get_num_threads()
    with chain_threads(1) as parallel:
        assert parallel is None
    with chain_threads(2) as parallel:
        assert parallel is True
        assert numba.get_num_threads() == min(2, numba.config.NUMBA_NUM_THREADS)
    assert numba.get_num_threads() == before


def test_n_threads_is_validated():
    data = pd.DataFrame({"c": [0, 0, 1, 1], "y": [1.0, np.nan, 2.0, 3.0]})
    with pytest.raises(ValueError, match="n_threads"):
        MultilevelJointImputer(cluster_col="c", n_threads=0).fit(data)


def _mixed_two_level(seed=0, n_clusters=24, size=15):
    """Two-level data with a categorical outcome at each level."""
    rng = np.random.default_rng(seed)
    cluster = np.repeat(np.arange(n_clusters), size)
    u = rng.normal(size=n_clusters)[cluster]
    x = rng.normal(size=cluster.size)
    frame = pd.DataFrame(
        {
            "cluster": cluster,
            "x": x,
            "y": x + u + rng.normal(size=cluster.size),
            "c": np.where(x + u + rng.normal(size=cluster.size) > 0, "hi", "lo"),
        }
    )
    level2 = rng.normal(size=n_clusters)
    frame["w"] = level2[cluster]
    frame["g"] = np.array(["a", "b", "c"])[rng.integers(0, 3, n_clusters)][cluster]
    frame.loc[rng.random(len(frame)) < 0.2, "y"] = np.nan
    frame.loc[rng.random(len(frame)) < 0.2, "c"] = None
    frame.loc[rng.random(len(frame)) < 0.1, "x"] = np.nan
    for column in ("w", "g"):
        gone = rng.random(n_clusters) < 0.2
        frame.loc[np.isin(cluster, np.flatnonzero(gone)), column] = np.nan
    return frame.sample(frac=1.0, random_state=1)  # rows in any order


@pytest.mark.slow
@pytest.mark.parametrize("cov_method", ["common", "fixed", "random"])
def test_two_threads_impute_as_one_thread(cov_method):
    """fit, sample (stored and continued chains) and transform, bit for bit,
    also with the chains in two processes."""
    data = _mixed_two_level()
    fitted_clusters = data["cluster"] < 20
    # "fixed": no covariance for a cluster not seen in fit
    new_rows = data[fitted_clusters].head(40) if cov_method == "fixed" else data[~fitted_clusters]
    outputs = []
    for n_threads in (1, 2):
        common = dict(
            cluster_col="cluster",
            level2_cols=["w", "g"],
            n_burn=20,
            n_between=3,
            n_imputations=2,
            n_chains=2,
            random_state=3,
            n_threads=n_threads,
            n_jobs=n_threads,  # two threads in each of two processes
        )
        if cov_method == "common":
            imputer = MultilevelJointImputer(**common)
        else:
            imputer = HeteroscedasticMultilevelImputer(cov_method=cov_method, **common)
        imputer.fit(data[fitted_clusters])
        outputs.append((imputer.sample(3), imputer.transform(new_rows), imputer.beta_.to_numpy()))
    (sample1, new1, beta1), (sample2, new2, beta2) = outputs
    for one, two in zip(sample1, sample2):
        pd.testing.assert_frame_equal(one, two, check_exact=True)
    pd.testing.assert_frame_equal(new1, new2, check_exact=True)
    assert np.array_equal(beta1, beta2)


@pytest.mark.slow
def test_every_kind_of_model_imputes_the_same_on_two_threads(tmp_path):
    """Every case of benchmarks/seeded_fingerprint.py (every estimator and
    analysis model, fit, sample and transform) hashes the same on one and
    on two threads."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "seeded_fingerprint.py"
    reference = tmp_path / "one_thread.json"
    subprocess.run(
        [sys.executable, str(script), "--write", str(reference)], check=True, capture_output=True
    )
    assert len(json.loads(reference.read_text())) >= 10
    checked = subprocess.run(
        [sys.executable, str(script), "--threads", "2", "--check", str(reference)],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_threads_prefer_openmp_unless_the_user_chose_a_layer():
    from types import SimpleNamespace

    from skjomo._gibbs._threads import prefer_openmp

    config = SimpleNamespace(
        THREADING_LAYER="default", THREADING_LAYER_PRIORITY=["tbb", "omp", "workqueue"]
    )
    assert prefer_openmp({}, config)
    assert config.THREADING_LAYER_PRIORITY == ["omp", "tbb", "workqueue"]
    assert not prefer_openmp({}, config)  # already first
    for environ in ({"NUMBA_THREADING_LAYER": "tbb"}, {"NUMBA_THREADING_LAYER_PRIORITY": "x"}):
        config.THREADING_LAYER_PRIORITY = ["tbb", "omp", "workqueue"]
        assert not prefer_openmp(environ, config)
        assert config.THREADING_LAYER_PRIORITY == ["tbb", "omp", "workqueue"]
    config.THREADING_LAYER = "workqueue"
    assert not prefer_openmp({}, config)
    assert config.THREADING_LAYER_PRIORITY == ["tbb", "omp", "workqueue"]
