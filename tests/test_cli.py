"""The ``skmtl`` command line: fit, predict, info, errors (in-process, tiny data)."""

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from skmtl import __version__, load
from skmtl.cli.command import main

from .conftest import TINY_OPTIONS

TARGETS = ["--target", "material:classification", "--target", "density:regression"]


def run(capsys, *argv):
    """``main(argv)`` in-process: (exit status, stdout, stderr)."""
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def fails(capsys, message, *argv):
    """Assert that ``skmtl argv`` exits with 2 and ``message`` on stderr."""
    status, out, err = run(capsys, *argv)
    assert status == 2, err
    assert "skmtl: error: " in err and message in err, err
    assert "Traceback" not in err and out == ""
    return err


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """The same 40 recordings as .npz and as Parquet (targets included)."""
    from skmtl.datasets import make_sensor_tasks

    X, y = make_sensor_tasks(40, n_steps=32, random_state=0)
    fields = {name: X[name] for name in X.dtype.names}
    fields["material"] = y["material"].to_numpy().astype(str)
    fields["density"] = y["density"].to_numpy()
    folder = tmp_path_factory.mktemp("data")
    np.savez(folder / "data.npz", **fields)
    # Parquet: the two signals as one 2-channel list<list<float>> column.
    both = np.stack([X["ampl"], X["phase"]], axis=-1)
    columns = {"both": pa.array(both.tolist(), pa.list_(pa.list_(pa.float32())))}
    columns.update({k: pa.array(v) for k, v in fields.items() if v.ndim == 1})
    pq.write_table(pa.table(columns), folder / "data.parquet")
    return {"npz": folder / "data.npz", "parquet": folder / "data.parquet"}


@pytest.fixture(scope="module")
def model(data, tmp_path_factory):
    """(model path, stdout, stderr) of one ``skmtl fit`` on the .npz file."""
    path = tmp_path_factory.mktemp("model") / "model.skmtl"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(
            ["fit", str(data["npz"]), *TARGETS, "-o", str(path), *TINY_OPTIONS]
        )
    assert status == 0, err.getvalue()
    return path, out.getvalue(), err.getvalue()


def npz_inputs(path):
    with np.load(path) as archive:
        return {
            k: archive[k] for k in archive.files if k not in ("material", "density")
        }


def test_fit_shows_progress_on_stderr_only(model):
    path, out, err = model
    assert path.is_file()
    assert out == ""
    assert "3/3" in err and "step" in err  # Keras' progress bar, 3 batches
    assert f"model saved to {path}" in err


def test_info_describes_the_model(model, capsys):
    path = model[0]
    status, out, err = run(capsys, "info", path)
    assert status == 0, err
    assert f"saved with skmtl {__version__}, Keras" in out
    assert "ampl             signal     (32 x 1)" in out
    assert "temp             covariate  (one value)" in out
    assert "material         classification  5 classes: aluminium, copper" in out
    assert "density          regression" in out
    assert "training: 1 epoch(s); final loss " in out
    status, out, _ = run(capsys, "info", "--json", path)
    summary = json.loads(out)
    assert summary["n_params"] == load(path).model_.count_params()
    assert [t["kind"] for t in summary["tasks"]] == ["classification", "regression"]
    assert summary["epochs"] == 1 and set(summary["final_losses"]) >= {"loss"}


def test_predict_csv_matches_load_predict(model, data, capsys, tmp_path):
    path, output = model[0], tmp_path / "predictions.csv"
    status, out, err = run(capsys, "predict", path, data["npz"], "-o", output)
    assert status == 0, err
    assert out == ""
    assert "ignoring column(s) ['material', 'density']" in err
    expected = load(path).predict(npz_inputs(data["npz"]))
    lines = output.read_text().splitlines()
    assert lines[0] == "material,density"
    rows = [line.split(",") for line in lines[1:]]
    assert [r[0] for r in rows] == expected["material"].tolist()
    np.testing.assert_allclose([float(r[1]) for r in rows], expected["density"])


def test_predict_proba_npz(model, data, capsys, tmp_path):
    path, output = model[0], tmp_path / "predictions.npz"
    status, _, err = run(capsys, "predict", path, data["npz"], "--proba", "-o", output)
    assert status == 0, err
    est, X = load(path), npz_inputs(data["npz"])
    classes = est.classes_["material"].tolist()
    with np.load(output) as saved:
        assert saved.files == [
            "material",
            *(f"material_proba_{c}" for c in classes),
            "density",
        ]
        np.testing.assert_array_equal(saved["material"], est.predict(X)["material"])
        proba = np.column_stack([saved[f"material_proba_{c}"] for c in classes])
    np.testing.assert_allclose(proba, est.predict_proba(X)["material"])


def test_predict_csv_to_stdout_and_parquet_input(model, data, capsys):
    # The .npz-trained model reads the same recordings from Parquet, except that
    # Parquet holds the signals as one 2-channel field: it names the mismatch.
    status, out, err = run(capsys, "predict", "-q", model[0], data["npz"])
    assert status == 0 and err == ""
    assert out.splitlines()[0] == "material,density" and len(out.splitlines()) == 41
    fails(capsys, "X is missing signal 'ampl'", "predict", model[0], data["parquet"])


def test_predict_in_chunks_shows_progress(model, data, capsys, monkeypatch):
    monkeypatch.setattr("skmtl.cli.command.PREDICT_CHUNK", 16)
    status, out, err = run(capsys, "predict", "--proba", model[0], data["npz"])
    assert status == 0, err
    assert [line for line in err.splitlines() if "predicted" in line] == [
        "predicted 16/40 samples",
        "predicted 32/40 samples",
        "predicted 40/40 samples",
    ]
    X = npz_inputs(data["npz"])
    proba = load(model[0]).predict_proba(X)["material"]
    rows = [line.split(",") for line in out.splitlines()[1:]]
    np.testing.assert_allclose([[float(v) for v in r[1:6]] for r in rows], proba)


def test_parquet_round_trip(data, capsys, tmp_path):
    path, output = tmp_path / "model.skmtl", tmp_path / "predictions.parquet"
    status, out, err = run(
        capsys, "fit", data["parquet"], *TARGETS, "-o", path, "-q", *TINY_OPTIONS
    )
    assert (status, out, err) == (0, "", "")
    status, _, err = run(capsys, "predict", path, data["parquet"], "-o", output)
    assert status == 0, err
    table = pq.read_table(output)
    assert table.column_names == ["material", "density"]
    fields = pq.read_table(data["parquet"]).to_pydict()
    X = {k: np.asarray(fields[k]) for k in ("both", "temp", "moist", "weight")}
    assert load(path).schema_["both"].shape == (32, 2)
    expected = load(path).predict(X)
    assert table.column("material").to_pylist() == expected["material"].tolist()
    np.testing.assert_allclose(table.column("density").to_numpy(), expected["density"])


def test_version(capsys):
    status, out, _ = run(capsys, "--version")
    assert (status, out) == (0, f"skmtl {__version__}\n")


def test_console_script_version():
    script = shutil.which("skmtl", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the skmtl console script is not installed")
    result = subprocess.run(
        [script, "--version"],
        capture_output=True,
        text=True,
        check=False,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": ""},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout == f"skmtl {__version__}\n"


# -------------------------------------------------------------------- errors
@pytest.fixture
def bad_files(tmp_path):
    (tmp_path / "garbage.npz").write_bytes(b"not a zip archive")
    (tmp_path / "garbage.parquet").write_bytes(b"not parquet either")
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    (tmp_path / "model.txt").write_text("hello")
    np.savez(
        tmp_path / "objects.npz", x=np.zeros((3, 4)), y=np.array(["a", 1], dtype=object)
    )
    # Recordings of different lengths are a variable-length signal; an empty
    # one is refused.
    ragged = pa.array([[1.0, 2.0], [], [3.0, 4.0]])
    pq.write_table(pa.table({"s": ragged, "y": [1.0, 2.0, 3.0]}), tmp_path / "r.pq")
    return tmp_path


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing.npz", "data file {dir}/missing.npz does not exist"),
        ("data.csv", "has extension '.csv'; skmtl reads and writes .npz, .parquet"),
        ("garbage.npz", "cannot read {dir}/garbage.npz as an .npz file"),
        ("garbage.parquet", "cannot read {dir}/garbage.parquet as a Parquet file"),
        ("objects.npz", "field 'y' of {dir}/objects.npz holds Python objects"),
        ("r.pq", "Field 's': sample 1 is an empty recording (0 steps)"),
    ],
)
def test_bad_data_file(bad_files, capsys, name, message):
    message = message.format(dir=bad_files)
    argv = ["fit", bad_files / name, "--target", "y", "-o", bad_files / "m.skmtl"]
    fails(capsys, message, *argv)


def test_target_not_in_data(data, capsys, tmp_path):
    argv = ["fit", data["npz"], "--target", "colour:classification"]
    fails(capsys, "target 'colour' is not a field", *argv, "-o", tmp_path / "m")
    argv = ["fit", data["npz"], "--target", "ampl:regression"]
    fails(capsys, "target 'ampl' has shape (40, 32)", *argv, "-o", tmp_path / "m")


@pytest.mark.parametrize("target", ["material:classifier", ":regression", "a:"])
def test_malformed_target(data, capsys, tmp_path, target):
    argv = ["fit", data["npz"], "--target", target, "-o", tmp_path / "m.skmtl"]
    err = fails(
        capsys, f"argument --target: malformed '{target}': expected NAME:KIND", *argv
    )
    assert err.startswith("usage: skmtl fit")


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("colour=1", "unknown parameter 'colour' in --param"),
        ("tasks=None", "set 'tasks' with --target, not --param"),
        ("epochs=3", "parameter 'epochs' is given twice"),
        ("no_equals_sign", "argument --param: malformed 'no_equals_sign'"),
        # The estimator's own validation, reported the same way.
        ("kernel_size=0", "The 'kernel_size' parameter of MultiTaskConvEstimator"),
    ],
)
def test_bad_param(data, capsys, tmp_path, param, message):
    argv = ["fit", data["npz"], *TARGETS, "--epochs", "1", "--param", param]
    fails(capsys, message, *argv, "-o", tmp_path / "m.skmtl")


def test_output_folder_missing(model, data, capsys, tmp_path):
    missing = tmp_path / "no" / "such"
    fails(
        capsys,
        f"folder {missing} does not exist; create it first",
        *["fit", data["npz"], *TARGETS, "-o", missing / "m.skmtl"],
    )
    fails(
        capsys,
        f"folder {missing} does not exist",
        *["predict", model[0], data["npz"], "-o", missing / "p.csv"],
    )
    fails(
        capsys,
        "has extension '.txt'; skmtl reads and writes .csv, .npz, .parquet",
        *["predict", model[0], data["npz"], "-o", tmp_path / "p.txt"],
    )


def test_not_a_model_file(bad_files, data, capsys):
    fails(
        capsys,
        "is not an skmtl model file (not a zip archive, or truncated); skmtl fit "
        "writes model files",
        *["predict", bad_files / "model.txt", data["npz"]],
    )
    fails(capsys, "does not exist", "info", bad_files / "missing.skmtl")
    fails(capsys, "is not a file", "info", bad_files)


def test_pyarrow_missing(monkeypatch, data, model, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    argv = ["fit", data["parquet"], *TARGETS, "-o", tmp_path / "m.skmtl"]
    fails(capsys, "reading Parquet files needs pyarrow; install it with pip", *argv)
    argv = ["predict", model[0], data["npz"], "-o", tmp_path / "p.parquet"]
    fails(capsys, "writing Parquet files needs pyarrow", *argv)


def test_usage_errors(capsys):
    fails(capsys, "arguments are required: -o/--output", "fit", "x.npz")
    # --target is required except for a .ts file, whose label is its target.
    fails(capsys, "arguments are required: --target", "fit", "x.npz", "-o", "m.skmtl")
    fails(capsys, "invalid choice: 'train'", "train")


def test_loss_weighting_choices_are_the_librarys():
    from skmtl.cli.parser import build_parser
    from skmtl.training.weighting import STRATEGIES

    fit = build_parser()._subparsers._group_actions[0].choices["fit"]
    (option,) = [a for a in fit._actions if "--loss-weighting" in a.option_strings]
    assert tuple(option.choices) == STRATEGIES


def test_version_does_not_import_tensorflow():
    code = (
        "import sys; from skmtl.cli.command import main; main(['--version']); "
        "print('tensorflow' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["skmtl", __version__, "False"]


def test_fit_options_infer_kinds_weight_and_warn(data, capsys, tmp_path):
    """``--target NAME`` infers the kind, ``--loss-weighting`` reaches the
    estimator, ``--verbose 2`` prints one line per epoch, and a library warning
    is one ``skmtl: warning:`` line on stderr."""
    path = tmp_path / "model.skmtl"
    options = [o if o != "1" else "2" for o in TINY_OPTIONS]  # --epochs 2
    status, out, err = run(
        capsys,
        *["fit", data["npz"], "--target", "material", "--target", "density"],
        *["--loss-weighting", "uncertainty", "--verbose", "2", "-o", path],
        *[*options, "--param", "loss_weights={'density': 2.0}"],
    )
    assert status == 0, err
    assert out == ""
    warning = [line for line in err.splitlines() if line.startswith("skmtl: warning:")]
    assert warning == [
        "skmtl: warning: loss_weighting='uncertainty' learns every task's weight; "
        "the loss_weights given are not used."
    ]
    epochs = [line for line in err.splitlines() if " - loss: " in line]
    assert len(epochs) == 2 and "━" not in err
    est = load(path)
    assert est.task_kinds_ == {"material": "classification", "density": "regression"}
    assert est.loss_weighting == "uncertainty" and est.n_epochs_ == 2
    status, out, _ = run(capsys, "info", "--json", path)
    summary = json.loads(out)
    assert [(t["name"], t["kind"]) for t in summary["tasks"]] == [
        ("material", "classification"),
        ("density", "regression"),
    ]
    assert summary["epochs"] == 2
    assert summary["final_losses"]["loss"] == pytest.approx(est.history_["loss"][-1])


# ------------------------------------------------------------ start-up noise
_TF_LINES = ("I0000", "E0000", "W0000", "absl::", "cuda", "cuInit", "oneDNN")


def _demo_stderr(tmp_path, **env) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "SKMTL_"))}
    options = ["--n-samples", "60", "--n-steps", "32", "--epochs", "1"]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "skmtl",
            "demo",
            *options,
            "--output",
            str(tmp_path / "m"),
        ],
        capture_output=True,
        text=True,
        env={**clean, **env},
        check=True,
        timeout=600,
    )
    assert "material accuracy" in result.stdout
    return result.stderr


def test_the_command_line_prints_no_tensorflow_start_up_lines(tmp_path):
    err = _demo_stderr(tmp_path)
    assert not [line for line in err.splitlines() if any(s in line for s in _TF_LINES)]


@pytest.mark.parametrize(
    "env", [{"SKMTL_TF_LOGS": "1"}, {"TF_CPP_MIN_LOG_LEVEL": "0"}], ids=str
)
def test_tensorflow_start_up_lines_come_back_when_asked(tmp_path, env):
    err = _demo_stderr(tmp_path, **env)
    assert any(s in err for s in _TF_LINES), err


# ------------------------------------------------- issue 25: names, JSON, help
def _subcommands():
    from skmtl.cli.parser import build_parser

    return build_parser()._subparsers._group_actions[0].choices


def test_no_help_text_states_a_default_itself():
    """Defaults are stated by option_help from where they live, so a literal
    in a help text (how --epochs once said 20 after the estimator changed)
    is refused."""
    for command, parser in _subcommands().items():
        for action in parser._actions:
            assert "default" not in (action.help or "").lower(), (command, action)


def test_fit_help_states_the_estimators_defaults(capsys):
    from skmtl.cli.parser import ESTIMATOR_OPTIONS, estimator_defaults, option_help

    fit = _subcommands()["fit"]
    stated = {a.dest: option_help(a) for a in fit._actions}
    for name in ESTIMATOR_OPTIONS:
        assert f"(default {estimator_defaults()[name]}" in stated[name], name
    status, out, _ = run(capsys, "fit", "--help")
    assert status == 0
    assert "(default auto: at least 2,000 optimizer steps" in " ".join(out.split())
    # The estimator's default can be asked for by name.
    args = _subcommands()["fit"].parse_args(["x.npz", "-o", "m", "--epochs", "auto"])
    assert args.epochs == "auto"


def test_cli_guide_states_the_estimators_defaults():
    """docs/cli.md's option table is held to the estimator as --help is."""
    import ast
    import re

    from skmtl.cli.parser import (
        ESTIMATOR_OPTIONS,
        _default_meaning,
        estimator_defaults,
    )

    guide = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
    table = guide.read_text().split("| option | meaning |", 1)[1].split("\n\n")[0]
    rows = {}
    for line in table.splitlines():
        found = re.match(r"\| `--([\w-]+)`[^|]* \| (.*) \|$", line)
        if found:
            rows[found.group(1).replace("-", "_")] = found.group(2)
    for name in ESTIMATOR_OPTIONS:
        stated = re.search(r"default `([^`]+)`", rows[name])
        assert stated, f"docs/cli.md: --{name} states no default: {rows[name]}"
        default = estimator_defaults()[name]
        assert ast.literal_eval(stated.group(1)) == default, name
        assert _default_meaning(name, default).lstrip(": ") in rows[name], name


def test_info_json_is_strict_json(model, capsys, tmp_path):
    """A loss that diverged (NaN, inf) is written as a string, not as the
    bare NaN / Infinity that Python's json writes and JSON parsers refuse."""
    import zipfile

    crafted = tmp_path / "diverged.skmtl"
    with zipfile.ZipFile(model[0]) as zin, zipfile.ZipFile(crafted, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename == "skmtl.json":
                meta = json.loads(data)
                meta["history"]["loss"][-1] = float("nan")
                meta["history"]["material_loss"][-1] = float("inf")
                data = json.dumps(meta).encode()
            zout.writestr(item, data)
    status, out, err = run(capsys, "info", "--json", crafted)
    assert status == 0, err

    def refuse(token):
        raise AssertionError(f"not JSON: {token}")

    summary = json.loads(out, parse_constant=refuse)
    assert summary["final_losses"]["loss"] == "NaN"
    assert summary["final_losses"]["material_loss"] == "Infinity"
    assert np.isnan(float(summary["final_losses"]["loss"]))
    status, out, _ = run(capsys, "info", crafted)  # the text form says nan
    assert status == 0 and "final loss nan" in out


@pytest.mark.parametrize("index", ["after a split", "named", "two levels"])
def test_a_pandas_index_in_parquet_is_never_an_input(tmp_path, index):
    pd = pytest.importorskip("pandas")
    from skmtl.data.tables import read_data

    frame = pd.DataFrame(
        {"ampl": list(np.zeros((6, 4))), "temp": np.arange(6.0), "y": list("abcabc")}
    )
    if index == "after a split":  # __index_level_0__
        frame = frame.iloc[[4, 1, 3]]
    elif index == "named":
        frame.index = pd.Index(np.arange(10, 16), name="sample")
    else:
        frame.index = pd.MultiIndex.from_arrays(
            [np.arange(6), list("pqrstu")], names=["run", None]
        )
    frame.to_parquet(tmp_path / "data.parquet")
    data = read_data(str(tmp_path / "data.parquet"))
    assert list(data) == ["ampl", "temp", "y"]
    np.testing.assert_array_equal(data["temp"], frame["temp"].to_numpy())


# Names that collide with np.savez's own parameters, hold a path separator,
# look like an .npy member, a pandas index column or an unnamed array.
ODD_NAMES = [
    "file",
    "allow_pickle",
    "mat/erial",
    "x.npy",
    "__index_level_0__",
    "arr_0",
    "a,b",
    'quote"d',
    "振幅 x",
]


@pytest.mark.parametrize("extension", [".npz", ".parquet", ".csv"])
def test_any_column_name_round_trips_through_every_output_format(tmp_path, extension):
    import csv

    from skmtl.data.tables import read_data, write_table

    columns = {name: np.arange(3.0) + i for i, name in enumerate(ODD_NAMES)}
    path = str(tmp_path / f"predictions{extension}")
    write_table(columns, path)
    if extension == ".csv":
        with open(path, newline="", encoding="utf-8") as stream:
            header, *rows = list(csv.reader(stream))
        back = {n: np.array([float(r[j]) for r in rows]) for j, n in enumerate(header)}
    else:
        back = read_data(path)
    assert list(back) == ODD_NAMES
    for name, values in columns.items():
        np.testing.assert_array_equal(back[name], values)


def test_tasks_named_like_savez_parameters_or_derived_columns(data, capsys, tmp_path):
    """Tasks 'file' and 'allow_pickle' reach every output; a task named like
    another task's --proba column is refused by name, not overwritten."""
    from skmtl.data.tables import write_table

    with np.load(data["npz"]) as archive:
        fields = {k: archive[k] for k in archive.files}
    fields["file"] = fields.pop("material")
    fields["allow_pickle"] = fields.pop("density")
    fields["file_proba_steel"] = fields["allow_pickle"] * 2
    write_table(fields, str(tmp_path / "odd.npz"))  # np.savez takes file= itself
    model = tmp_path / "odd.skmtl"
    tasks = ["file", "allow_pickle", "file_proba_steel"]
    targets = ["file:classification", *tasks[1:]]
    argv = ["fit", tmp_path / "odd.npz", "-o", model, "-q", *TINY_OPTIONS]
    status, _, err = run(capsys, *argv, *(f"--target={t}" for t in targets))
    assert status == 0, err
    output = tmp_path / "predictions.npz"
    status, _, err = run(
        capsys, "predict", "-q", model, tmp_path / "odd.npz", "-o", output
    )
    assert status == 0, err
    X = {k: v for k, v in fields.items() if k not in tasks}
    expected = load(model).predict(X)
    with np.load(output) as saved:
        assert saved.files == tasks
        for name in saved.files:
            np.testing.assert_array_equal(saved[name], expected[name].to_numpy())
    fails(
        capsys,
        "the predictions would hold two columns named 'file_proba_steel': "
        "--proba's column of class 'steel' of task 'file' and task "
        "'file_proba_steel'",
        *["predict", model, tmp_path / "odd.npz", "--proba", "-o", output],
    )
