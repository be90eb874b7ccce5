"""The console command: skjomo impute data.csv --formula ... --out imputed.csv."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from skjomo.__main__ import main
from skjomo.datasets import load_jspmiss

# short chains: the convergence warning is expected
pytestmark = pytest.mark.filterwarnings("ignore::skjomo.diagnostics.ConvergenceWarning")

FAST = ["--burn", "30", "--between", "3", "--seed", "5"]


@pytest.fixture
def csv(tmp_path):
    path = tmp_path / "jsp.csv"
    load_jspmiss().to_csv(path, index=False)
    return path


def test_impute_end_to_end_and_read_back(csv, tmp_path, capsys):
    out = tmp_path / "imputed.csv"
    code = main(
        [
            "impute",
            str(csv),
            "--formula",
            "english + ravens + C(fluent) ~ sex + (1 | school)",
            "-m",
            "3",
            "--out",
            str(out),
            *FAST,
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "Found 2 continuous outcomes (english, ravens) and 1 categorical" in printed
    assert "Potential scale reduction" in printed and f"Wrote {out}" in printed
    original = pd.read_csv(csv)
    long = pd.read_csv(out)
    assert list(long.columns) == ["imputation", *original.columns]
    assert sorted(long["imputation"].unique()) == [0, 1, 2, 3]
    pd.testing.assert_frame_equal(
        long[long["imputation"] == 0].drop(columns="imputation").reset_index(drop=True), original
    )
    observed = original.notna().to_numpy()
    for k in (1, 2, 3):
        data = long[long["imputation"] == k].drop(columns="imputation").reset_index(drop=True)
        assert data[["english", "ravens", "fluent"]].notna().all().all()
        np.testing.assert_array_equal(data.to_numpy()[observed], original.to_numpy()[observed])
        assert set(data["fluent"].unique()) <= {0.0, 1.0, 2.0}


def test_group_and_single_level(csv, tmp_path, capsys):
    out = tmp_path / "grouped.csv"
    assert (
        main(
            [
                "impute",
                str(csv),
                "--formula",
                "english + ravens ~ sex",
                "-m",
                "2",
                "--group",
                "behaviour",
                "--out",
                str(out),
                *FAST,
            ]
        )
        == 0
    )
    assert "=== Group behaviour = 'upper'" in capsys.readouterr().out
    long = pd.read_csv(out)
    assert long.shape == (3 * 1119, 9)


@pytest.mark.parametrize(
    "args, message",
    [
        (["missing.csv", "--formula", "y ~ x"], "data file 'missing.csv' not found"),
        (["{csv}", "--formula", "english ~ foo"], "Column 'foo' named in the formula"),
        (["{csv}", "--formula", "english ~ sex +"], "Bad formula 'english ~ sex +'"),
    ],
)
def test_errors_are_one_line_with_exit_code_1(csv, capsys, args, message):
    args = [a.format(csv=csv) for a in args]
    assert main(["impute", *args, *FAST]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("skjomo impute: error: ") and message in err
    assert "\n" not in err


def test_command_line_exit_codes(csv, capsys):
    """As a shell user runs it: exit 1 with one line for bad data, 2 for bad usage."""
    bad = subprocess.run(
        [sys.executable, "-m", "skjomo", "impute", str(csv), "--formula", "english ~ nope"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.strip().splitlines() == [bad.stderr.strip()]
    with pytest.raises(SystemExit) as usage:
        main(["impute", str(csv)])
    assert usage.value.code == 2 and "--formula" in capsys.readouterr().err
