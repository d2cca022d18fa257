"""How the per-task losses become one training loss: fixed or learned task weights.

Strategies (``loss_weighting=``):

``"fixed"``
    ``sum_t w_t L_t`` with ``w_t`` from ``loss_weights`` (default 1).
``"uncertainty"``
    Homoscedastic uncertainty weighting (Kendall, Gal & Cipolla, CVPR 2018): one
    learned log-variance ``s_t`` per task; a regression task adds
    ``0.5 exp(-s_t) L_t + 0.5 s_t``, a classification task
    ``exp(-s_t) L_t + 0.5 s_t``. A task whose loss stays high (noisy targets)
    learns a large ``s_t`` and so a small weight.
``"dwa"``
    Dynamic weight average (Liu, Johns & Davison, CVPR 2019): after two epochs,
    ``w_t = K softmax_t(r_t / T)`` with ``r_t = L_t(e-1) / L_t(e-2)``; a task
    whose loss falls slowly gets more weight. ``T`` is ``dwa_temperature``.
``"gradnorm"``
    GradNorm (Chen et al., ICML 2018): the weights are trained so that each
    task's gradient norm on the last shared layer, ``G_t = ||grad_W w_t L_t||``,
    approaches ``mean(G) * r_t^alpha`` where ``r_t`` is the task's relative
    inverse training rate; weights are renormalised to sum to the number of
    tasks. ``alpha`` is ``gradnorm_alpha``.

The :class:`MultiTaskTrainer` wraps the network for ``fit`` only: the fitted
estimator keeps (and saves) the plain network.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from numbers import Real

import keras
import numpy as np
import tensorflow as tf

from ..data.targets import REGRESSION, TaskSpec
from ..nn.chain import SHARED_DENSE
from ..utils.names import check_known
from .strategies import STRATEGIES

__all__ = [
    "STRATEGIES",
    "EpochEnd",
    "MultiTaskTrainer",
    "check_strategy",
    "resolve_loss_weights",
    "shared_layer",
    "task_loss",
    "task_metrics",
]


def task_loss(task: TaskSpec, reduction: str | None = None) -> keras.losses.Loss:
    """Loss of a task's head; per sample by default (the trainer reduces it)."""
    if task.kind == REGRESSION:
        return keras.losses.MeanSquaredError(reduction=reduction)
    if task.is_binary:
        return keras.losses.BinaryCrossentropy(reduction=reduction)
    return keras.losses.SparseCategoricalCrossentropy(reduction=reduction)


def resolve_loss_weights(
    weights: Mapping[str, float], tasks: Sequence[TaskSpec]
) -> dict[str, float]:
    """One finite, non-negative weight per task (1.0 where none is given)."""
    names = [t.name for t in tasks]
    check_known("loss_weights", weights, names)
    for name, value in weights.items():
        bad = isinstance(value, bool) or not isinstance(value, Real)
        if bad or not math.isfinite(value) or value < 0:
            raise ValueError(
                f"loss_weights[{name!r}] must be a finite number >= 0; got {value!r}."
            )
    resolved = {name: float(weights.get(name, 1.0)) for name in names}
    if resolved and not any(resolved.values()):
        raise ValueError(
            f"loss_weights are zero for every task ({resolved}): nothing would be "
            "trained. Give at least one task a positive weight."
        )
    return resolved


def task_metrics(task: TaskSpec, prefix: str = "") -> list[keras.metrics.Metric]:
    """Per-task metrics logged each epoch (weighted, so masked labels don't count)."""
    name = f"{prefix}{task.name}"
    if task.kind == REGRESSION:
        return [keras.metrics.MeanAbsoluteError(name=f"{name}_mean_absolute_error")]
    if task.is_binary:
        return [keras.metrics.BinaryAccuracy(name=f"{name}_accuracy")]
    return [keras.metrics.SparseCategoricalAccuracy(name=f"{name}_accuracy")]


def shared_layer(network: keras.Model, tasks: Sequence[TaskSpec]) -> keras.Layer:
    """The last layer every head depends on (GradNorm's ``W``).

    The default network's ``shared_dense``; otherwise the layer that feeds the
    first head, when it has weights.
    """
    try:
        return network.get_layer(SHARED_DENSE)
    except ValueError:
        pass
    head = network.output[tasks[0].name]._keras_history.operation
    layer = head
    # Walk back from the head through weightless layers (dropout, activation).
    while True:
        node = layer._inbound_nodes[0] if layer._inbound_nodes else None
        if node is None or not node.input_tensors:
            # A custom network whose heads share no trainable layer.
            raise ValueError(
                "loss_weighting='gradnorm' balances the task gradients on a "
                "shared trainable layer, and this network has none: its heads "
                "share no weight. Name the last layer every head reads "
                f"{SHARED_DENSE!r}, or use the default network."
            )
        inbound = node.input_tensors[0]._keras_history.operation
        if inbound.trainable_weights:
            return inbound
        layer = inbound


class MultiTaskTrainer(keras.Model):
    """Trains ``network`` on the weighted sum of per-task losses.

    Parameters
    ----------
    network : keras.Model
        Outputs a dict keyed by task name.
    tasks : sequence of TaskSpec
    strategy : {"fixed", "uncertainty", "dwa", "gradnorm"}
    loss_weights : dict
        Fixed weights (``"fixed"``) or initial weights (``"dwa"``, ``"gradnorm"``).
    dwa_temperature, gradnorm_alpha : float
    gradnorm_learning_rate : float
        Step size of the GradNorm weight update.
    """

    def __init__(
        self,
        network: keras.Model,
        tasks: Sequence[TaskSpec],
        *,
        strategy: str = "fixed",
        loss_weights: Mapping[str, float] | None = None,
        dwa_temperature: float = 2.0,
        gradnorm_alpha: float = 1.5,
        gradnorm_learning_rate: float = 0.025,
    ):
        super().__init__(name="skmtl_trainer")
        self.network = network
        self.tasks = list(tasks)
        self.names = [t.name for t in self.tasks]
        self.strategy = strategy
        self.dwa_temperature = float(dwa_temperature)
        self.gradnorm_alpha = float(gradnorm_alpha)
        self.gradnorm_learning_rate = float(gradnorm_learning_rate)
        n = len(self.tasks)
        initial = np.array(
            [float((loss_weights or {}).get(name, 1.0)) for name in self.names]
        )
        self.task_weights = self.add_weight(
            shape=(n,),
            initializer=keras.initializers.Constant(initial),
            trainable=False,
            name="task_weights",
        )
        # Kendall et al.: 1/(2 sigma^2) for regression, 1/sigma^2 for classification.
        self._uncertainty_factor = tf.constant(
            [0.5 if t.kind == REGRESSION else 1.0 for t in self.tasks], tf.float32
        )
        self.log_vars = self.add_weight(
            shape=(n,),
            initializer="zeros",
            trainable=strategy == "uncertainty",
            name="log_vars",
        )
        self.initial_losses = self.add_weight(
            shape=(n,), initializer="zeros", trainable=False, name="initial_losses"
        )
        self._losses_fns = {t.name: task_loss(t) for t in self.tasks}
        self.total_tracker = keras.metrics.Mean(name="loss")
        # The loss under the initial (fixed) weights: what early stopping judges
        # when the weights are learned.
        self.base_tracker = keras.metrics.Mean(name="base_loss")
        # Uncertainty weighting ignores loss_weights: its base is the plain sum.
        base = np.ones(n) if strategy == "uncertainty" else initial
        self._base_weights = tf.constant(base, tf.float32)
        self.loss_trackers = [keras.metrics.Mean(name=f"{t}_loss") for t in self.names]
        self.task_metric_objects = {t.name: task_metrics(t) for t in self.tasks}
        self._shared = (
            shared_layer(network, self.tasks) if strategy == "gradnorm" else None
        )
        self.epoch_losses: list[np.ndarray] = []

    @property
    def metrics(self):
        flat = [m for ms in self.task_metric_objects.values() for m in ms]
        return [self.total_tracker, self.base_tracker, *self.loss_trackers, *flat]

    def call(self, inputs, training=False):
        return self.network(inputs, training=training)

    def current_weights(self) -> tf.Tensor:
        if self.strategy == "uncertainty":
            return self._uncertainty_factor * tf.exp(-self.log_vars)
        return tf.convert_to_tensor(self.task_weights)

    def _task_losses(self, y, y_pred, sample_weight) -> list[tf.Tensor]:
        """Each task's weighted mean loss over the batch, as a list of scalars.

        A list, not a stacked tensor: GradNorm differentiates each element, and
        slicing a stack outside the tape would cut it from the graph.
        """
        losses = []
        for name in self.names:
            per_sample = self._losses_fns[name](y[name], y_pred[name])
            weight = tf.cast(sample_weight[name], per_sample.dtype)
            batch = tf.cast(tf.shape(per_sample)[0], per_sample.dtype)
            losses.append(tf.reduce_sum(per_sample * weight) / batch)
        return losses

    def _combine(self, losses: tf.Tensor) -> tf.Tensor:
        if self.strategy == "uncertainty":
            precision = self._uncertainty_factor * tf.exp(-self.log_vars)
            return tf.reduce_sum(precision * losses + 0.5 * self.log_vars)
        return tf.reduce_sum(tf.stop_gradient(self.task_weights) * losses)

    def _update_metrics(self, total, losses, y, y_pred, sample_weight):
        self.total_tracker.update_state(total)
        self.base_tracker.update_state(tf.reduce_sum(self._base_weights * losses))
        for i, name in enumerate(self.names):
            self.loss_trackers[i].update_state(losses[i])
            for metric in self.task_metric_objects[name]:
                metric.update_state(y[name], y_pred[name], sample_weight[name])

    def _logs(self) -> dict:
        logs = {m.name: m.result() for m in self.metrics}
        weights = self.current_weights()
        for i, name in enumerate(self.names):
            logs[f"weight_{name}"] = weights[i]
        return logs

    def optimized_variables(self) -> list:
        """The variables the optimizer updates: the network's, and the learned
        log-variances of the uncertainty strategy."""
        return self.network.trainable_variables + (
            [self.log_vars] if self.strategy == "uncertainty" else []
        )

    def train_step(self, data):
        x, y, sample_weight = data
        variables = self.optimized_variables()
        with tf.GradientTape(persistent=self.strategy == "gradnorm") as tape:
            y_pred = self(x, training=True)
            task_losses = self._task_losses(y, y_pred, sample_weight)
            losses = tf.stack(task_losses)
            total = self._combine(losses)
            # Keras sums gradients over replicas: scale to the global-batch mean;
            # and for float16 (a no-op unless the optimizer does loss scaling).
            replicas = tf.distribute.get_strategy().num_replicas_in_sync
            scaled = self.optimizer.scale_loss(total / replicas)
        grads = tape.gradient(scaled, variables)
        norms = self._gradnorm_step(tape, task_losses) if self._shared else None
        self.optimizer.apply(grads, variables)
        self._update_metrics(total, losses, y, y_pred, sample_weight)
        logs = self._logs()
        if norms is not None:
            for i, name in enumerate(self.names):
                logs[f"gradnorm_{name}"] = norms[i]
        return logs

    def _gradnorm_step(self, tape, losses) -> tf.Tensor:
        """One GradNorm update of the task weights (Chen et al., 2018, Alg. 1).

        Returns the weighted gradient norms ``G_t`` before the update.
        """
        kernel = self._shared.trainable_weights[0]
        norms = tf.stack([tf.norm(tape.gradient(loss, kernel)) for loss in losses])
        losses = tf.stack(losses)
        self.initial_losses.assign(
            tf.where(self.initial_losses > 0, self.initial_losses, losses)
        )
        weights = tf.convert_to_tensor(self.task_weights)
        weighted_norms = weights * norms
        # A task with no label in the batches seen so far has no initial loss
        # yet: its training rate counts as 1 (0/0 would turn every weight NaN).
        known = self.initial_losses > 0
        ratio = tf.where(known, losses / tf.where(known, self.initial_losses, 1.0), 1.0)
        inverse_rate = ratio / tf.reduce_mean(ratio)
        target = tf.stop_gradient(
            tf.reduce_mean(weighted_norms) * inverse_rate**self.gradnorm_alpha
        )
        # d/dw_t sum|w_t g_t - target_t| = sign(w_t g_t - target_t) g_t. Divided
        # by mean(g) so that a step is ~learning rate whatever the loss scale: raw
        # norms of 10-30 early in training zeroed a weight in one step.
        grad = (
            tf.sign(weighted_norms - target) * norms / (tf.reduce_mean(norms) + 1e-12)
        )
        updated = tf.maximum(weights - self.gradnorm_learning_rate * grad, 1e-3)
        n = tf.cast(tf.size(updated), updated.dtype)
        self.task_weights.assign(updated * n / tf.reduce_sum(updated))
        return weighted_norms

    def test_step(self, data):
        x, y, sample_weight = data
        y_pred = self(x, training=False)
        losses = tf.stack(self._task_losses(y, y_pred, sample_weight))
        total = self._combine(losses)
        self._update_metrics(total, losses, y, y_pred, sample_weight)
        return {m.name: m.result() for m in self.metrics}

    def end_epoch(self, logs: Mapping[str, float]) -> None:
        """Record the epoch's task losses; DWA re-weights from them."""
        self.epoch_losses.append(np.array([logs[f"{n}_loss"] for n in self.names]))
        if self.strategy != "dwa" or len(self.epoch_losses) < 2:
            return
        previous, current = self.epoch_losses[-2], self.epoch_losses[-1]
        rate = current / np.maximum(previous, 1e-12)
        scaled = np.exp((rate - rate.max()) / self.dwa_temperature)
        self.task_weights.assign(len(self.names) * scaled / scaled.sum())


class EpochEnd(keras.callbacks.Callback):
    """Hands each epoch's logs to the trainer (DWA) and stops on divergence.

    A non-finite task loss raises ``FloatingPointError`` naming the task, rather
    than letting training go on and return a model that predicts NaN.
    """

    def __init__(self, trainer: MultiTaskTrainer):
        super().__init__()
        self.trainer = trainer

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        diverged = [
            name
            for name in self.trainer.names
            if not math.isfinite(float(logs.get(f"{name}_loss", 0.0)))
        ]
        if diverged:
            raise FloatingPointError(
                f"Training diverged: the loss of task(s) {diverged} became NaN or "
                f"infinite in epoch {epoch + 1}. Usual causes: a learning rate too "
                "high (try a tenth of it), extreme input or target values (check "
                "for values like 1e30 or unit mix-ups), or a custom model without "
                "normalisation."
            )
        self.trainer.end_epoch(logs)


def check_strategy(strategy: str, tasks: Sequence[TaskSpec]) -> None:
    if strategy not in STRATEGIES:
        raise ValueError(
            f"loss_weighting={strategy!r}; expected one of {list(STRATEGIES)}."
        )
    if strategy == "gradnorm" and len(tasks) < 2:
        raise ValueError("loss_weighting='gradnorm' needs at least two tasks.")
