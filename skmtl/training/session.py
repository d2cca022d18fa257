"""A training session: trainer, optimizer, callbacks and distribution strategy.

A session is built from plain values (:class:`TrainingConfig`, resolved from
the estimator's parameters when training starts) and the network it trains. It
knows nothing of the estimator and is never pickled: an estimator that was
pickled, copied or loaded builds a new one at its next warm fit, and one whose
training parameters changed since the last fit builds a new one too (the
optimizer state and learned task weights then start afresh).
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields

import keras
import numpy as np
import tensorflow as tf

from ..data.targets import TaskSpec
from ..nn.frozen import FEATURES_INPUT, split_frozen_trunk, trunk_features
from ..utils.routing import routed
from ..utils.warnings import warn_user
from .batching import TaskBatches, in_graph_batches
from .weighting import (
    EpochEnd,
    MultiTaskTrainer,
    check_strategy,
    resolve_loss_weights,
    task_loss,
    task_metrics,
)

__all__ = [
    "TrainingConfig",
    "TrainingSession",
    "TrainingRun",
    "distribution_strategy",
    "keras_arguments",
]

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


def keras_arguments(prefix: str, routed: Mapping, method) -> dict:
    """Routed ``<prefix>__<name>`` parameters, checked against the Keras method.

    An unknown name would otherwise surface as Keras' own TypeError, which never
    mentions the routed parameter.

    Parameters
    ----------
    prefix : {"fit", "compile"}
        The routing prefix, which names the Keras method.
    routed : mapping
        ``{name: value}`` of the routed ``<prefix>__<name>`` parameters.
    method : callable
        ``keras.Model.fit`` or ``keras.Model.compile``.

    Returns
    -------
    dict
        A copy of ``routed``.

    Raises
    ------
    ValueError
        If a name is not an argument of ``method``, or is one skmtl sets itself.

    Examples
    --------
    >>> import keras
    >>> keras_arguments("fit", {"validation_split": 0.2}, keras.Model.fit)
    {'validation_split': 0.2}
    >>> keras_arguments("fit", {"epochs": 3}, keras.Model.fit)
    Traceback (most recent call last):
    ...
    ValueError: Unknown routed parameter(s) ['fit__epochs']: ...
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
    return dict(routed)


@dataclass(frozen=True)
class TrainingConfig:
    """The training parameters of one fit, resolved to plain values.

    :meth:`trainer_key` holds the fields that shape the trainer (weighting,
    loss weights, optimizer, compile options, strategy): a warm fit whose key
    differs from the session's builds a new session. The other fields are read
    at every fit.

    Parameters
    ----------
    loss_weighting : str
        ``"fixed"``, ``"uncertainty"``, ``"dwa"`` or ``"gradnorm"``.
    loss_weights : mapping
        ``{task: weight}``, routed ``loss_weights__<task>`` merged in.
    dwa_temperature, gradnorm_alpha : float
        Of the learned weightings.
    optimizer : str, class or keras.optimizers.Optimizer
        As the estimator's ``optimizer``.
    optimizer_params : mapping
        The routed ``optimizer__*`` parameters.
    learning_rate : float
        The optimizer's learning rate (unless routed).
    compile_params, fit_params : mapping
        The routed ``compile__*`` and ``fit__*`` parameters.
    batch_size : int
        Samples per optimizer step.
    passes_per_epoch : int
        Passes over the training samples in one Keras epoch (``epochs="auto"``
        groups the passes of a small set; see :mod:`skmtl.training.budget`).
    shuffle : bool
        Draw a new seeded order every pass.
    early_stopping : bool
        Hold out ``validation_fraction`` and stop after ``n_iter_no_change``
        epochs without a lower validation loss.
    validation_fraction : float
    n_iter_no_change : int
    distribute : None, "mirrored" or tf.distribute.Strategy
    mixed_precision : str or None
    verbose : int
        Keras' verbosity.

    Examples
    --------
    >>> from skmtl import MultiTaskConvEstimator
    >>> def config(**params):
    ...     return TrainingConfig.of(MultiTaskConvEstimator(**params).get_params())
    >>> a = config(learning_rate=1e-3, batch_size=16)
    >>> a.trainer_key() == config(learning_rate=1e-2).trainer_key()
    False
    """

    # No defaults: the estimator's parameter table declares them
    # (skmtl.estimator.parameters); :meth:`of` reads its get_params().
    loss_weighting: str
    loss_weights: Mapping[str, float]
    dwa_temperature: float
    gradnorm_alpha: float
    optimizer: object
    optimizer_params: Mapping
    learning_rate: float
    compile_params: Mapping
    fit_params: Mapping
    batch_size: int
    # Passes over the samples in one epoch (epochs="auto" groups the passes of
    # a small set: Keras spends tens of ms between epochs; skmtl.training.budget).
    passes_per_epoch: int
    shuffle: bool
    early_stopping: bool
    validation_fraction: float
    n_iter_no_change: int
    distribute: object
    mixed_precision: str | None
    verbose: int

    @classmethod
    def of(cls, params: Mapping) -> TrainingConfig:
        """The config of an estimator's ``get_params()`` (routed names
        included): routed ``loss_weights__<task>`` merged into
        ``loss_weights``, ``optimizer__*``, ``compile__*`` and ``fit__*``
        gathered, one pass per epoch."""
        plain = {
            f.name: params[f.name]
            for f in fields(cls)
            if f.name in params and f.name != "loss_weights"
        }
        return cls(
            **plain,
            loss_weights={
                **(params.get("loss_weights") or {}),
                **routed(params, "loss_weights"),
            },
            optimizer_params=routed(params, "optimizer"),
            compile_params=routed(params, "compile", nested=False),
            fit_params=routed(params, "fit", nested=False),
            passes_per_epoch=1,
        )

    def trainer_key(self) -> tuple:
        """The fields a training session is built from, as comparable values."""
        optimizer = self.optimizer
        if isinstance(optimizer, keras.optimizers.Optimizer):
            optimizer = (type(optimizer).__name__, repr(optimizer.get_config()))
        distribute = self.distribute
        if isinstance(distribute, tf.distribute.Strategy):
            distribute = id(distribute)
        return (
            self.loss_weighting,
            repr(sorted(self.loss_weights.items())),
            float(self.dwa_temperature),
            float(self.gradnorm_alpha),
            repr(optimizer),
            repr(sorted(self.optimizer_params.items())),
            float(self.learning_rate),
            repr(sorted(self.compile_params.items())),
            repr(distribute),
            self.mixed_precision,
        )

    def compile_kwargs(self, tasks: Sequence[TaskSpec], optimizer) -> dict:
        """``Model.compile`` arguments for the same training in plain Keras.

        skmtl itself trains through :class:`~skmtl.training.weighting.MultiTaskTrainer`;
        this is what the benchmarks compare it with.
        """
        return {
            "optimizer": optimizer,
            "loss": {
                t.name: task_loss(t, reduction="sum_over_batch_size") for t in tasks
            },
            "loss_weights": resolve_loss_weights(dict(self.loss_weights), tasks),
            # Weighted metrics skip masked (missing) labels; plain ones would not.
            "weighted_metrics": {t.name: task_metrics(t) for t in tasks},
            **keras_arguments("compile", self.compile_params, keras.Model.compile),
        }


def distribution_strategy(distribute, loss_weighting: str) -> tf.distribute.Strategy:
    """The ``distribute`` parameter as a strategy (the default one if None).

    Parameters
    ----------
    distribute : None, "mirrored" or tf.distribute.Strategy
        ``"mirrored"`` is ``tf.distribute.MirroredStrategy()`` over every
        visible GPU (the CPU if there is none).
    loss_weighting : str
        GradNorm refuses several replicas.

    Returns
    -------
    tf.distribute.Strategy

    Examples
    --------
    >>> distribution_strategy(None, "fixed").num_replicas_in_sync
    1
    """
    if distribute is None:
        return tf.distribute.get_strategy()
    if distribute == "mirrored":
        strategy = tf.distribute.MirroredStrategy()
    elif isinstance(distribute, tf.distribute.Strategy):
        strategy = distribute
    else:
        raise ValueError(
            f"distribute={distribute!r}; expected None, 'mirrored' or a "
            "tf.distribute.Strategy."
        )
    if loss_weighting == "gradnorm" and strategy.num_replicas_in_sync > 1:
        raise ValueError(
            "loss_weighting='gradnorm' updates its weights inside each step "
            "and does not support several replicas; use another strategy or "
            "distribute=None."
        )
    return strategy


def _unchanged(grads_and_vars):
    return grads_and_vars


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


@dataclass(frozen=True)
class TrainingRun:
    """What one call to :meth:`TrainingSession.fit` produced.

    Parameters
    ----------
    logs : dict
        Keras' per-epoch logs of this call.
    n_epochs : int
        Epochs run.
    best_epoch : int
        The (1-based) epoch whose weights were kept (early stopping), else the
        last.
    task_weights : dict
        ``{task: weight}`` in force at the end.
    features : ndarray or None
        The fixed trunk's features of every sample, ``(n_samples, k)``, where
        the session trained only the heads (None otherwise): what a closed-form
        refit of the heads reads (:mod:`skmtl.training.shrinkage`), computed once.

    Examples
    --------
    >>> run = TrainingRun({"loss": [0.9, 0.5]}, 2, 2, {"y": 1.0})
    >>> run.n_epochs
    2
    """

    logs: dict[str, list[float]]
    n_epochs: int
    best_epoch: int
    task_weights: dict[str, float]
    features: np.ndarray | None = field(default=None, repr=False)


class TrainingSession:
    """Trains one network with the trainer, optimizer and strategy of a config.

    Parameters
    ----------
    config : TrainingConfig
    model : keras.Model
        The network, built under ``strategy``'s scope.
    tasks : sequence of TaskSpec
    strategy : tf.distribute.Strategy
        From :func:`distribution_strategy`.
    make_optimizer : callable
        Returns a new optimizer; called under ``strategy``'s scope, where its
        variables must be created.

    Examples
    --------
    >>> from skmtl import MultiTaskConvEstimator
    >>> from skmtl.training.session import TrainingConfig
    >>> def config(**params):
    ...     return TrainingConfig.of(MultiTaskConvEstimator(**params).get_params())
    >>> a = config(loss_weighting="dwa", batch_size=8)
    >>> b = config(loss_weighting="dwa", batch_size=64)
    >>> a.trainer_key() == b.trainer_key()  # batch size is read at each fit
    True
    """

    def __init__(
        self,
        config: TrainingConfig,
        model: keras.Model,
        tasks: Sequence[TaskSpec],
        strategy: tf.distribute.Strategy,
        make_optimizer: Callable[[], keras.optimizers.Optimizer],
    ):
        self.config = config
        self.key = config.trainer_key()
        self.model = model
        # A trunk fixed during training (the "rocket" trunk) is run once per
        # fit and only the heads are trained, on its features (skmtl.nn.frozen).
        split = split_frozen_trunk(model)
        self._trunk, self._network = split if split is not None else (None, model)
        self.tasks = list(tasks)
        self.strategy = strategy
        check_strategy(config.loss_weighting, self.tasks)
        if config.loss_weighting == "uncertainty" and config.loss_weights:
            warn_user(
                "loss_weighting='uncertainty' learns every task's weight; the "
                "loss_weights given are not used."
            )
        with strategy.scope():
            self.trainer = self._make_trainer(make_optimizer())

    def _make_trainer(self, optimizer) -> MultiTaskTrainer:
        config = self.config
        trainer = MultiTaskTrainer(
            self._network,
            self.tasks,
            strategy=config.loss_weighting,
            loss_weights=resolve_loss_weights(dict(config.loss_weights), self.tasks),
            dwa_temperature=config.dwa_temperature,
            gradnorm_alpha=config.gradnorm_alpha,
        )
        compile_params = keras_arguments(
            "compile", config.compile_params, keras.Model.compile
        )
        if config.mixed_precision == "mixed_float16":
            # float16 gradients underflow without loss scaling (bfloat16 don't).
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        trainer.compile(optimizer=optimizer, **compile_params)
        self._compiled_steps_per_execution = trainer.steps_per_execution
        # Built here, eagerly: slots created inside a traced train step add
        # tf.cond branch functions to TensorFlow's process-wide function library
        # that are never removed (tests/test_leaks.py; 16 per model of a plain
        # Keras fit, and the reason a long search grew without bound).
        trainer.optimizer.build(trainer.optimized_variables())
        if self.strategy.num_replicas_in_sync == 1:
            _skip_gradient_all_reduce(trainer.optimizer)
        return trainer

    def _set_steps_per_execution(self, steps: int | None) -> None:
        """Run ``steps`` optimizer steps per compiled call (None: as compiled).

        The training and evaluation functions bake the number in when traced,
        so they are traced again when it changes (once per fit at most).
        """
        trainer = self.trainer
        if steps is None:
            steps = self._compiled_steps_per_execution
        if trainer.steps_per_execution != steps:
            trainer.steps_per_execution = steps
            trainer.train_function = trainer.test_function = None

    def fits(self, config: TrainingConfig, model: keras.Model) -> bool:
        """Whether this session can go on training ``model`` under ``config``."""
        return model is self.model and config.trainer_key() == self.key

    def close(self) -> None:
        """End the session (its training raised: the optimizer may be
        half-updated); :meth:`fits` is False from now on."""
        self.model = None

    def fit(
        self,
        inputs: Mapping[str, np.ndarray],
        targets: Mapping[str, np.ndarray],
        weights: Mapping[str, np.ndarray],
        *,
        config: TrainingConfig,
        epochs: int,
        initial_epoch: int,
        seed: int,
        callbacks: Sequence[keras.callbacks.Callback] = (),
        rows: np.ndarray | None = None,
        validation: np.ndarray | None = None,
        features: np.ndarray | None = None,
    ) -> TrainingRun:
        """Train for ``epochs`` epochs, numbered from ``initial_epoch``.

        ``config`` may differ from the session's in its per-fit fields (batch
        size, early stopping, ``fit__*``, verbosity); ``callbacks`` are the
        user's, for this fit. ``rows`` (None: all) are the samples the
        optimizer steps on and ``validation`` early stopping's, both planned
        by :func:`skmtl.data.holdout.plan_rows`; no other sample is read.
        ``features``: the fixed trunk's features of every sample, where the
        caller has them (else computed here).
        """
        fit_params = keras_arguments("fit", config.fit_params, keras.Model.fit)
        fit_params.pop("validation_split", None)  # planned: ``validation``
        if self._trunk is None:
            features = None
        else:
            if features is None:
                features = trunk_features(self._trunk, inputs)[FEATURES_INPUT]
            inputs = {FEATURES_INPUT: features}
        validation_data = None
        if validation is not None:
            validation_data = TaskBatches(
                inputs,
                targets,
                weights,
                batch_size=config.batch_size,
                shuffle=False,
                rows=validation,
            )
        batches = TaskBatches(
            inputs,
            targets,
            weights,
            batch_size=config.batch_size,
            shuffle=config.shuffle,
            # Offset by the epochs already run, so partial_fit and warm starts
            # do not replay the same batch order.
            seed=seed + initial_epoch,
            rows=rows,
            passes=config.passes_per_epoch,
        )
        steps_per_epoch = None
        # The same batches from in-graph tensors where the data are small
        # (skmtl.training.batching.in_graph_batches); one replica only: a strategy
        # would re-batch the pipeline.
        stream = None
        if self.strategy.num_replicas_in_sync == 1 and "steps_per_epoch" not in (
            fit_params
        ):
            stream = in_graph_batches(batches, repeat=True)
        if stream is not None:
            steps_per_epoch = len(batches)
            if validation_data is not None:
                validation_data = in_graph_batches(validation_data, repeat=False)
            batches = stream
        self._set_steps_per_execution(
            _steps_per_execution(
                steps_per_epoch, epochs, callbacks, config.compile_params
            )
        )
        callbacks = [EpochEnd(self.trainer), *callbacks]
        stopper = None
        if config.early_stopping:
            stopper = keras.callbacks.EarlyStopping(
                mode="min",
                # Learned weights move the weighted loss; judge on a fixed one.
                monitor="val_loss"
                if config.loss_weighting == "fixed"
                else "val_base_loss",
                patience=config.n_iter_no_change,
                restore_best_weights=True,
            )
            callbacks.append(stopper)
        history = self.trainer.fit(
            batches,
            epochs=initial_epoch + epochs,
            initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch,
            validation_data=validation_data,
            callbacks=callbacks,
            verbose=keras_verbosity(config.verbose),
            # TaskBatches shuffles in a seeded order; Keras would reshuffle the
            # batches with Python's global RNG.
            shuffle=False,
            **fit_params,
        )
        logs = {
            key: [float(v) for v in values] for key, values in history.history.items()
        }
        n_epochs = len(logs.get("loss", []))
        best = stopper.best_epoch + 1 - initial_epoch if stopper else n_epochs
        return TrainingRun(
            logs=logs,
            n_epochs=n_epochs,
            best_epoch=best,
            task_weights=self.task_weights(),
            features=features,
        )

    def task_weights(self) -> dict[str, float]:
        """``{task: weight}`` in force now."""
        final = self.trainer.current_weights().numpy()
        return dict(zip(self.trainer.names, final.tolist(), strict=True))


def keras_verbosity(verbose):
    """Keras' ``verbose`` for skmtl's: the progress bar only on a terminal.

    Keras redraws its bar with ``\b`` and ``\r`` on any POSIX system, terminal
    or not: a 15-epoch demo wrote 300 KB of them into a log file. Off a terminal
    (a log file, CI, a captured notebook cell) ``verbose=1`` and ``"auto"``
    print Keras' one line per epoch instead (its ``verbose=2``).

    Examples
    --------
    >>> keras_verbosity(0), keras_verbosity(2)
    (0, 2)
    """
    if verbose not in (1, "auto"):
        return verbose
    try:
        terminal = sys.stdout.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        terminal = False
    return verbose if terminal else 2


#: Most optimizer steps one compiled call runs (``steps_per_execution``).
MAX_STEPS_PER_EXECUTION = 32
#: Fewest steps in a fit for several steps per call: tracing the multi-step
#: loop costs about 0.2 s more than tracing one step (measured on the tiny
#: networks of the test suite), which the saving per step (0.3-1 ms) repays
#: from a few hundred steps on.
MIN_STEPS_FOR_MULTI_STEP = 400
_BATCH_HOOKS = (
    "on_batch_begin",
    "on_batch_end",
    "on_train_batch_begin",
    "on_train_batch_end",
)


def _steps_per_execution(
    steps_per_epoch: int | None,
    epochs: int,
    callbacks: Sequence[keras.callbacks.Callback],
    compile_params: Mapping,
) -> int | None:
    """How many steps one compiled call runs; None keeps the compiled value.

    Several steps per call save Python's dispatch per step (a third of a small
    set's step time). Only with in-graph batches (``steps_per_epoch`` known),
    only for a fit of at least :data:`MIN_STEPS_FOR_MULTI_STEP` steps, only
    for a number that divides the epoch (one iterator serves every epoch, so a
    call must not run into the next one), and only when no callback of the
    user's acts on single batches (Keras calls batch hooks once per call).
    A routed ``compile__steps_per_execution`` is the user's to keep.

    Examples
    --------
    >>> _steps_per_execution(51, 40, [], {}), _steps_per_execution(3, 200, [], {})
    (17, 3)
    >>> _steps_per_execution(None, 10, [], {}), _steps_per_execution(64, 10, [], {})
    (1, 32)
    >>> _steps_per_execution(8, 2, [], {})  # 16 steps: tracing would not pay
    1
    """
    if "steps_per_execution" in compile_params:
        return None
    if (
        steps_per_epoch is None
        or steps_per_epoch * epochs < MIN_STEPS_FOR_MULTI_STEP
        or any(_acts_per_batch(cb) for cb in callbacks)
    ):
        return 1
    return max(
        d for d in range(1, MAX_STEPS_PER_EXECUTION + 1) if steps_per_epoch % d == 0
    )


def _acts_per_batch(callback: keras.callbacks.Callback) -> bool:
    base = keras.callbacks.Callback
    return any(
        getattr(type(callback), hook, None) is not getattr(base, hook)
        for hook in _BATCH_HOOKS
    )


def extend_history(history: Mapping[str, list], logs: Mapping[str, list]) -> dict:
    """One fit's per-epoch logs appended to ``history``, one value per epoch.

    A warm-started fit may log keys the earlier ones did not (``val_*`` once
    early stopping is on) or the reverse: the epochs without a key hold NaN, so
    ``history[key][i]`` is always epoch ``i + 1``.

    Parameters
    ----------
    history : mapping
        ``{key: per-epoch values}`` so far.
    logs : mapping
        One fit's Keras logs.

    Returns
    -------
    dict
        A new dict; ``history`` is not changed.

    Examples
    --------
    >>> extend_history({"loss": [1.0]}, {"loss": [0.5], "val_loss": [0.7]})
    {'loss': [1.0, 0.5], 'val_loss': [nan, 0.7]}
    """
    before = len(history.get("loss", []))
    ran = len(logs.get("loss", []))
    out = {key: list(values) for key, values in history.items()}
    for key, values in logs.items():
        out.setdefault(key, [np.nan] * before).extend(map(float, values))
    for key, values in out.items():
        if key not in logs:
            values.extend([np.nan] * ran)
    return out
