"""Keras layers that keep a variable-length signal's padding out of the network.

A ragged field reaches the network as ``(batch, T, C + 1)``, its last channel
1 on true steps (see :mod:`skmtl.data.ragged`). The trunks split that mask off,
zero the padded steps after every layer (so a convolution near a recording's
end sees the zeros a lone sample's ``same`` padding would), pool the mask with
the values, and average over true steps only.
"""

from __future__ import annotations

import keras
from keras import ops

__all__ = [
    "MaskedBatchNormalization",
    "MaskedDownsample",
    "apply_mask",
    "masked_downsample",
    "masked_average",
    "pool_mask",
    "split_mask",
    "step_mask",
]


@keras.saving.register_keras_serializable(package="skmtl")
class SplitMask(keras.layers.Layer):
    """``(batch, T, C + 1)`` -> values ``(batch, T, C)`` and mask ``(batch, T, 1)``."""

    def call(self, x):
        return x[..., :-1], x[..., -1:]


@keras.saving.register_keras_serializable(package="skmtl")
class ApplyMask(keras.layers.Layer):
    """Zero the padded steps: what a lone sample's ``same`` padding would see.

    It consumes the Keras mask a masked BatchNormalization attaches to its
    output (the zeros now carry that information), so no later layer warns
    that it cannot use one.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, x, keep):
        return x * ops.cast(keep, x.dtype)

    def compute_mask(self, inputs, mask=None):
        return None


@keras.saving.register_keras_serializable(package="skmtl")
class PoolMask(keras.layers.Layer):
    """The mask after ``MaxPooling1D(pool_size)``: a window is a true step only
    if all its steps are, as a lone sample's ``valid`` pooling drops a partial
    last window."""

    def __init__(self, pool_size: int, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = int(pool_size)

    def call(self, mask):
        return -ops.max_pool(-mask, self.pool_size, self.pool_size, padding="valid")

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size}


@keras.saving.register_keras_serializable(package="skmtl")
class MaskedAverage(keras.layers.Layer):
    """Global average over true steps only (divides by the true length)."""

    def call(self, x, mask):
        mask = ops.cast(mask, x.dtype)
        total = ops.sum(x * mask, axis=1)
        count = ops.maximum(ops.sum(mask, axis=1), 1.0)
        return total / count


@keras.saving.register_keras_serializable(package="skmtl")
class StepMask(keras.layers.Layer):
    """``(batch, T, 1)`` float mask -> ``(batch, T)`` booleans (BatchNorm's)."""

    def call(self, mask):
        return mask[..., 0] > 0.5


@keras.saving.register_keras_serializable(package="skmtl")
class MaskedBatchNormalization(keras.layers.BatchNormalization):
    """BatchNormalization whose batch statistics count true steps only.

    Keras' own masked moments broadcast the mask to the activations' full
    shape and select twice (three times the cost of the convolution it
    follows, measured); a ``(batch, T, 1)`` weight does the same sums.
    """

    def _moments(self, inputs, mask):
        if mask is None:
            return super()._moments(inputs, mask)
        weight = ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        axes = self._reduction_axes
        count = ops.maximum(ops.sum(weight, axis=axes), 1.0)
        # One pass over the activations: E[x] and E[x^2] over true steps.
        weighted = inputs * weight
        mean = ops.sum(weighted, axis=axes) / count
        mean_square = ops.sum(weighted * inputs, axis=axes) / count
        return mean, ops.maximum(mean_square - ops.square(mean), 0.0)

    def compute_mask(self, inputs, mask=None):
        # The step mask is an input of the trunk, not a Keras mask to carry on
        # (pooling and the final average would warn that they drop it).
        return None


@keras.saving.register_keras_serializable(package="skmtl")
class MaskedDownsample(keras.layers.Layer):
    """Average ``factor`` steps into one, over true steps only.

    Takes values ``(batch, T, C)`` and their mask ``(batch, T, 1)`` and returns
    ``(batch, ceil(T / factor), C + 1)``: each window's mean over its true
    steps, then the new mask (1 where the window holds a true step). A
    recording of ``n`` steps becomes one of ``ceil(n / factor)``: its last,
    partial window is kept, and the windows start at its first step whatever
    the batch's padding, so its result does not depend on its batch.
    """

    def __init__(self, factor: int, **kwargs):
        super().__init__(**kwargs)
        self.factor = int(factor)

    def call(self, values, mask):
        factor = self.factor
        mask = ops.cast(mask, values.dtype)
        steps = ops.shape(values)[1]
        extra = (factor - steps % factor) % factor
        widths = [[0, 0], [0, extra], [0, 0]]
        joined = ops.pad(ops.concatenate([values * mask, mask], axis=-1), widths)
        channels = joined.shape[-1]
        windows = ops.sum(
            ops.reshape(joined, (-1, (steps + extra) // factor, factor, channels)),
            axis=2,
        )
        count = windows[..., -1:]
        mean = windows[..., :-1] / ops.maximum(count, 1.0)
        return ops.concatenate([mean, ops.cast(count > 0, values.dtype)], axis=-1)

    def compute_output_shape(self, values_shape, mask_shape=None):
        steps = values_shape[1]
        steps = None if steps is None else -(-steps // self.factor)
        return (values_shape[0], steps, values_shape[2] + 1)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def masked_downsample(values, mask, factor: int, name: str):
    return MaskedDownsample(factor, name=name)(values, mask)


def step_mask(mask, name: str):
    return StepMask(name=name)(mask)


def split_mask(x, name: str):
    return SplitMask(name=f"{name}_split")(x)


def apply_mask(x, mask, name: str):
    return ApplyMask(name=name)(x, mask)


def pool_mask(mask, pool_size: int, name: str):
    return PoolMask(pool_size, name=name)(mask)


def masked_average(x, mask, name: str):
    return MaskedAverage(name=name)(x, mask)
