"""Save and load a fitted estimator as one file with no pickle inside.

The file is a zip archive holding ``skmtl.json`` (format version, library
versions, parameters, input schema, tasks with their classes and scalers,
history) and ``model.keras`` (Keras' own format: architecture as JSON, weights
as HDF5). Loading uses Keras' safe mode, so no code from the file runs:
``joblib``/pickle files, by contrast, execute code on load and must only be
loaded from trusted sources.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

import keras
import numpy as np

from .._version import __version__
from ..data.inputs import InputSchema
from ..data.targets import TargetEncoder, TaskSpec
from ..training.conformal import Calibration
from ..training.fitted import FittedState
from ..utils.files import atomic_path
from ..utils.warnings import warn_user
from .load_budget import (
    LoadBudget,
    SkmtlFileError,
    build_symbolically,
    check_declared,
    megabytes,
    read_keras_archive,
)

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
# Entries every file written by save holds in its skmtl.json.
_REQUIRED = ("params", "schema", "input_names", "targets")


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


def _decode_value(data, budget: LoadBudget, entry: str):
    """A value as :func:`_encode_value` wrote it; arrays and dtypes in ``budget``."""

    def decode(value):
        return _decode_value(value, budget, entry)

    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict):
        return data
    if "__numpy__" in data:
        return budget.dtype(f"the dtype of {entry}", data["__numpy__"]).type(
            data["value"]
        )
    if "__ndarray__" in data:
        flat = budget.array(entry, data["data"], data["__ndarray__"])
        return flat.reshape(data["shape"])
    if "__tuple__" in data:
        return tuple(decode(v) for v in data["__tuple__"])
    if "__items__" in data:
        return {_key(decode(k)): decode(v) for k, v in data["__items__"]}
    return {k: decode(v) for k, v in data.items()}


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


def _numpy_scalar(value):
    """JSON for NumPy scalars (an epoch count may be ``np.int64``)."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# Plain-JSON fitted attributes that describe the training run.
_SUMMARY_ATTRIBUTES = ("n_epochs_", "best_epoch_", "task_weights_")


def save(params: Mapping, state: FittedState, path: str | os.PathLike) -> None:
    """Write an estimator's parameters and fitted state to ``path``, as one
    file with no pickle inside.

    The file is a zip archive of ``skmtl.json`` (parameters, input schema,
    tasks, history, library versions) and ``model.keras``; see the module
    docstring. :meth:`MultiTaskConvEstimator.save` calls this function.

    Parameters
    ----------
    params : mapping
        ``est.get_params(deep=False)``; values JSON cannot hold (a custom
        ``model`` builder, callbacks) are left out, and named in the file.
    state : FittedState
        ``est.fitted_state_``.
    path : str or path-like
        File to write (overwritten if it exists). The ``.skmtl`` suffix is a
        convention, not a requirement.

    Raises
    ------
    FileNotFoundError
        If the folder of ``path`` does not exist (it names ``path``).

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
    >>> est = MultiTaskConvEstimator(filters=(84,), epochs=1, random_state=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.skmtl")
    >>> est = est.fit(X, y)
    >>> save(est.get_params(deep=False), est.fitted_state_, path)
    >>> sorted(zipfile.ZipFile(path).namelist())
    ['model.keras', 'skmtl.json']
    """
    params, dropped = _encode_params(dict(params))
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
    _check_folder(path)
    with tempfile.TemporaryDirectory() as tmp:
        model_path = Path(tmp) / _MODEL
        state.model.save(model_path)
        _write_atomically(
            path,
            lambda f: _write_zip(f, meta, model_path),
        )


def _check_folder(path: Path) -> None:
    """Refuse a path in a missing folder, naming it (the write would otherwise
    fail on its temporary file, whose name the user never gave)."""
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise FileNotFoundError(
            errno.ENOENT,
            f"Cannot save to {path}: folder {folder} {what}; create it first "
            "(os.makedirs) or choose another path",
            str(path),
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
    see :func:`skmtl.utils.files.atomic_path`, which the CLI's outputs share.
    """
    with atomic_path(str(path)) as tmp, open(tmp, "wb") as file:
        write(file)


def _checked_member(path, zf: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """Read one archive member, refusing one larger than ``limit`` or bomb-like."""
    check_declared(path, zf.getinfo(name), limit)
    with zf.open(name) as member:
        data = member.read(limit + 1)  # zipfile stops at the declared size
    if len(data) > limit:
        raise SkmtlFileError(
            f"{path} is not an skmtl model file ({name} unpacks to more than "
            f"{megabytes(limit)})."
        )
    return data


def _read(path) -> tuple[dict, bytes]:
    """The checked metadata and the Keras file's bytes (``skmtl info`` reads it)."""
    meta, model_bytes, _ = _read_members(path)
    return meta, model_bytes


def _read_members(path) -> tuple[dict, bytes, int]:
    """``(metadata, Keras file bytes, metadata size)``, each member size-checked."""
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
    except SkmtlFileError:
        raise
    except (ValueError, zipfile.LargeZipFile) as exc:
        # JSONDecodeError, UnicodeDecodeError, and the ValueError of a number
        # past Python's int-string limit (a 5,000-digit integer).
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
    _check_header(path, meta)
    return meta, model_bytes, len(meta_bytes)


def _check_header(path, meta: dict) -> None:
    """Required entries, and the file format and Keras versions it was saved in."""
    missing = [key for key in _REQUIRED if key not in meta]
    if missing:
        raise SkmtlFileError(
            f"{path} is not an skmtl model file ({_META} lacks "
            f"{', '.join(map(repr, missing))}); save the model again."
        )
    versions = meta.get("versions")
    versions = versions if isinstance(versions, dict) else {}
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise SkmtlFileError(
            f"{path} has skmtl file format {version!r}; this skmtl "
            f"({__version__}) reads format {FORMAT_VERSION}. Load it with the "
            f"skmtl version that saved it ({versions.get('skmtl')})."
        )
    saved_keras = str(versions.get("keras", ""))
    if saved_keras.split(".")[0] != keras.__version__.split(".")[0]:
        raise SkmtlFileError(
            f"{path} was saved with Keras {saved_keras or 'unknown'}; this is Keras "
            f"{keras.__version__}, whose model format differs. Load it where Keras "
            f"{saved_keras.split('.')[0] or '?'}.x is installed."
        )


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
    >>> est = MultiTaskConvEstimator(filters=(84,), epochs=1, random_state=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.skmtl")
    >>> est.fit(X, y).save(path)
    >>> params, state = read(path)
    >>> params["filters"], state.n_epochs
    ((84,), 1)
    """
    meta, model_bytes, metadata_bytes = _read_members(path)
    budget = LoadBudget(path, metadata_bytes)
    try:
        params = _decode_params(meta, budget)
        schema = InputSchema.from_dict(_checked_schema(meta["schema"], budget))
        encoder = _target_encoder(meta["targets"], params, budget)
        input_names = tuple(meta["input_names"])
        # Every size the network declares is checked against the file's
        # content, and the metadata against the network, before it is built.
        config, weight_bytes = read_keras_archive(path, model_bytes, MAX_METADATA_BYTES)
        build_symbolically(
            path,
            config,
            weight_bytes,
            lambda model: _check_network(
                path, model, schema, input_names, encoder.tasks_
            ),
        )
        model = _load_keras_model(model_bytes)
        fitted = meta.get("fitted", {})
        names = fitted.get("feature_names")
        n_epochs = len(meta.get("history", {}).get("loss", []))
        state = FittedState(
            schema=schema,
            target_encoder=encoder,
            model=model,
            input_names=input_names,
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
        warn_user(
            f"Parameters {meta['unsaved_params']} could not be saved as JSON and "
            "are back to their defaults; set them again before refitting."
        )
    state.predict_function()
    return params, state


def _load_keras_model(model_bytes: bytes) -> keras.Model:
    with tempfile.TemporaryDirectory() as tmp:
        model_path = Path(tmp) / _MODEL
        model_path.write_bytes(model_bytes)
        return keras.saving.load_model(model_path, compile=False, safe_mode=True)


def _decode_params(meta: dict, budget: LoadBudget) -> dict:
    """The estimator's parameters, with their types (arrays within ``budget``)."""
    params = dict(meta["params"])
    if meta.get("typed_params"):
        return {
            name: _decode_value(value, budget, f"parameter {name!r}")
            for name, value in params.items()
        }
    if isinstance(params.get("filters"), list):  # files before typed params
        params["filters"] = tuple(params["filters"])
    return params


def _checked_schema(data: Mapping, budget: LoadBudget) -> Mapping:
    """The schema's entry, each field's dtype checked (predict converts to it)."""
    for spec in data["fields"]:
        _check_value_dtype(
            budget, f"the dtype of input {spec['name']!r}", spec["dtype"]
        )
    return data


def _target_encoder(
    targets: Mapping, params: dict, budget: LoadBudget
) -> TargetEncoder:
    """The fitted target encoder; every dtype and class array within ``budget``."""
    encoder = TargetEncoder(params.get("tasks"))
    encoder.tasks_ = [
        TaskSpec.from_dict(_checked_task(t, budget)) for t in targets["tasks"]
    ]
    encoder.form_ = targets["form"]
    y_dtype = targets["y_dtype"]
    encoder.y_dtype_ = None if y_dtype is None else budget.dtype("y_dtype", y_dtype)
    return encoder


def _checked_task(data: Mapping, budget: LoadBudget) -> dict:
    """A task's entry with its classes and categories built within ``budget``.

    Predictions come back in the task's dtype, so that is checked too.
    """
    entry = f"task {data['name']!r}"
    data = dict(data)
    _check_value_dtype(budget, f"the dtype of {entry}", data["dtype"])
    for key in ("classes", "categories"):
        if data.get(key) is not None:
            data[key] = budget.array(
                f"the {key} of {entry}", data[key], data[f"{key}_dtype"]
            )
    return data


def _check_value_dtype(budget: LoadBudget, entry: str, name) -> None:
    """Check a NumPy dtype's width; pandas names such as "category" pass."""
    if isinstance(name, str):
        try:
            np.dtype(name)
        except TypeError:
            return  # a pandas extension dtype: no width of its own
    budget.dtype(entry, name)


def _check_network(
    path, model: keras.Model, schema: InputSchema, input_names: tuple, tasks: list
) -> None:
    """The metadata must describe the network: inputs, and each head's width."""

    def disagree(detail: str) -> SkmtlFileError:
        return SkmtlFileError(
            f"{path} is not an skmtl model file (its metadata and its network "
            f"disagree: {detail})."
        )

    inputs = {t.name: tuple(t.shape[1:]) for t in model.inputs}
    unknown = [n for n in input_names if n not in schema]
    if unknown or set(inputs) != set(input_names):
        raise disagree(
            f"the network's inputs are {sorted(inputs)}, the metadata's "
            f"{list(input_names)} of fields {schema.names}"
        )
    for name, shape in inputs.items():
        spec = schema[name]
        if shape != spec.shape:
            raise disagree(f"{spec.describe()} feeds an input of shape {shape}")
    outputs = model.output if isinstance(model.output, dict) else {}
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
