"""The random streams of parallel tasks (skjomo/_gibbs/_streams.py)."""

import numpy as np
import pytest
from numba import njit
from scipy import stats
from stream_draws import stream_draws

from skjomo._gibbs import _streams
from skjomo._gibbs._streams import next_uint64


@njit(cache=True)
def _raw(seed, n):
    stream = np.full(1, np.uint64(seed))
    out = np.empty(n, np.uint64)
    for i in range(n):
        out[i] = next_uint64(stream)
    return out


def test_splitmix64_known_values():
    """SplitMix64 from seed 0, its reference output (Vigna's splitmix64.c)."""
    assert [int(v) for v in _raw(0, 3)] == [
        0xE220A8397B1DCDAF,
        0x6E789E6AA1B965F4,
        0x06C45D188009454F,
    ]


def test_ziggurat_tables_are_those_of_numpy():
    """The tables computed at import agree with numpy's (as numba ships them)."""
    constants = pytest.importorskip("numba.np.random._constants")
    pairs = [
        (_streams._NORMAL_K, constants.ki_double),
        (_streams._NORMAL_W, constants.wi_double),
        (_streams._NORMAL_F, constants.fi_double),
    ]
    for mine, reference in pairs:
        np.testing.assert_allclose(
            np.asarray(mine, float), np.asarray(reference, float), rtol=1e-12
        )


@pytest.mark.parametrize(
    "kind, law", [(0, stats.norm), (1, stats.uniform)], ids=["normal", "uniform"]
)
def test_stream_draws_follow_their_law(kind, law):
    draws = stream_draws(2024, 3, 400_000, kind)
    assert stats.kstest(draws, law.cdf).pvalue > 1e-3
    assert abs(draws.mean() - law.mean()) < 5 * law.std() / np.sqrt(draws.size)


def test_normal_tails_beyond_the_base_layer():
    """Draws beyond the ziggurat's base layer (|z| > 3.654) come at the
    normal's rate and follow its tail."""
    draws = stream_draws(7, 0, 2_000_000, 0)
    tail = np.abs(draws[np.abs(draws) > 3.0])
    expected = 2 * stats.norm.sf(3.0) * draws.size
    assert abs(tail.size - expected) < 5 * np.sqrt(expected)
    assert stats.kstest(tail, stats.truncnorm(3.0, np.inf).cdf).pvalue > 1e-3


def test_task_streams_are_reproducible_and_distinct():
    one = stream_draws(11, 0, 1000, 0)
    assert np.array_equal(one, stream_draws(11, 0, 1000, 0))
    others = [stream_draws(11, 1, 1000, 0), stream_draws(12, 0, 1000, 0)]
    for other in others:
        assert not np.any(one == other)
        assert abs(np.corrcoef(one, other)[0, 1]) < 0.15
