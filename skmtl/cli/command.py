"""The ``skmtl`` command: ``fit``, ``predict``, ``info`` and ``demo``.

Data files are ``.npz`` (one array per field), Parquet (one column per field,
signals as list-valued columns; needs pyarrow, the ``skmtl[parquet]`` extra) or
``.ts`` (the UCR/UEA archive format; needs aeon, the ``skmtl[aeon]`` extra).
Every expected failure (a missing or corrupt file, a bad option, an estimator
error) is reported as ``skmtl: error: ...`` on stderr with exit status 2, the
argparse convention; progress and notes go to stderr too, so that stdout holds
only what was asked for (``info``, or predictions written to ``-o -``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import time
import warnings
from collections.abc import Sequence

import numpy as np

from ..data.tables import TS_SIGNAL, TS_TARGET, need_pyarrow, read_data, write_table
from ..utils.files import check_output, existing_file
from ..utils.names import repeated
from .parser import (
    ESTIMATOR_OPTIONS,
    OWN_OPTIONS,
    CliError,
    build_parser,
    estimator_defaults,
)

__all__ = [
    "main",
    "read_data",
    "strict_json",
]

# Rows per call to predict: the unit of the progress indication.
PREDICT_CHUNK = 4096


# ---------------------------------------------------------------------- files
def split_targets(
    data: dict[str, np.ndarray], targets: Sequence[tuple[str, str | None]]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Take the target fields out of ``data``: ``(X fields, target columns)``.

    Examples
    --------
    >>> data = {"ampl": np.zeros((2, 4)), "material": np.array(["a", "b"])}
    >>> X, y = split_targets(data, [("material", "classification")])
    >>> list(X), list(y)
    (['ampl'], ['material'])
    """
    names = [name for name, _ in targets]
    duplicated = repeated(names)
    if duplicated:
        raise CliError(f"--target {duplicated[0]!r} is given more than once")
    missing = [n for n in names if n not in data]
    if missing:
        raise CliError(
            f"target {missing[0]!r} is not a field of the data file; its fields "
            f"are {sorted(data)}"
        )
    X = {k: v for k, v in data.items() if k not in names}
    if not X:
        raise CliError("every field of the data file is a target; X has no fields")
    for name in names:
        if data[name].ndim != 1:
            raise CliError(
                f"target {name!r} has shape {data[name].shape}; a target holds one "
                "value per sample (a 1-D array or a scalar column)"
            )
    return X, {n: data[n] for n in names}


def _targets_table(columns: dict[str, np.ndarray]):
    """y for the estimator: a DataFrame, or a structured array without pandas."""
    try:
        import pandas as pd
    except ImportError:
        dtype = np.dtype([(n, c.dtype) for n, c in columns.items()])
        y = np.empty(len(next(iter(columns.values()))), dtype=dtype)
        for name, column in columns.items():
            y[name] = column
        return y
    return pd.DataFrame(columns)


# ------------------------------------------------------------------------ fit
def estimator_params(args: argparse.Namespace) -> dict:
    """Estimator parameters from the options; --param may not repeat one."""
    params = {
        name: value
        for name in ESTIMATOR_OPTIONS
        if (value := getattr(args, name)) is not None
    }
    known = set(estimator_defaults())
    for name, value in args.params:
        if name in OWN_OPTIONS:
            raise CliError(f"set {name!r} with {OWN_OPTIONS[name]}, not --param")
        if name in params:
            raise CliError(f"parameter {name!r} is given twice")
        if name not in known and "__" not in name:
            raise CliError(
                f"unknown parameter {name!r} in --param; the estimator's "
                f"parameters are {sorted(known - set(OWN_OPTIONS))}"
            )
        params[name] = value
    params["tasks"] = {n: kind for n, kind in args.targets if kind is not None} or None
    params["verbose"] = args.verbose
    return params


def cmd_fit(args: argparse.Namespace) -> int:
    """``skmtl fit``: read DATA, fit, save to ``-o``."""
    labels = _ts_task_names(args.data)
    args.targets = args.targets or _default_targets(args.data[0], labels)
    from ..estimator.wrapper import MultiTaskConvEstimator

    check_output(args.output, inputs=[("data file", path) for path in args.data])
    est = MultiTaskConvEstimator(**estimator_params(args))
    data = read_data(args.data[0]) if len(args.data) == 1 else _read_ts_set(args)
    X, targets = split_targets(data, args.targets)
    # A .ts label left out by --target is another task's target, not an input.
    X = {k: v for k, v in X.items() if k not in labels}
    y = _targets_table(targets)
    start = time.perf_counter()
    # Keras draws its progress bar on stdout; stdout is for requested output.
    with contextlib.redirect_stdout(sys.stderr):
        est.fit(X, y)
    est.save(args.output)
    _note(
        args,
        f"trained {est.n_epochs_} epoch(s) on {len(y)} samples in "
        f"{time.perf_counter() - start:.1f} s; model saved to {args.output}",
    )
    return 0


def _ts_task_names(paths: Sequence[str]) -> list[str]:
    """The target fields of ``.ts`` data: one file's ``target``, or one per file."""
    if len(paths) == 1:
        return [TS_TARGET] if paths[0].lower().endswith(".ts") else []
    others = [p for p in paths if not p.lower().endswith(".ts")]
    if others:
        raise CliError(
            f"fit takes several data files only as .ts files of the same series "
            f"(one task per file); {others[0]} is not a .ts file: put every "
            "field in one .npz or Parquet file"
        )
    from ..data.convert import _task_names

    names = _task_names(paths, None)
    if TS_SIGNAL in names:
        raise CliError(
            f"a .ts file gives the task name {TS_SIGNAL!r}, which is the name of "
            "the series field: rename the file"
        )
    return names


def _read_ts_set(args: argparse.Namespace) -> dict[str, np.ndarray]:
    """Several ``.ts`` files as one data file: the series once, a field per task."""
    from ..data.convert import read_ts_tasks

    X, y = read_ts_tasks(args.data)
    signal = X[X.dtype.names[0]] if X.dtype.names else X
    return {TS_SIGNAL: signal, **{name: y[name].to_numpy() for name in y.columns}}


def _default_targets(path: str, labels: Sequence[str]) -> list[tuple[str, str | None]]:
    """A ``.ts`` file's label is its target; other files name theirs."""
    if labels:
        return [(name, None) for name in labels]
    raise CliError(
        "the following arguments are required: --target (NAME:KIND for each "
        "task; only a .ts file names its target itself)"
    )


def _note(args: argparse.Namespace, message: str) -> None:
    if args.verbose:
        print(f"skmtl: {message}", file=sys.stderr)


# -------------------------------------------------------------------- predict
def _load_model(path: str):
    from ..estimator import load
    from ..io.persistence import SkmtlFileError

    existing_file(path, "model file")
    try:
        return load(path)
    except SkmtlFileError as exc:
        raise CliError(
            f"{str(exc).rstrip('.')}; skmtl fit writes model files"
        ) from None
    except Exception as exc:  # a damaged or crafted file may fail anywhere
        raise CliError(_unreadable_model(path, exc)) from None


def _unreadable_model(path: str, exc: BaseException) -> str:
    detail = str(exc).strip()[:200] or "no detail"
    return (
        f"cannot load model file {path} ({type(exc).__name__}: {detail}); "
        "skmtl fit writes model files"
    )


def _input_fields(args, est, data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``data`` without the model's target columns (a training file predicts)."""
    targets = [
        t.name for t in est.tasks_ if t.name in data and t.name not in est.schema_
    ]
    if targets:
        _note(args, f"ignoring column(s) {targets} of {args.data}: the model's targets")
    fields = {k: v for k, v in data.items() if k not in targets}
    if args.data.lower().endswith(".ts") and TS_TARGET in fields:
        if TS_TARGET not in est.schema_:  # a label of tasks named otherwise
            _note(args, f"ignoring the label of {args.data}: not a model input")
            del fields[TS_TARGET]
    if not fields:
        raise CliError(
            f"data file {args.data} holds only the model's target column(s) "
            f"{targets} and no input field; the model reads {est.schema_.names}"
        )
    return fields


def _columns_of(est, pred) -> dict[str, np.ndarray]:
    """Predictions in any form y had at fit, as ``{task: array}``."""
    names = [t.name for t in est.tasks_]
    if isinstance(pred, np.ndarray) and pred.dtype.names is None:
        pred = pred.reshape(len(pred), -1)
        return {name: pred[:, j] for j, name in enumerate(names)}
    return {name: np.asarray(pred[name]) for name in names}


def _chunk_columns(est, X: dict, proba: bool) -> dict[str, np.ndarray]:
    columns = _Columns()
    classify = any(t.kind == "classification" for t in est.tasks_)
    probas = est.predict_proba(X) if proba and classify else {}
    if not isinstance(probas, dict):
        probas = {est.tasks_[0].name: probas}
    for name, values in _columns_of(est, est.predict(X)).items():
        if values.ndim == 2 or (values.dtype == object and np.ndim(values[0]) > 0):
            block = np.stack(list(values)).astype(float)
            for j in range(block.shape[1]):
                columns.add(f"{name}_{j}", block[:, j], f"output {j} of task {name!r}")
        else:
            columns.add(str(name), values, f"task {name!r}")
        if name in probas:
            task = next(t for t in est.tasks_ if t.name == name)
            for j, label in enumerate(task.classes.tolist()):
                # The network's float32, whose shortest repr is short in CSV.
                columns.add(
                    f"{name}_proba_{label}",
                    probas[name][:, j].astype(np.float32),
                    f"--proba's column of class {label!r} of task {name!r}",
                )
    return columns.values


class _Columns:
    """Output columns by name; a name made twice is refused, never overwritten.

    Task names are free text, so a task may be named like another task's
    derived column (``material_proba_steel``); a dict would silently keep
    one of the two.
    """

    def __init__(self):
        self.values: dict[str, np.ndarray] = {}
        self._sources: dict[str, str] = {}

    def add(self, name: str, values: np.ndarray, source: str) -> None:
        if name in self.values:
            raise CliError(
                f"the predictions would hold two columns named {name!r}: "
                f"{self._sources[name]} and {source}; predict without --proba, "
                "or refit with task names that do not collide"
            )
        self.values[name] = values
        self._sources[name] = source


def predict_columns(args, est, X: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``{column: values}`` for every task, predicted in chunks with progress.

    Progress (with ``verbose``, on stderr) redraws one line on a terminal and
    writes a line per chunk elsewhere (a log file), if there is more than one.
    """
    n = len(next(iter(X.values())))
    starts = range(0, max(n, 1), PREDICT_CHUNK)
    tty = sys.stderr.isatty()
    show = args.verbose and (tty or len(starts) > 1)
    parts = []
    for start in starts:
        chunk = {k: v[start : start + PREDICT_CHUNK] for k, v in X.items()}
        parts.append(_chunk_columns(est, chunk, args.proba))
        if show:
            done = min(start + PREDICT_CHUNK, n)
            line = f"predicted {done}/{n} samples"
            if tty:
                print(f"\r{line}", end="" if done < n else "\n", file=sys.stderr)
            else:
                print(line, file=sys.stderr)
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def cmd_predict(args: argparse.Namespace) -> int:
    """``skmtl predict``: load MODEL, predict DATA, write one column per task."""
    if args.output != "-":
        inputs = [("model file", args.model), ("data file", args.data)]
        check_output(args.output, (".csv", ".npz", ".parquet"), inputs)
        if args.output.lower().endswith(".parquet"):
            need_pyarrow("writing")
    est = _load_model(args.model)
    X = _input_fields(args, est, read_data(args.data))
    columns = predict_columns(args, est, X)
    write_table(columns, args.output)
    if args.output != "-":
        n = len(next(iter(columns.values())))
        _note(args, f"wrote {n} rows x {len(columns)} columns to {args.output}")
    return 0


# ----------------------------------------------------------------------- info
def model_summary(path: str) -> dict:
    """What ``skmtl info`` shows, as a JSON-ready dict."""
    from ..io.persistence import _read

    est = _load_model(path)
    try:
        meta, _ = _read(path)
    except Exception as exc:  # read once already: only a file changed meanwhile
        raise CliError(_unreadable_model(path, exc)) from None
    history = est.history_ or {}
    return {
        "file": str(path),
        "versions": meta.get("versions", {}),
        "inputs": [
            {"name": f.name, "kind": f.kind, "shape": list(f.shape)}
            for f in est.schema_.fields
        ],
        "tasks": [
            {
                "name": t.name,
                "kind": t.kind,
                "classes": None if t.classes is None else t.classes.tolist(),
            }
            for t in est.tasks_
        ],
        "epochs": len(history.get("loss", [])),
        "final_losses": {
            key: history[key][-1]
            for key in sorted(history, key=lambda k: (k != "loss", k))
            if key.endswith("loss") and history[key]
        },
        "n_params": int(est.model_.count_params()),
        "params": meta.get("params", {}),
    }


def format_summary(summary: dict) -> str:
    """``model_summary`` as the text ``skmtl info`` prints."""
    versions = summary["versions"]
    lines = [
        summary["file"],
        f"  saved with skmtl {versions.get('skmtl', '?')}, "
        f"Keras {versions.get('keras', '?')}",
        "inputs:",
    ]
    for field in summary["inputs"]:
        shape = " x ".join(map(str, field["shape"]))
        detail = f"({shape})" if field["kind"] == "signal" else "(one value)"
        lines.append(f"  {field['name']:<16} {field['kind']:<10} {detail}")
    lines.append("tasks:")
    for task in summary["tasks"]:
        detail = ""
        if task["classes"] is not None:
            shown = ", ".join(map(str, task["classes"][:10]))
            more = ", ..." if len(task["classes"]) > 10 else ""
            detail = f"{len(task['classes'])} classes: {shown}{more}"
        lines.append(f"  {task['name']:<16} {task['kind']:<15} {detail}".rstrip())
    losses = ", ".join(f"{k} {v:.4g}" for k, v in summary["final_losses"].items())
    lines.append(f"training: {summary['epochs']} epoch(s); final {losses or '-'}")
    lines.append(f"network: {summary['n_params']:,} parameters")
    return "\n".join(lines)


def cmd_info(args: argparse.Namespace) -> int:
    """``skmtl info``: describe a saved model on stdout."""
    summary = model_summary(args.model)
    if args.json:
        print(json.dumps(strict_json(summary), indent=2, allow_nan=False))
    else:
        print(format_summary(summary))
    return 0


#: How :func:`strict_json` writes the floats that JSON has no number for.
NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def strict_json(value):
    """``value`` as strict JSON data: non-finite floats become strings.

    Python's ``json`` writes NaN and infinities as the bare tokens ``NaN``,
    ``Infinity`` and ``-Infinity``, which are not JSON (``jq`` and most
    parsers refuse them). Every JSON the command line writes goes through
    here and ``json.dumps(..., allow_nan=False)``: such a value (a loss that
    diverged, say) is written as the string ``"NaN"``, ``"Infinity"`` or
    ``"-Infinity"``, which ``float()`` in Python reads back. NumPy scalars
    become Python numbers and tuples lists.

    Parameters
    ----------
    value : object
        Dicts, lists, tuples, strings, numbers, booleans and None, nested.

    Returns
    -------
    object
        The same structure, ready for ``json.dumps(..., allow_nan=False)``.

    Examples
    --------
    >>> strict_json({"loss": float("nan"), "steps": (np.int64(2), float("-inf"))})
    {'loss': 'NaN', 'steps': [2, '-Infinity']}
    """
    if isinstance(value, dict):
        return {key: strict_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return NON_FINITE[str(value)]
    return value


# ----------------------------------------------------------------------- demo
def cmd_demo(args: argparse.Namespace) -> int:
    """``skmtl demo``: the default estimator on the synthetic sensor data."""
    from sklearn.metrics import (
        accuracy_score,
        f1_score,
        mean_absolute_error,
        r2_score,
    )
    from sklearn.model_selection import train_test_split

    from .. import MultiTaskConvEstimator
    from ..data.synthetic import make_sensor_tasks

    print(
        f"Synthetic sensor data: {args.n_samples} samples, 2 signals x "
        f"{args.n_steps} steps + 3 covariates; tasks 'material' (5 classes) and "
        "'density' (regression)."
    )
    X, y = make_sensor_tasks(
        args.n_samples, n_steps=args.n_steps, random_state=args.random_state
    )
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=args.random_state, stratify=y["material"]
    )
    est = MultiTaskConvEstimator(
        epochs=args.epochs, random_state=args.random_state, verbose=args.verbose
    )
    start = time.perf_counter()
    est.fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start
    pred = est.predict(X_test)
    metrics = {
        "material accuracy": accuracy_score(y_test["material"], pred["material"]),
        "material macro-F1": f1_score(
            y_test["material"], pred["material"], average="macro"
        ),
        "density R^2": r2_score(y_test["density"], pred["density"]),
        "density MAE": mean_absolute_error(y_test["density"], pred["density"]),
    }
    print(
        f"\nTrained on {len(X_train)} samples in {fit_seconds:.1f} s; "
        f"held-out metrics on {len(X_test)} samples:"
    )
    for name, value in metrics.items():
        print(f"  {name:<18} {value:.4f}")
    est.save(args.output)
    print(f"\nModel saved to {os.path.abspath(args.output)}")
    print("Load it with: skmtl.load(path).predict(X)")
    return 0


# ----------------------------------------------------------------------- main
_COMMANDS = {"fit": cmd_fit, "predict": cmd_predict, "info": cmd_info, "demo": cmd_demo}


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"skmtl: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``skmtl`` command line; return the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name; by default ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success (and for ``--help`` and ``--version``), 1 when stdout
        is closed early (``skmtl predict ... | head``), 2 on any reported
        error (``skmtl: error: ...`` on stderr), 130 when interrupted.

    Examples
    --------
    >>> main(["--version"])  # doctest: +ELLIPSIS
    skmtl ...
    0

    An error (here, ``fit`` without its required options) prints the usage
    and ``skmtl: error: ...`` on stderr, and returns 2:

    >>> main(["fit", "train.npz"])
    2
    """
    try:
        args = build_parser().parse_args(argv)
    except CliError as exc:
        print(f"skmtl: error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            from .. import _USER_TF_LOG_LEVEL
            from .quiet import start_tensorflow_quietly

            start_tensorflow_quietly(_USER_TF_LOG_LEVEL)
            return _COMMANDS[args.command](args)
        except BrokenPipeError:  # e.g. `skmtl predict ... | head`
            _silence_stdout()
            return 1
        except (CliError, ValueError, TypeError, OSError) as exc:
            print(f"skmtl: error: {_message(exc)}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("skmtl: interrupted", file=sys.stderr)
            return 130


def _silence_stdout() -> None:
    """Point stdout at devnull, so that flushing it at exit cannot fail again."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    return str(exc).strip() or type(exc).__name__
