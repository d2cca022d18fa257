"""The scikit-learn estimator; the one module that touches scikeras.

scikeras (0.13) provides parameter routing (``optimizer__learning_rate``,
``callbacks__...``, ``fit__validation_split``), ``set_params`` for routed names,
and Keras-model pickling. Everything it does with data is replaced here: it
cannot carry named inputs, several tasks, per-task sample weights or masked
labels, and its seeding switches TensorFlow op determinism on for good (see
PITFALLS). It also predates scikit-learn's tag API, so tags are declared here.
"""

from __future__ import annotations

import copy
import inspect
import secrets
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from numbers import Integral, Real
from typing import ClassVar

import keras
import numpy as np
import tensorflow as tf
from scikeras._utils import (
    get_optimizer_class,
    route_params,
    try_to_convert_strings_to_classes,
    unflatten_params,
)
from scikeras.wrappers import BaseWrapper
from sklearn.base import BaseEstimator
from sklearn.exceptions import DataConversionWarning
from sklearn.utils import check_random_state
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._batching import TaskBatches, validation_rows
from .inputs import encode, infer_schema
from .metrics import check_score_weights, combined_score
from .network import (
    TRUNK_FILTERS,
    build_network,
    check_filters,
    check_heads,
    dtype_policy,
    model_input_names,
    with_task_outputs,
)
from .sample_weights import apply_class_weight, apply_sample_weight
from .targets import CLASSIFICATION, REGRESSION, TargetEncoder, TaskSpec
from .weighting import (
    STRATEGIES,
    EpochEnd,
    MultiTaskTrainer,
    check_strategy,
    resolve_loss_weights,
    task_loss,
    task_metrics,
)

__all__ = ["MultiTaskConvEstimator"]

# Rows per forward pass at predict: bounds the activations held in memory.
_PREDICT_CHUNK = 256
_ROUTING_PREFIXES = {
    "model",
    "fit",
    "compile",
    "predict",
    "optimizer",
    "callbacks",
    "loss_weights",
}


# Arguments of Model.fit and compile that skmtl sets from its own parameters.
_OWN_ARGUMENTS = {
    "fit": {
        "x",
        "y",
        "batch_size",
        "epochs",
        "initial_epoch",
        "callbacks",
        "verbose",
        "shuffle",
        "sample_weight",
        "validation_data",
        "class_weight",
    },
    "compile": {"optimizer", "loss", "loss_weights", "metrics", "weighted_metrics"},
}


def _skip_gradient_all_reduce(optimizer) -> None:
    """Drop Keras' all-reduce of the gradients, an identity with one replica.

    ``ReplicaContext.all_reduce`` wraps the sum in ``tf.custom_gradient``, which
    registers a gradient function in TensorFlow's process-wide gradient registry
    at every trace and never removes it; the function holds the traced train
    step's graph (several MiB per fit: a long search grew without bound).
    """
    for opt in (optimizer, getattr(optimizer, "inner_optimizer", None)):
        if opt is not None and hasattr(opt, "_all_reduce_sum_gradients"):
            opt._all_reduce_sum_gradients = _unchanged


def _copy_for_fit(callback):
    """The callback a fit trains with: a deep copy where one can be made.

    A used Keras callback keeps the model it trained (CSVLogger its file,
    TensorBoard a module), which would make the estimator impossible to clone or
    pickle, and scikit-learn's fit must not change parameters. A callback that
    cannot be copied (it holds a lock, a thread, an open file) is used as given.
    """
    try:
        return copy.deepcopy(callback)
    except Exception:
        return callback


def _unchanged(grads_and_vars):
    return grads_and_vars


def _keras_arguments(prefix: str, routed: dict, method) -> dict:
    """Routed ``<prefix>__<name>`` parameters, checked against the Keras method.

    An unknown name would otherwise surface as Keras' own TypeError, which never
    mentions the routed parameter.
    """
    known = set(inspect.signature(method).parameters) - {"self", "kwargs"}
    known -= _OWN_ARGUMENTS[prefix]
    unknown = sorted(set(routed) - known)
    if unknown:
        raise ValueError(
            f"Unknown routed parameter(s) {[f'{prefix}__{n}' for n in unknown]}: "
            f"keras.Model.{prefix} takes {sorted(known)} through {prefix}__ "
            "(skmtl sets the others from its own parameters)."
        )
    return routed


class MultiTaskConvEstimator(BaseWrapper):
    """One shared 1-D conv network with a head per task, as a scikit-learn estimator.

    Each column of y is a task: classification (label in, label out) or regression
    (value in, value out). Each field of X is a signal (an array per sample) or a
    covariate (a number per sample); see :func:`skmtl.inputs.to_named_arrays` for
    the accepted forms of X.

    Parameters
    ----------
    model : callable or None, default=None
        None builds the default network (:func:`skmtl.network.build_network`).
        A callable ``model(schema, tasks, **model_params) -> keras.Model`` builds
        your own: its inputs are named as fields of the schema and its outputs
        (a dict, or output layers) as the tasks; ``model__*`` parameters are
        passed to it. skmtl compiles it and checks its heads before training.
    tasks : dict, sequence or None, default=None
        Task kinds, ``"classification"`` or ``"regression"``, by column name
        (dict) or position (sequence). Unnamed tasks are inferred from the
        dtype: float is regression; int, bool, str, object and category are
        classification.
    loss_weights : dict or None, default=None
        ``{task: weight}``; unnamed tasks weigh 1.0. With ``"dwa"`` and
        ``"gradnorm"`` these are the initial weights.
    loss_weighting : {"fixed", "uncertainty", "dwa", "gradnorm"}, default="fixed"
        How task losses are combined: fixed ``loss_weights``; learned
        homoscedastic uncertainty (Kendall et al., 2018); dynamic weight average
        (Liu et al., 2019); GradNorm (Chen et al., 2018). See
        :mod:`skmtl.weighting`.
    dwa_temperature : float, default=2.0
        Temperature ``T`` of dynamic weight average.
    gradnorm_alpha : float, default=1.5
        Restoring-force strength ``alpha`` of GradNorm.
    trunk : {"conv", "fcn", "resnet"}, default="conv"
        The shared trunk: skmtl's pooled conv stages, or the FCN or ResNet of
        Wang, Yan & Oates (2017) with their published kernel sizes (8, 5, 3).
    filters : sequence of int or None, default=None
        Width of each stage; its length is the number of stages. None takes the
        trunk's default: (16, 32, 64, 64) for "conv", the published (128, 256,
        128) for "fcn" and (64, 128, 128) for "resnet".
    kernel_size : int, default=7
        Kernel of every "conv" stage.
    pool_size : int, default=4
        Max-pooling size of each "conv" stage (skipped once a signal is too
        short).
    dropout : float, default=0.1
        Dropout rate after the shared dense block.
    dense_units : int, default=64
        Width of the shared dense block (0 to skip it).
    optimizer : str, keras Optimizer class or instance, default="adam"
        Its arguments can be routed as ``optimizer__<name>``.
    learning_rate : float, default=1e-3
        Overridden by ``optimizer__learning_rate`` if that is given.
    batch_size : int, default=32
        Samples per gradient step (``predict__batch_size`` sets the chunk
        size of ``predict``).
    epochs : int, default=20
        Passes over the training data per call to ``fit``.
    shuffle : bool, default=True
        Reshuffle the training samples every epoch (in a seeded order).
    callbacks : list of keras callbacks or None, default=None
        Keras callbacks (instances, or classes configured through
        ``callbacks__<i>__<arg>``). Each fit uses deep copies, so the instances
        given are never changed (one that cannot be copied, e.g. holding a
        lock, is used as given); per-epoch logs are in ``history_``.
    warm_start : bool, default=False
        Continue training the fitted network instead of building a new one.
    random_state : int, RandomState or None, default=None
        Seeds every initialiser, dropout layer and the shuffling order, without
        touching TensorFlow's global seed or op-determinism setting.
    class_weight : "balanced", dict or None, default=None
        Per-class weights folded into each classification task's sample
        weights: ``"balanced"`` for every classification task,
        ``{task: "balanced" | {label: weight}}``, or ``{label: weight}`` when
        there is a single classification task.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training samples inside each
        ``fit`` (stratified on the first classification task where possible),
        stop after ``n_iter_no_change`` epochs without a lower validation loss
        and restore the best weights (in memory; no file is written).
    validation_fraction : float, default=0.1
        Share of the training samples held out when ``early_stopping``.
    n_iter_no_change : int, default=5
        Epochs without a lower validation loss before ``early_stopping`` stops.
    score_weights : dict or None, default=None
        ``{task: weight}`` of each task's score in :meth:`score` (default 1).
    distribute : "mirrored", tf.distribute.Strategy or None, default=None
        Train data-parallel: ``"mirrored"`` is ``tf.distribute.MirroredStrategy()``
        over all visible GPUs (the CPU if there is none). Each batch of
        ``batch_size`` is split across the replicas.
    mixed_precision : "mixed_bfloat16", "mixed_float16" or None, default=None
        Compute the default network in half precision with float32 weights;
        normalisation and heads stay float32. ``"mixed_float16"`` (GPUs) adds
        loss scaling; ``"mixed_bfloat16"`` suits recent CPUs and TPUs.
    verbose : int, default=0
        0 silent, 1 progress bar, 2 one line per epoch.
    **kwargs
        Routed parameters only: ``loss_weights__<task>`` (one task's weight,
        overriding ``loss_weights``; searchable as a scalar), ``model__*``,
        ``fit__*`` (e.g. ``fit__validation_split``), ``compile__*`` (e.g.
        ``compile__jit_compile``), ``predict__batch_size``, ``optimizer__*`` and
        ``callbacks__*``.

    Attributes
    ----------
    model_ : keras.Model
        The fitted network.
    schema_ : InputSchema
        The fields of X seen at fit, with normalisation statistics.
    tasks_ : list of TaskSpec
        The tasks seen at fit.
    task_kinds_ : dict
        ``{task: "classification" | "regression"}``.
    classes_ : ndarray or dict
        For a 1-D y, the classes of its (classification) task; otherwise
        ``{task: classes}`` for each classification task.
    history_ : dict
        Per-epoch losses, metrics and task weights (``loss``, ``<task>_loss``,
        ``<task>_accuracy``, ``weight_<task>``, and ``val_...`` with validation),
        one value per epoch over every warm-started fit (NaN for an epoch that
        did not log the key).
    task_weights_ : dict
        ``{task: weight}`` in force at the end of training.
    n_epochs_ : int
        Epochs trained by the last call to ``fit``.
    best_epoch_ : int
        With ``early_stopping``, the (1-based) epoch whose weights were kept;
        otherwise the last epoch.
    n_features_in_ : int
        Number of fields (columns for a 2-D array X).
    feature_names_in_ : ndarray
        Column names, when X is a DataFrame.

    Examples
    --------
    >>> from skmtl import MultiTaskConvEstimator
    >>> from skmtl.datasets import make_sensor_tasks
    >>> X, y = make_sensor_tasks(60, n_steps=64, random_state=0)
    >>> est = MultiTaskConvEstimator(filters=(4,), epochs=1, random_state=0)
    >>> est = est.fit(X, y)
    >>> est.predict(X).columns.tolist()
    ['material', 'density']
    >>> est.predict_proba(X)["material"].shape
    (60, 5)
    """

    _routing_prefixes = _ROUTING_PREFIXES
    _parameter_constraints: ClassVar[dict] = {
        "model": [callable, None],
        "tasks": [dict, list, tuple, str, None],
        "loss_weights": [dict, None],
        "loss_weighting": [StrOptions(set(STRATEGIES))],
        "dwa_temperature": [Interval(Real, 0, None, closed="neither")],
        "gradnorm_alpha": [Interval(Real, 0, None, closed="left")],
        "trunk": [StrOptions(set(TRUNK_FILTERS))],
        "filters": ["array-like", Interval(Integral, 1, None, closed="left"), None],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "pool_size": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "dense_units": [Interval(Integral, 0, None, closed="left")],
        "optimizer": [str, keras.optimizers.Optimizer, type],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "callbacks": [list, keras.callbacks.Callback, None],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "score_weights": [dict, None],
        "distribute": [StrOptions({"mirrored"}), tf.distribute.Strategy, None],
        "mixed_precision": [StrOptions({"mixed_float16", "mixed_bfloat16"}), None],
        "verbose": [Interval(Integral, 0, 2, closed="both"), StrOptions({"auto"})],
    }

    def __init__(
        self,
        model: Callable[..., keras.Model] | None = None,
        *,
        tasks: Mapping[str, str] | Sequence[str] | None = None,
        loss_weights: Mapping[str, float] | None = None,
        loss_weighting: str = "fixed",
        dwa_temperature: float = 2.0,
        gradnorm_alpha: float = 1.5,
        trunk: str = "conv",
        filters: Sequence[int] | None = None,
        kernel_size: int = 7,
        pool_size: int = 4,
        dropout: float = 0.1,
        dense_units: int = 64,
        optimizer: str | keras.optimizers.Optimizer | type = "adam",
        learning_rate: float = 1e-3,
        batch_size: int = 32,
        epochs: int = 20,
        shuffle: bool = True,
        callbacks: list | None = None,
        warm_start: bool = False,
        random_state: int | np.random.RandomState | None = None,
        class_weight: str | Mapping | None = None,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 5,
        score_weights: Mapping[str, float] | None = None,
        distribute: str | tf.distribute.Strategy | None = None,
        mixed_precision: str | None = None,
        verbose: int = 0,
        **kwargs,
    ):
        self.model = model
        self.tasks = tasks
        self.loss_weights = loss_weights
        self.loss_weighting = loss_weighting
        self.dwa_temperature = dwa_temperature
        self.gradnorm_alpha = gradnorm_alpha
        self.trunk = trunk
        self.filters = filters
        self.kernel_size = kernel_size
        self.pool_size = pool_size
        self.dropout = dropout
        self.dense_units = dense_units
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.shuffle = shuffle
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.random_state = random_state
        self.class_weight = class_weight
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.score_weights = score_weights
        self.distribute = distribute
        self.mixed_precision = mixed_precision
        self.verbose = verbose
        # Routed names are checked in fit (scikit-learn wants __init__ to store,
        # not validate).
        for name, value in kwargs.items():
            setattr(self, name, value)

    # scikeras prints every parameter on its own line; scikit-learn's repr shows
    # only those that differ from their defaults.
    __repr__ = BaseEstimator.__repr__

    # ------------------------------------------------------------------ tags
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        kinds = self._declared_kinds()
        tags.target_tags.multi_output = kinds is None or len(kinds) > 1
        tags.target_tags.single_output = kinds is None or len(kinds) == 1
        tags.input_tags.two_d_array = True
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = False
        tags.non_deterministic = self.random_state is None
        # Only a single declared task makes this a classifier or a regressor: a
        # multi-task estimator must not be one, or ``cv=int`` would pick
        # StratifiedKFold, which rejects a 2-column y.
        if kinds == [CLASSIFICATION]:
            from sklearn.utils import ClassifierTags

            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags()
        elif kinds == [REGRESSION]:
            from sklearn.utils import RegressorTags

            tags.estimator_type = "regressor"
            tags.regressor_tags = RegressorTags()
        return tags

    def _declared_kinds(self) -> list | None:
        if isinstance(self.tasks, str):
            return [self.tasks]
        if isinstance(self.tasks, Mapping):
            return list(self.tasks.values())
        if isinstance(self.tasks, list | tuple):
            return list(self.tasks)
        return None

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    # ------------------------------------------------------------------- fit
    def fit(self, X, y, sample_weight=None) -> MultiTaskConvEstimator:
        """Fit the network to X and y.

        Parameters
        ----------
        X : dict, structured ndarray, DataFrame, 2-D or 3-D array
            Named signals and covariates (see :func:`skmtl.inputs.to_named_arrays`).
        y : array-like of shape (n_samples,) or (n_samples, n_tasks), DataFrame
            One column per task; NaN or None marks a missing label.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sample in every task's loss.

        Returns
        -------
        self : MultiTaskConvEstimator
            Fitted: ``model_``, ``history_``, ``classes_``, ``task_weights_``...

        Examples
        --------
        >>> from skmtl import MultiTaskConvEstimator
        >>> from skmtl.datasets import make_sensor_tasks
        >>> X, y = make_sensor_tasks(60, n_steps=64, random_state=0)
        >>> est = MultiTaskConvEstimator(filters=(4, 8), epochs=2, random_state=0)
        >>> est.fit(X, y).n_epochs_
        2
        >>> [key for key in est.history_ if key.startswith("material")]
        ['material_accuracy', 'material_loss']
        """
        return self._fit(X, y, sample_weight, epochs=self.epochs, warm=self.warm_start)

    def partial_fit(
        self, X, y, sample_weight=None, classes=None
    ) -> MultiTaskConvEstimator:
        """Train for one more epoch, building the network on the first call.

        Parameters
        ----------
        X, y, sample_weight
            As in :meth:`fit`.
        classes : array-like or dict, default=None
            On the first call, every class a classification task will ever see
            (its batches may not all show every class): an array for a single
            classification task, or ``{task: classes}``. Ignored afterwards.

        Returns
        -------
        self : MultiTaskConvEstimator
            Trained for one more epoch.

        Examples
        --------
        >>> from skmtl import MultiTaskConvEstimator
        >>> from skmtl.datasets import make_sensor_tasks
        >>> X, y = make_sensor_tasks(60, n_steps=64, random_state=0)
        >>> est = MultiTaskConvEstimator(filters=(4, 8), epochs=2, random_state=0)
        >>> for _ in range(3):
        ...     est = est.partial_fit(X, y)
        >>> len(est.history_["loss"])
        3
        """
        return self._fit(X, y, sample_weight, epochs=1, warm=True, classes=classes)

    def _declare_classes(self, classes) -> None:
        """Widen each classification task's classes to those declared up front."""
        declared = classes if isinstance(classes, Mapping) else None
        specs = []
        for task in self.target_encoder_.tasks_:
            extra = declared.get(task.name) if declared is not None else classes
            if task.kind == CLASSIFICATION and extra is not None:
                merged = np.unique(np.concatenate([task.classes, np.asarray(extra)]))
                task = replace(task, classes=merged.astype(task.classes.dtype))
            specs.append(task)
        self.target_encoder_.tasks_ = specs

    def _check_routed_params(self) -> None:
        """Only routed names may come through ``**kwargs``: an unrouted one would
        leak into both the model builder and compile (see PITFALLS)."""
        declared = set(self._get_param_names_from_signature())
        for name in self.get_params(deep=False):
            if name in declared:
                continue
            if "__" not in name or name.split("__", 1)[0] not in _ROUTING_PREFIXES:
                raise ValueError(
                    f"Unknown parameter {name!r} for MultiTaskConvEstimator. Routed "
                    f"parameters start with one of "
                    f"{sorted(p + '__' for p in _ROUTING_PREFIXES)}; the others are "
                    f"{sorted(declared)}."
                )

    @classmethod
    def _get_param_names_from_signature(cls) -> list[str]:
        return BaseEstimator._get_param_names.__func__(cls)

    def _fit(self, X, y, sample_weight, *, epochs: int, warm: bool, classes=None):
        if y is None:
            raise ValueError(
                "MultiTaskConvEstimator requires y to be passed, but the target y "
                "is None."
            )
        self._validate_params()
        self._check_routed_params()
        self._fit_seed = self._draw_seed()
        filters = check_filters(self.filters)
        continuing = warm and self.__sklearn_is_fitted__()
        if continuing:
            inputs, n_samples = encode(X, self.schema_)
        else:
            self.schema_ = infer_schema(X)
            # Like scikit-learn: feature_names_in_ only for string column names.
            self._named_columns = all(
                isinstance(c, str) for c in getattr(X, "columns", [""])
            )
            # infer_schema has just scanned X for NaN and infinity.
            inputs, n_samples = encode(X, self.schema_, check_finite=False)
            self.target_encoder_ = TargetEncoder(self.tasks).fit(y)
            if classes is not None:
                self._declare_classes(classes)
            self._warn_column_vector(y)
        targets, weights = self.target_encoder_.transform(y)
        self._check_lengths(n_samples, y)
        weights = apply_sample_weight(weights, sample_weight, n_samples)
        weights = apply_class_weight(
            weights, targets, self.target_encoder_.tasks_, self.class_weight
        )
        if not continuing:
            self._set_task_attributes()
            check_score_weights(self.score_weights, list(self.task_kinds_))
            self._strategy = self._distribution_strategy()
            with self._strategy.scope(), dtype_policy(self.mixed_precision):
                self.model_ = self._checked_model(self._build_model(filters), inputs)
            self.history_ = {}
            self._trainer = None
        inputs = {name: inputs[name] for name in self.input_names_}
        if getattr(self, "_trainer", None) is None:
            with self._strategy.scope():
                self._trainer = self._make_trainer()
        self._fit_keras_model(inputs, targets, weights, epochs=epochs)
        # Traced here, for the network just trained, so that predict does not
        # change the estimator's state (scikit-learn's check_dict_unchanged).
        self._predict_fn = None
        self._predict_function()
        self._warn_if_collapsed(inputs, targets, weights)
        final = self._trainer.current_weights().numpy()
        self.task_weights_ = dict(zip(self._trainer.names, final.tolist(), strict=True))
        return self

    def __getstate__(self):
        # The trainer only lives between warm-started fits; the network it wraps
        # is model_, which is what gets pickled.
        state = super().__getstate__()
        for transient in ("_trainer", "_strategy", "_predict_fn", "_fit_seed"):
            state.pop(transient, None)
        return state

    def _warn_if_collapsed(self, inputs, targets, weights) -> None:
        """Warn when a classification head predicts one class for every sample.

        Checked on up to 512 training samples in 8 runs of 64 spread over the
        data: data sorted by class still shows several classes, and a memory map
        is read in 8 places, not 512 (each read pulls in the kernel's readahead
        window). A head stuck on one class (the classic Dense(1, softmax)
        failure, a learning rate far off, extreme imbalance) would otherwise
        pass silently.
        """
        n_samples = len(next(iter(inputs.values())))
        starts = np.linspace(0, max(n_samples - 64, 0), 8, dtype=int)
        rows = np.unique(np.minimum(starts[:, None] + np.arange(64), n_samples - 1))
        decoded = None
        for task in self.tasks_:
            if task.kind != CLASSIFICATION:
                continue
            labelled = weights[task.name][rows] > 0
            codes = np.asarray(targets[task.name])[rows].reshape(len(rows))[labelled]
            if len(np.unique(codes)) < 2:
                continue
            if decoded is None:
                batch = {k: v[rows] for k, v in inputs.items()}
                decoded = self.target_encoder_.decode(self._forward(batch, len(rows)))
            predicted = np.unique(decoded[task.name][labelled])
            if len(predicted) == 1:
                warnings.warn(
                    f"Task {task.name!r} predicts the single class "
                    f"{predicted[0]!r} for all {labelled.sum()} labelled training "
                    f"samples checked, although they hold {len(np.unique(codes))} "
                    "classes: the head may have collapsed. Check the learning rate, "
                    "class balance (class_weight='balanced') and, for a custom "
                    "model, the head's width and activation.",
                    UserWarning,
                    stacklevel=4,
                )

    def _warn_column_vector(self, y) -> None:
        kinds = self._declared_kinds()
        if kinds is not None and len(kinds) == 1 and np.asarray(y).shape[1:] == (1,):
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. Please "
                "change the shape of y to (n_samples, ), for example using ravel(). "
                "(With one declared task, predictions keep the 2-D shape of y.)",
                DataConversionWarning,
                stacklevel=4,
            )

    def _check_lengths(self, n_samples: int, y) -> None:
        n_targets = self.target_encoder_.n_samples_of(y)
        if n_targets != n_samples:
            raise ValueError(
                f"X has {n_samples} samples but y has {n_targets}; they must match."
            )

    def _set_task_attributes(self) -> None:
        self.tasks_ = list(self.target_encoder_.tasks_)
        self.task_kinds_ = {t.name: t.kind for t in self.tasks_}
        classes = {t.name: t.classes for t in self.tasks_ if t.classes is not None}
        if self.target_encoder_.form_ == "1d":
            self.classes_ = next(iter(classes.values()), None)
            if self.classes_ is None:
                del self.classes_
        else:
            self.classes_ = classes
        self.n_features_in_ = self.schema_.n_features_in
        if self.schema_.form == "frame" and getattr(self, "_named_columns", True):
            self.feature_names_in_ = np.asarray(self.schema_.names, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    def _draw_seed(self) -> int:
        """The fit's one int seed: ``random_state``, or fresh OS entropy if None.

        Unseeded fits are seeded too, from the OS: Keras would otherwise draw its
        seeds from Python's global ``random`` module and change its state.
        """
        if self.random_state is None:
            return secrets.randbits(31)
        if isinstance(self.random_state, Integral):
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(2**31 - 1))

    @property
    def _seed(self) -> int:
        return self._fit_seed

    def _build_model(self, filters: tuple[int, ...] | None) -> keras.Model:
        model_params = self._routed("model", strict=False)
        if self.model is None:
            if model_params:
                raise ValueError(
                    f"model__ parameters {sorted(model_params)} are only for a "
                    "custom model builder; the default network takes flat "
                    "parameters (filters, kernel_size, ...)."
                )
            return build_network(
                self.schema_,
                self.tasks_,
                trunk=self.trunk,
                filters=filters,
                kernel_size=self.kernel_size,
                pool_size=self.pool_size,
                dropout=self.dropout,
                dense_units=self.dense_units,
                random_state=self._seed,
            )
        model = self.model(self.schema_, self.tasks_, **model_params)
        if not isinstance(model, keras.Model):
            raise TypeError(
                f"The model builder returned {type(model).__name__}; it must "
                "return a keras.Model."
            )
        return model

    def _checked_model(self, model: keras.Model, inputs) -> keras.Model:
        """Match outputs to tasks and inputs to fields; probe the heads."""
        model = with_task_outputs(model, self.tasks_)
        self.input_names_ = model_input_names(model, self.schema_)
        if self.model is not None:  # the default network is right by construction
            probe = {name: inputs[name][:8] for name in self.input_names_}
            check_heads(model, self.tasks_, probe)
        return model

    def _optimizer(self) -> keras.optimizers.Optimizer:
        params = self.get_params()
        routed = route_params(
            params, destination="optimizer", pass_filter=set(), strict=False
        )
        optimizer = self.optimizer
        if isinstance(optimizer, keras.optimizers.Optimizer):
            # A fresh copy: an optimizer built for one model cannot train another.
            optimizer = type(optimizer).from_config(optimizer.get_config())
            if routed:
                raise ValueError(
                    "optimizer__ parameters need optimizer as a name or a class, "
                    "not an instance."
                )
            return optimizer
        optimizer = try_to_convert_strings_to_classes(optimizer, get_optimizer_class)
        return unflatten_params(
            items=optimizer, params={"learning_rate": self.learning_rate, **routed}
        )

    def _make_trainer(self) -> MultiTaskTrainer:
        """Wrap model_ in the trainer of the chosen loss-weighting strategy."""
        check_strategy(self.loss_weighting, self.tasks_)
        if self.loss_weighting == "uncertainty" and (
            self.loss_weights or self._routed("loss_weights")
        ):
            warnings.warn(
                "loss_weighting='uncertainty' learns every task's weight; the "
                "loss_weights given are not used.",
                UserWarning,
                stacklevel=4,
            )
        trainer = MultiTaskTrainer(
            self.model_,
            self.tasks_,
            strategy=self.loss_weighting,
            loss_weights=self._checked_loss_weights(self.tasks_),
            dwa_temperature=self.dwa_temperature,
            gradnorm_alpha=self.gradnorm_alpha,
        )
        compile_params = _keras_arguments(
            "compile", self._routed("compile", strict=True), keras.Model.compile
        )
        optimizer = self._optimizer()
        if self.mixed_precision == "mixed_float16":
            # float16 gradients underflow without loss scaling (bfloat16 don't).
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        trainer.compile(optimizer=optimizer, **compile_params)
        # Built here, eagerly: slots created inside a traced train step add
        # tf.cond branch functions to TensorFlow's process-wide function library
        # that are never removed (tests/test_leaks.py; 16 per model of a plain
        # Keras fit, and the reason a long search grew without bound).
        trainer.optimizer.build(trainer.optimized_variables())
        if self._strategy.num_replicas_in_sync == 1:
            _skip_gradient_all_reduce(trainer.optimizer)
        return trainer

    def _distribution_strategy(self) -> tf.distribute.Strategy:
        """The ``distribute`` parameter as a strategy (the default one if None)."""
        if self.distribute is None:
            return tf.distribute.get_strategy()
        if self.distribute == "mirrored":
            strategy = tf.distribute.MirroredStrategy()
        elif isinstance(self.distribute, tf.distribute.Strategy):
            strategy = self.distribute
        else:
            raise ValueError(
                f"distribute={self.distribute!r}; expected None, 'mirrored' or a "
                "tf.distribute.Strategy."
            )
        if self.loss_weighting == "gradnorm" and strategy.num_replicas_in_sync > 1:
            raise ValueError(
                "loss_weighting='gradnorm' updates its weights inside each step "
                "and does not support several replicas; use another strategy or "
                "distribute=None."
            )
        return strategy

    def _checked_loss_weights(self, tasks: Sequence[TaskSpec]) -> dict[str, float]:
        """``loss_weights`` overridden by routed ``loss_weights__<task>`` scalars."""
        weights = {**(self.loss_weights or {}), **self._routed("loss_weights")}
        return resolve_loss_weights(weights, tasks)

    def _routed(self, destination: str, strict: bool = False) -> dict:
        """Routed parameters ``<destination>__<name>``, keyed by ``<name>``."""
        return route_params(
            self.get_params(), destination=destination, pass_filter=set(), strict=strict
        )

    def _compile_kwargs_for(self, tasks: Sequence[TaskSpec]) -> dict:
        """``Model.compile`` arguments for the same training in plain Keras.

        skmtl itself trains through :class:`~skmtl.weighting.MultiTaskTrainer`;
        this is what the benchmarks compare it with.
        """
        return {
            "optimizer": self._optimizer(),
            "loss": {
                t.name: task_loss(t, reduction="sum_over_batch_size") for t in tasks
            },
            "loss_weights": self._checked_loss_weights(tasks),
            # Weighted metrics skip masked (missing) labels; plain ones would not.
            "weighted_metrics": {t.name: task_metrics(t) for t in tasks},
            **self._routed("compile", strict=True),
        }

    def _callback_list(self) -> list:
        if self.callbacks is None:
            return []
        routed = self._routed("callbacks")
        items = self.callbacks
        if isinstance(items, list | tuple):
            items = [_copy_for_fit(c) for c in items]
        else:
            items = _copy_for_fit(items)
        callbacks = unflatten_params(items=items, params=routed)
        if isinstance(callbacks, keras.callbacks.Callback):
            callbacks = [callbacks]
        return list(callbacks)

    def _fit_keras_model(self, inputs, targets, weights, *, epochs: int) -> None:
        fit_params = _keras_arguments(
            "fit", self._routed("fit", strict=True), keras.Model.fit
        )
        n_samples = len(next(iter(inputs.values())))
        train_rows, val_rows = validation_rows(
            targets,
            self.tasks_,
            n_samples,
            fraction=self.validation_fraction if self.early_stopping else 0.0,
            keras_split=float(fit_params.pop("validation_split", 0.0)),
            weights=weights,
            seed=self._seed,
        )
        validation_data = None
        if val_rows is not None:
            validation_data = TaskBatches(
                inputs,
                targets,
                weights,
                batch_size=self.batch_size,
                shuffle=False,
                rows=val_rows,
            )
        batches = TaskBatches(
            inputs,
            targets,
            weights,
            batch_size=self.batch_size,
            shuffle=self.shuffle,
            # Offset by the epochs already run, so partial_fit and warm starts
            # do not replay the same batch order.
            seed=self._seed + len(self.history_.get("loss", [])),
            rows=train_rows,
        )
        callbacks = [EpochEnd(self._trainer), *self._callback_list()]
        stopper = None
        if self.early_stopping:
            stopper = keras.callbacks.EarlyStopping(
                mode="min",
                # Learned weights move the weighted loss; judge on a fixed one.
                monitor="val_loss"
                if self.loss_weighting == "fixed"
                else "val_base_loss",
                patience=self.n_iter_no_change,
                restore_best_weights=True,
            )
            callbacks.append(stopper)
        initial_epoch = len(self.history_.get("loss", []))
        history = self._trainer.fit(
            batches,
            epochs=initial_epoch + epochs,
            initial_epoch=initial_epoch,
            validation_data=validation_data,
            callbacks=callbacks,
            verbose=self.verbose,
            # TaskBatches shuffles in a seeded order; Keras would reshuffle the
            # batches with Python's global RNG.
            shuffle=False,
            **fit_params,
        )
        self._extend_history(history.history)
        self.n_epochs_ = len(history.history.get("loss", []))
        self.best_epoch_ = (
            stopper.best_epoch + 1 - initial_epoch if stopper else self.n_epochs_
        )

    def _extend_history(self, logs: dict) -> None:
        """Append one fit's per-epoch logs, keeping every list one per epoch.

        A warm-started fit may log keys the earlier ones did not (``val_*``
        once early stopping is on) or the reverse: the epochs without a key
        hold NaN, so ``history_[key][i]`` is always epoch ``i + 1``.
        """
        before = len(self.history_.get("loss", []))
        ran = len(logs.get("loss", []))
        for key, values in logs.items():
            self.history_.setdefault(key, [np.nan] * before).extend(map(float, values))
        for key, values in self.history_.items():
            if key not in logs:
                values.extend([np.nan] * ran)

    # --------------------------------------------------------------- predict
    def _outputs(self, X) -> dict[str, np.ndarray]:
        """Raw network outputs for X, in chunks through one traced function."""
        check_is_fitted(self)
        inputs, n_samples = encode(X, self.schema_)
        return self._forward({k: inputs[k] for k in self.input_names_}, n_samples)

    def _forward(self, inputs, n_samples: int) -> dict[str, np.ndarray]:
        chunk = int(getattr(self, "predict__batch_size", _PREDICT_CHUNK))
        forward = self._predict_function()
        parts = []
        for start in range(0, n_samples, chunk):
            batch = {
                k: np.asarray(v[start : start + chunk], dtype=np.float32)
                for k, v in inputs.items()
            }
            parts.append({k: v.numpy() for k, v in forward(batch).items()})
        return {
            name: np.concatenate([p[name] for p in parts]) for name in self.task_kinds_
        }

    def _predict_function(self):
        """model_ in inference mode, traced once for any number of rows.

        ``Model.predict`` builds a tf.data pipeline per call (~40 ms on CPU);
        ``predict_on_batch`` retraces for each new batch size. One
        ``tf.function`` with an unknown batch dimension avoids both.
        """
        if getattr(self, "_predict_fn", None) is None:
            model = self.model_
            signature = {
                name: tf.TensorSpec((None, *self.schema_[name].shape), tf.float32)
                for name in self.input_names_
            }

            # A concrete function: calling it never traces again, so no retracing
            # warnings however many estimators a search fits.
            def forward(x):
                return model(x, training=False)

            self._predict_fn = tf.function(
                forward, autograph=False
            ).get_concrete_function(signature)
        return self._predict_fn

    def predict(self, X):
        """Predict every task, in the form y had at fit.

        Parameters
        ----------
        X : dict, structured ndarray, DataFrame, 2-D or 3-D array
            The fields seen at fit, matched by name (any float dtype).

        Returns
        -------
        ndarray or DataFrame
            A 1-D y gives a 1-D array, a 2-D array a 2-D array, a DataFrame a
            DataFrame with the same columns and dtypes. Labels are the original
            class values; regression values are in the original units.

        Examples
        --------
        >>> from skmtl import MultiTaskConvEstimator
        >>> from skmtl.datasets import make_sensor_tasks
        >>> X, y = make_sensor_tasks(60, n_steps=64, random_state=0)
        >>> est = MultiTaskConvEstimator(filters=(4, 8), epochs=2, random_state=0)
        >>> pred = est.fit(X, y).predict(X)
        >>> list(pred.columns), pred["material"].dtype == y["material"].dtype
        (['material', 'density'], True)
        """
        outputs = self._outputs(X)
        return self.target_encoder_.inverse_transform(outputs)

    def _has_classification_task(self) -> bool:
        if self.__sklearn_is_fitted__():
            return any(t.kind == CLASSIFICATION for t in self.tasks_)
        kinds = self._declared_kinds()
        return kinds is None or CLASSIFICATION in kinds or None in kinds

    @available_if(_has_classification_task)
    def predict_proba(self, X):
        """Class probabilities of each classification task.

        Parameters
        ----------
        X : dict, structured ndarray, DataFrame, 2-D or 3-D array
            The fields seen at fit, matched by name.

        Returns
        -------
        dict or ndarray
            ``{task: (n_samples, n_classes)}``, columns ordered as that task's
            classes. For a 1-D y, the array itself (as any scikit-learn
            classifier returns).

        Examples
        --------
        >>> from skmtl import MultiTaskConvEstimator
        >>> from skmtl.datasets import make_sensor_tasks
        >>> X, y = make_sensor_tasks(60, n_steps=64, random_state=0)
        >>> est = MultiTaskConvEstimator(filters=(4, 8), epochs=2, random_state=0)
        >>> material = est.fit(X, y).predict_proba(X)["material"]
        >>> material.shape, bool(abs(material.sum(axis=1) - 1).max() < 1e-5)
        ((60, 5), True)
        """
        outputs = self._outputs(X)
        probas = self.target_encoder_.probabilities(outputs)
        if self.target_encoder_.form_ == "1d":
            return next(iter(probas.values()))
        return probas

    def score(self, X, y, sample_weight=None) -> float:
        """Mean over tasks of accuracy (classification) and R² (regression).

        Weighted by ``score_weights`` when given. Each task is scored on its
        labelled samples only; see
        :mod:`skmtl.metrics` for per-task scorers.

        Parameters
        ----------
        X : dict, structured ndarray, DataFrame, 2-D or 3-D array
            The fields seen at fit.
        y : array-like or DataFrame
            True targets, in a form accepted by :meth:`fit`; missing labels
            are skipped per task.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in every task's metric.

        Returns
        -------
        score : float
            At most 1.0 (R² can be negative).

        Examples
        --------
        >>> from skmtl import MultiTaskConvEstimator
        >>> from skmtl.datasets import make_sensor_tasks
        >>> X, y = make_sensor_tasks(60, n_steps=64, random_state=0)
        >>> est = MultiTaskConvEstimator(filters=(4, 8), epochs=2, random_state=0)
        >>> score = est.fit(X, y).score(X, y)
        >>> isinstance(score, float) and score <= 1.0
        True
        """
        check_is_fitted(self)
        self.target_encoder_.transform(y)  # unseen classes and bad columns raise
        y_pred = self.predict(X)
        return combined_score(
            self.task_kinds_, y, y_pred, sample_weight, self.score_weights
        )

    # ----------------------------------------------------------- persistence
    def _restore(self, *, model, schema, target_encoder, input_names, history):
        """Set the fitted state from a saved file (see :mod:`skmtl.persistence`)."""
        self.schema_ = schema
        self.target_encoder_ = target_encoder
        self._set_task_attributes()
        self.model_ = model
        self.input_names_ = list(input_names)
        self.history_ = history
        self._predict_function()

    def save(self, path) -> None:
        """Write the fitted estimator to one file: Keras model + JSON, no pickle.

        Parameters
        ----------
        path : str or path-like
            The file to write (conventionally ``*.skmtl``); read it back with
            :func:`skmtl.load`, which runs no code from the file.

        Examples
        --------
        >>> import os, tempfile
        >>> from skmtl import load
        >>> from skmtl import MultiTaskConvEstimator
        >>> from skmtl.datasets import make_sensor_tasks
        >>> X, y = make_sensor_tasks(60, n_steps=64, random_state=0)
        >>> est = MultiTaskConvEstimator(filters=(4, 8), epochs=2, random_state=0)
        >>> est = est.fit(X, y)
        >>> path = os.path.join(tempfile.mkdtemp(), "model.skmtl")
        >>> est.save(path)
        >>> bool((load(path).predict(X) == est.predict(X)).all().all())
        True
        """
        from .persistence import save

        save(self, path)

    def export(self, path, *, overwrite: bool = False) -> None:
        """Write a TensorFlow SavedModel for serving, without skmtl or Keras.

        Its ``serving_default`` signature takes the raw fields of X (float32,
        one input per field) and returns decoded predictions: ``<task>`` (labels
        or values in original units) and ``<task>_proba`` for each
        classification task. See :func:`skmtl.export.export` and
        ``docs/serving.md``; use :meth:`save` to reload the estimator itself.

        Parameters
        ----------
        path : str or path-like
            Directory to create (it may exist if empty).
        overwrite : bool, default=False
            Replace an earlier export at ``path``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.
        FileExistsError
            If ``path`` is a file or a non-empty directory (unless
            ``overwrite`` and it holds a SavedModel).

        Examples
        --------
        >>> import os, tempfile
        >>> import tensorflow as tf
        >>> from skmtl import MultiTaskConvEstimator
        >>> from skmtl.datasets import make_sensor_tasks
        >>> X, y = make_sensor_tasks(40, n_steps=32, random_state=0)
        >>> est = MultiTaskConvEstimator(filters=(4,), epochs=1, random_state=0)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     est.fit(X, y).export(os.path.join(tmp, "model"))
        ...     serve = tf.saved_model.load(os.path.join(tmp, "model"))
        ...     fn = serve.signatures["serving_default"]
        ...     sorted(fn.structured_input_signature[1])
        ['ampl', 'moist', 'phase', 'temp', 'weight']
        """
        from .export import export

        export(self, path, overwrite=overwrite)
