"""Several ``.ts`` files of the same series as one multi-task set (issue 12, item 7).

The files are written here in the archive's format: a regression file and a
``_disc`` file of class labels for the same series, as the archive's
``Covid3Month`` and ``Covid3Month_disc`` are.
"""

import numpy as np
import pytest

from skmtl import load, read_ts_tasks
from skmtl.cli.command import main

from .conftest import TINY, TINY_OPTIONS

pytest.importorskip("aeon")

N, STEPS = 24, 16


def write_ts(path, series, targets, classes=None):
    """A univariate ``.ts`` file: one case a line, ``v1,v2,...:target``."""
    label = (
        "@classLabel true " + " ".join(classes)
        if classes is not None
        else "@targetLabel true"
    )
    lengths = {len(s) for s in series}
    lines = [
        "@problemName test",
        "@timeStamps false",
        "@missing false",
        "@univariate true",
        f"@equalLength {'true' if len(lengths) == 1 else 'false'}",
        label,
        "@data",
    ]
    lines += [
        ",".join(repr(float(v)) for v in s) + f":{t}"
        for s, t in zip(series, targets, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def series():
    return np.random.default_rng(0).normal(size=(N, STEPS))


@pytest.fixture
def files(tmp_path, series):
    """``(regression file, its _disc file)``: Rate_TRAIN.ts, Rate_disc_TRAIN.ts."""
    rate = np.random.default_rng(1).uniform(0, 3, N)
    tertile = np.digitize(rate, np.quantile(rate, [1 / 3, 2 / 3]))
    return (
        write_ts(tmp_path / "Rate_TRAIN.ts", series, rate.tolist()),
        write_ts(
            tmp_path / "Rate_disc_TRAIN.ts",
            series,
            [f"{t}.0" for t in tertile],
            classes=["0.0", "1.0", "2.0"],
        ),
    )


# ------------------------------------------------------------------ reading
def test_combined_X_and_one_column_per_file(files, series):
    X, y = read_ts_tasks(files)
    assert X.shape == (N, STEPS, 1)
    np.testing.assert_allclose(X[..., 0], series)
    assert list(y.columns) == ["Rate", "Rate_disc"]
    assert y["Rate"].dtype == np.float64  # a regression target stays float
    labels = y["Rate_disc"].tolist()
    assert all(isinstance(v, str) for v in labels)  # class labels stay labels
    assert set(labels) == {"0.0", "1.0", "2.0"}


def test_estimator_infers_a_task_of_each_kind(files):
    from skmtl import MultiTaskConvEstimator

    X, y = read_ts_tasks(files)
    est = MultiTaskConvEstimator(**TINY, epochs=1, random_state=0).fit(X, y)
    assert {t.name: t.kind for t in est.tasks_} == {
        "Rate": "regression",
        "Rate_disc": "classification",
    }


def test_task_names_override_and_single_path(files):
    _, y = read_ts_tasks([str(f) for f in files], tasks=["rate", "tertile"])
    assert list(y.columns) == ["rate", "tertile"]
    X, y = read_ts_tasks(str(files[0]))  # one path: a one-task set
    assert X.shape == (N, STEPS, 1) and list(y.columns) == ["Rate"]


def test_unequal_lengths_give_the_variable_length_form(tmp_path):
    ragged = [np.arange(n, dtype=float) for n in (5, 9, 7, 12)]
    a = write_ts(tmp_path / "V_TRAIN.ts", ragged, [0.5, 1.5, 2.5, 3.5])
    b = write_ts(tmp_path / "V_disc_TRAIN.ts", ragged, list("abab"), ["a", "b"])
    X, y = read_ts_tasks([a, b])
    assert X.dtype.names == ("signal",)
    assert [cell.shape for cell in X["signal"]] == [(5, 1), (9, 1), (7, 1), (12, 1)]
    assert y["V_disc"].tolist() == list("abab")
    shorter = [*ragged[:2], ragged[2][:-1], ragged[3]]
    c = write_ts(tmp_path / "W_TRAIN.ts", shorter, [0.5, 1.5, 2.5, 3.5])
    with pytest.raises(ValueError, match=r"case 2 \(0-based\) differs \(7 steps"):
        read_ts_tasks([a, c])


# ------------------------------------------------------------------- errors
def test_different_values_name_both_files_and_the_case(tmp_path, files, series):
    changed = series.copy()
    changed[5, 3] += 0.5
    other = write_ts(tmp_path / "Other_TRAIN.ts", changed, ["x"] * N, ["x"])
    with pytest.raises(ValueError) as info:
        read_ts_tasks([files[0], other])
    message = str(info.value)
    assert str(files[0]) in message and str(other) in message
    assert "do not hold the same series" in message
    assert "case 5 (0-based) differs (step 3, channel 0:" in message


def test_a_tiny_difference_is_the_same_series(tmp_path, files, series):
    nudged = write_ts(tmp_path / "Nudged_TRAIN.ts", series + 1e-12, ["x"] * N, ["x"])
    _, y = read_ts_tasks([files[0], nudged])
    assert list(y.columns) == ["Rate", "Nudged"]


@pytest.mark.parametrize("unit", [1e-9, 1e-15, 1e12])
def test_matching_is_relative_to_each_series_own_scale(tmp_path, unit):
    """Series in tiny (or huge) units: cases in another order are refused, and
    the same values written to fewer digits are the same series."""
    series = np.random.default_rng(0).normal(size=(N, STEPS)) * unit
    target = [0.5] * N
    first = write_ts(tmp_path / "Tiny_TRAIN.ts", series, target)
    swapped = write_ts(tmp_path / "Swapped_TRAIN.ts", series[::-1], target)
    with pytest.raises(ValueError, match=r"case 0 \(0-based\) differs \(step 0"):
        read_ts_tasks([first, swapped])
    rounded = [[float(f"{v:.7g}") for v in s] for s in series]
    fewer_digits = write_ts(tmp_path / "Rounded_TRAIN.ts", rounded, target)
    _, y = read_ts_tasks([first, fewer_digits])
    assert list(y.columns) == ["Tiny", "Rounded"]


def test_a_series_of_zeros_matches_only_zeros(tmp_path):
    zeros = np.zeros((2, STEPS))
    nudged = zeros.copy()
    nudged[1, 4] = 1e-300
    first = write_ts(tmp_path / "Z_TRAIN.ts", zeros, [0.0, 1.0])
    same = write_ts(tmp_path / "Same_TRAIN.ts", zeros, [0.0, 1.0])
    other = write_ts(tmp_path / "Other_TRAIN.ts", nudged, [0.0, 1.0])
    assert list(read_ts_tasks([first, same])[1].columns) == ["Z", "Same"]
    with pytest.raises(ValueError, match=r"case 1 \(0-based\) differs \(step 4"):
        read_ts_tasks([first, other])


def test_different_numbers_of_cases(tmp_path, files, series):
    fewer = write_ts(tmp_path / "Few_TRAIN.ts", series[:-1], ["x"] * (N - 1), ["x"])
    with pytest.raises(ValueError, match=f"{N} cases in Rate_TRAIN.ts, {N - 1} in"):
        read_ts_tasks([files[0], fewer])


def test_bad_task_names(tmp_path, files, series):
    with pytest.raises(ValueError, match=r"tasks= gives 1 name\(s\) for 2 file"):
        read_ts_tasks(files, tasks=["a"])
    with pytest.raises(ValueError, match="tasks= names 'a' twice"):
        read_ts_tasks(files, tasks=["a", "a"])
    (tmp_path / "sub").mkdir()
    again = write_ts(tmp_path / "sub" / "Rate_TEST.ts", series, ["1.0"] * N)
    with pytest.raises(ValueError, match="two files give the task name 'Rate'"):
        read_ts_tasks([files[0], again])


# ---------------------------------------------------------------------- CLI
def run(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_fit_several_files_then_predict_one_column_per_task(
    tmp_path, files, series, capsys
):
    model = tmp_path / "m.skmtl"
    status, out, err = run(capsys, "fit", *files, "-o", model, *TINY_OPTIONS)
    assert status == 0, err
    assert out == ""
    est = load(model)
    assert [(t.name, t.kind) for t in est.tasks_] == [
        ("Rate", "regression"),
        ("Rate_disc", "classification"),
    ]
    assert est.schema_.names == ["signal"]  # the other file's label is no input

    test = write_ts(tmp_path / "Rate_TEST.ts", series[:5], [1.0] * 5)
    status, out, err = run(capsys, "predict", model, test)
    assert status == 0, err
    rows = out.splitlines()
    assert rows[0] == "Rate,Rate_disc" and len(rows) == 6
    assert "ignoring the label of" in err
    assert {row.split(",")[1] for row in rows[1:]} <= {"0.0", "1.0", "2.0"}


def test_cli_mismatched_series_names_the_files(tmp_path, files, series, capsys):
    other = write_ts(tmp_path / "Other_TRAIN.ts", series[::-1], ["x"] * N, ["x"])
    status, out, err = run(
        capsys, "fit", files[0], other, "-o", tmp_path / "m.skmtl", *TINY_OPTIONS
    )
    assert status == 2 and out == ""
    assert err.startswith("skmtl: error: ") and "Traceback" not in err
    assert str(files[0]) in err and str(other) in err
    assert "case 0 (0-based) differs" in err
    assert not (tmp_path / "m.skmtl").exists()


def test_cli_several_files_must_all_be_ts(tmp_path, files, capsys):
    np.savez(tmp_path / "x.npz", a=np.zeros(3))
    status, _, err = run(capsys, "fit", files[0], tmp_path / "x.npz", "-o", "m.skmtl")
    assert status == 2
    assert "several data files only as .ts files" in err and "x.npz" in err


def test_cli_target_picks_kinds_among_the_files_tasks(tmp_path, files, capsys):
    model = tmp_path / "m.skmtl"
    options = ["--target", "Rate_disc:classification", *TINY_OPTIONS]
    status, _, err = run(capsys, "fit", *files, "-o", model, *options)
    assert status == 0, err
    est = load(model)
    assert [t.name for t in est.tasks_] == ["Rate_disc"]
    assert est.schema_.names == ["signal"]  # Rate is left out, not an input


def test_fit_help_says_several_ts_files_are_combined(capsys):
    status, out, _ = run(capsys, "fit", "--help")
    assert status == 0
    text = " ".join(out.split())
    assert "DATA [DATA ...]" in text
    assert "Several .ts files holding the same series with different targets" in text
    assert "one task per file" in text
