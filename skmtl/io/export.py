"""Export a fitted estimator as a TensorFlow SavedModel for serving.

The exported graph takes the **raw** named inputs and returns **decoded**
outputs, so a server (TF Serving, ``tf.saved_model.load`` in a process without
skmtl) needs nothing else:

- one float32 input per field of X seen at fit (float64 for a field whose
  values sit far from zero or from unit spread, such as Unix seconds: its
  ``offset`` or ``scale`` in ``est.schema_`` is applied in float64 before the
  cast, as ``predict`` does), named as the field (a name
  TensorFlow refuses for an argument, such as ``amp l``, ``température`` or
  ``ampl-raw``, is sanitised and de-duplicated: ``amp_l``, ``temperature``,
  ``ampl_raw``; :func:`signature_input_names` gives the mapping): a
  covariate is ``(batch,)``; a one-channel signal ``(batch, n_steps)``; a
  multi-channel signal ``(batch, n_steps, n_channels)`` (and so is the single
  ``"signal"`` field of a 3-D array X, even with one channel); a
  variable-length signal ``(batch, steps, n_channels + 1)``: the recordings
  zero-padded to the batch's longest, with a last channel that is 1 on true
  steps and 0 on padding (what ``RaggedSignal.padded`` gives);
- the input normalisation learned at fit (the network's ``Normalization``
  layers), the network in inference mode, and the decoding of its outputs;
- per classification task ``<task>``: the predicted labels as the original
  classes (``tf.string`` for text labels, ``tf.int64`` for integers,
  ``tf.bool`` for booleans, ``tf.float64`` for float-valued classes) and
  ``<task>_proba``, the class probabilities ``(batch, n_classes)`` in float32,
  columns in the order of ``classes_``;
- per regression task ``<task>``: the values in the target's original units,
  float64, ``(batch,)`` (or ``(batch, k)`` for a block of ``k`` outputs).

The graph checks each input's shape and that all inputs have the same, non-zero
number of rows (a failed check is an ``InvalidArgumentError`` at call time); the
signature enforces names and dtypes. The NaN and infinity checks that
:meth:`~skmtl.MultiTaskConvEstimator.predict` does in Python are *not* in the
graph: a NaN input gives no error, and its row's outputs may be NaN or finite
but meaningless.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf
from sklearn.utils.validation import check_is_fitted

from ..data.inputs import SIGNAL
from ..data.targets import CLASSIFICATION, ArrayOps, decode_output
from ..training.fitted import FittedState
from ..utils.names import keras_stem, repeated
from ..utils.warnings import warn_user

__all__ = ["export", "serving_specs", "PROBA_SUFFIX", "SIGNATURE_KEY"]

#: Key of the exported signature (TensorFlow's and TF Serving's default).
SIGNATURE_KEY = "serving_default"
#: Suffix of each classification task's probability output.
PROBA_SUFFIX = "_proba"
# tf.function renames (with a warning) any argument name outside this
# pattern, and two fields may then share one; skmtl names them itself.
_VALID_INPUT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def signature_input_names(fields) -> dict[str, str]:
    """Each field's input name in the exported signature: the field's own name
    where TensorFlow accepts it, else a sanitised, unique one.

    Parameters
    ----------
    fields : sequence of str
        Field names, such as ``est.schema_.names``.

    Returns
    -------
    dict of str to str
        ``{field: signature input name}``.

    Examples
    --------
    >>> signature_input_names(["ampl", "amp l", "température", "amp_l"])
    {'ampl': 'ampl', 'amp l': 'amp_l_2', 'température': 'temperature', 'amp_l': 'amp_l'}
    """
    names = {f: f for f in fields if _VALID_INPUT_NAME.match(f)}
    taken = set(names)
    for field in fields:
        if field in names:
            continue
        stem = re.sub(r"[^A-Za-z0-9_]", "_", keras_stem(field))
        stem = stem if stem[:1].isalpha() else "f_" + stem
        name, k = stem, 2
        while name in taken:
            name, k = f"{stem}_{k}", k + 1
        taken.add(name)
        names[field] = name
    return {f: names[f] for f in fields}


# TensorFlow's side of the one decoding (skmtl.data.targets.decode_output).
_TF_OPS = ArrayOps(
    as_float=lambda x: tf.cast(x, tf.float64),
    above=lambda x, t: tf.cast(x > t, tf.int32),
    argmax=lambda x: tf.argmax(x, axis=1, output_type=tf.int32),
    take=tf.gather,
    binary_proba=lambda p: tf.concat([1.0 - p, p], axis=1),
)


def _label_dtype(classes: np.ndarray, warn: bool = False) -> tuple:
    """The TensorFlow dtype of a task's labels, and the classes converted to it."""
    kind = classes.dtype.kind
    if kind == "b":
        return tf.bool, classes.astype(bool)
    if kind == "u" and len(classes) and classes.max() > np.iinfo(np.int64).max:
        # int64 would wrap these labels to negative values.
        return tf.uint64, classes.astype(np.uint64)
    if kind in "iu":
        return tf.int64, classes.astype(np.int64)
    if kind == "f":
        return tf.float64, classes.astype(np.float64)
    if kind == "U":
        return tf.string, classes
    if kind == "S":
        return tf.string, classes.astype(str)
    if warn:
        warn_user(
            f"Classes of dtype {classes.dtype} ({classes[:3].tolist()}...) have no "
            "TensorFlow dtype; they are exported as strings (str of each label)."
        )
    return tf.string, np.asarray([str(c) for c in classes])


def _input_shape(spec, form: str) -> tuple:
    if spec.ragged:
        # Padded recordings with the mask channel last (1 on true steps), as the
        # network takes them (skmtl.data.ragged).
        return (None, None, spec.n_channels + 1)
    if spec.kind != SIGNAL:
        return (None,)
    if spec.n_channels == 1 and form != "array3d":
        return (None, spec.n_steps)
    return (None, spec.n_steps, spec.n_channels)


def serving_specs(fitted) -> tuple[dict, dict]:
    """The exported signature's inputs and outputs, as ``tf.TensorSpec`` dicts.

    Parameters
    ----------
    fitted : FittedState or fitted estimator
        ``est.fitted_state_``, or the estimator itself (its ``fitted_state_``
        is read).

    Returns
    -------
    inputs : dict of str to tf.TensorSpec
        One spec per field of X, in the order seen at fit, keyed by field;
        each spec's ``name`` is the signature's input name (see
        :func:`signature_input_names`). float32, or float64 for a field far
        from zero or from unit spread (its ``offset`` or ``scale`` in
        ``est.schema_``), which predict also centres in float64.
    outputs : dict of str to tf.TensorSpec
        ``<task>`` (labels or values) and ``<task>_proba`` (classification
        only), in task order.

    Examples
    --------
    >>> from skmtl import MultiTaskConvEstimator
    >>> from skmtl.datasets import make_sensor_tasks
    >>> X, y = make_sensor_tasks(40, n_steps=32, random_state=0)
    >>> est = MultiTaskConvEstimator(filters=(84,), epochs=1, random_state=0)
    >>> inputs, outputs = serving_specs(est.fit(X, y))
    >>> {name: (tuple(s.shape), s.dtype.name) for name, s in inputs.items()}
    ... # doctest: +NORMALIZE_WHITESPACE
    {'ampl': ((None, 32), 'float32'), 'phase': ((None, 32), 'float32'),
     'temp': ((None,), 'float32'), 'moist': ((None,), 'float32'),
     'weight': ((None,), 'float32')}
    >>> {name: (tuple(s.shape), s.dtype.name) for name, s in outputs.items()}
    ... # doctest: +NORMALIZE_WHITESPACE
    {'material': ((None,), 'string'), 'material_proba': ((None, 5), 'float32'),
     'density': ((None,), 'float64')}
    """
    state = fitted_state(fitted)
    schema = state.schema
    names = signature_input_names(schema.names)
    inputs = {
        spec.name: tf.TensorSpec(
            _input_shape(spec, schema.form), _input_dtype(spec), names[spec.name]
        )
        for spec in schema.fields
    }
    outputs = {}
    for task in state.tasks:
        if task.kind == CLASSIFICATION:
            dtype, _ = _label_dtype(task.classes, warn=True)
            outputs[task.name] = tf.TensorSpec((None,), dtype, task.name)
            proba = task.name + PROBA_SUFFIX
            outputs[proba] = tf.TensorSpec((None, task.n_classes), tf.float32, proba)
        else:
            shape = (None,) if task.n_outputs == 1 else (None, task.n_outputs)
            outputs[task.name] = tf.TensorSpec(shape, tf.float64, task.name)
    names = [t.name for t in state.tasks] + [
        t.name + PROBA_SUFFIX for t in state.tasks if t.kind == CLASSIFICATION
    ]
    clashes = repeated(names)
    if clashes:
        raise ValueError(
            f"Output name(s) {clashes} would be used twice (a task named like "
            f"another task's probabilities, '<task>{PROBA_SUFFIX}'); rename the "
            "task in y and fit again."
        )
    return inputs, outputs


class _Serving(tf.Module):
    """The fitted network (tracked, so its weights are saved) and its signature."""

    def __init__(self, model):
        super().__init__(name="skmtl_serving")
        self.model = model


def _input_dtype(spec) -> tf.DType:
    """float64 for a field that predict centres in float64 before its cast.

    Such a field sits far from zero (Unix seconds: 1.7e9 plus a few): as
    float32 it would have lost what tells its samples apart before the graph
    could subtract the offset.
    """
    return tf.float64 if spec.offset else tf.float32


def _network_units(x, spec):
    """A field's values as the network gets them, as ``predict`` encodes them:
    ``(x - offset) * scale`` in float64, then float32 (the mask channel of a
    variable-length signal is left as it is)."""
    if not (spec.offset or spec.scale):
        return x
    # The mask channel of a variable-length signal: offset 0, scale 1.
    offset = (spec.offset or (0.0,) * spec.n_channels) + (0.0,) * spec.ragged
    scale = (spec.scale or (1.0,) * spec.n_channels) + (1.0,) * spec.ragged
    centred = tf.cast(x, tf.float64) - tf.constant(offset, tf.float64)
    return tf.cast(centred * tf.constant(scale, tf.float64), tf.float32)


def _serving_function(state, input_specs: dict):
    """A tf.function from raw named inputs to decoded outputs (no Python at call)."""
    model, schema = state.model, state.schema
    # Constants are made inside the trace; numpy copies are what the closure holds.
    decoders = []
    for task in state.tasks:
        if task.kind == CLASSIFICATION:
            dtype, classes = _label_dtype(task.classes)
            decoders.append((task, dtype, classes))
        else:
            decoders.append((task, None, None))

    def serve(inputs):
        # A loaded signature checks dtypes but not shapes (nor does TF Serving):
        # without these ops a signal of the wrong length would be pooled into a
        # plausible prediction.
        checked = {
            name: tf.ensure_shape(
                x, input_specs[name].shape, name=f"check_{input_specs[name].name}"
            )
            for name, x in inputs.items()
        }
        first = next(iter(input_specs))
        n_rows = tf.shape(checked[first])[0]
        checks = [
            tf.debugging.assert_positive(
                n_rows, message="The batch is empty: at least 1 row is required"
            )
        ]
        checks += [
            tf.debugging.assert_equal(
                tf.shape(x)[0],
                n_rows,
                message=f"Inputs {first} and {name} have different batch sizes",
            )
            for name, x in checked.items()
            if name != first
        ]
        features = {}
        with tf.control_dependencies(checks):
            for name in state.input_names:
                x = tf.identity(checked[name])
                want = len(schema[name].shape) + 1  # network rank, batch included
                x = x[..., tf.newaxis] if x.shape.rank < want else x
                features[name] = _network_units(x, schema[name])
        raw = model(features, training=False)
        out = {}
        for task, dtype, classes in decoders:
            y = tf.cast(raw[task.name], tf.float32)
            table = None if classes is None else tf.constant(classes.tolist(), dtype)
            values, proba = decode_output(task, y, _TF_OPS, classes=table)
            out[task.name] = values
            if proba is not None:
                out[task.name + PROBA_SUFFIX] = tf.identity(proba)
        return out

    return tf.function(serve, input_signature=[input_specs], autograph=False)


def _is_saved_model(path: Path) -> bool:
    return (path / "saved_model.pb").is_file() or (path / "saved_model.pbtxt").is_file()


# What an export writes; anything else in the directory is the user's.
_EXPORT_FILES = {"saved_model.pb", "saved_model.pbtxt", "fingerprint.pb"}
_EXPORT_DIRS = {"variables", "assets"}
# TensorFlow's checkpoint in variables/: an index and its numbered shards.
_VARIABLES_FILE = re.compile(r"variables\.(index|data-\d{5}-of-\d{5})")


def _foreign_files(path: Path) -> list[str]:
    """Entries of an export directory that no export writes, relative to it."""
    foreign = []
    for entry in sorted(path.iterdir()):
        if entry.is_dir() and not entry.is_symlink() and entry.name in _EXPORT_DIRS:
            foreign += [
                str(inner.relative_to(path))
                for inner in sorted(entry.rglob("*"))
                if not (
                    entry.name == "variables"
                    and inner.is_file()
                    and not inner.is_symlink()
                    and _VARIABLES_FILE.fullmatch(inner.name)
                )
            ]
        elif entry.name not in _EXPORT_FILES or not entry.is_file():
            foreign.append(entry.name)
    return foreign


def _check_target(path: Path, overwrite: bool) -> None:
    if not path.exists():
        return
    if not path.is_dir():
        raise FileExistsError(
            f"{path} exists and is a file; export writes a SavedModel directory. "
            "Choose another path."
        )
    if not any(path.iterdir()):
        return
    if not overwrite:
        raise FileExistsError(
            f"{path} exists and is not empty. Choose another path, or pass "
            "overwrite=True to replace an earlier export."
        )
    if not _is_saved_model(path):
        raise FileExistsError(
            f"{path} is not empty and holds no SavedModel (no saved_model.pb); "
            "overwrite=True only replaces an earlier export, never other files."
        )
    foreign = _foreign_files(path)
    if foreign:
        raise FileExistsError(
            f"Cannot export to {path}: it holds files an export does not write "
            f"{foreign[:10]}. overwrite=True replaces an earlier export and never "
            "deletes other files: move them out first (then back, such as a TF "
            "Serving assets.extra), or export elsewhere."
        )


def export(fitted, path: str | os.PathLike, *, overwrite: bool = False) -> None:
    """Write a fitted network as a TensorFlow SavedModel for serving.

    The ``serving_default`` signature takes the raw fields of X and returns
    decoded predictions (see the module docstring and ``docs/serving.md``);
    the file needs neither skmtl nor Keras to load. Its inputs are float32: a
    covariate ``(batch,)``, a signal of one channel ``(batch, n_steps)`` (also
    when fit got ``(n, n_steps, 1)``: feed ``x[..., 0]``), a signal of several
    channels and the ``"signal"`` of a 3-D array X ``(batch, n_steps,
    n_channels)``; a field far from zero (Unix seconds) is float64, centred
    in float64 as ``predict`` does. :func:`serving_specs` lists them without
    writing anything. The directory is written next to ``path`` first and
    moved into place, so a failed export leaves no half-written model behind.

    Parameters
    ----------
    fitted : FittedState or fitted estimator
        ``est.fitted_state_``, or the estimator itself (its ``fitted_state_``
        is read).
    path : str or path-like
        Directory to create. It may exist if it is empty.
    overwrite : bool, default=False
        Replace an earlier export at ``path``. A non-empty directory that holds
        no SavedModel is never deleted.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    FileExistsError
        If ``path`` is a file, or a non-empty directory (unless ``overwrite``
        and it holds a SavedModel).
    ValueError
        If two outputs would share a name.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np, tensorflow as tf
    >>> from skmtl import MultiTaskConvEstimator
    >>> from skmtl.datasets import make_sensor_tasks
    >>> X, y = make_sensor_tasks(40, n_steps=32, random_state=0)
    >>> est = MultiTaskConvEstimator(filters=(84,), epochs=1, random_state=0)
    >>> est = est.fit(X, y)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     export(est, os.path.join(tmp, "model"))
    ...     serve = tf.saved_model.load(os.path.join(tmp, "model"))
    ...     out = serve.signatures["serving_default"](
    ...         **{name: tf.constant(X[name]) for name in X.dtype.names}
    ...     )
    >>> sorted(out)
    ['density', 'material', 'material_proba']
    >>> labels = out["material"].numpy().astype(str)  # tf.string comes as bytes
    >>> bool((labels == est.predict(X)["material"].to_numpy()).all())
    True
    >>> bool(np.allclose(out["density"], est.predict(X)["density"], atol=1e-5))
    True
    """
    state = fitted_state(fitted)
    input_specs, _ = serving_specs(state)
    path = Path(path)
    _check_target(path, overwrite)
    module = _Serving(state.model)
    module.serve = _serving_function(state, input_specs)
    signature = module.serve.get_concrete_function()
    parent = path.parent if str(path.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=parent))
    try:
        tf.saved_model.save(module, str(staging), signatures={SIGNATURE_KEY: signature})
        if path.exists():
            # Checked above: empty, or an earlier export that overwrite replaces.
            shutil.rmtree(path)
        staging.rename(path)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def fitted_state(fitted) -> FittedState:
    """``fitted`` itself if it is a fitted state, else its ``fitted_state_``
    (a fitted estimator; an unfitted one raises ``NotFittedError``)."""
    if isinstance(fitted, FittedState):
        return fitted
    check_is_fitted(fitted)
    return fitted.fitted_state_
