"""Bad-input catalogue: every way a user can hand skmtl wrong data or parameters.

``CATALOGUE`` is one table. Each row names a situation, a callable that makes
the bad call, the exception expected and a regex its message must match: the
message has to name the offending field, task or parameter and say what was
expected. Rows marked with :func:`_bug` are known library defects (a raw
TensorFlow/NumPy error, a message that does not name the field, a check that
comes too late): strict xfails, so fixing the library makes them fail until
the mark is removed.

While a row runs, Keras training is replaced by a guard that raises
:class:`TrainingStarted`: every error in the catalogue must come *before* any
training. ``docs/troubleshooting.md`` carries one table row per catalogue id
(checked below); regenerate its table with ``python -m tests.test_bad_inputs``.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import functools
import io
import json
import re
import warnings
import zipfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import NamedTuple
from unittest import mock

import joblib
import keras
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import InvalidParameterError

from skmtl import MultiTaskConvEstimator, load, to_structured
from skmtl.cli.command import main as cli_main
from skmtl.datasets import make_sensor_tasks
from skmtl.persistence import SkmtlFileError

from .conftest import TINY

DOCS = Path(__file__).resolve().parent.parent / "docs" / "troubleshooting.md"
N, STEPS = 60, 32


class TrainingStarted(AssertionError):
    """Raised by the guard that replaces ``keras.Model.fit`` during a row."""


class CommandError(Exception):
    """The ``skmtl`` command exited with status 2 and one ``skmtl: error:`` line."""


class DataLost(AssertionError):
    """A file that a refused or failed call must leave alone has changed."""


class Row(NamedTuple):
    id: str
    call: Callable[[SimpleNamespace], object]
    exc: type[BaseException]
    match: str
    situation: str
    fix: str


def _bug(row: Row, reason: str):
    """A catalogue row that fails today because of a library defect."""
    return pytest.param(
        row, id=row.id, marks=pytest.mark.xfail(reason=reason, strict=True)
    )


# ------------------------------------------------------------------ helpers
def _est(**params) -> MultiTaskConvEstimator:
    return MultiTaskConvEstimator(**{**TINY, "epochs": 1, "random_state": 0, **params})


def _fit(**params) -> Callable[[SimpleNamespace], object]:
    """A row callable: fit an estimator with ``params`` on the catalogue data."""
    return lambda c: _est(**params).fit(c.X, c.y)


def _fields(X) -> dict[str, np.ndarray]:
    """The structured X as a dict of (copied) arrays."""
    return {name: X[name].copy() for name in X.dtype.names}


def _with(c, **fields) -> dict[str, np.ndarray]:
    """X as a dict with some fields replaced (``None`` drops a field)."""
    out = {**_fields(c.X), **fields}
    return {k: v for k, v in out.items() if v is not None}


def _renamed(c, old: str, new: str) -> dict[str, np.ndarray]:
    return {(new if k == old else k): v for k, v in _fields(c.X).items()}


def _frame(X) -> pd.DataFrame:
    """X as a DataFrame: signals as columns of per-sample arrays."""
    return pd.DataFrame(
        {n: list(X[n]) if X[n].ndim > 1 else X[n] for n in X.dtype.names}
    )


def _one_bad(a: np.ndarray, row: int, value: float) -> np.ndarray:
    a = a.astype(np.float64)
    a[row, ...] = value
    return a


def _ragged_frame(c) -> pd.DataFrame:
    """X as a DataFrame whose sample 7 of 'ampl' has two channels."""
    frame = _frame(c.X)
    cells = list(frame["ampl"])
    cells[7] = np.stack([cells[7], cells[7]], axis=-1)
    frame["ampl"] = cells
    return frame


def _ragged_list(signal: np.ndarray) -> list:
    """A signal as a list of recordings, the last one empty."""
    rows = [list(r) for r in signal]
    rows[-1] = []
    return rows


def _ragged_block() -> list:
    return [np.ones(1 if i == 1 else 2) for i in range(N)]


def _frame_with_none(c) -> pd.DataFrame:
    frame = _frame(c.X)
    frame["temp"] = frame["temp"].astype(object)
    frame.loc[3, "temp"] = None
    return frame


def _two_classifiers(c) -> pd.DataFrame:
    return c.y.assign(size=np.where(np.arange(N) % 2, "small", "large"))


def _cli(*argv) -> None:
    """Run ``skmtl argv`` in-process; its one error line becomes a CommandError.

    Anything else (exit status 0 or 1, a traceback, several error lines) is an
    AssertionError, which no catalogue row expects.
    """
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli_main([str(a) for a in argv])
    stderr = err.getvalue()
    errors = [line for line in stderr.splitlines() if line.startswith("skmtl: error: ")]
    if status == 2 and len(errors) == 1 and "Traceback" not in stderr:
        raise CommandError(errors[0].removeprefix("skmtl: error: "))
    raise AssertionError(f"skmtl exited with status {status}:\n{stderr[-2000:]}")


def _keeps(path: Path, call: Callable[[], object]) -> None:
    """Run ``call`` (which must raise); then ``path`` must be byte-identical."""
    before = path.read_bytes()
    try:
        call()
    finally:
        if not path.is_file() or path.read_bytes() != before:
            raise DataLost(f"{path.name} was changed or deleted")


def _on_full_disk(c) -> None:
    """Save over a good model file while the disk fills up."""
    write = zipfile.ZipFile.write

    def full(self, filename, arcname=None, *args, **kwargs):
        if arcname == "model.keras":  # skmtl's own member, after the metadata
            raise OSError(errno.ENOSPC, "No space left on device")
        return write(self, filename, arcname, *args, **kwargs)

    path = c.files / "model.skmtl"
    with mock.patch.object(zipfile.ZipFile, "write", full):
        _keeps(path, lambda: c.fitted.save(path))


def _rewritten(source: Path, target: Path, change: Callable[[str], str]) -> None:
    """Copy a model file with its ``skmtl.json`` text changed."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename == "skmtl.json":
                data = change(data.decode()).encode()
            zout.writestr(item, data, compress_type=zipfile.ZIP_DEFLATED)


def _without_key(key: str) -> Callable[[str], str]:
    return lambda text: json.dumps(
        {k: v for k, v in json.loads(text).items() if k != key}
    )


def _one_class_less(text: str) -> str:
    """Metadata whose 'material' lists 4 classes for a head of 5 units."""
    meta = json.loads(text)
    for task in meta["targets"]["tasks"]:
        if task["name"] == "material":
            task["classes"] = task["classes"][:-1]
    return json.dumps(meta)


def _all_classes_weighted_zero(c) -> dict:
    return {"material": dict.fromkeys(c.y["material"].unique().tolist(), 0.0)}


def _warned(call: Callable[[], object]):
    """Run ``call`` with UserWarnings raised: a catalogue row for a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        return call()


def _scored_with(c, **params):
    """The fitted estimator, copied, with changed scoring parameters."""
    est = copy.copy(c.fitted)
    est.set_params(**params)
    return est.score(c.X, c.y)


# ----------------------------------------------------------------- catalogue
CATALOGUE = [
    # --- the form of X -----------------------------------------------------
    Row(
        "x-unsupported-type",
        lambda c: _est().fit("ampl.csv", c.y),
        TypeError,
        r"X of type str is not supported\. Pass a dict of arrays",
        "X is a string (or another unsupported type).",
        "Pass a dict of arrays, a structured array, a DataFrame, or a 2-D/3-D array.",
    ),
    Row(
        "x-empty",
        lambda c: _est().fit(c.X[:0], c.y[:0]),
        ValueError,
        r"X has 0 samples; at least 1 is required",
        "X has no samples.",
        "Check the filter or split that produced X.",
    ),
    Row(
        "x-one-sample",
        lambda c: _est().fit(c.X[:1], c.y[:1]),
        ValueError,
        r"Classification task 'material' has only 1 class, \['\w+'\]; a classifier "
        r"needs at least 2",
        "A single sample: every classification task then has a single class, "
        "which is refused (a regression-only y would train on it).",
        "Fit on more samples, with at least two classes per classification task.",
    ),
    Row(
        "x-1d-array",
        lambda c: _est().fit(c.X["temp"], c.y),
        ValueError,
        r"X as a plain array must be 2-D .* or 3-D .*; got 1-D",
        "X is a 1-D array (one covariate on its own).",
        "Pass {'temp': x} for a covariate, or x.reshape(1, -1) for one signal.",
    ),
    Row(
        "x-4d-array",
        lambda c: _est().fit(np.zeros((N, 4, 2, 2)), c.y),
        ValueError,
        r"X as a plain array must be 2-D .* or 3-D .*; got 4-D",
        "X is a 4-D array.",
        "Reshape to (n_samples, n_steps, n_channels) or split into named fields.",
    ),
    Row(
        "x-ragged-list",
        lambda c: _est().fit([[1.0, 2.0], [1.0]] * (N // 2), c.y),
        ValueError,
        r"X is a ragged nested sequence: its samples have different lengths",
        "X is a list of lists of different lengths.",
        "Pad or crop the recordings to one length first.",
    ),
    Row(
        "x-sparse",
        lambda c: _est().fit(sp.csr_matrix(c.X["ampl"]), c.y),
        TypeError,
        r"X is a sparse matrix.*not supported.*X\.toarray\(\)",
        "X is a SciPy sparse matrix.",
        "X.toarray(): signals are dense.",
    ),
    Row(
        "x-complex",
        lambda c: _est().fit(c.X["ampl"].astype(np.complex128), c.y),
        ValueError,
        r"Complex data not supported: field 'signal' has dtype complex128",
        "X (or a field) is complex.",
        "Split it into two real fields (real/imaginary or magnitude/phase).",
    ),
    Row(
        "x-y-length-mismatch",
        lambda c: _est().fit(c.X, c.y[:50]),
        ValueError,
        r"X has 60 samples but y has 50",
        "X and y have different numbers of samples.",
        "Select the same rows of X and y.",
    ),
    Row(
        "x-fields-differ-in-length",
        lambda c: _est().fit(_with(c, ampl=c.X["ampl"][:50]), c.y),
        ValueError,
        r"X fields have different numbers of samples \('ampl': 50, 'phase': 60",
        "The fields of a dict X have different numbers of samples.",
        "Give every field one entry per sample.",
    ),
    Row(
        "x-field-name-not-str",
        lambda c: _est().fit({0: c.X["ampl"]}, c.y),
        TypeError,
        r"X field names must be strings; got 0",
        "A dict X has a non-string key.",
        "Use string field names.",
    ),
    Row(
        "x-field-name-slash",
        lambda c: _est().fit({"ampl/raw": c.X["ampl"]}, c.y),
        ValueError,
        r"Field name 'ampl/raw' contains '/'",
        "A field name contains '/' (Keras refuses it in input names).",
        "Rename the field.",
    ),
    Row(
        "x-frame-mixed-column-names",
        lambda c: _est().fit(pd.DataFrame({"temp": c.X["temp"], 1: c.X["moist"]}), c.y),
        TypeError,
        r"DataFrame column names must all be strings.*\['temp', 1\]",
        "A DataFrame X mixes string and non-string column names.",
        "X.columns = X.columns.astype(str).",
    ),
    Row(
        "x-field-name-empty",
        lambda c: _est().fit(_with(c, **{"": c.X["temp"]}), c.y),
        ValueError,
        r"X field name '' is empty; give every field a non-empty name",
        "A dict X has an empty key (it would name a network input).",
        "Name every field.",
    ),
    Row(
        "frame-column-name-empty",
        lambda c: _est().fit(_frame(c.X).rename(columns={"temp": ""}), c.y),
        ValueError,
        r"DataFrame column name '' is empty; give every column a non-empty name",
        "A DataFrame X has a column named ''.",
        "Rename the column.",
    ),
    Row(
        "frame-duplicate-column",
        lambda c: _est().fit(
            pd.concat([_frame(c.X), _frame(c.X)[["temp"]]], axis=1), c.y
        ),
        ValueError,
        r"X has duplicate column names \['temp'\]; each field needs its own name",
        "A DataFrame X has two columns of one name (it once became a 2-step signal).",
        "Rename or drop one: X.loc[:, ~X.columns.duplicated()].",
    ),
    Row(
        "x-dict-scalar-field",
        lambda c: _est().fit(_with(c, temp=21.5), c.y),
        ValueError,
        r"X field 'temp' is a single value \(21\.5\), not one value per sample",
        "A dict X holds a scalar where an array of one value per sample belongs.",
        "One value per sample: {'temp': np.full(n, 21.5)}, or [21.5] for one sample.",
    ),
    # --- X at predict against the schema learned at fit ----------------------
    Row(
        "predict-missing-field",
        lambda c: c.fitted.predict(_with(c, phase=None)),
        ValueError,
        r"X is missing signal 'phase' of 32 steps x 1 channel\(s\) seen at fit"
        r".*expected exactly \['ampl', 'phase'",
        "A field seen at fit is missing at predict.",
        "Pass every field the estimator was fitted on (est.schema_.names).",
    ),
    Row(
        "predict-extra-field",
        lambda c: c.fitted.predict(_with(c, pressure=np.zeros(N))),
        ValueError,
        r"X has field\(s\) \['pressure'\] not seen at fit.*matched by name",
        "X has a field that was not there at fit.",
        "Drop it, or refit with it.",
    ),
    Row(
        "predict-renamed-field",
        lambda c: c.fitted.predict(_renamed(c, "ampl", "amplitude")),
        ValueError,
        r"X is missing signal 'ampl'.*; X has field\(s\) \['amplitude'\] not seen",
        "A field was renamed between fit and predict.",
        "Rename it back: fields are matched by name.",
    ),
    Row(
        "predict-signal-length",
        lambda c: c.fitted.predict(_with(c, ampl=c.X["ampl"][:, :16])),
        ValueError,
        r"Field 'ampl' has 16 steps x 1 channel\(s\) per sample, but the signal "
        r"'ampl' of 32 steps",
        "A signal has another length at predict than at fit.",
        "Resample or crop the recordings to the fitted length.",
    ),
    Row(
        "predict-channel-count",
        lambda c: c.fitted.predict(_with(c, ampl=np.zeros((N, STEPS, 2)))),
        ValueError,
        r"Field 'ampl' has 32 steps x 2 channel\(s\) per sample, but the signal "
        r"'ampl' of 32 steps x 1 channel",
        "A signal has another number of channels at predict than at fit.",
        "Pass the channels seen at fit (est.schema_['ampl'].n_channels).",
    ),
    Row(
        "predict-covariate-became-array",
        lambda c: c.fitted.predict(_with(c, temp=np.zeros((N, STEPS)))),
        ValueError,
        r"Field 'temp' was a covariate 'temp' \(one value per sample\) at fit, but "
        r"now holds a signal",
        "A covariate (one number per sample) became an array.",
        "Pass one number per sample, or refit with it as a signal.",
    ),
    Row(
        "predict-plain-array-for-named-fields",
        lambda c: c.fitted.predict(c.X["ampl"]),
        ValueError,
        r"X is missing signal 'ampl'.*X has field\(s\) \['signal'\] not seen at fit",
        "A bare array is passed to an estimator fitted on named fields.",
        "Pass the same named fields as at fit.",
    ),
    # --- values in X -------------------------------------------------------
    Row(
        "frame-ragged-channels",
        lambda c: _est().fit(_ragged_frame(c), c.y),
        ValueError,
        r"Field 'ampl': sample 7 has 2 channel\(s\), sample 0 has 1; every "
        r"recording needs the same channels",
        "A DataFrame column of recordings whose channel counts differ (recordings "
        "of different lengths are a variable-length signal, which is fine).",
        "Give every recording the same channels.",
    ),
    Row(
        "dict-list-signal-empty-recording",
        lambda c: _est().fit(_with(c, ampl=_ragged_list(c.X["ampl"])), c.y),
        ValueError,
        r"Field 'ampl': sample 59 is an empty recording \(0 steps\)",
        "A dict X holds a list of recordings, one of them empty.",
        "Drop the empty recording.",
    ),
    Row(
        "frame-missing-covariate",
        lambda c: _est().fit(_frame_with_none(c), c.y),
        ValueError,
        r"Field 'temp': sample 3 is missing \(None\); a covariate needs a number",
        "A DataFrame covariate column holds None.",
        "Fill or drop those samples: skmtl does not impute inputs.",
    ),
    Row(
        "signal-strings",
        lambda c: _est().fit(_with(c, ampl=np.full((N, STEPS), "high")), c.y),
        ValueError,
        r"Field 'ampl' has dtype <U4, but signals and covariates must be numeric",
        "A signal holds strings.",
        "Encode the values as numbers first.",
    ),
    Row(
        "covariate-object-strings",
        lambda c: _est().fit(
            _with(c, temp=np.array(["20.5"] * (N - 1) + ["warm"], dtype=object)), c.y
        ),
        ValueError,
        r"Field 'temp' has dtype object with non-numeric values .*'warm'",
        "An object column of numbers also holds a string.",
        "Clean the column (pd.to_numeric(..., errors='coerce') then drop NaN rows).",
    ),
    Row(
        "signal-nan",
        lambda c: _est().fit(_with(c, ampl=_one_bad(c.X["ampl"], 4, np.nan)), c.y),
        ValueError,
        r"Field 'ampl' contains NaN or infinity \(first in sample 4\)",
        "A signal contains NaN.",
        "Interpolate or drop those samples: skmtl does not impute inputs.",
    ),
    Row(
        "signal-inf-at-predict",
        lambda c: c.fitted.predict(_with(c, phase=_one_bad(c.X["phase"], 9, np.inf))),
        ValueError,
        r"Field 'phase' contains NaN or infinity \(first in sample 9\)",
        "A signal contains +inf (here at predict).",
        "Clip or drop those samples.",
    ),
    Row(
        "covariate-nan",
        lambda c: _est().fit(_with(c, temp=_one_bad(c.X["temp"], 5, np.nan)), c.y),
        ValueError,
        r"Field 'temp' contains NaN or infinity \(first in sample 5\)",
        "A covariate contains NaN.",
        "Fill or drop those samples.",
    ),
    Row(
        "covariate-overflows-float32",
        lambda c: _est().fit(_with(c, temp=_one_bad(c.X["temp"], 5, 1e39)), c.y),
        ValueError,
        r"Field 'temp' overflows float32 \(first in sample 5: 1e\+39; float32 holds "
        r"magnitudes up to 3\.403e\+38\)",
        "A float64 covariate holds a value beyond float32 (the network's type).",
        "Rescale the field (other units) before fitting.",
    ),
    Row(
        "signal-overflows-float32-at-predict",
        lambda c: c.fitted.predict(_with(c, ampl=_one_bad(c.X["ampl"], 9, -1e39))),
        ValueError,
        r"Field 'ampl' overflows float32 \(first in sample 9: -1e\+39",
        "A float64 signal beyond float32 at predict (checked after the cast).",
        "Rescale the field as at fit.",
    ),
    # --- y and its tasks -----------------------------------------------------
    Row(
        "y-none",
        lambda c: _est().fit(c.X, None),
        ValueError,
        r"requires y to be passed, but the target y is None",
        "fit is called without y.",
        "Pass y: one column per task.",
    ),
    Row(
        "y-3d",
        lambda c: _est().fit(c.X, np.zeros((N, 2, 2))),
        ValueError,
        r"y must be 1-D \(one task\) or 2-D \(one column per task\); got 3-D",
        "y is a 3-D array.",
        "One column per task (a DataFrame or structured array names them).",
    ),
    Row(
        "y-no-columns",
        lambda c: _est().fit(c.X, np.zeros((N, 0))),
        ValueError,
        r"y has no columns: it needs at least one task",
        "y is 2-D with zero columns.",
        "Give y at least one task column.",
    ),
    Row(
        "y-dict",
        lambda c: _est().fit(c.X, {"density": c.y["density"]}),
        TypeError,
        r"y as a dict is not supported.*DataFrame or a NumPy structured array",
        "y is a dict.",
        "Pass a DataFrame or structured array (scikit-learn cannot split a dict).",
    ),
    Row(
        "y-nonstring-columns",
        lambda c: _est().fit(c.X, c.y.set_axis([0, 1], axis=1)),
        TypeError,
        r"y column names must be strings \(they name the tasks\); got 0",
        "A DataFrame y has non-string column names.",
        "y.columns = y.columns.astype(str).",
    ),
    Row(
        "regression-target-strings",
        lambda c: _est(tasks={"density": "regression"}).fit(
            c.X, c.y.assign(density="dense")
        ),
        ValueError,
        r"Regression task 'density' must hold numbers; got dtype object",
        "A regression task's column holds strings.",
        "Convert it to numbers, or declare it 'classification' in tasks.",
    ),
    Row(
        "regression-target-inf",
        lambda c: _est().fit(c.X, c.y.assign(density=np.inf)),
        ValueError,
        r"Regression task 'density' contains infinite values",
        "A regression target is infinite.",
        "Drop those samples or mark them missing (NaN).",
    ),
    Row(
        "classification-continuous-labels",
        _fit(tasks={"density": "classification"}),
        ValueError,
        r"Classification task 'density' has non-integer float labels",
        "A float column declared (or inferred) as classification holds "
        "non-integer values.",
        "Declare it 'regression', or map the labels to ints or strings.",
    ),
    Row(
        "task-single-class",
        lambda c: _est().fit(c.X, c.y.assign(material="steel")),
        ValueError,
        r"Classification task 'material' has only 1 class, \['steel'\]",
        "A classification task has one class.",
        "Drop the task, or declare it 'regression'.",
    ),
    Row(
        "task-all-labels-missing",
        lambda c: _est().fit(c.X, c.y.assign(material=None)),
        ValueError,
        r"Task 'material' has no labels: all 60 values are missing",
        "Every label of a task is missing (None/NaN).",
        "Drop the task from y.",
    ),
    Row(
        "score-unseen-class",
        lambda c: _warned(lambda: c.fitted.score(c.X, c.y.assign(material="gold"))),
        UserWarning,
        r"y holds labels not seen at fit \(\{'material': 60\} rows per task\); they "
        r"count as errors",
        "score gets labels the estimator never saw: they count as errors (a "
        "warning, as scikit-learn's scorers do in a cross-validation fold).",
        "Score on known classes, or fit with partial_fit(classes=...) first.",
    ),
    Row(
        "y-frame-duplicate-column",
        lambda c: _est().fit(c.X, pd.concat([c.y, c.y[["density"]]], axis=1)),
        ValueError,
        r"y has duplicate column names \['density'\]; each task needs its own name",
        "A DataFrame y has two columns of one name.",
        "Rename or drop one: y.loc[:, ~y.columns.duplicated()].",
    ),
    Row(
        "regression-target-too-large",
        lambda c: _est().fit(c.X, c.y.assign(density=c.y["density"] * 1e200)),
        ValueError,
        r"Regression task 'density' has values up to 1\.\d+e\+201; beyond 1e\+150 "
        r"their squares overflow float64",
        "A regression target of scale 1e200 (its std once overflowed and every "
        "prediction was -inf).",
        "Rescale the target (other units) before fitting.",
    ),
    Row(
        "regression-target-too-small",
        lambda c: _est().fit(c.X, c.y.assign(density=c.y["density"] * 1e-300)),
        ValueError,
        r"Regression task 'density' has values up to 1\.\d+e-299; below 1e-150 "
        r"their squares underflow float64",
        "A regression target of scale 1e-300 (its std underflowed to 0: every "
        "prediction was the mean).",
        "Rescale the target (other units) before fitting.",
    ),
    Row(
        "y-complex",
        lambda c: _est().fit(c.X, c.y.assign(density=c.y["density"] + 1j)),
        ValueError,
        r"Task 'density' holds complex numbers",
        "A target column is complex (it became a classification task, one class "
        "per value).",
        "Split it into two real tasks (real/imaginary or magnitude/phase).",
    ),
    Row(
        "y-ragged-block",
        lambda c: _est().fit(c.X, c.y.assign(density=_ragged_block())),
        ValueError,
        r"Task 'density': A target block is ragged: row 1 has 1 values, row 0 has 2",
        "A column of per-sample arrays (a block of regression outputs) whose "
        "rows differ in length.",
        "Give every row the same number of outputs.",
    ),
    Row(
        "x-y-index-mismatch",
        lambda c: _est().fit(_frame(c.X), c.y.sample(frac=1.0, random_state=0)),
        ValueError,
        r"X and y have different indexes \(X: \[0, 1, 2, \.\.\.\], y: \[\d+, .*"
        r"y = y\.loc\[X\.index\]",
        "X and y are pandas objects whose indexes differ (y shuffled): rows were "
        "paired by position.",
        "y = y.loc[X.index] to pair by label, or reset_index(drop=True) on both.",
    ),
    # --- task names in parameters ------------------------------------------
    Row(
        "tasks-unknown-name",
        _fit(tasks={"colour": "classification"}),
        ValueError,
        r"tasks names \['colour'\], which are not columns of y; the columns of y "
        r"are \['material', 'density'\]",
        "tasks= names a task that is not a column of y.",
        "Use y's column names (est.tasks_ after fit).",
    ),
    Row(
        "tasks-bad-kind",
        _fit(tasks={"density": "regresion"}),
        ValueError,
        r"tasks\['density'\] is 'regresion'; expected 'classification' or "
        r"'regression'",
        "tasks= gives a kind other than 'classification'/'regression'.",
        "Fix the spelling.",
    ),
    Row(
        "tasks-wrong-length",
        _fit(tasks=["regression"]),
        ValueError,
        r"tasks lists 1 kind\(s\) by position, but y has 2 column\(s\)",
        "tasks= as a list has the wrong length.",
        "One kind per column, or a dict by name.",
    ),
    Row(
        "loss-weights-unknown-task",
        _fit(loss_weights={"colour": 1.0}),
        ValueError,
        r"loss_weights names \['colour'\], which are not tasks; the tasks are",
        "loss_weights names an unknown task.",
        "Use task names (y's columns).",
    ),
    Row(
        "loss-weights-routed-unknown-task",
        _fit(loss_weights__colour=2.0),
        ValueError,
        r"loss_weights names \['colour'\], which are not tasks",
        "A routed loss_weights__<task> names an unknown task.",
        "Use loss_weights__<existing task>.",
    ),
    Row(
        "loss-weight-negative",
        _fit(loss_weights={"density": -1.0}),
        ValueError,
        r"loss_weights\['density'\] must be a finite number >= 0; got -1\.0",
        "A loss weight is negative.",
        "Use a weight >= 0.",
    ),
    Row(
        "loss-weight-nan",
        _fit(loss_weights={"density": float("nan")}),
        ValueError,
        r"loss_weights\['density'\] must be a finite number >= 0; got nan",
        "A loss weight is NaN.",
        "Use a finite weight.",
    ),
    Row(
        "loss-weight-not-a-number",
        _fit(loss_weights={"density": "high"}),
        ValueError,
        r"loss_weights\['density'\] must be a finite number >= 0; got 'high'",
        "A loss weight is a string.",
        "Use a number.",
    ),
    Row(
        "loss-weight-bool",
        _fit(loss_weights={"density": True}),
        ValueError,
        r"loss_weights\['density'\] must be a finite number >= 0; got True",
        "A loss weight is a bool (it was taken for 1.0).",
        "Use a number.",
    ),
    Row(
        "class-weight-unknown-task",
        lambda c: _est(class_weight={"colour": "balanced"}).fit(
            c.X, _two_classifiers(c)
        ),
        ValueError,
        r"class_weight names \['colour'\], which are not tasks; the tasks are",
        "class_weight names an unknown task (y with two classification tasks).",
        "Use the names of classification tasks.",
    ),
    Row(
        "class-weight-unknown-task-one-classifier",
        _fit(class_weight={"colour": "balanced"}),
        ValueError,
        r"class_weight key\(s\) \['colour'\] are not tasks \['material', 'density'\] "
        r"and not labels of the task 'material'",
        "class_weight={'colour': 'balanced'} when y has one classification task: "
        "the key is neither a task nor a label of that task.",
        "Use the task name: class_weight={'material': 'balanced'}.",
    ),
    Row(
        "class-weight-unknown-label",
        _fit(class_weight={"material": {"gold": 2.0}}),
        ValueError,
        r"class_weight\['material'\] names \['gold'\], which are not classes "
        r"of the task",
        "class_weight gives a weight to a label that is not a class.",
        "Use labels from est.classes_[task].",
    ),
    Row(
        "class-weight-regression-task",
        _fit(class_weight={"density": "balanced"}),
        ValueError,
        r"class_weight names regression task\(s\) \['density'\]",
        "class_weight names a regression task.",
        "Class weights apply to classification tasks only.",
    ),
    Row(
        "score-weights-unknown-task",
        lambda c: _scored_with(c, score_weights={"colour": 1.0}),
        ValueError,
        r"score_weights names \['colour'\], which are not tasks",
        "score_weights names an unknown task (raised by score).",
        "Use task names.",
    ),
    Row(
        "score-weights-unknown-task-at-fit",
        _fit(score_weights={"colour": 1.0}),
        ValueError,
        r"score_weights names \['colour'\], which are not tasks",
        "score_weights names an unknown task: refused by fit, before training.",
        "Use task names.",
    ),
    Row(
        "score-weights-all-zero",
        _fit(score_weights={"material": 0.0, "density": 0.0}),
        ValueError,
        r"score_weights must give a positive total weight; they are zero for every "
        r"task",
        "score_weights are zero for every task: refused by fit (score once raised "
        "after every fold's training).",
        "Give at least one task a positive weight.",
    ),
    Row(
        "sample-weight-unknown-task",
        lambda c: _est().fit(c.X, c.y, sample_weight={"colour": np.ones(N)}),
        ValueError,
        r"sample_weight names \['colour'\], which are not tasks",
        "A per-task sample_weight dict names an unknown task.",
        "Use task names.",
    ),
    Row(
        "sample-weight-wrong-length",
        lambda c: _est().fit(c.X, c.y, sample_weight=np.ones(N - 1)),
        ValueError,
        r"sample_weight must have shape \(60,\), one weight per sample; got \(59,\)",
        "sample_weight has the wrong length.",
        "One weight per sample.",
    ),
    Row(
        "sample-weight-negative",
        lambda c: _est().fit(c.X, c.y, sample_weight=-np.ones(N)),
        ValueError,
        r"sample_weight must be finite and non-negative",
        "sample_weight has negative values.",
        "Use weights >= 0.",
    ),
    Row(
        "sample-weight-nan-in-task",
        lambda c: _est().fit(c.X, c.y, sample_weight={"density": np.full(N, np.nan)}),
        ValueError,
        r"sample_weight\['density'\] must be finite and non-negative",
        "A per-task sample_weight holds NaN.",
        "Use finite weights.",
    ),
    Row(
        "sample-weight-all-zero",
        lambda c: _est().fit(c.X, c.y, sample_weight=np.zeros(N)),
        ValueError,
        r"sample_weight is zero for every sample",
        "sample_weight is all zero.",
        "Give some samples a positive weight.",
    ),
    Row(
        "sample-weight-task-all-zero",
        lambda c: _est().fit(c.X, c.y, sample_weight={"density": np.zeros(N)}),
        ValueError,
        r"sample_weight\['density'\] is zero for every labelled sample of task "
        r"'density'.*loss_weights=\{'density': 0\}",
        "A per-task sample_weight is all zero: that task would train on nothing.",
        "To switch a task off, give it loss_weights={task: 0}.",
    ),
    Row(
        "class-weight-all-zero",
        lambda c: _est(class_weight=_all_classes_weighted_zero(c)).fit(c.X, c.y),
        ValueError,
        r"class_weight\['material'\] is zero for every labelled class of task "
        r"'material'",
        "class_weight gives weight 0 to every class of a task.",
        "To switch a task off, give it loss_weights={task: 0}.",
    ),
    Row(
        "loss-weights-all-zero",
        _fit(loss_weights={"material": 0, "density": 0}),
        ValueError,
        r"loss_weights are zero for every task \(\{'material': 0\.0, 'density': "
        r"0\.0\}\): nothing would be trained",
        "Every task has loss weight 0: nothing would be trained.",
        "Give at least one task a positive weight.",
    ),
    # --- hyper-parameters ----------------------------------------------------
    Row(
        "epochs-zero",
        _fit(epochs=0),
        InvalidParameterError,
        r"The 'epochs' parameter of MultiTaskConvEstimator must be an int in the "
        r"range \[1, inf\) or a str among \{'auto'\}\. Got 0",
        "epochs=0.",
        "epochs >= 1.",
    ),
    Row(
        "epochs-negative",
        _fit(epochs=-3),
        InvalidParameterError,
        r"The 'epochs' parameter .* range \[1, inf\) or a str among \{'auto'\}\. "
        r"Got -3",
        "epochs < 0.",
        "epochs >= 1.",
    ),
    Row(
        "batch-size-zero",
        _fit(batch_size=0),
        InvalidParameterError,
        r"The 'batch_size' parameter .* range \[1, inf\)\. Got 0",
        "batch_size=0.",
        "batch_size >= 1.",
    ),
    Row(
        "batch-size-negative",
        _fit(batch_size=-16),
        InvalidParameterError,
        r"The 'batch_size' parameter .* range \[1, inf\)\. Got -16",
        "batch_size < 0.",
        "batch_size >= 1.",
    ),
    Row(
        "loss-weighting-invalid",
        _fit(loss_weighting="adaptive"),
        InvalidParameterError,
        r"The 'loss_weighting' parameter .* must be a str among .*'gradnorm'.*"
        r"Got 'adaptive'",
        "loss_weighting is not a known strategy.",
        "One of 'fixed', 'uncertainty', 'dwa', 'gradnorm'.",
    ),
    Row(
        "gradnorm-one-task",
        lambda c: _est(loss_weighting="gradnorm").fit(c.X, c.y[["density"]]),
        ValueError,
        r"loss_weighting='gradnorm' needs at least two tasks",
        "GradNorm with a single task.",
        "Use 'fixed' (or any other strategy) for one task.",
    ),
    Row(
        "dropout-out-of-range",
        _fit(dropout=1.5),
        InvalidParameterError,
        r"The 'dropout' parameter .* range \[0\.0, 1\.0\)\. Got 1\.5",
        "dropout >= 1.",
        "0 <= dropout < 1.",
    ),
    Row(
        "filters-zero",
        _fit(filters=(0,)),
        ValueError,
        r"The 'filters' parameter must be a non-empty sequence of positive ints",
        "A conv stage with 0 filters.",
        "Positive widths, one per stage.",
    ),
    Row(
        "unknown-keyword",
        lambda c: MultiTaskConvEstimator(epochs=1, colour=3).fit(c.X, c.y),
        ValueError,
        r"Unknown parameter 'colour' for MultiTaskConvEstimator\. Routed parameters "
        r"start with one of",
        "A keyword that is neither a parameter nor routed (typo).",
        "Check the spelling against est.get_params().",
    ),
    Row(
        "model-params-with-default-network",
        _fit(model__depth=3),
        ValueError,
        r"model__ parameters \['depth'\] are only for a custom model builder",
        "model__* parameters without a custom model builder.",
        "Use the flat parameters (filters, kernel_size, ...).",
    ),
    Row(
        "fit-routed-unknown-keyword",
        _fit(fit__validation_splt=0.2),
        ValueError,
        r"Unknown routed parameter\(s\) \['fit__validation_splt'\]: keras\.Model\.fit "
        r"takes \[.*'validation_split'",
        "A routed fit__<name> that Keras' fit does not take (typo).",
        "Check the name against keras.Model.fit.",
    ),
    Row(
        "compile-routed-unknown-keyword",
        _fit(compile__jit_compil=False),
        ValueError,
        r"Unknown routed parameter\(s\) \['compile__jit_compil'\]: "
        r"keras\.Model\.compile takes \[.*'jit_compile'",
        "A routed compile__<name> that Keras' compile does not take (typo).",
        "Check the name against keras.Model.compile.",
    ),
    Row(
        "optimizer-learning-rate-negative",
        _fit(optimizer__learning_rate=-1e-3),
        ValueError,
        r"optimizer__learning_rate must be a finite number > 0; got -0\.001",
        "A negative routed learning rate (Keras takes it and climbs the loss).",
        "A learning rate > 0 (learning_rate=, or optimizer__learning_rate=).",
    ),
    Row(
        "predict-batch-size-zero",
        _fit(predict__batch_size=0),
        ValueError,
        r"predict__batch_size must be a positive integer; got 0",
        "predict__batch_size=0 (or negative): checked by fit, before training.",
        "predict__batch_size >= 1.",
    ),
    Row(
        "predict-routed-unknown-keyword",
        _fit(predict__verbose=1),
        ValueError,
        r"Unknown routed parameter\(s\) \['predict__verbose'\]: skmtl's predict "
        r"takes \['batch_size'\]",
        "A routed predict__<name> that skmtl's predict does not read.",
        "Only predict__batch_size is read.",
    ),
    Row(
        "partial-fit-classes-unknown-task",
        lambda c: _est().partial_fit(c.X, c.y, classes={"colour": ["red", "blue"]}),
        ValueError,
        r"classes names \['colour'\], which are not columns of y",
        "partial_fit(classes=) names a task that does not exist.",
        "Use the names of classification tasks.",
    ),
    Row(
        "partial-fit-int-classes-on-string-task",
        lambda c: _est().partial_fit(c.X, c.y, classes={"material": [1, 2]}),
        ValueError,
        r"classes for task 'material' are 'i'-kind values \(\[1, 2\]\), but its labels "
        r"are \['steel'",
        "partial_fit(classes=) gives int labels for a task of string labels (they "
        "were once added as '1' and '2').",
        "Give labels of the task's type.",
    ),
    Row(
        "predict-before-fit",
        lambda c: _est().predict(c.X),
        NotFittedError,
        r"This MultiTaskConvEstimator instance is not fitted yet",
        "predict (or score, predict_proba, save) before fit.",
        "Call fit first, or skmtl.load a saved estimator.",
    ),
    # --- scikit-learn utilities and files ------------------------------------
    Row(
        "train-test-split-dict-x",
        lambda c: train_test_split(_fields(c.X), c.y, random_state=0),
        ValueError,
        r"Found input variables with inconsistent numbers of samples: \[5, 60\]",
        "A dict X passed to train_test_split / cross_val_score / GridSearchCV "
        "(scikit-learn's own error: it counts the dict's 5 keys as samples).",
        "X = skmtl.to_structured(X) first: a structured array splits like any array.",
    ),
    Row(
        "load-not-an-skmtl-file",
        lambda c: load(c.files / "notes.txt"),
        SkmtlFileError,
        r"notes\.txt is not an skmtl model file \(not a zip archive, or truncated\)",
        "skmtl.load of some other file.",
        "Pass a file written by est.save / skmtl.save.",
    ),
    Row(
        "load-truncated-file",
        lambda c: load(c.files / "truncated.skmtl"),
        SkmtlFileError,
        r"truncated\.skmtl is not an skmtl model file \(.*truncated\)",
        "skmtl.load of a truncated (partly copied or downloaded) file.",
        "Copy or save the file again.",
    ),
    Row(
        "load-other-zip",
        lambda c: load(c.files / "other.zip"),
        SkmtlFileError,
        r"other\.zip is not an skmtl model file \(no skmtl\.json inside\)",
        "skmtl.load of a zip archive that is not an skmtl model.",
        "Pass a file written by est.save.",
    ),
    Row(
        "load-joblib-file",
        lambda c: load(c.files / "model.joblib"),
        SkmtlFileError,
        r"model\.joblib is not an skmtl model file.*joblib",
        "skmtl.load of a joblib/pickle file.",
        "joblib.load it, only if it comes from a trusted source; then est.save it.",
    ),
    Row(
        "load-missing-file",
        lambda c: load(c.files / "nowhere.skmtl"),
        FileNotFoundError,
        r"No such file or directory: .*nowhere\.skmtl",
        "skmtl.load of a path that does not exist.",
        "Check the path.",
    ),
    Row(
        "load-deeply-nested-json",
        lambda c: load(c.files / "deep.skmtl"),
        SkmtlFileError,
        r"deep\.skmtl is not an skmtl model file \(skmtl\.json is nested too deeply",
        "A crafted skmtl.json nested 200,000 levels deep.",
        "Only load files written by est.save.",
    ),
    Row(
        "load-without-network",
        lambda c: load(c.files / "nonetwork.skmtl"),
        SkmtlFileError,
        r"nonetwork\.skmtl is not a complete skmtl model file \(no model\.keras "
        r"inside: its network is missing\)",
        "A model file whose model.keras member is missing (it was reported as "
        "having no skmtl.json).",
        "Save the model again.",
    ),
    Row(
        "load-json-without-schema",
        lambda c: load(c.files / "noschema.skmtl"),
        SkmtlFileError,
        r"noschema\.skmtl is not an skmtl model file \(skmtl\.json lacks 'schema'\)",
        "A skmtl.json without its 'schema' entry.",
        "Save the model again.",
    ),
    Row(
        "load-padded-metadata",
        lambda c: load(c.files / "padded.skmtl"),
        SkmtlFileError,
        r"padded\.skmtl is not an skmtl model file \(skmtl\.json would unpack to "
        r"40\.\d MB, more than the 33\.6 MB skmtl reads\); refused before",
        "A small file whose skmtl.json unpacks to far more than any model's "
        "metadata (a zip bomb): refused before it is decompressed.",
        "Only load files written by est.save.",
    ),
    Row(
        "load-classes-disagree-with-head",
        lambda c: load(c.files / "crafted.skmtl"),
        SkmtlFileError,
        r"crafted\.skmtl is not an skmtl model file \(its metadata and its network "
        r"disagree: task 'material' lists 4 classes, so its head needs 4 unit\(s\), "
        r"but it has 5\)",
        "A crafted file whose class list disagrees with the width of its head "
        "(it returned 5 probability columns for 4 classes).",
        "Only load files written by est.save.",
    ),
    Row(
        "save-fails-midway",
        _on_full_disk,
        OSError,
        r"No space left on device",
        "est.save over a good file fails half-way (a full disk): the old file must "
        "stay as it was.",
        "Free space and save again; the previous file is intact.",
    ),
    Row(
        "export-overwrite-keeps-user-files",
        lambda c: _keeps(
            c.files / "export" / "notes.txt",
            lambda: c.fitted.export(c.files / "export", overwrite=True),
        ),
        FileExistsError,
        r"Cannot export to .*export: it holds files an export does not write "
        r"\['notes\.txt'\]\. overwrite=True replaces an earlier export and never "
        r"deletes other files",
        "export(path, overwrite=True) where path holds an earlier export and a "
        "file of the user's (it was deleted).",
        "Move your files out of the export directory, or export elsewhere.",
    ),
    # --- the skmtl command ---------------------------------------------------
    Row(
        "cli-predict-output-is-data",
        lambda c: _keeps(
            c.files / "data.npz",
            lambda: _cli(
                "predict",
                c.files / "model.skmtl",
                c.files / "data.npz",
                "-o",
                c.files / "data.npz",
            ),
        ),
        CommandError,
        r"output file .*data\.npz is the data file .*data\.npz; writing it would "
        r"destroy the input",
        "skmtl predict M data.npz -o data.npz (it replaced the data).",
        "Name another output file.",
    ),
    Row(
        "cli-fit-output-is-data",
        lambda c: _keeps(
            c.files / "data.npz",
            lambda: _cli(
                "fit",
                c.files / "data.npz",
                "--target",
                "material",
                "-o",
                c.files / "data.npz",
            ),
        ),
        CommandError,
        r"output file .*data\.npz is the data file .*data\.npz",
        "skmtl fit data.npz ... -o data.npz (it replaced the data with the model).",
        "Name another output file.",
    ),
    Row(
        "cli-predict-output-is-model",
        lambda c: _keeps(
            c.files / "model.skmtl",
            lambda: _cli(
                "predict",
                c.files / "model.skmtl",
                c.files / "data.npz",
                "-o",
                c.files / "link.npz",
            ),
        ),
        CommandError,
        r"output file .*link\.npz is the model file .*model\.skmtl",
        "skmtl predict's -o names the model file, here through a link (compared "
        "with os.path.samefile).",
        "Name another output file.",
    ),
    Row(
        "cli-predict-no-input-field",
        lambda c: _cli("predict", c.files / "model.skmtl", c.files / "targets.npz"),
        CommandError,
        r"targets\.npz holds only the model's target column\(s\) \['material', "
        r"'density'\] and no input field",
        "skmtl predict on an .npz that holds only target columns (a raw "
        "StopIteration once).",
        "Pass a data file with the model's input fields (skmtl info lists them).",
    ),
    Row(
        "cli-info-broken-file",
        lambda c: _cli("info", c.files / "deep.skmtl"),
        CommandError,
        r"deep\.skmtl is not an skmtl model file \(skmtl\.json is nested too deeply",
        "skmtl info on a crafted file (a traceback and exit 1 once).",
        "Only read files written by skmtl fit or est.save.",
    ),
    # --- issue 25: command line and data files ---
    Row(
        "cli-fit-epochs-not-a-number",
        lambda c: _cli(
            *["fit", c.files / "data.npz", "--target", "material", "--epochs", "ten"],
            *["-o", c.files / "m.skmtl"],
        ),
        CommandError,
        r"argument --epochs: invalid value 'ten': expected a number of epochs or "
        r"'auto'",
        "skmtl fit --epochs ten (a word; auto, the estimator's default, is taken).",
        "Give a number of epochs, or auto.",
    ),
    Row(
        "cli-parquet-pandas-metadata-not-json",
        lambda c: _cli(
            *["fit", _parquet_with_pandas_metadata(c.files, b"{index_columns: [")],
            *["--target", "y", "-o", c.files / "m.skmtl"],
        ),
        CommandError,
        r"cannot read .*bad-pandas\.parquet as a Parquet file: its pandas metadata "
        r"is not valid JSON",
        "A Parquet file whose pandas metadata (which says which columns hold the "
        "index) is damaged.",
        "Rewrite the file with pandas or pyarrow.",
    ),
    Row(
        "ts-tasks-tiny-units-reordered",
        lambda c: _read_tiny_series_reordered(c.files),
        ValueError,
        r"Tiny_TRAIN\.ts and .*Reordered_TRAIN\.ts do not hold the same series: "
        r"case 0 \(0-based\) differs",
        "read_ts_tasks on two .ts files of series in units of 1e-9, the cases in "
        "another order (an absolute tolerance matched them once).",
        "List the same series in the same order in every file.",
    ),
    Row(
        "write-npz-nul-in-column-name",
        lambda c: _write_predictions(c.files / "p.npz", {"a\0b": np.zeros(3)}),
        ValueError,
        r"column 'a\\x00b' holds a NUL character, which an \.npz member name "
        r"cannot hold",
        "Predictions of a task whose name holds a NUL character, to .npz (zip "
        "cuts the name there).",
        "Write .csv or .parquet, or rename the task.",
    ),
    # --- issue 25: values passed to public methods, input encoding ---
    Row(
        "score-sample-weight-negative",
        lambda c: c.fitted.score(c.X, c.y, sample_weight=-np.ones(N)),
        ValueError,
        r"sample_weight must be finite and non-negative; sample 0 has -1\.0",
        "score with negative sample weights, which fit refuses (score took them).",
        "Weights >= 0; the same check as fit's.",
    ),
    Row(
        "score-sample-weight-wrong-length",
        lambda c: c.fitted.score(c.X, c.y, sample_weight=np.ones(10)),
        ValueError,
        r"sample_weight must have shape \(60,\), one weight per sample; got \(10,\)",
        "score with a sample_weight of the wrong length (an IndexError from deep "
        "inside once).",
        "One weight per sample of X and y.",
    ),
    Row(
        "score-one-regression-label",
        lambda c: c.fitted.score(c.X[:1], c.y[:1]),
        ValueError,
        r"y labels regression task 'density' on 1 sample; its R² needs at least 2",
        "score on one row: R² of one value is undefined, and the regression task "
        "was left out of the mean without a word.",
        "Score on at least 2 labelled rows, or use skmtl.metrics.task_scorer.",
    ),
    Row(
        "sample-weight-index-mismatch",
        lambda c: _est().fit(
            _frame(c.X),
            c.y,
            sample_weight=pd.Series(np.arange(1.0, N + 1), index=np.arange(N)[::-1]),
        ),
        ValueError,
        r"X and sample_weight have different indexes \(X: \[0, 1, 2, \.\.\.\], "
        r"sample_weight: \[59, 58, 57, \.\.\.\]\).*sample_weight\.loc\[X\.index\]",
        "sample_weight is a pandas Series whose index differs from X's (it was "
        "applied by position).",
        "sample_weight = sample_weight.loc[X.index], or reset both indexes.",
    ),
    Row(
        "x-dict-series-index-mismatch",
        lambda c: c.fitted.predict(
            {
                **{n: pd.Series(list(v)) for n, v in _fields(c.X).items()},
                "temp": pd.Series(c.X["temp"], index=np.arange(N)[::-1]),
            }
        ),
        ValueError,
        r"X\['ampl'\] and X\['temp'\] have different indexes",
        "A dict X whose values are pandas Series with different indexes (they "
        "were matched by position).",
        "Align them, e.g. X['temp'] = X['temp'].loc[X['ampl'].index].",
    ),
    Row(
        "class-weight-overflow",
        _fit(class_weight={"material": {"steel": 1e39}}),
        ValueError,
        r"class_weight\['material'\] makes sample weights of task 'material' as "
        r"large as 1e\+39; training in float32 holds weights up to 1e\+09",
        "A class weight of 1e39 (a FloatingPointError blaming the learning rate "
        "once). A uniform sample_weight of 1e307 trains like a uniform 1.",
        "Divide every class weight by the same factor; loss_weights make a task "
        "count more.",
    ),
    Row(
        "param-bool-for-int",
        _fit(dense_units=True),
        InvalidParameterError,
        r"The 'dense_units' parameter of MultiTaskConvEstimator must be an int in "
        r"the range \[0, inf\)\. Got True instead",
        "dense_units=True (it built a 1-unit layer); any bool for a number "
        "parameter, random_state included.",
        "Pass a number.",
    ),
    Row(
        "param-bool-filters",
        _fit(filters=(True, 8)),
        ValueError,
        r"The 'filters' parameter must be a non-empty sequence of positive ints",
        "filters=(True, 8): a bool as a number of filters.",
        "Pass ints, e.g. filters=(4, 8).",
    ),
    Row(
        "explain-window-negative",
        lambda c: c.fitted.explain(c.X[:3], window=-4),
        ValueError,
        r"window must be a positive integer \(or None for the default\); got -4",
        "explain(window=-4) (NaN relevance once); also 0, a float or a bool.",
        "window >= 1 steps, or None.",
    ),
    Row(
        "alpha-bool",
        lambda c: c.fitted.predict_interval(c.X[:3], alpha=True),
        ValueError,
        r"alpha=True; alpha must be a float strictly between 0 and 1",
        "predict_interval / predict_set with alpha=True (or NaN, 0, 1).",
        "alpha in (0, 1), e.g. 0.1 for 90% coverage.",
    ),
    Row(
        "labels-bytes",
        lambda c: _est().fit(
            c.X, c.y.assign(material=c.y["material"].str.encode("utf-8"))
        ),
        ValueError,
        r"Task 'material' has labels of type bytes \(e\.g\. b'.*'\), which a saved "
        r"model cannot hold exactly.*\.str\.decode\('utf-8'\)",
        "Bytes labels (they trained, then save failed with 'bytes is not JSON "
        "serialisable'); dates alike.",
        "Convert the labels to str or int before fit.",
    ),
    Row(
        "labels-period",
        lambda c: _est().fit(
            c.X,
            c.y.assign(
                material=pd.period_range("2020-01", periods=3, freq="M")[
                    np.arange(N) % 3
                ]
            ),
        ),
        ValueError,
        r"Task 'material' has labels of type Period .*astype\(str\)",
        "pandas Period labels (they trained, then save failed).",
        "y['material'].astype(str) before fit.",
    ),
    Row(
        "ragged-complex",
        lambda c: _est().fit(
            {"ampl": [np.ones(5 + i % 3, dtype=complex) for i in range(N)]}, c.y
        ),
        ValueError,
        r"Complex data not supported: field 'ampl' \(sample 0\) has dtype complex128",
        "Variable-length recordings of complex numbers (accepted, imaginary part "
        "dropped, though refused at fixed length).",
        "Split into two real fields, as for fixed-length recordings.",
    ),
    Row(
        "ragged-timedelta",
        lambda c: _est().fit(
            {"ampl": [np.arange(5 + i % 3).astype("m8[s]") for i in range(N)]}, c.y
        ),
        ValueError,
        r"Field 'ampl' \(sample 0\) has dtype timedelta64\[s\], but signals and "
        r"covariates must be numeric",
        "Variable-length recordings of timedeltas (accepted as their integer "
        "counts, though refused at fixed length).",
        "Convert to numbers in a unit, e.g. a / np.timedelta64(1, 's').",
    ),
    Row(
        "aeon-cells-in-frame",
        lambda c: _est().fit(
            pd.DataFrame({"ampl": [np.ones((3, 20 + i % 4)) for i in range(N)]}), c.y
        ),
        ValueError,
        r"sample 1 has 21 channel\(s\), sample 0 has 20.*look like aeon's "
        r"\(n_channels, n_timepoints\).*skmtl\.from_aeon",
        "A DataFrame column of aeon's (channels, T_i) cells: read as T_i channels.",
        "skmtl.from_aeon(list_of_recordings), or transpose each cell.",
    ),
    # --- issue 25: model files ---
    Row(
        "load-weight-of-fill-values",
        lambda c: _load_crafted(c, "fill-value-weight"),
        SkmtlFileError,
        r"fill-value-weight\.skmtl is not an skmtl model file \(model\.weights\.h5 "
        r"weight '.*' declares shape \(300000000,\), 1\.2 GB, but the file stores 0 "
        r"bytes for it",
        "A 10 kB file whose HDF5 weight declares 300 M float32 fill values (+4.7 GB "
        "before the refusal once).",
        "Only load files written by est.save.",
    ),
    Row(
        "load-head-units-edited",
        lambda c: _load_crafted(c, "dense-units"),
        SkmtlFileError,
        r"dense-units\.skmtl is not an skmtl model file \(its network's layers "
        r"declare .* GB of weights, the largest 'head_material/kernel' of shape "
        r"\(8, 30000000\), but model\.weights\.h5 holds",
        "A file whose head's Dense units were edited to 30 M (layers were built, "
        "+4.7 GB, before any check).",
        "Only load files written by est.save.",
    ),
    Row(
        "load-rocket-features-edited",
        lambda c: _load_crafted(c, "rocket-features"),
        SkmtlFileError,
        r"rocket-features\.skmtl is not an skmtl model file \(its network's layers "
        r"declare .* GB of weights, the largest 'shared_dense/kernel'",
        "A file whose rocket layer's n_features was edited to 200 M (+15 GB and "
        "two minutes once).",
        "Only load files written by est.save.",
    ),
    Row(
        "load-class-dtype-too-wide",
        lambda c: _load_crafted(c, "class-dtype"),
        SkmtlFileError,
        r"class-dtype\.skmtl is not an skmtl model file \(the dtype of the classes "
        r"of task 'material' is '<U500000000', whose items take 2\.0 GB, more than "
        r"the .* kB of metadata that describe them\)",
        "A file whose classes' dtype is '<U500000000' (it loaded, allocating "
        "several GB).",
        "Only load files written by est.save.",
    ),
    Row(
        "load-parameter-dtype-too-wide",
        lambda c: _load_crafted(c, "parameter-dtype"),
        SkmtlFileError,
        r"parameter-dtype\.skmtl is not an skmtl model file \(the dtype of "
        r"parameter 'random_state' is '<U500000000'",
        "A file whose parameter array has dtype '<U500000000' (it loaded, "
        "allocating several GB).",
        "Only load files written by est.save.",
    ),
    Row(
        "load-integer-of-5000-digits",
        lambda c: _load_crafted(c, "huge-integer"),
        SkmtlFileError,
        r"huge-integer\.skmtl has unreadable metadata: Exceeds the limit \(4300 "
        r"digits\)",
        "A skmtl.json holding a 5,000-digit integer (a bare ValueError once).",
        "Only load files written by est.save.",
    ),
    Row(
        "save-into-missing-folder",
        lambda c: c.fitted.save(c.files / "no such folder" / "model.skmtl"),
        FileNotFoundError,
        r"Cannot save to .*no such folder/model\.skmtl: folder .*no such folder "
        r"does not exist; create it first",
        "est.save into a folder that does not exist (the error named a temporary "
        "file).",
        "Create the folder first (os.makedirs), or choose another path.",
    ),
    Row(
        "export-overwrite-keeps-variables-notes",
        lambda c: _export_over_user_variables_file(c),
        FileExistsError,
        r"Cannot export to .*: it holds files an export does not write "
        r"\['variables/variables\.notes'\]",
        "export(path, overwrite=True) where the earlier export's variables/ holds "
        "a user's variables.notes (any variables.* was taken for export output "
        "and deleted).",
        "Move your files out of the export directory, or export elsewhere.",
    ),
    # --- issue 25: the rows of a fit ---
    Row(
        "partial-fit-first-batch-one-row",
        lambda c: _est().partial_fit(
            c.X[:1], c.y[:1], classes={"material": np.unique(c.y["material"])}
        ),
        ValueError,
        r"MiniRocket features take their biases and scales from the first rows it "
        r"sees; 1 sample\(s\) cannot show how a feature varies \(at least 4",
        "The first partial_fit of the default network gets one row (every feature "
        "scale became 0, for good).",
        "Give the first partial_fit at least 4 rows (a larger first batch).",
    ),
]


# --- issue 25: model files (helpers of the rows above) ---
def _load_crafted(c, name: str):
    """Load a crafted copy of the catalogue's model file (see test_load_budget)."""
    from .test_load_budget import craft

    return load(craft(c.files / "model.skmtl", name, c.files))


def _export_over_user_variables_file(c) -> None:
    path = c.files / "export-variables"
    if not path.exists():
        c.fitted.export(path)
    notes = path / "variables" / "variables.notes"
    notes.write_text("the user's notes\n")
    _keeps(notes, lambda: c.fitted.export(path, overwrite=True))


# --- issue 25: command line and data files (helpers of the rows above) ---
def _parquet_with_pandas_metadata(folder: Path, metadata: bytes) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"temp": [1.0, 2.0, 3.0], "y": [0.5, 1.5, 2.5]})
    path = folder / "bad-pandas.parquet"
    pq.write_table(table.replace_schema_metadata({b"pandas": metadata}), path)
    return path


def _read_tiny_series_reordered(folder: Path):
    """Two .ts files of series in units of 1e-9, the second in reverse order."""
    from skmtl import read_ts_tasks

    from .test_ts_tasks import write_ts

    series = np.random.default_rng(0).normal(size=(6, 8)) * 1e-9
    first = write_ts(folder / "Tiny_TRAIN.ts", series, [0.5] * 6)
    other = write_ts(folder / "Reordered_TRAIN.ts", series[::-1], [0.5] * 6)
    return read_ts_tasks([first, other])


def _write_predictions(path: Path, columns: dict) -> None:
    from skmtl.data.tables import write_table

    write_table(columns, str(path))


def _row(entry) -> Row:
    return entry.values[0] if hasattr(entry, "values") else entry


ROWS = [_row(e) for e in CATALOGUE]


# ----------------------------------------------------------------- fixtures
def make_context(files: Path) -> SimpleNamespace:
    """The data, a fitted estimator and the files the rows need."""
    X, y = make_sensor_tasks(N, n_steps=STEPS, random_state=0)
    fitted = _est().fit(X, y)
    fitted.save(files / "model.skmtl")
    (files / "notes.txt").write_text("material,density\nsteel,7.85\n")
    data = (files / "model.skmtl").read_bytes()
    (files / "truncated.skmtl").write_bytes(data[: len(data) // 2])
    with zipfile.ZipFile(files / "other.zip", "w") as zf:
        zf.writestr("readme.txt", "not a model")
    joblib.dump(fitted, files / "model.joblib")
    model = files / "model.skmtl"
    _rewritten(model, files / "deep.skmtl", lambda _: "[" * 200_000 + "]" * 200_000)
    _rewritten(model, files / "noschema.skmtl", _without_key("schema"))
    _rewritten(model, files / "crafted.skmtl", _one_class_less)
    with (
        zipfile.ZipFile(model) as zin,
        zipfile.ZipFile(files / "nonetwork.skmtl", "w") as zout,
    ):
        zout.writestr("skmtl.json", zin.read("skmtl.json"))
    # 40 MB of metadata in a file of about 50 kB.
    _rewritten(model, files / "padded.skmtl", lambda text: text + " " * 40_000_000)
    fields = _fields(X)
    np.savez(files / "data.npz", **fields, material=y["material"].to_numpy(str))
    np.savez(
        files / "targets.npz",
        material=y["material"].to_numpy(str),
        density=y["density"].to_numpy(),
    )
    (files / "link.npz").symlink_to(model)
    fitted.export(files / "export")
    (files / "export" / "notes.txt").write_text("served since Monday\n")
    return SimpleNamespace(X=X, y=y, fitted=fitted, files=files)


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    return make_context(tmp_path_factory.mktemp("catalogue"))


@pytest.fixture
def no_training(ctx, monkeypatch):
    """Replace Keras training with a guard: catalogue errors come before it.

    The guards keep the signatures of the methods they replace (skmtl reads
    ``keras.Model.fit``'s to check routed ``fit__`` names).
    """
    for name in ("fit", "train_on_batch"):
        original = getattr(keras.Model, name)

        @functools.wraps(original)
        def guard(*args, **kwargs):
            raise TrainingStarted("training started before the error was raised")

        monkeypatch.setattr(keras.Model, name, guard)


# -------------------------------------------------------------------- tests
def test_catalogue_is_well_formed():
    ids = [r.id for r in ROWS]
    assert len(ids) >= 35
    assert len(set(ids)) == len(ids), "duplicate catalogue ids"
    for row in ROWS:
        re.compile(row.match)
        assert issubclass(row.exc, BaseException)


@pytest.mark.parametrize(
    "row",
    [e if hasattr(e, "values") else pytest.param(e, id=e.id) for e in CATALOGUE],
)
@pytest.mark.usefixtures("no_training")
def test_bad_input_raises_a_clear_error(row: Row, ctx):
    # A TrainingStarted from the guard is not row.exc, so it fails the test.
    with pytest.raises(row.exc, match=row.match):
        row.call(ctx)


def test_to_structured_fixes_train_test_split(ctx):
    X_dict = _fields(ctx.X)
    X_train, X_test, y_train, _ = train_test_split(
        to_structured(X_dict), ctx.y, test_size=0.25, random_state=0
    )
    assert (len(X_train), len(X_test)) == (45, 15)
    assert X_train.dtype.names == ("ampl", "phase", "temp", "moist", "weight")
    assert len(y_train) == 45
    pred = ctx.fitted.predict(X_test)
    assert list(pred.columns) == ["material", "density"] and len(pred) == 15


def test_inputs_that_must_just_work(ctx):
    """float64 X after float32 at fit; DataFrame columns in another order."""
    expected = ctx.fitted.predict(ctx.X)
    as_float64 = {k: v.astype(np.float64) for k, v in _fields(ctx.X).items()}
    pd.testing.assert_frame_equal(ctx.fitted.predict(as_float64), expected)

    frame = _frame(ctx.X)
    on_frame = _est().fit(frame, ctx.y)
    reordered = frame[["weight", "temp", "phase", "moist", "ampl"]]
    pd.testing.assert_frame_equal(on_frame.predict(reordered), on_frame.predict(frame))
    np.testing.assert_allclose(
        on_frame.predict_proba(reordered)["material"],
        on_frame.predict_proba(frame)["material"],
    )


# Names a user may type; each must work (user names stay what the user sees).
ODD_FIELD_NAMES = {
    "ampl": "température",
    "phase": "ампл",
    "temp": "振幅",
    "moist": "amp l",
    "weight": "ampl:raw",
}


def test_any_field_name_works(ctx):
    """Non-ASCII, spaces, ':', and names that collide with skmtl's own layers."""
    X = {ODD_FIELD_NAMES[k]: v for k, v in _fields(ctx.X).items()}
    X["ampl"], X["ampl_norm"], X["covariates"] = X["température"], X["ампл"], X["振幅"]
    est = _est().fit(X, ctx.y)
    assert est.schema_.names == [
        *ODD_FIELD_NAMES.values(),
        "ampl",
        "ampl_norm",
        "covariates",
    ]
    assert list(est.predict(X).columns) == ["material", "density"]


def test_any_task_name_works(ctx):
    y = ctx.y.rename(columns={"material": "mat/erial", "density": "densité"})
    y["振幅 x"], y["a:b"] = y["densité"], y["mat/erial"]
    est = _est().fit(ctx.X, y)
    assert list(est.predict(ctx.X).columns) == ["mat/erial", "densité", "振幅 x", "a:b"]
    assert {"mat/erial_loss", "振幅 x_loss", "a:b_accuracy"} <= set(est.history_)
    assert list(est.predict_proba(ctx.X)) == ["mat/erial", "a:b"]


def test_decimal_targets_are_regression(ctx):
    y = ctx.y.assign(density=[Decimal(str(v)) for v in ctx.y["density"]])
    est = _est().fit(ctx.X, y)
    assert est.task_kinds_ == {"material": "classification", "density": "regression"}


def test_regression_targets_of_a_large_scale_are_scaled_safely(ctx):
    """Values of 1e100 train as the same values in units of 1e100 do."""
    small = _est().fit(ctx.X, ctx.y).predict(ctx.X)["density"].to_numpy()
    y = ctx.y.assign(density=ctx.y["density"] * 1e100)
    large = _est().fit(ctx.X, y).predict(ctx.X)["density"].to_numpy()
    np.testing.assert_allclose(large, small * 1e100, rtol=1e-5)


def test_export_maps_the_names_tensorflow_refuses(ctx, tmp_path):
    import tensorflow as tf

    from skmtl.export import signature_input_names

    X = {ODD_FIELD_NAMES[k]: v for k, v in _fields(ctx.X).items()}
    y = ctx.y.rename(columns={"material": "mat/erial", "density": "densité"})
    est = _est().fit(X, y)
    est.export(tmp_path / "served")
    serve = tf.saved_model.load(str(tmp_path / "served")).signatures["serving_default"]
    names = signature_input_names(est.schema_.names)
    assert names["amp l"] == "amp_l" and names["température"] == "temperature"
    out = serve(**{names[k]: tf.constant(v) for k, v in X.items()})
    expected = est.predict(X)
    assert sorted(out) == ["densité", "mat/erial", "mat/erial_proba"]
    labels = out["mat/erial"].numpy().astype(str)
    np.testing.assert_array_equal(labels, expected["mat/erial"].to_numpy())


def test_export_serves_uint64_labels_above_2_63(ctx, tmp_path):
    import tensorflow as tf

    big = np.array([2**64 - 1, 2**63 + 1], dtype=np.uint64)
    y = ctx.y.assign(material=big[np.arange(N) % 2])
    est = _est().fit(ctx.X, y)
    est.export(tmp_path / "served")
    serve = tf.saved_model.load(str(tmp_path / "served")).signatures["serving_default"]
    out = serve(**{name: tf.constant(ctx.X[name]) for name in ctx.X.dtype.names})
    served = out["material"].numpy()
    assert served.dtype == np.uint64
    np.testing.assert_array_equal(served, est.predict(ctx.X)["material"].to_numpy())


def test_every_catalogue_id_is_in_the_troubleshooting_guide():
    text = DOCS.read_text()
    lines = {}
    for line in text.splitlines():
        found = re.match(r"\|\s*`([\w-]+)`\s*\|", line)
        if found:
            lines[found.group(1)] = line
    missing = [r.id for r in ROWS if r.id not in lines]
    assert not missing, f"add these catalogue ids to {DOCS.name}: {missing}"
    stale = sorted(set(lines) - {r.id for r in ROWS})
    assert not stale, f"{DOCS.name} lists ids no longer in the catalogue: {stale}"
    wrong = [r.id for r in ROWS if f"`{r.exc.__name__}`" not in lines[r.id]]
    assert not wrong, f"exception type in {DOCS.name} differs for: {wrong}"
    # The known issues listed are exactly the rows marked with _bug today.
    section = text.split("### Known issues", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^- `([\w-]+)`", section, re.M)
    assert listed == list(_known_issues()), (
        f"the Known issues of {DOCS.name} list {listed}, but the strict xfails "
        f"are {list(_known_issues())}: regenerate the table"
    )


# ------------------------------------------------------ docs table generator
def _cell(text: str, limit: int = 150) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _known_issues() -> dict[str, str]:
    """``{id: xfail reason}`` of the rows marked with :func:`_bug`."""
    return {
        _row(e).id: e.marks[0].kwargs["reason"]
        for e in CATALOGUE
        if hasattr(e, "values")
    }


def markdown_table(context: SimpleNamespace) -> str:
    """The troubleshooting table, with each message as skmtl raises it today."""
    known = _known_issues()
    lines = [
        "| id | situation | exception | message (abridged) | fix |",
        "|---|---|---|---|---|",
    ]
    for row in ROWS:
        try:
            row.call(context)
            message, raised = "(no error: fit trains)", None
        except Exception as exc:
            message, raised = str(exc).replace(str(context.files), "…"), type(exc)
            message = message or f"(empty {raised.__name__})"
        exc_cell = f"`{row.exc.__name__}`"
        if row.id in known:
            got = f"`{raised.__name__}`" if raised else "no error"
            exc_cell += f" expected; today {got} ([known issue](#known-issues))"
        lines.append(
            f"| `{row.id}` | {_cell(row.situation, 200)} | {exc_cell} | "
            f"{_cell(message)} | {_cell(row.fix, 200)} |"
        )
    lines += ["", "### Known issues", ""]
    lines += [f"- `{id_}`: {reason}." for id_, reason in known.items()]
    if not known:
        lines.append("None: every row above behaves as described.")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m tests.test_bad_inputs
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print(markdown_table(make_context(Path(tmp))))
