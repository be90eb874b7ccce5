"""Assertions shared by the invariant tests."""

import numpy as np
import pandas as pd


def assert_observed_identical(out, original):
    """Same index and columns; observed cells of ``original`` bit-identical
    in ``out`` (float columns compared by their bits)."""
    assert out.index.equals(original.index)
    assert list(out.columns) == list(original.columns)
    for column in original.columns:
        observed = original[column].notna().to_numpy()
        got = out[column].to_numpy(dtype=object)[observed]
        want = original[column].to_numpy(dtype=object)[observed]
        if pd.api.types.is_float_dtype(original[column].dtype):
            assert np.array_equal(
                np.asarray(got, float).view(np.int64), np.asarray(want, float).view(np.int64)
            ), column
        else:
            assert list(got) == list(want), column
