"""The fitted state of an estimator: everything ``fit`` learns, in one object.

A :class:`FittedState` is built during ``fit`` and assigned to the estimator
in one statement at its end, so a fit that raises leaves the previous state
untouched. It knows nothing of the estimator: persistence reads and writes it,
and the estimator's fitted attributes (``model_``, ``schema_``, ``history_``...)
are views of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import keras
import numpy as np
import tensorflow as tf

from ..data.inputs import InputSchema, encode
from ..data.ragged import PAD_STEPS, length_ordered_chunks
from ..data.targets import CLASSIFICATION, TargetEncoder, TaskSpec
from ..nn.frozen import FEATURES_INPUT, split_frozen_trunk
from ..nn.rocket import rows_per_pass
from ..utils.warnings import warn_user
from .conformal import Calibration

__all__ = [
    "FittedState",
    "PREDICT_CHUNK",
    "network_function",
    "warn_if_collapsed",
]


# Most rows per forward pass at predict: bounds the activations held in memory.
PREDICT_CHUNK = 256


@dataclass(frozen=True, eq=False)
class FittedState:
    """What a fit learned: input schema, target encoder, network and history.

    Parameters
    ----------
    schema : InputSchema
        The fields of X, with normalisation statistics.
    target_encoder : TargetEncoder
        Fitted; its ``tasks_`` are the tasks.
    model : keras.Model
        The network, outputs named after the tasks.
    input_names : tuple of str
        The network's inputs in the order it takes them.
    history : dict
        Per-epoch logs over every warm-started fit.
    task_weights : dict
        Task weights in force at the end of training.
    n_epochs, best_epoch : int
        Of the last call to ``fit``.
    feature_names : ndarray or None
        Column names of a DataFrame X with string columns.
    build_key : dict or None
        ``{parameter: repr}`` of the parameters that shaped the network, so a
        warm start can refuse a change it cannot honour (None in old files).
    calibration : Calibration or None
        Conformal residuals and temperatures from the rows held out at fit
        (:mod:`skmtl.training.conformal`); None when none were (and in old files).

    Examples
    --------
    >>> from skmtl import MultiTaskConvEstimator
    >>> from skmtl.datasets import make_sensor_tasks
    >>> X, y = make_sensor_tasks(40, n_steps=32, random_state=0)
    >>> est = MultiTaskConvEstimator(filters=(84,), epochs=1, random_state=0)
    >>> state = est.fit(X, y).fitted_state_
    >>> [t.name for t in state.tasks], state.n_epochs
    (['material', 'density'], 1)
    """

    schema: InputSchema
    target_encoder: TargetEncoder
    model: keras.Model
    input_names: tuple[str, ...]
    history: dict = field(default_factory=dict)
    task_weights: dict = field(default_factory=dict)
    n_epochs: int = 0
    best_epoch: int = 0
    feature_names: np.ndarray | None = None
    build_key: dict | None = None
    calibration: Calibration | None = None

    @property
    def tasks(self) -> list[TaskSpec]:
        return list(self.target_encoder.tasks_)

    @property
    def task_kinds(self) -> dict[str, str]:
        return {t.name: t.kind for t in self.tasks}

    @property
    def classes(self):
        """Classes of a 1-D y's task, or ``{task: classes}``; None if none."""
        classes = {t.name: t.classes for t in self.tasks if t.kind == CLASSIFICATION}
        if self.target_encoder.form_ == "1d":
            return next(iter(classes.values()), None)
        return classes

    @property
    def n_epochs_total(self) -> int:
        return len(self.history.get("loss", []))

    def evolve(self, **changes) -> FittedState:
        """A copy with ``changes`` (the traced predict function is shared
        unless the network or its inputs change)."""
        new = replace(self, **changes)
        fn = self.__dict__.get("_predict_fn")
        if fn is not None and not {"model", "schema", "input_names"} & set(changes):
            object.__setattr__(new, "_predict_fn", fn)  # no second trace
        return new

    # ------------------------------------------------------------ forward
    def predict_function(self, traced=None):
        """The network in inference mode, traced once for any number of rows
        (:func:`network_function`; ``traced``: one the fit already made).

        ``Model.predict`` builds a tf.data pipeline per call (~40 ms on CPU);
        ``predict_on_batch`` retraces for each new batch size. One concrete
        ``tf.function`` with an unknown batch dimension avoids both, and never
        traces again however many estimators a search fits.
        """
        fn = self.__dict__.get("_predict_fn")
        if fn is None:
            fn = traced or network_function(self.model, self.schema, self.input_names)
            # A cache, not state: frozen fields stay as they were.
            object.__setattr__(self, "_predict_fn", fn)
        return fn

    def forward(
        self, inputs: Mapping[str, np.ndarray], n_samples: int, chunk: int
    ) -> dict[str, np.ndarray]:
        """Raw network outputs for encoded inputs, ``chunk`` rows at a time
        (fewer through a MiniRocket trunk: :func:`~skmtl.nn.rocket.rows_per_pass`)."""
        forward = self.predict_function()
        chunk = rows_per_pass(self.model, chunk)
        # Variable-length recordings go in order of length (each chunk pads to
        # its own longest; a recording's outputs do not depend on its batch).
        out = {}
        for rows in length_ordered_chunks(inputs, n_samples, chunk):
            batch = {k: _batch(inputs[k], rows) for k in self.input_names}
            outputs = forward(batch)[0]
            for task in self.tasks:
                value = outputs[task.name].numpy()
                if task.name not in out:
                    out[task.name] = np.empty(
                        (n_samples, *value.shape[1:]), value.dtype
                    )
                out[task.name][rows] = value
        return out

    def forward_rows(
        self, inputs, rows: np.ndarray, chunk: int, features=None
    ) -> dict[str, np.ndarray]:
        """Raw outputs of ``rows`` of the encoded fit data.

        ``features`` (the fixed trunk's features of every row, where the fit
        computed them: :attr:`skmtl.training.session.TrainingRun.features`) are read
        by the heads alone, so the trunk's work is not done twice.
        """
        split = None if features is None else split_frozen_trunk(self.model)
        if split is None:
            take = {k: v[rows] for k, v in inputs.items()}
            return self.forward(take, len(rows), chunk)
        out = split[1]({FEATURES_INPUT: np.asarray(features)[rows]}, training=False)
        return {t.name: np.asarray(out[t.name]) for t in self.tasks}

    def outputs(self, X, chunk: int = PREDICT_CHUNK) -> dict[str, np.ndarray]:
        """Raw network outputs for any accepted form of X."""
        inputs, n_samples = encode(X, self.schema)
        return self.forward(inputs, n_samples, chunk)

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_predict_fn", None)  # a traced function cannot be pickled
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)


def network_function(model: keras.Model, schema: InputSchema, input_names):
    """``model`` in inference mode as one concrete function of any number of
    rows: ``x -> (outputs,)``, or ``(outputs, features)`` where the trunk is
    fixed (:func:`skmtl.nn.frozen.split_frozen_trunk`): its features come out
    of the same pass, so a fit that needs them does not trace the trunk again.

    Parameters
    ----------
    model : keras.Model
        A functional network with dict outputs keyed by task.
    schema : InputSchema
        The fields' shapes (the signature's, with any number of rows).
    input_names : sequence of str
        The network's inputs.

    Returns
    -------
    ConcreteFunction
        Takes ``{input name: float32 batch}``.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.data.inputs import encode, infer_schema
    >>> from skmtl import MultiTaskConvEstimator
    >>> from skmtl.nn.network import build_network, network_parameters
    >>> from skmtl.nn.rocket import adapt_rocket
    >>> from skmtl.data.targets import TargetEncoder
    >>> X = {"ampl": np.random.default_rng(0).normal(size=(6, 32))}
    >>> schema, tasks = infer_schema(X), TargetEncoder().fit(np.arange(6.0)).tasks_
    >>> params = MultiTaskConvEstimator(filters=(84,)).get_params()
    >>> model = build_network(schema, tasks, **network_parameters(params),
    ...                       random_state=0)
    >>> inputs = encode(X, schema)[0]
    >>> _ = adapt_rocket(model, inputs)
    >>> fn = network_function(model, schema, ["ampl"])
    >>> outputs, features = fn({"ampl": inputs["ampl"].astype("float32")})
    >>> tuple(outputs["y"].shape), tuple(features.shape)
    ((6, 1), (6, 84))
    """
    signature = {
        name: tf.TensorSpec((None, *schema[name].shape), tf.float32)
        for name in input_names
    }
    split = split_frozen_trunk(model)

    def forward(x):
        if split is None:
            return (model(x, training=False),)
        trunk, heads = split
        features = trunk(x, training=False)
        return heads({FEATURES_INPUT: features}, training=False), features

    return tf.function(forward, autograph=False).get_concrete_function(signature)


def _batch(field, rows) -> np.ndarray:
    """Rows of one encoded field as the network takes them (a variable-length
    signal padded to a multiple of :data:`~skmtl.data.ragged.PAD_STEPS`)."""
    if hasattr(field, "padded"):
        return field.padded(rows, multiple=PAD_STEPS)
    return np.asarray(field[rows], dtype=np.float32)


def warn_if_collapsed(
    state: FittedState, inputs, targets, weights, chunk, features=None
) -> None:
    """Warn when a classification head predicts one class for every sample.

    Checked on up to 512 training samples in 8 runs of 64 spread over the
    data: data sorted by class still shows several classes, and a memory map
    is read in 8 places, not 512 (each read pulls in the kernel's readahead
    window). A head stuck on one class (the classic Dense(1, softmax)
    failure, a learning rate far off, extreme imbalance) would otherwise
    pass silently.

    Parameters
    ----------
    state : FittedState
        The state just trained.
    inputs, targets, weights : dict of str to ndarray
        The encoded training data, as the session trained on them.
    chunk : int
        Rows per forward pass.
    features : ndarray or None, default=None
        The fixed trunk's features of every row, if the fit computed them.

    Examples
    --------
    >>> import warnings
    >>> from skmtl import MultiTaskConvEstimator
    >>> from skmtl.datasets import make_sensor_tasks
    >>> from skmtl.data.inputs import encode
    >>> X, y = make_sensor_tasks(40, n_steps=32, random_state=0)
    >>> est = MultiTaskConvEstimator(filters=(84,), epochs=1, random_state=0)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     state = est.fit(X, y).fitted_state_
    >>> inputs, n = encode(X, state.schema)
    >>> one_sample = {k: v[:1].repeat(n, axis=0) for k, v in inputs.items()}
    >>> targets, weights = state.target_encoder.transform(y)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_if_collapsed(state, one_sample, targets, weights, chunk=256)
    >>> "may have collapsed" in str(caught[0].message)
    True
    """
    n_samples = len(next(iter(inputs.values())))
    starts = np.linspace(0, max(n_samples - 64, 0), 8, dtype=int)
    rows = np.unique(np.minimum(starts[:, None] + np.arange(64), n_samples - 1))
    decoded = None
    for task in state.tasks:
        if task.kind != CLASSIFICATION:
            continue
        labelled = weights[task.name][rows] > 0
        codes = np.asarray(targets[task.name])[rows].reshape(len(rows))[labelled]
        if len(np.unique(codes)) < 2:
            continue
        if decoded is None:
            outputs = state.forward_rows(inputs, rows, chunk, features)
            decoded = state.target_encoder.decode(outputs)
        predicted = np.unique(decoded[task.name][labelled])
        if len(predicted) == 1:
            label = (
                predicted[0].item() if hasattr(predicted[0], "item") else predicted[0]
            )
            warn_user(
                f"Task {task.name!r} predicts the single class {label!r} for all "
                f"{labelled.sum()} labelled training samples checked, although "
                f"they hold {len(np.unique(codes))} classes: the head may have "
                "collapsed. Check the learning rate, class balance "
                "(class_weight='balanced') and, for a custom model, the head's "
                "width and activation."
            )
