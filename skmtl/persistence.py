"""Save and load a fitted estimator as one file with no pickle inside.

The file is a zip archive holding ``skmtl.json`` (format version, library
versions, parameters, input schema, tasks with their classes and scalers,
history) and ``model.keras`` (Keras' own format: architecture as JSON, weights
as HDF5). Loading uses Keras' safe mode, so no code from the file runs:
``joblib``/pickle files, by contrast, execute code on load and must only be
loaded from trusted sources.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path

import keras
import numpy as np

from ._version import __version__
from .conformal import Calibration
from .datafiles import atomic_path
from .fitted import FittedState
from .inputs import InputSchema
from .targets import TargetEncoder, TaskSpec

__all__ = ["save", "read", "SkmtlFileError", "FORMAT_VERSION"]

FORMAT_VERSION = 1
_META = "skmtl.json"
_MODEL = "model.keras"
# What load reads at most, checked against the sizes the archive declares
# before anything is decompressed and again while reading (a crafted archive
# may understate them). A saved model's metadata is well under 1 MB, and a
# model file of skmtl's networks a few MB.
MAX_METADATA_BYTES = 32 * 2**20
MAX_MODEL_BYTES = 2 * 2**30
# Uncompressed over compressed size above which a member of at least
# _RATIO_FLOOR bytes is taken for a zip bomb: metadata and weights compress a
# few times; deflate's own limit is about 1000.
MAX_COMPRESSION_RATIO = 100
_RATIO_FLOOR = 2**20
# Entries every file written by save holds in its skmtl.json.
_REQUIRED = ("params", "schema", "input_names", "targets")


class SkmtlFileError(ValueError):
    """The file is not a readable skmtl model.

    Raised by :func:`skmtl.load` for a file that is not an skmtl model (a
    joblib or pickle file, a truncated archive), one written in another file
    format version or with another Keras major version, or one whose model
    would run code when loaded (a ``Lambda`` layer). A subclass of
    ``ValueError``, so ``except ValueError`` catches it too.

    See Also
    --------
    skmtl.load : Reads a file written by ``MultiTaskConvEstimator.save``.

    Examples
    --------
    >>> import os, tempfile
    >>> from skmtl import load
    >>> from skmtl.persistence import SkmtlFileError
    >>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
    >>> with open(path, "w") as f:
    ...     _ = f.write("not a model")
    >>> try:
    ...     load(path)
    ... except SkmtlFileError as exc:
    ...     print("refused:", str(exc).split(" (")[0].rsplit("/", 1)[-1])
    refused: notes.txt is not an skmtl model file
    """


class _Unsavable(TypeError):
    """A parameter value that JSON cannot hold faithfully."""


def _encode_value(value):
    """A parameter value as JSON, its type kept (tuples, NumPy, int dict keys).

    Plain JSON values stay as they are, so that files stay readable and older
    files (which hold plain values only) decode unchanged.
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.generic):
        return {"__numpy__": value.dtype.str, "value": value.item()}
    if isinstance(value, int | float):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufU":
            raise _Unsavable(f"array of dtype {value.dtype}")
        return {
            "__ndarray__": value.dtype.str,
            "shape": list(value.shape),
            "data": value.ravel().tolist(),
        }
    if isinstance(value, tuple):
        return {"__tuple__": [_encode_value(v) for v in value]}
    if isinstance(value, list):
        return [_encode_value(v) for v in value]
    if isinstance(value, Mapping):
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {k: _encode_value(v) for k, v in value.items()}
        return {
            "__items__": [
                [_encode_value(k), _encode_value(v)] for k, v in value.items()
            ]
        }
    raise _Unsavable(type(value).__name__)


def _decode_value(data):
    if isinstance(data, list):
        return [_decode_value(v) for v in data]
    if not isinstance(data, dict):
        return data
    if "__numpy__" in data:
        return np.dtype(data["__numpy__"]).type(data["value"])
    if "__ndarray__" in data:
        flat = np.asarray(data["data"], dtype=np.dtype(data["__ndarray__"]))
        return flat.reshape(data["shape"])
    if "__tuple__" in data:
        return tuple(_decode_value(v) for v in data["__tuple__"])
    if "__items__" in data:
        return {_key(_decode_value(k)): _decode_value(v) for k, v in data["__items__"]}
    return {k: _decode_value(v) for k, v in data.items()}


def _key(value):
    # A decoded list (JSON has no tuples inside keys' encodings) must hash.
    return tuple(value) if isinstance(value, list) else value


def _encode_params(params: dict) -> tuple[dict, list[str]]:
    """The parameters with their types, and the names of those JSON cannot hold."""
    kept, dropped = {}, []
    for name, value in params.items():
        try:
            kept[name] = _encode_value(value)
        except _Unsavable:
            dropped.append(name)
    return kept, dropped


def _dtype_to_json(dtype):
    if dtype is None:
        return None
    return dtype.descr if dtype.names else dtype.str


def _dtype_from_json(data):
    if data is None:
        return None
    if isinstance(data, list):
        return np.dtype([tuple(field) for field in data])
    return np.dtype(data)


def _numpy_scalar(value):
    """JSON for NumPy scalars (an epoch count may be ``np.int64``)."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# Plain-JSON fitted attributes that describe the training run.
_SUMMARY_ATTRIBUTES = ("n_epochs_", "best_epoch_", "task_weights_")


def save(estimator, path: str | os.PathLike) -> None:
    """Write a fitted estimator to ``path`` as one file with no pickle inside.

    The file is a zip archive of ``skmtl.json`` (parameters, input schema,
    tasks, history, library versions) and ``model.keras``; see the module
    docstring. :meth:`MultiTaskConvEstimator.save` calls this function.

    Parameters
    ----------
    estimator : MultiTaskConvEstimator
        A fitted estimator.
    path : str or path-like
        File to write (overwritten if it exists). The ``.skmtl`` suffix is a
        convention, not a requirement.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.

    See Also
    --------
    read : Reads the file back (:func:`skmtl.load` gives the estimator).

    Examples
    --------
    >>> import os, tempfile, zipfile
    >>> from skmtl import MultiTaskConvEstimator
    >>> from skmtl.datasets import make_sensor_tasks
    >>> from skmtl.persistence import save
    >>> X, y = make_sensor_tasks(40, n_steps=32, random_state=0)
    >>> est = MultiTaskConvEstimator(filters=(4,), epochs=1, random_state=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.skmtl")
    >>> save(est.fit(X, y), path)
    >>> sorted(zipfile.ZipFile(path).namelist())
    ['model.keras', 'skmtl.json']
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    params, dropped = _encode_params(estimator.get_params(deep=False))
    state = estimator.fitted_state_
    encoder = state.target_encoder
    meta = {
        "format": "skmtl",
        "format_version": FORMAT_VERSION,
        "versions": {
            "skmtl": __version__,
            "keras": keras.__version__,
            "numpy": np.__version__,
        },
        "params": params,
        "typed_params": True,
        "unsaved_params": dropped,
        "schema": state.schema.to_dict(),
        "input_names": list(state.input_names),
        "targets": {
            "tasks": [t.to_dict() for t in encoder.tasks_],
            "form": encoder.form_,
            "y_dtype": _dtype_to_json(encoder.y_dtype_),
        },
        "history": state.history,
        # Fitted attributes that summarise training (absent in older files).
        "fitted": {
            "n_epochs_": state.n_epochs,
            "best_epoch_": state.best_epoch,
            "task_weights_": state.task_weights,
            "build_key": state.build_key,
            "calibration": None
            if state.calibration is None
            else state.calibration.to_dict(),
            "feature_names": None
            if state.feature_names is None
            else list(state.feature_names),
        },
    }
    path = Path(path)
    with tempfile.TemporaryDirectory() as tmp:
        model_path = Path(tmp) / _MODEL
        state.model.save(model_path)
        _write_atomically(
            path,
            lambda f: _write_zip(f, meta, model_path),
        )


def _write_zip(file, meta: dict, model_path: Path) -> None:
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(_META, json.dumps(meta, indent=1, default=_numpy_scalar))
        zf.write(model_path, _MODEL)


def _write_atomically(path: Path, write) -> None:
    """Write ``path`` through a temporary file in its directory, then rename.

    A failing write (a full disk, an error while serialising) leaves the file
    that was there before untouched: ``os.replace`` is atomic on one file
    system, and the data are flushed to disk before it. The new file gets the
    mode of the one it replaces, or a new file's (not mkstemp's private 0600);
    see :func:`skmtl.datafiles.atomic_path`, which the CLI's outputs share.
    """
    with atomic_path(str(path)) as tmp, open(tmp, "wb") as file:
        write(file)


def _megabytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _checked_member(path, zf: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """Read one archive member, refusing one larger than ``limit`` or bomb-like."""
    _check_declared(path, zf.getinfo(name), limit)
    with zf.open(name) as member:
        data = member.read(limit + 1)  # zipfile stops at the declared size
    if len(data) > limit:
        raise SkmtlFileError(
            f"{path} is not an skmtl model file ({name} unpacks to more than "
            f"{_megabytes(limit)})."
        )
    return data


def _check_declared(path, info: zipfile.ZipInfo, limit: int) -> None:
    """Refuse a member that declares more than ``limit``, or a bomb's ratio.

    zipfile never yields more than a member's declared size (a longer stream
    fails its CRC check), so checking the declaration bounds what is read.
    """
    name = info.filename
    too_large = info.file_size > limit
    bomb = (
        info.file_size >= _RATIO_FLOOR
        and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1)
    )
    if too_large or bomb:
        why = (
            f"more than the {_megabytes(limit)} skmtl reads"
            if too_large
            else f"{info.file_size / max(info.compress_size, 1):.0f} times its "
            "compressed size, as in a zip bomb"
        )
        raise SkmtlFileError(
            f"{path} is not an skmtl model file ({name} would unpack to "
            f"{_megabytes(info.file_size)}, {why}); refused before decompressing it."
        )


def _check_inner_archive(path, model_bytes: bytes) -> None:
    """The Keras file is a zip too: Keras would decompress its members whole."""
    try:
        with zipfile.ZipFile(io.BytesIO(model_bytes)) as inner:
            for info in inner.infolist():
                _check_declared(path, info, MAX_MODEL_BYTES)
    except zipfile.BadZipFile:
        raise SkmtlFileError(
            f"{path} is not an skmtl model file ({_MODEL} is not a Keras file)."
        ) from None


def _read(path) -> tuple[dict, bytes]:
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if _META in names and _MODEL not in names:
                raise SkmtlFileError(
                    f"{path} is not a complete skmtl model file (no {_MODEL} "
                    "inside: its network is missing); save the model again."
                )
            if not {_META, _MODEL} <= names:
                raise SkmtlFileError(
                    f"{path} is not an skmtl model file (no {_META} inside). A "
                    "joblib or pickle file must be read with joblib.load, and only "
                    "from a trusted source: it runs code when loaded."
                )
            meta_bytes = _checked_member(path, zf, _META, MAX_METADATA_BYTES)
            model_bytes = _checked_member(path, zf, _MODEL, MAX_MODEL_BYTES)
        _check_inner_archive(path, model_bytes)
        meta = json.loads(meta_bytes)
    except zipfile.BadZipFile:
        raise SkmtlFileError(
            f"{path} is not an skmtl model file (not a zip archive, or truncated)."
        ) from None
    except RecursionError:
        raise SkmtlFileError(
            f"{path} is not an skmtl model file ({_META} is nested too deeply to "
            "be skmtl's metadata)."
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError, zipfile.LargeZipFile) as exc:
        raise SkmtlFileError(f"{path} has unreadable metadata: {exc}") from None
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise  # the path's problem, not the file's
    except (OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        # A damaged member (bad CRC, an unknown compression method or encryption).
        raise SkmtlFileError(
            f"{path} is not an skmtl model file (its archive cannot be read: {exc})."
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != "skmtl":
        raise SkmtlFileError(f"{path} is not an skmtl model file.")
    missing = [key for key in _REQUIRED if key not in meta]
    if missing:
        raise SkmtlFileError(
            f"{path} is not an skmtl model file ({_META} lacks "
            f"{', '.join(map(repr, missing))}); save the model again."
        )
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise SkmtlFileError(
            f"{path} has skmtl file format {version!r}; this skmtl "
            f"({__version__}) reads format {FORMAT_VERSION}. Load it with the "
            f"skmtl version that saved it ({meta.get('versions', {}).get('skmtl')})."
        )
    saved_keras = str(meta.get("versions", {}).get("keras", ""))
    if saved_keras.split(".")[0] != keras.__version__.split(".")[0]:
        raise SkmtlFileError(
            f"{path} was saved with Keras {saved_keras or 'unknown'}; this is Keras "
            f"{keras.__version__}, whose model format differs. Load it where Keras "
            f"{saved_keras.split('.')[0] or '?'}.x is installed."
        )
    return meta, model_bytes


def read(path: str | os.PathLike) -> tuple[dict, FittedState]:
    """Read a file written by :func:`save`: ``(parameters, fitted state)``.

    :func:`skmtl.load` assembles the estimator from them. No code from the file
    is executed (no pickle; Keras safe mode).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    params : dict
        The estimator's parameters, with their types.
    state : FittedState

    Raises
    ------
    SkmtlFileError
        If the file is not a readable skmtl model (see :func:`skmtl.load`).

    Warns
    -----
    UserWarning
        If some parameters could not be saved and are back to their defaults.

    Examples
    --------
    >>> import os, tempfile
    >>> from skmtl import MultiTaskConvEstimator
    >>> from skmtl.datasets import make_sensor_tasks
    >>> X, y = make_sensor_tasks(40, n_steps=32, random_state=0)
    >>> est = MultiTaskConvEstimator(filters=(4,), epochs=1, random_state=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.skmtl")
    >>> save(est.fit(X, y), path)
    >>> params, state = read(path)
    >>> params["filters"], state.n_epochs
    ((4,), 1)
    """
    meta, model_bytes = _read(path)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            model_path = Path(tmp) / _MODEL
            model_path.write_bytes(model_bytes)
            model = keras.saving.load_model(model_path, compile=False, safe_mode=True)
        params = dict(meta["params"])
        if meta.get("typed_params"):
            params = {name: _decode_value(value) for name, value in params.items()}
        elif isinstance(params.get("filters"), list):  # files before typed params
            params["filters"] = tuple(params["filters"])
        schema = InputSchema.from_dict(meta["schema"])
        targets = meta["targets"]
        encoder = TargetEncoder(params.get("tasks"))
        encoder.tasks_ = [TaskSpec.from_dict(t) for t in targets["tasks"]]
        encoder.form_ = targets["form"]
        encoder.y_dtype_ = _dtype_from_json(targets["y_dtype"])
        fitted = meta.get("fitted", {})
        names = fitted.get("feature_names")
        n_epochs = len(meta.get("history", {}).get("loss", []))
        state = FittedState(
            schema=schema,
            target_encoder=encoder,
            model=model,
            input_names=tuple(meta["input_names"]),
            history=meta.get("history", {}),
            task_weights=fitted.get("task_weights_", {}),
            n_epochs=fitted.get("n_epochs_", n_epochs),
            best_epoch=fitted.get("best_epoch_", n_epochs),
            feature_names=None if names is None else np.asarray(names, dtype=object),
            build_key=fitted.get("build_key"),
            calibration=None
            if fitted.get("calibration") is None
            else Calibration.from_dict(fitted["calibration"]),
        )
    except SkmtlFileError:
        raise
    except Exception as exc:  # a damaged archive member or inconsistent metadata
        if "safe_mode" in str(exc):
            raise SkmtlFileError(
                f"{path} contains a layer that would run arbitrary code when loaded "
                "(e.g. a Lambda layer); skmtl.load refuses to execute code from a "
                "file. Rebuild the model without it."
            ) from None
        raise SkmtlFileError(f"{path} could not be loaded: {exc}") from exc
    if meta.get("unsaved_params"):
        warnings.warn(
            f"Parameters {meta['unsaved_params']} could not be saved as JSON and "
            "are back to their defaults; set them again before refitting.",
            UserWarning,
            stacklevel=3,
        )
    _check_network(path, state)
    state.predict_function()
    return params, state


def _check_network(path, state: FittedState) -> None:
    """The metadata must describe the network: inputs, and each head's width."""
    model = state.model

    def disagree(detail: str) -> SkmtlFileError:
        return SkmtlFileError(
            f"{path} is not an skmtl model file (its metadata and its network "
            f"disagree: {detail})."
        )

    inputs = {t.name: tuple(t.shape[1:]) for t in model.inputs}
    unknown = [n for n in state.input_names if n not in state.schema]
    if unknown or set(inputs) != set(state.input_names):
        raise disagree(
            f"the network's inputs are {sorted(inputs)}, the metadata's "
            f"{list(state.input_names)} of fields {state.schema.names}"
        )
    for name, shape in inputs.items():
        spec = state.schema[name]
        if shape != spec.shape:
            raise disagree(f"{spec.describe()} feeds an input of shape {shape}")
    outputs = model.output if isinstance(model.output, dict) else {}
    tasks = state.target_encoder.tasks_
    if set(outputs) != {t.name for t in tasks}:
        raise disagree(
            f"the network's outputs are {sorted(outputs)}, the tasks "
            f"{[t.name for t in tasks]}"
        )
    for task in tasks:
        width = outputs[task.name].shape[-1]
        if width != task.units:
            what = (
                f"lists {task.n_classes} classes"
                if task.kind == "classification"
                else f"has {task.n_outputs} output(s)"
            )
            raise disagree(
                f"task {task.name!r} {what}, so its head needs {task.units} "
                f"unit(s), but it has {width}"
            )
