"""The scikit-learn estimator; the one module that touches scikeras.

scikeras (0.13) provides parameter routing (``optimizer__learning_rate``,
``callbacks__...``, ``fit__validation_split``) and ``set_params`` for routed
names. Everything it does with data is replaced here: it cannot carry named
inputs, several tasks, per-task sample weights or masked labels, and its
seeding switches TensorFlow op determinism on for good (see PITFALLS). It also
predates scikit-learn's tag API, so tags are declared here.

The class holds the parameters and reads as recipes of named steps; the work
lives in three modules whose objects have three lifetimes:
:mod:`skmtl.training.session` (trainer, optimizer, callbacks, strategy: built when
training starts, never pickled), :mod:`skmtl.training.fitted` (what a fit learned,
assigned in one statement at the end of ``fit``) and :mod:`skmtl.persistence`
(parameters and fitted state on disk).
"""

from __future__ import annotations

import copy
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
from sklearn.exceptions import DataConversionWarning, NotFittedError
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..data.holdout import plan_rows, row_keys
from ..data.inputs import check_input_list, check_same_index, encode, infer_schema
from ..data.sample_weights import (
    apply_class_weight,
    apply_sample_weight,
    check_sample_weight,
)
from ..data.targets import CLASSIFICATION, REGRESSION, TargetEncoder, decode_output
from ..inspect.metrics import check_score_weights, combined_score
from ..io import persistence
from ..nn.frozen import FEATURES_INPUT, split_frozen_trunk, trunk_features
from ..nn.network import (
    TRUNK_FILTERS,
    build_network,
    check_filters,
    check_heads,
    dtype_policy,
    model_input_names,
    with_task_outputs,
)
from ..nn.rocket import adapt_rocket, rocket_columns, scale_rocket_features
from ..training.budget import auto_budget
from ..training.conformal import (
    Calibration,
    calibrate_rows,
    intervals,
    prediction_sets,
    scale_probabilities,
)
from ..training.fitted import (
    FittedState,
    network_function,
    warn_if_collapsed,
)
from ..training.session import (
    TrainingConfig,
    TrainingRun,
    TrainingSession,
    distribution_strategy,
    extend_history,
)
from ..training.shrinkage import refits_every_head, ridge_heads
from ..training.weighting import STRATEGIES
from ..utils.validation import check_open_fraction, refuse_bools
from .parameters import (
    ROUTING_PREFIXES,
    architecture_key,
    check_architecture_unchanged,
    check_lengths,
    check_routed_names,
    draw_seed,
    feature_names,
    predict_chunk,
    python_random_seeded,
    refuse_keras_fit_arguments,
)

__all__ = ["MultiTaskConvEstimator", "load"]

# scikeras members that skmtl replaces: what to use instead.
_REPLACED = {
    "initialize": "fit or partial_fit",
    "initialized_": "check_is_fitted(est) or model_",
    "current_epoch": "len(est.history_['loss'])",
    "target_encoder": "target_encoder_ (fitted)",
    "feature_encoder": "schema_ (fitted)",
    "scorer": "score or skmtl.metrics.task_scorer",
}


def _state_field(name: str) -> property:
    """A fitted attribute that is a field of the fitted state.

    Assigning one replaces the whole state by a copy with that field changed,
    so the state stays one consistent object.
    """

    def get(self):
        value = getattr(self._fitted(), name)
        return list(value) if name == "input_names" else value

    def set_(self, value):
        if name == "input_names":
            value = tuple(value)
        self._state = self._fitted().evolve(**{name: value})

    return property(get, set_, doc=f"``fitted_state_.{name}``.")


def _replaced(name: str) -> property:
    """A property standing in for a scikeras member skmtl does not support."""

    def refuse(self):
        raise AttributeError(
            f"{type(self).__name__}.{name} is not available (a scikeras member "
            f"skmtl replaces); use {_REPLACED[name]}."
        )

    return property(refuse)


def _optimizer(config: TrainingConfig) -> keras.optimizers.Optimizer:
    """A new optimizer from ``optimizer`` and the routed ``optimizer__*``."""
    optimizer = config.optimizer
    rate = config.optimizer_params.get("learning_rate")
    if isinstance(rate, Real) and (
        isinstance(rate, bool) or not np.isfinite(rate) or rate <= 0
    ):
        # Keras takes any number: a negative rate would climb the loss.
        raise ValueError(
            f"optimizer__learning_rate must be a finite number > 0; got {rate!r}."
        )
    if isinstance(optimizer, keras.optimizers.Optimizer):
        if config.optimizer_params:
            raise ValueError(
                "optimizer__ parameters need optimizer as a name or a class, "
                "not an instance."
            )
        # A fresh copy: an optimizer built for one model cannot train another.
        return type(optimizer).from_config(optimizer.get_config())
    optimizer = try_to_convert_strings_to_classes(optimizer, get_optimizer_class)
    return unflatten_params(
        items=optimizer,
        # A NumPy scalar (from a grid built with np.logspace) is refused by
        # Keras: a float is what it takes.
        params={
            "learning_rate": float(config.learning_rate),
            **config.optimizer_params,
        },
    )


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


class MultiTaskConvEstimator(BaseWrapper):
    """One shared 1-D conv network with a head per task, as a scikit-learn estimator.

    Each column of y is a task: classification (label in, label out) or regression
    (value in, value out). Each field of X is a signal (an array per sample) or a
    covariate (a number per sample); see :func:`skmtl.data.inputs.to_named_arrays` for
    the accepted forms of X.

    Parameters
    ----------
    model : callable or None, default=None
        None builds the default network (:func:`skmtl.nn.network.build_network`).
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
        :mod:`skmtl.training.weighting`.
    dwa_temperature : float, default=2.0
        Temperature ``T`` of dynamic weight average.
    gradnorm_alpha : float, default=1.5
        Restoring-force strength ``alpha`` of GradNorm.
    trunk : {"rocket", "minirocket", "conv", "fcn", "resnet"}, default="rocket"
        The shared trunk. ``"rocket"``: MiniRocket's fixed convolutions
        (Dempster et al. 2021) of the signals and of their first differences
        (as MultiRocket) as a non-trainable layer whose biases are set from
        the training data at fit (:mod:`skmtl.nn.rocket`); its features are
        computed once per fit and only the heads train, in seconds
        (:mod:`skmtl.nn.frozen`). It reaches FCN-level accuracy on the UCR
        archive where the trainable trunks need thousands of epochs (see the
        Accuracy page). ``"minirocket"``: the same without the differences,
        10-40 % cheaper to predict in batches and slightly less accurate. The
        trainable ones: skmtl's pooled conv stages, or the
        FCN or ResNet of Wang, Yan & Oates (2017) with their published kernel
        sizes (8, 5, 3).
    filters : sequence of int or None, default=None
        Width of each stage; its length is the number of stages. None takes the
        trunk's default: 10,000 features for "rocket" and "minirocket"
        (``filters[0]`` is their number), (16, 32, 64, 64) for "conv", the
        published (128, 256, 128) for "fcn" and (64, 128, 128) for "resnet".
    kernel_size : int, default=7
        Kernel of every "conv" stage.
    pool_size : int, default=4
        Max-pooling size of each "conv" stage (skipped once a signal is too
        short).
    dropout : float, default=0.0
        Dropout rate after the shared dense block (on the trunk's features
        when there is none).
    dense_units : int, default=0
        0 (the default): the tasks share one linear layer on the trunk's
        features, a block of logits or values per task, and each task's head
        reads its own block and every task's outputs (:mod:`skmtl.nn.chain`), so
        loss weights act and a task with few labels reads its partners. A
        positive width puts a shared ReLU dense block of that width before
        independent heads instead.
    optimizer : str, keras Optimizer class or instance, default="adam"
        Its arguments can be routed as ``optimizer__<name>``.
    learning_rate : float, default=1e-3
        Overridden by ``optimizer__learning_rate`` if that is given.
    batch_size : int, default=32
        Samples per gradient step (``predict__batch_size`` sets the chunk
        size of ``predict``).
    epochs : int or "auto", default="auto"
        Passes over the training data per call to ``fit``. ``"auto"`` sets a
        budget in optimizer steps: at least 2,000 steps and 10 passes, small
        sets' passes grouped into epochs of at least 50 steps (see
        :mod:`skmtl.training.budget`). A network of one task whose output the
        closed-form refit sets whole (the default trunk, up to 3,000
        labelled rows, no callbacks) takes no gradient steps under
        ``"auto"``: they would change nothing it predicts, and
        ``history_`` stays empty.
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
    calibration_fraction : float, "auto" or None, default="auto"
        Rows of each ``fit`` kept for :meth:`predict_interval` (split-conformal
        residuals) and temperature scaling, never trained on. ``"auto"`` reuses
        the validation rows of ``early_stopping`` (or ``fit__validation_split``)
        when there are any, at no cost, and otherwise holds out 10 % when that
        is at least 20 rows (200 samples), else none; a float holds out that
        share; 0 or None none. Rows are chosen by their content
        (:mod:`skmtl.data.holdout`): a warm start or ``partial_fit`` never
        calibrates on a row an earlier fit of the network trained on.
        ``partial_fit`` holds out nothing under ``"auto"``, and that share of
        each batch under a float. See ``docs/explain.md`` for the cost.
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

    _routing_prefixes: ClassVar[set] = set(ROUTING_PREFIXES)
    _parameter_constraints: ClassVar[dict] = refuse_bools(
        {
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
            "epochs": [
                Interval(Integral, 1, None, closed="left"),
                StrOptions({"auto"}),
            ],
            "shuffle": ["boolean"],
            "callbacks": [list, keras.callbacks.Callback, None],
            "warm_start": ["boolean"],
            "random_state": ["random_state"],
            "class_weight": [StrOptions({"balanced"}), dict, None],
            "early_stopping": ["boolean"],
            "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
            "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
            "calibration_fraction": [
                Interval(Real, 0, 1, closed="left"),
                StrOptions({"auto"}),
                None,
            ],
            "score_weights": [dict, None],
            "distribute": [StrOptions({"mirrored"}), tf.distribute.Strategy, None],
            "mixed_precision": [StrOptions({"mixed_float16", "mixed_bfloat16"}), None],
            # True/False as 1/0: scikit-learn's own "verbose" habit.
            "verbose": [
                Interval(Integral, 0, 2, closed="both"),
                StrOptions({"auto"}),
                "boolean",
            ],
        }
    )

    def __init__(
        self,
        model: Callable[..., keras.Model] | None = None,
        *,
        tasks: Mapping[str, str] | Sequence[str] | None = None,
        loss_weights: Mapping[str, float] | None = None,
        loss_weighting: str = "fixed",
        dwa_temperature: float = 2.0,
        gradnorm_alpha: float = 1.5,
        trunk: str = "rocket",
        filters: Sequence[int] | None = None,
        kernel_size: int = 7,
        pool_size: int = 4,
        dropout: float = 0.0,
        dense_units: int = 0,
        optimizer: str | keras.optimizers.Optimizer | type = "adam",
        learning_rate: float = 1e-3,
        batch_size: int = 32,
        epochs: int | str = "auto",
        shuffle: bool = True,
        callbacks: list | None = None,
        warm_start: bool = False,
        random_state: int | np.random.RandomState | None = None,
        class_weight: str | Mapping | None = None,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 5,
        calibration_fraction: float | str | None = "auto",
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
        self.calibration_fraction = calibration_fraction
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

    # ------------------------------------------------------- fitted state
    def __sklearn_is_fitted__(self) -> bool:
        return self.__dict__.get("_state") is not None

    def _fitted(self) -> FittedState:
        state = self.__dict__.get("_state")
        if state is None:
            # An AttributeError too, so hasattr(est, "model_") stays False.
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet: call fit "
                "first."
            )
        return state

    fitted_state_ = property(
        _fitted, doc="The :class:`~skmtl.training.fitted.FittedState`."
    )
    model_ = _state_field("model")
    schema_ = _state_field("schema")
    target_encoder_ = _state_field("target_encoder")
    input_names_ = _state_field("input_names")
    history_ = _state_field("history")
    task_weights_ = _state_field("task_weights")
    n_epochs_ = _state_field("n_epochs")
    best_epoch_ = _state_field("best_epoch")

    @property
    def tasks_(self):
        return self._fitted().tasks

    @tasks_.setter
    def tasks_(self, tasks):
        # A new encoder, so the fitted state stays one consistent object.
        encoder = copy.copy(self._fitted().target_encoder)
        encoder.tasks_ = list(tasks)
        self._state = self._fitted().evolve(target_encoder=encoder)

    task_kinds_ = property(lambda self: self._fitted().task_kinds)
    n_features_in_ = property(lambda self: self._fitted().schema.n_features_in)

    @property
    def classes_(self):
        classes = self._fitted().classes
        if classes is None:
            raise AttributeError("classes_: the estimator has no classification task.")
        return classes

    @property
    def feature_names_in_(self):
        names = self._fitted().feature_names
        if names is None:
            raise AttributeError(
                "feature_names_in_: X at fit was not a DataFrame with string "
                "column names."
            )
        return names

    # scikeras members that do not work here say what to use instead.
    initialized_ = _replaced("initialized_")
    current_epoch = _replaced("current_epoch")
    target_encoder = _replaced("target_encoder")
    feature_encoder = _replaced("feature_encoder")
    scorer = _replaced("scorer")

    def __getstate__(self):
        # A training session lives between warm-started fits of one object and
        # is rebuilt from the parameters when needed: never pickled.
        state = super().__getstate__()
        state.pop("_session", None)
        return state

    # ------------------------------------------------------------------- fit
    def fit(self, X, y, sample_weight=None, **fit_params) -> MultiTaskConvEstimator:
        """Fit the network to X and y.

        Parameters
        ----------
        X : dict, structured ndarray, DataFrame, 2-D or 3-D array
            Named signals and covariates (see
            :func:`skmtl.data.inputs.to_named_arrays`).
        y : array-like of shape (n_samples,) or (n_samples, n_tasks), DataFrame
            One column per task; NaN or None marks a missing label.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sample in every task's loss. (A third positional
            argument is this weight, not a second target.)
        **fit_params
            Refused with a message that says where each Keras ``fit`` keyword
            goes here (``epochs`` is an estimator parameter, validation is
            ``early_stopping=True``, others are routed as ``fit__<name>``).

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
        refuse_keras_fit_arguments(fit_params)
        return self._fit(X, y, sample_weight, epochs=self.epochs, warm=self.warm_start)

    def partial_fit(
        self, X, y, sample_weight=None, classes=None
    ) -> MultiTaskConvEstimator:
        """Train for one more epoch, building the network on the first call.

        The first call builds the network from its rows (the default trunk's
        feature scales need at least 4). Under a float
        ``calibration_fraction``, the rows of each batch held out for
        calibration are never trained on.

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
        return self._fit(
            X, y, sample_weight, epochs=1, warm=True, classes=classes, holdout=False
        )

    def _fit(
        self,
        X,
        y,
        sample_weight,
        *,
        epochs: int,
        warm: bool,
        classes=None,
        holdout=True,
    ):
        """Validate, encode, build or reuse, train, then commit in one step.

        Nothing on ``self`` changes before the last statement, so a fit that
        raises leaves the estimator as it was; a warm fit that fails inside
        training also gets its network's weights back.
        """
        if y is None:
            raise ValueError(
                "MultiTaskConvEstimator requires y to be passed, but the target y "
                "is None."
            )
        check_same_index(X, y, sample_weight)
        self._validate_params()
        self._check_routed_params()
        self._predict_chunk()  # a bad predict__batch_size fails before training
        config = self._training_config()
        seed = draw_seed(self.random_state)
        previous = self.__dict__.get("_state") if warm else None
        # Keras' [X1, X2] habit, refused before reading X as one array would
        # warn about its layout.
        check_input_list(X, n_samples=TargetEncoder().n_samples_of(y))
        if previous is not None:
            check_architecture_unchanged(self._architecture_key(), previous.build_key)
            schema, encoder = previous.schema, previous.target_encoder
            inputs, n_samples = encode(X, schema)
        else:
            schema = infer_schema(X)
            # infer_schema has just scanned X for NaN and infinity.
            inputs, n_samples = encode(X, schema, check_finite=False)
            encoder = TargetEncoder(self.tasks).fit(y, classes=classes)
            self._warn_column_vector(y)
        targets, weights = encoder.transform(y)
        check_lengths(n_samples, encoder.n_samples_of(y))
        weights = apply_sample_weight(weights, sample_weight, n_samples)
        tasks = encoder.tasks_
        weights = apply_class_weight(weights, targets, tasks, self.class_weight)
        check_score_weights(self.score_weights, [t.name for t in tasks])
        # Which rows train, validate and calibrate (skmtl.data.holdout): one plan
        # for every step below, and rows held out by earlier fits of this
        # network stay held out.
        plan = _plan(
            self.calibration_fraction,
            config,
            inputs,
            targets,
            tasks,
            weights,
            seed,
            previous,
            stream=not holdout,
        )
        n_train = n_samples if plan.train is None else len(plan.train)
        # A batch larger than the data is the data: the rows once each.
        config = replace(config, batch_size=max(1, min(config.batch_size, n_train)))
        auto = epochs == "auto"
        if auto:
            epochs, config = _auto_epochs(n_train, config)
        strategy = distribution_strategy(config.distribute, config.loss_weighting)
        if previous is None:
            model, input_names, features, traced = self._new_network(
                schema, tasks, inputs, strategy, seed
            )
            history: dict = {}
        else:
            model, input_names = previous.model, previous.input_names
            history, traced = previous.history, previous.predict_function()
            # The fixed trunk's features through the traced network, not a
            # trace of the trunk's own (the session's and the refit's).
            split = split_frozen_trunk(model)
            features = None
            if split is not None:
                feed = {name: inputs[name] for name in input_names}
                features = trunk_features(split[0], feed, traced)[FEATURES_INPUT]
        session = self.__dict__.get("_session")
        if session is None or not session.fits(config, model):
            session = TrainingSession(
                config, model, tasks, strategy, lambda: _optimizer(config)
            )
        inputs = {name: inputs[name] for name in input_names}
        if (
            auto
            and holdout
            and not self._callback_list()
            and refits_every_head(model, tasks, weights, plan.refit)
        ):
            # Every output is set by the closed-form refit below: the "auto"
            # budget's gradient steps would change nothing predict returns.
            run = TrainingRun({}, 0, 0, session.task_weights(), features)
        else:
            run = self._train(
                session,
                config,
                inputs,
                targets,
                weights,
                epochs,
                history,
                seed,
                plan,
                features,
            )
        if holdout:
            # Heads linear on fixed features: refitted in closed form on every
            # row but the calibration ones, each choosing its own shrinkage
            # (skmtl.training.shrinkage). Also after a warm start, which would otherwise
            # leave them where the gradient steps took them; not per
            # partial_fit batch, which would forget the batches before.
            ridge_heads(
                model, tasks, inputs, targets, weights, plan.refit, run.features
            )
        state = FittedState(
            schema=schema,
            target_encoder=encoder,
            model=model,
            input_names=tuple(input_names),
            history=extend_history(history, run.logs),
            task_weights=run.task_weights,
            n_epochs=run.n_epochs,
            best_epoch=run.best_epoch,
            feature_names=feature_names(X, schema),
            build_key=self._architecture_key(),
        )
        # Traced now, for the network just trained, so that predict does not
        # change the estimator's state (scikit-learn's check_dict_unchanged).
        state.predict_function(traced)
        if plan.calibration is not None:
            calibration = calibrate_rows(
                state,
                inputs,
                targets,
                weights,
                plan,
                self._predict_chunk(),
                run.features,
            )
            state = state.evolve(calibration=calibration)
        warn_if_collapsed(
            state, inputs, targets, weights, self._predict_chunk(), run.features
        )
        self._state, self._session = state, session
        return self

    def _train(
        self,
        session,
        config,
        inputs,
        targets,
        weights,
        epochs,
        history,
        seed,
        plan,
        features=None,
    ):
        """One call of the session; a warm fit that raises gets its weights back."""
        initial_epoch = len(history.get("loss", []))
        if plan.train is not None and not len(plan.train):
            # A partial_fit batch whose every row is held out for calibration.
            return TrainingRun({}, 0, 0, session.task_weights())
        snapshot = session.model.get_weights() if initial_epoch else None
        try:
            return session.fit(
                inputs,
                targets,
                weights,
                config=config,
                epochs=epochs,
                initial_epoch=initial_epoch,
                seed=seed,
                callbacks=self._callback_list(),
                rows=plan.train,
                validation=plan.validation,
                features=features,
            )
        except BaseException:
            if snapshot is not None:
                session.model.set_weights(snapshot)
            # The session's optimizer and learned weights may be half-updated.
            self.__dict__.pop("_session", None)
            raise

    def _new_network(self, schema, tasks, inputs, strategy, seed):
        """Build, name-check and (for a custom builder) probe a new network."""
        with strategy.scope(), dtype_policy(self.mixed_precision):
            with python_random_seeded(seed):
                model = self._build_model(schema, tasks, seed)
            model = with_task_outputs(model, tasks)
        input_names = model_input_names(model, schema)
        feed = {name: inputs[name] for name in input_names}
        # Weights fixed in training but set from the data (MiniRocket's
        # biases and scales). Where the fixed trunk's output holds the layers'
        # features as they are, the trunk's features of every row are computed
        # once, with identity scales, and give the scales too.
        split = split_frozen_trunk(model)
        blocks = None if split is None else rocket_columns(split[0], model)
        features = traced = None
        if blocks and all(layer.compute_dtype == "float32" for layer, _ in blocks):
            adapt_rocket(model, feed, scales=False)
            # One trace serves the features here and predict later.
            traced = network_function(model, schema, input_names)
            features = trunk_features(split[0], feed, traced)[FEATURES_INPUT]
            scale_rocket_features(blocks, features)
        else:
            adapt_rocket(model, feed)
        if self.model is not None:  # the default network is right by construction
            probe = {name: inputs[name][:8] for name in input_names}
            check_heads(model, tasks, probe)
        return model, input_names, features, traced

    def _build_model(self, schema, tasks, seed: int) -> keras.Model:
        model_params = self._routed("model")
        if self.model is None:
            if model_params:
                raise ValueError(
                    f"model__ parameters {sorted(model_params)} are only for a "
                    "custom model builder; the default network takes flat "
                    "parameters (filters, kernel_size, ...)."
                )
            return build_network(
                schema,
                tasks,
                trunk=self.trunk,
                filters=check_filters(self.filters),
                kernel_size=self.kernel_size,
                pool_size=self.pool_size,
                dropout=self.dropout,
                dense_units=self.dense_units,
                random_state=seed,
            )
        model = self.model(schema, tasks, **model_params)
        if not isinstance(model, keras.Model):
            raise TypeError(
                f"The model builder returned {type(model).__name__}; it must "
                "return a keras.Model."
            )
        return model

    # ------------------------------------------------------------ parameters
    def _check_routed_params(self) -> None:
        declared = set(BaseEstimator._get_param_names.__func__(type(self)))
        check_routed_names(self.get_params(deep=False), declared)

    def _routed(self, destination: str, strict: bool = False) -> dict:
        """Routed parameters ``<destination>__<name>``, keyed by ``<name>``."""
        return route_params(
            self.get_params(), destination=destination, pass_filter=set(), strict=strict
        )

    def _predict_chunk(self) -> int:
        return predict_chunk(self._routed("predict"))

    def _training_config(self) -> TrainingConfig:
        """The current training parameters, resolved to plain values."""
        return TrainingConfig(
            loss_weighting=self.loss_weighting,
            loss_weights={**(self.loss_weights or {}), **self._routed("loss_weights")},
            dwa_temperature=self.dwa_temperature,
            gradnorm_alpha=self.gradnorm_alpha,
            optimizer=self.optimizer,
            optimizer_params=self._routed("optimizer"),
            learning_rate=self.learning_rate,
            compile_params=self._routed("compile", strict=True),
            fit_params=self._routed("fit", strict=True),
            batch_size=self.batch_size,
            shuffle=self.shuffle,
            early_stopping=self.early_stopping,
            validation_fraction=self.validation_fraction,
            n_iter_no_change=self.n_iter_no_change,
            distribute=self.distribute,
            mixed_precision=self.mixed_precision,
            verbose=self.verbose,
        )

    def _architecture_key(self) -> dict[str, str]:
        return architecture_key(self.get_params(deep=False))

    def _callback_list(self) -> list:
        """Copies of the user's callbacks (see :func:`_copy_for_fit`)."""
        if self.callbacks is None:
            return []
        items = self.callbacks
        if isinstance(items, list | tuple):
            items = [_copy_for_fit(c) for c in items]
        else:
            items = _copy_for_fit(items)
        callbacks = unflatten_params(items=items, params=self._routed("callbacks"))
        if isinstance(callbacks, keras.callbacks.Callback):
            callbacks = [callbacks]
        return list(callbacks)

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

    # Kept for the benchmarks and tests that compare with plain Keras.
    def _compile_kwargs_for(self, tasks) -> dict:
        config = self._training_config()
        return config.compile_kwargs(tasks, _optimizer(config))

    def _distribution_strategy(self) -> tf.distribute.Strategy:
        return distribution_strategy(self.distribute, self.loss_weighting)

    @property
    def _trainer(self):
        session = self.__dict__.get("_session")
        return None if session is None else session.trainer

    def initialize(self, X=None, y=None):
        """Not available: skmtl builds the network in :meth:`fit`."""
        raise NotImplementedError(
            "MultiTaskConvEstimator.initialize is a scikeras method skmtl does not "
            f"support; use {_REPLACED['initialize']}."
        )

    # --------------------------------------------------------------- predict
    def _outputs(self, X) -> dict[str, np.ndarray]:
        """Raw network outputs for X, in chunks through one traced function."""
        check_is_fitted(self)
        return self._state.outputs(X, self._predict_chunk())

    def _forward(self, inputs, n_samples: int) -> dict[str, np.ndarray]:
        return self._state.forward(inputs, n_samples, self._predict_chunk())

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
            DataFrame with the same columns and dtypes (categories and their
            order included) and, for a DataFrame X, X's index. Labels are the
            original class values; regression values are in the original units.

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
        index = X.index if hasattr(X, "columns") and hasattr(X, "index") else None
        return self.target_encoder_.inverse_transform(outputs, index=index)

    def _in_form_of_y(self, per_task: dict):
        """``{task: array}``, or the array itself for a 1-D y (as any
        scikit-learn classifier or regressor returns)."""
        if self.target_encoder_.form_ == "1d":
            return next(iter(per_task.values()))
        return per_task

    def _has_classification_task(self) -> bool:
        if self.__sklearn_is_fitted__():
            return any(t.kind == CLASSIFICATION for t in self.tasks_)
        kinds = self._declared_kinds()
        return kinds is None or CLASSIFICATION in kinds or None in kinds

    @available_if(_has_classification_task)
    def predict_proba(self, X, *, calibrated: bool = False):
        """Class probabilities of each classification task.

        Parameters
        ----------
        X : dict, structured ndarray, DataFrame, 2-D or 3-D array
            The fields seen at fit, matched by name.
        calibrated : bool, default=False
            Divide each task's log-probabilities by the temperature fitted on
            the rows held out at fit (``calibration_``; 1.0 where scaling did
            not lower the calibration error there). The predicted class, and
            so :meth:`predict`, never changes.

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
        if calibrated:
            temperatures = self.calibration_.temperatures
            probas = {
                name: scale_probabilities(p, temperatures.get(name, 1.0))
                for name, p in probas.items()
            }
        return self._in_form_of_y(probas)

    @property
    def calibration_(self) -> Calibration:
        """What the rows held out at fit learned: residuals, temperatures and
        the ECE before and after scaling
        (:class:`~skmtl.training.conformal.Calibration`).
        """
        calibration = self._fitted().calibration
        if calibration is None:
            raise AttributeError(
                "calibration_: no rows were held out at fit "
                f"(calibration_fraction={self.calibration_fraction!r}, "
                "'auto' holds out none below 200 samples, partial_fit none), "
                "or an earlier fit of this network trained on every row. Fit "
                "a new network with calibration_fraction=0.1, or "
                "early_stopping=True."
            )
        return calibration

    def _has_regression_task(self) -> bool:
        if self.__sklearn_is_fitted__():
            return any(t.kind == REGRESSION for t in self.tasks_)
        kinds = self._declared_kinds()
        return kinds is None or REGRESSION in kinds or None in kinds

    @available_if(_has_regression_task)
    def predict_interval(self, X, alpha: float = 0.1):
        """Split-conformal prediction intervals for each regression task.

        ``prediction -+ q``, with ``q`` the ``ceil((m + 1)(1 - alpha))``-th
        smallest absolute residual of the ``m`` rows held out at fit
        (``calibration_fraction``): a new row's value lies inside with
        probability at least ``1 - alpha`` when rows are exchangeable.
        Held-out rows missing a task's label do not count for that task; the
        others count once each, whatever their sample weight. With early
        stopping's validation rows (``calibration_fraction="auto"``) the rows
        also chose the epoch, a mild selection: coverage is then close to,
        not guaranteed at, ``1 - alpha``. See ``docs/explain.md``.

        Parameters
        ----------
        X : dict, structured ndarray, DataFrame, 2-D or 3-D array
            The fields seen at fit.
        alpha : float, default=0.1
            Miscoverage rate in (0, 1).

        Returns
        -------
        dict or ndarray
            ``{task: (n_samples, 2)}`` of (lower, upper) in the target's
            units (``(n_samples, n_outputs, 2)`` for a block task); for a 1-D
            y, the array itself. Infinite (with a warning) when too few rows
            were held out for this ``alpha``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.
        AttributeError
            If no rows were held out at fit (see ``calibration_``).

        Examples
        --------
        >>> from skmtl import MultiTaskConvEstimator
        >>> from skmtl.datasets import make_sensor_tasks
        >>> X, y = make_sensor_tasks(300, n_steps=32, random_state=0)
        >>> est = MultiTaskConvEstimator(filters=(4,), epochs=2, random_state=0)
        >>> band = est.fit(X, y).predict_interval(X, alpha=0.2)["density"]
        >>> band.shape, bool((band[:, 0] < band[:, 1]).all())
        ((300, 2), True)
        """
        alpha = _check_alpha(alpha)
        calibration = self.calibration_
        outputs = self._outputs(X)
        predictions = {
            task.name: decode_output(task, outputs[task.name])[0]
            for task in self.tasks_
            if task.kind == REGRESSION
        }
        bands = intervals(predictions, calibration, alpha)
        return self._in_form_of_y(bands)

    @available_if(_has_classification_task)
    def predict_set(self, X, alpha: float = 0.1):
        """Conformal prediction sets for each classification task.

        The classes whose ``1 - p`` is at most the
        ``ceil((m + 1)(1 - alpha))``-th smallest ``1 - p(true class)`` of the
        ``m`` rows held out at fit (Sadinle et al. 2019): the true class is in
        the set with probability at least ``1 - alpha``. A set may hold several
        classes (an unsure row) or none (a row unlike the held-out ones).

        Parameters
        ----------
        X : dict, structured ndarray, DataFrame, 2-D or 3-D array
            The fields seen at fit.
        alpha : float, default=0.1
            Miscoverage rate in (0, 1).

        Returns
        -------
        dict or ndarray
            ``{task: (n_samples, n_classes) bool}``, columns in the order of
            that task's classes; for a 1-D y, the array itself.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.
        AttributeError
            If no rows were held out at fit (see ``calibration_``).

        Examples
        --------
        >>> from skmtl import MultiTaskConvEstimator
        >>> from skmtl.datasets import make_sensor_tasks
        >>> X, y = make_sensor_tasks(300, n_steps=32, random_state=0)
        >>> est = MultiTaskConvEstimator(filters=(4,), epochs=2, random_state=0)
        >>> sets = est.fit(X, y).predict_set(X, alpha=0.2)["material"]
        >>> sets.shape, sets.dtype
        ((300, 5), dtype('bool'))
        """
        alpha = _check_alpha(alpha)
        calibration = self.calibration_
        probas = self.target_encoder_.probabilities(self._outputs(X))
        sets = prediction_sets(probas, calibration, alpha)
        return self._in_form_of_y(sets)

    def explain(
        self,
        X,
        task: str | None = None,
        target=None,
        *,
        method: str = "occlusion",
        window: int | None = None,
    ) -> dict[str, np.ndarray]:
        """Where each signal (and which covariate) drove one task's prediction.

        Occlusion by default: each window of ``window`` steps is replaced by
        the signal's mean and the change in the output is that window's
        relevance (forward passes only, in batches; it works for every trunk
        and for a custom ``model``). It placed the most relevance inside a
        planted informative window in ``benchmarks/explain_uncertainty.py``;
        gradient methods are offered too. See :mod:`skmtl.inspect.explain`.

        Parameters
        ----------
        X : dict, structured ndarray, DataFrame, 2-D or 3-D array
            The fields seen at fit.
        task : str or None, default=None
            The task explained; None is the first.
        target : label or None, default=None
            For a classification task, the class whose probability is
            explained (None: each sample's predicted class). Not used for a
            regression task (its predicted value is explained).
        method : {"occlusion", "integrated_gradients", "smoothgrad", \
"gradient"}, default="occlusion"
            The gradient methods refuse the ``"rocket"`` trunk (zero gradient).
        window : int or None, default=None
            Occlusion window in steps; None is ``n_steps // 16``.

        Returns
        -------
        dict
            ``{signal: (n_samples, n_steps)}`` and ``{covariate: (n_samples,)}``
            of non-negative relevance, in the units of the output explained
            (class probability, or standardised regression value). A
            variable-length signal has the longest length among X's rows,
            with 0 past each row's end.

        Examples
        --------
        >>> from skmtl import MultiTaskConvEstimator
        >>> from skmtl.datasets import make_sensor_tasks
        >>> X, y = make_sensor_tasks(60, n_steps=64, random_state=0)
        >>> est = MultiTaskConvEstimator(filters=(4,), epochs=1, random_state=0)
        >>> relevance = est.fit(X, y).explain(X[:5], task="material")
        >>> relevance["ampl"].shape, relevance["temp"].shape
        ((5, 64), (5,))
        """
        from ..inspect.explain import check_explain_arguments, explain_inputs

        check_is_fitted(self)
        window = check_explain_arguments(method, window)
        state = self._state
        names = [t.name for t in state.tasks]
        name = names[0] if task is None else task
        if name not in names:
            raise ValueError(f"task={task!r} is not a task; tasks are {names}.")
        spec = state.tasks[names.index(name)]
        inputs, n_samples = encode(X, state.schema)
        index = None
        if target is not None and spec.kind == CLASSIFICATION:
            known = spec.classes.tolist()
            if target not in known:
                raise ValueError(
                    f"target={target!r} is not a class of task {name!r}; its "
                    f"classes are {known}."
                )
            index = np.full(n_samples, known.index(target), dtype=np.int32)
        return explain_inputs(
            state,
            inputs,
            name,
            index,
            method=method,
            window=window,
            chunk=self._predict_chunk(),
        )

    def score(self, X, y, sample_weight=None) -> float:
        """Mean over tasks of accuracy (classification) and R² (regression).

        Weighted by ``score_weights`` when given. Each task is scored on its
        labelled samples only; a label not seen at fit counts as an error
        (with a warning); see
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
        check_same_index(X, y, sample_weight)
        encoder = self.target_encoder_
        encoder.check_columns(y)  # columns that are not the tasks raise
        if sample_weight is not None:
            # The same check as fit's: relative weights, one per sample.
            sample_weight = check_sample_weight(sample_weight, encoder.n_samples_of(y))
        encoder.check_scorable(y)
        unseen = encoder.unseen_labels(y)
        if unseen:
            # As scikit-learn classifiers do: such a row can only be an error.
            warnings.warn(
                f"y holds labels not seen at fit ({unseen} rows per task); they "
                "count as errors.",
                UserWarning,
                stacklevel=2,
            )
        y_pred = self.predict(X)
        check_lengths(len(y_pred), encoder.n_samples_of(y))
        return combined_score(
            self.task_kinds_, y, y_pred, sample_weight, self.score_weights
        )

    # ----------------------------------------------------------- persistence
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
        persistence.save(self, path)

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
        from ..io.export import export

        export(self, path, overwrite=overwrite)


def _check_alpha(alpha) -> float:
    """A miscoverage level of predict_interval and predict_set."""
    return check_open_fraction("alpha", alpha)


def load(path) -> MultiTaskConvEstimator:
    """Load an estimator written by :meth:`MultiTaskConvEstimator.save`.

    No code from the file is executed (no pickle; Keras safe mode). The result
    has the saved parameters (with their types: int dict keys, NumPy scalars
    and arrays, tuples) and fitted state; it predicts, scores, warm-starts and
    refits like the saved one. Parameters JSON cannot hold (a custom ``model``
    builder, callbacks) come back as their defaults, with a warning.

    Parameters
    ----------
    path : str or path-like
        A file written by ``MultiTaskConvEstimator.save`` (or
        :func:`skmtl.persistence.save`).

    Returns
    -------
    MultiTaskConvEstimator
        A fitted estimator.

    Raises
    ------
    SkmtlFileError
        If the file is not an skmtl model, was written in another file format
        version or with another Keras major version, or holds a layer that
        would run code when loaded.

    Warns
    -----
    UserWarning
        If some parameters could not be saved and are back to their defaults.

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
    params, state = persistence.read(path)
    estimator = MultiTaskConvEstimator(**params)
    estimator._state = state
    return estimator


def _auto_epochs(n_train: int, config: TrainingConfig):
    """Epochs of an ``epochs="auto"`` fit on ``n_train`` rows, and the config
    with its passes."""
    budget = auto_budget(n_train, config.batch_size)
    return budget.epochs, replace(config, passes_per_epoch=budget.passes_per_epoch)


def _plan(fraction, config, inputs, targets, tasks, weights, seed, previous, *, stream):
    """The :class:`~skmtl.data.holdout.RowPlan` of one fit: keyed by the salt and
    bounded by the ``clean_below`` of the network's earlier fits."""
    if previous is None:
        salt, clean_below = seed, None
    else:
        earlier = previous.calibration
        salt = seed if earlier is None or earlier.salt is None else earlier.salt
        clean_below = 0.0 if earlier is None else earlier.clean_below
    return plan_rows(
        fraction,
        row_keys(inputs, salt),
        targets,
        tasks,
        weights,
        salt=salt,
        seed=seed,
        validation_fraction=config.validation_fraction
        if config.early_stopping
        else 0.0,
        keras_split=float(config.fit_params.get("validation_split", 0.0)),
        clean_below=clean_below,
        stream=stream,
    )
