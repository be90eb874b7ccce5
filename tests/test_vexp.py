"""The vectorised exponential of skjomo/_gibbs/_vexp.py against np.exp."""

import numpy as np
import pytest

from skjomo._gibbs._vexp import EXP_HIGH, EXP_LOW, exp_into


def _ulps(out, ref):
    return np.abs(out - ref) / np.spacing(ref)


def _error_and_bound(x, out):
    """Error of ``out`` in units of the last place of ``exp(x)``, and the
    bound it must meet: against ``exp`` in long double (x86's 80-bit format,
    11 more bits) at most 1.2; with no wider type, against ``np.exp``, whose
    own error then counts, at most 2 (numpy 1.24's vectorised ``np.exp`` is
    up to 2 ulps from ``exp_into`` on x86)."""
    if np.finfo(np.longdouble).nmant <= np.finfo(np.float64).nmant:
        return _ulps(out, np.exp(x)), 2.0
    exact = np.exp(x.astype(np.longdouble))
    error = np.abs(out.astype(np.longdouble) - exact) / np.spacing(exact.astype(np.float64))
    return error, 1.2


@pytest.mark.parametrize(
    "x",
    [
        np.random.default_rng(0).uniform(EXP_LOW, EXP_HIGH, 100_000),
        np.random.default_rng(1).normal(size=100_000) * 3,
        np.linspace(-1, 1, 20_001),  # around 0, and the reduction's boundaries
        np.arange(-1021, 1024) * np.log(2) + np.array([[-1e-9], [0.0], [1e-9]]).ravel()[:, None],
    ],
    ids=["range", "normal", "small", "powers of two"],
)
def test_within_one_unit_in_the_last_place(x):
    x = np.ravel(x)
    x = x[(x >= EXP_LOW) & (x <= EXP_HIGH)]
    out = np.empty_like(x)
    exp_into(x, out)
    error, bound = _error_and_bound(x, out)
    assert float(np.max(error)) <= bound


def test_out_of_range_and_special_values_are_those_of_np_exp():
    x = np.array([np.nan, np.inf, -np.inf, 709.5, 710.0, 800.0, -708.5, -745.0, -746.0, -800.0])
    out = np.empty_like(x)
    with np.errstate(over="ignore"):
        ref = np.exp(x)
    exp_into(x, out)
    np.testing.assert_array_equal(out, ref)  # NaN in the same place, inf, subnormals, 0
    edges = np.array([EXP_LOW, EXP_HIGH, 0.0, -0.0])
    out = np.empty(4)
    exp_into(edges, out)
    assert np.all(_ulps(out, np.exp(edges)) <= 1.0)
