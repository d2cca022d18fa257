"""Save and load a fitted estimator as one file with no pickle inside.

The file is a zip archive holding ``skmtl.json`` (format version, library
versions, parameters, input schema, tasks with their classes and scalers,
history) and ``model.keras`` (Keras' own format: architecture as JSON, weights
as HDF5). Loading uses Keras' safe mode, so no code from the file runs:
``joblib``/pickle files, by contrast, execute code on load and must only be
loaded from trusted sources.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
import zipfile
from pathlib import Path

import keras
import numpy as np

from ._version import __version__
from .inputs import InputSchema
from .targets import TargetEncoder, TaskSpec

__all__ = ["save", "load", "SkmtlFileError", "FORMAT_VERSION"]

FORMAT_VERSION = 1
_META = "skmtl.json"
_MODEL = "model.keras"


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


def _json_params(params: dict) -> tuple[dict, list[str]]:
    """The parameters JSON can hold, and the names of those it cannot."""
    kept, dropped = {}, []
    for name, value in params.items():
        if isinstance(value, tuple):
            value = list(value)
        try:
            json.dumps(value)
        except TypeError:
            dropped.append(name)
            continue
        kept[name] = value
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
    load : Reads the file back.

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
    params, dropped = _json_params(estimator.get_params(deep=False))
    encoder = estimator.target_encoder_
    meta = {
        "format": "skmtl",
        "format_version": FORMAT_VERSION,
        "versions": {
            "skmtl": __version__,
            "keras": keras.__version__,
            "numpy": np.__version__,
        },
        "params": params,
        "unsaved_params": dropped,
        "schema": estimator.schema_.to_dict(),
        "input_names": list(estimator.input_names_),
        "targets": {
            "tasks": [t.to_dict() for t in encoder.tasks_],
            "form": encoder.form_,
            "y_dtype": _dtype_to_json(encoder.y_dtype_),
        },
        "history": estimator.history_,
        # Fitted attributes that summarise training (absent in older files).
        "fitted": {
            name: getattr(estimator, name)
            for name in _SUMMARY_ATTRIBUTES
            if hasattr(estimator, name)
        },
    }
    with tempfile.TemporaryDirectory() as tmp:
        model_path = Path(tmp) / _MODEL
        estimator.model_.save(model_path)
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(_META, json.dumps(meta, indent=1, default=_numpy_scalar))
            zf.write(model_path, _MODEL)


def _read(path) -> tuple[dict, bytes]:
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if not {_META, _MODEL} <= names:
                raise SkmtlFileError(
                    f"{path} is not an skmtl model file (no {_META} inside). A "
                    "joblib or pickle file must be read with joblib.load, and only "
                    "from a trusted source: it runs code when loaded."
                )
            meta = json.loads(zf.read(_META))
            model_bytes = zf.read(_MODEL)
    except zipfile.BadZipFile:
        raise SkmtlFileError(
            f"{path} is not an skmtl model file (not a zip archive, or truncated)."
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError, zipfile.LargeZipFile) as exc:
        raise SkmtlFileError(f"{path} has unreadable metadata: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != "skmtl":
        raise SkmtlFileError(f"{path} is not an skmtl model file.")
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


def load(path: str | os.PathLike):
    """Load an estimator written by :meth:`MultiTaskConvEstimator.save`.

    No code from the file is executed (no pickle; Keras safe mode). The result
    predicts like the saved estimator; parameters that JSON cannot hold (a custom
    ``model`` builder, callbacks) come back as their defaults, with a warning.

    Parameters
    ----------
    path : str or path-like
        A file written by ``MultiTaskConvEstimator.save`` (or
        :func:`skmtl.persistence.save`).

    Returns
    -------
    MultiTaskConvEstimator
        A fitted estimator: same parameters, input schema, tasks, network
        weights and ``history_``. It predicts, scores and refits like the
        saved one.

    Raises
    ------
    SkmtlFileError
        If the file is not an skmtl model, was written in another file format
        version or with another Keras major version, or holds a layer that
        would run code when loaded.

    Warns
    -----
    UserWarning
        If some parameters could not be saved as JSON and are back to their
        defaults.

    See Also
    --------
    MultiTaskConvEstimator.save : Writes the file.

    Examples
    --------
    >>> import tempfile, os
    >>> from skmtl import MultiTaskConvEstimator, load
    >>> from skmtl.datasets import make_sensor_tasks
    >>> X, y = make_sensor_tasks(40, n_steps=32, random_state=0)
    >>> est = MultiTaskConvEstimator(filters=(4,), epochs=1, random_state=0)
    >>> est = est.fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.skmtl")
    >>> est.save(path)
    >>> (load(path).predict(X) == est.predict(X)).all().all()
    np.True_
    """
    from .estimator import MultiTaskConvEstimator

    meta, model_bytes = _read(path)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            model_path = Path(tmp) / _MODEL
            model_path.write_bytes(model_bytes)
            model = keras.saving.load_model(model_path, compile=False, safe_mode=True)
        schema = InputSchema.from_dict(meta["schema"])
        targets = meta["targets"]
        encoder = TargetEncoder(meta["params"].get("tasks"))
        encoder.tasks_ = [TaskSpec.from_dict(t) for t in targets["tasks"]]
        encoder.form_ = targets["form"]
        encoder.y_dtype_ = _dtype_from_json(targets["y_dtype"])
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
    params = dict(meta["params"])
    if isinstance(params.get("filters"), list):
        params["filters"] = tuple(params["filters"])
    if meta.get("unsaved_params"):
        warnings.warn(
            f"Parameters {meta['unsaved_params']} could not be saved as JSON and "
            "are back to their defaults; set them again before refitting.",
            UserWarning,
            stacklevel=2,
        )
    estimator = MultiTaskConvEstimator(**params)
    estimator._restore(
        model=model,
        schema=schema,
        target_encoder=encoder,
        input_names=meta["input_names"],
        history=meta.get("history", {}),
    )
    for name, value in meta.get("fitted", {}).items():
        if name in _SUMMARY_ATTRIBUTES:
            setattr(estimator, name, value)
    return estimator
