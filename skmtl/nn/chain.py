"""Heads that read each other: the shared task layer of the default network.

On a fixed trunk (MiniRocket's features), independent linear heads share no
trainable weight, so a loss weight changes nothing (Adam's update ignores a
constant scale of one head's loss) and a task with few labels learns nothing
from its partner. The default network therefore puts every task's linear
predictor in **one** shared layer, ``shared_dense`` (its units are the tasks'
logits or standardised values, block by block), passes each block through its
task's activation (:class:`TaskOutputs`: class probabilities, values), and
gives each task a head that reads its own block *and every task's outputs*:

``head_t = act_t(z_t A_t + o B_t + b_t)``, with ``A_t = I`` and ``B_t = 0`` at
initialisation, so training starts from independent linear heads.

What this buys (``benchmarks/mtl_scarce.py``, ``docs/multitask.md``):

* every task's loss reaches every block of ``shared_dense`` through the other
  heads, so ``loss_weights`` and the learned weightings act, and GradNorm has
  a shared layer to balance;
* a task with few labels reads its partner's outputs, which are trained on
  every row the partner has a label for (as scikit-learn's
  ``ClassifierChain``, but inside one network trained jointly).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from .exact import ExactDense

__all__ = ["TaskOutputs", "chained_heads"]

#: The shared layer of every task's linear predictor, which training finds by
#: this name (GradNorm's shared layer, the closed-form head refits).
SHARED_DENSE = "shared_dense"
#: The layer that splits ``shared_dense`` into each task's activated block.
TASK_OUTPUTS = "task_outputs"


@keras.saving.register_keras_serializable(package="skmtl")
class TaskOutputs(keras.layers.Layer):
    """Apply each task's activation to its block of a shared layer's units.

    Parameters
    ----------
    activations : sequence of str
        One Keras activation per block (``"softmax"``, ``"sigmoid"``,
        ``"linear"``).
    units : sequence of int
        The width of each block, in order; they sum to the input width.
    **kwargs
        Passed to ``keras.layers.Layer`` (``name``, ``dtype``).

    Examples
    --------
    >>> import numpy as np
    >>> layer = TaskOutputs(["softmax", "linear"], [2, 1])
    >>> np.round(np.asarray(layer(np.array([[0.0, 0.0, 3.0]]))), 2)
    array([[0.5, 0.5, 3. ]], dtype=float32)
    """

    def __init__(self, activations: Sequence[str], units: Sequence[int], **kwargs):
        super().__init__(**kwargs)
        if len(activations) != len(units):
            raise ValueError("TaskOutputs needs one activation per block of units.")
        self.activations = [str(a) for a in activations]
        self.units = [int(u) for u in units]

    def call(self, inputs):
        """The blocks of ``inputs``, each through its activation, rejoined."""
        blocks, start = [], 0
        for activation, width in zip(self.activations, self.units, strict=True):
            block = inputs[:, start : start + width]
            blocks.append(keras.activations.get(activation)(block))
            start += width
        return keras.ops.concatenate(blocks, axis=-1)

    def compute_output_shape(self, input_shape):
        """The input's shape: each block keeps its width."""
        return input_shape

    def get_config(self) -> dict:
        """The layer's arguments, for saving."""
        return {
            **super().get_config(),
            "activations": list(self.activations),
            "units": list(self.units),
        }


def chained_heads(
    features: keras.KerasTensor,
    tasks,
    *,
    namer,
    seeds,
    dropout: float,
    activation_of,
) -> dict[str, keras.KerasTensor]:
    """The shared task layer and one head per task reading every task's output.

    Parameters
    ----------
    features : KerasTensor
        The trunk's features.
    tasks : sequence of TaskSpec
    namer : skmtl.utils.names.LayerNamer
        Gives layer names clear of the trunk's.
    seeds : iterator of int or None
        Per-layer seeds (``skmtl.nn.network.layer_seeds``).
    dropout : float
        Dropout on the features, before the shared layer (0 to skip it); the
        estimator's ``dropout``.
    activation_of : callable
        ``activation_of(task) -> str``, the head's activation.

    Returns
    -------
    dict of str to KerasTensor
        ``{task: head output}``.

    Examples
    --------
    >>> import keras
    >>> import pandas as pd
    >>> from skmtl.utils.names import LayerNamer
    >>> from skmtl.nn.chain import chained_heads
    >>> from skmtl.nn.seeds import layer_seeds
    >>> from skmtl.data.targets import TargetEncoder
    >>> y = pd.DataFrame({"material": ["a", "b", "c", "a"],
    ...                   "density": [1.0, 2.0, 3.0, 4.0]})
    >>> tasks = TargetEncoder().fit(y).tasks_
    >>> heads = chained_heads(
    ...     keras.Input((16,)), tasks, namer=LayerNamer(()), seeds=layer_seeds(0),
    ...     dropout=0.0, activation_of=lambda t: "softmax" if t.units > 1 else "linear")
    >>> {name: tuple(t.shape) for name, t in heads.items()}
    {'material': (None, 3), 'density': (None, 1)}
    """
    units = [task.units for task in tasks]
    width = sum(units)
    x = features
    if dropout:
        x = keras.layers.Dropout(
            dropout, seed=next(seeds), name=namer.name("shared_dropout")
        )(x)
    logits = ExactDense(
        width,
        kernel_initializer=keras.initializers.GlorotUniform(seed=next(seeds)),
        name=namer.name(SHARED_DENSE),
    )(x)
    outputs = TaskOutputs(
        [activation_of(task) for task in tasks], units, name=namer.name(TASK_OUTPUTS)
    )(logits)
    both = keras.layers.Concatenate(name=namer.name("task_chain"))([logits, outputs])
    heads, start = {}, 0
    for task in tasks:
        # Starts as the task's own block of logits: independent linear heads.
        kernel = np.zeros((2 * width, task.units), np.float32)
        kernel[start : start + task.units] = np.eye(task.units, dtype=np.float32)
        start += task.units
        head = ExactDense(
            task.units,
            activation=activation_of(task),
            kernel_initializer="zeros",
            name=namer.name(f"head_{task.name}"),
            dtype="float32",
        )
        heads[task.name] = head(both)
        head.kernel.assign(kernel)
    return heads
