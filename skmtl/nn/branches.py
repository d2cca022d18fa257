"""The trainable trunks' branches: skmtl's conv stages, and the FCN and ResNet
of Wang, Yan & Oates (2017), each over one group of equal-length signals.

A branch takes ``(x, n_steps, name, *, filters, kernel_size, pool_size,
seeds, mask=None)`` and returns the branch's feature vector (its average over
steps: over true steps only, for a variable-length signal's ``mask``).
:func:`skmtl.nn.network.conv_trunk` picks one by the ``trunk`` parameter.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import keras

from .masking import (
    MaskedBatchNormalization,
    apply_mask,
    masked_average,
    pool_mask,
    step_mask,
)

__all__ = ["FCN_KERNELS", "conv_branch", "fcn_branch", "resnet_branch"]

#: Kernel sizes of both published trunks (Wang, Yan & Oates, 2017).
FCN_KERNELS = (8, 5, 3)


def _conv_bn_relu(
    x,
    width: int,
    kernel: int,
    name: str,
    seeds,
    relu: bool = True,
    index="",
    mask=None,
):
    """``Conv1D(same, no bias) -> BatchNorm -> ReLU``: the unit of every trunk.

    With the ``mask`` of a variable-length signal, the padded steps are zeroed
    first (the convolution then sees what a lone recording's ``same`` padding
    gives it) and BatchNorm's statistics use true steps only. That is the one
    place padding could leak into true steps: a pooled window that holds
    padding is masked out (:func:`skmtl.nn.masking.pool_mask`), and the final
    average counts true steps only.
    """
    if mask is not None:
        x = apply_mask(x, mask, f"{name}_mask{index}")
    x = keras.layers.Conv1D(
        width,
        kernel,
        padding="same",
        use_bias=False,
        kernel_initializer=keras.initializers.HeNormal(seed=next(seeds)),
        name=f"{name}_conv{index}",
    )(x)
    # Momentum 0.9, not 0.99: a small data set gives few steps, and the moving
    # statistics used at predict must converge within them.
    if mask is None:
        x = keras.layers.BatchNormalization(momentum=0.9, name=f"{name}_bn{index}")(x)
    else:
        bn = MaskedBatchNormalization(momentum=0.9, name=f"{name}_bn{index}")
        x = bn(x, mask=step_mask(mask, f"{name}_steps{index}"))
    if relu:
        x = keras.layers.Activation("relu", name=f"{name}_relu{index}")(x)
    return x


def _global_average(x, name: str, mask=None):
    """Average over steps: the true steps only, for a variable-length signal."""
    if mask is None:
        return keras.layers.GlobalAveragePooling1D(name=f"{name}_gap")(x)
    return masked_average(x, mask, f"{name}_gap")


def conv_branch(
    x,
    n_steps: int,
    name: str,
    *,
    filters: Sequence[int],
    kernel_size: int,
    pool_size: int,
    seeds: Iterator[int | None],
    mask=None,
):
    """skmtl's trunk: conv stages, each pooled while the branch is long enough.

    ``n_steps`` is the branch's length (a variable-length signal's shortest
    recording at fit): pooling stops before it would empty the branch.
    """
    length = n_steps
    for i, width in enumerate(filters):
        x = _conv_bn_relu(x, width, kernel_size, name, seeds, index=i, mask=mask)
        if pool_size > 1 and length >= pool_size:
            x = keras.layers.MaxPooling1D(pool_size, name=f"{name}_pool{i}")(x)
            if mask is not None:
                # A window is a true step only if all its steps are, as a lone
                # sample's "valid" pooling drops a partial last window.
                mask = pool_mask(mask, pool_size, f"{name}_poolmask{i}")
            length //= pool_size
    return _global_average(x, name, mask)


def fcn_branch(x, n_steps, name, *, filters, kernel_size, pool_size, seeds, mask=None):
    """FCN (Wang, Yan & Oates, 2017): three conv-BN-ReLU blocks, no pooling."""
    for i, width in enumerate(filters):
        kernel = FCN_KERNELS[min(i, len(FCN_KERNELS) - 1)]
        x = _conv_bn_relu(x, width, kernel, f"{name}_block{i}", seeds, mask=mask)
    return _global_average(x, name, mask)


def resnet_branch(
    x, n_steps, name, *, filters, kernel_size, pool_size, seeds, mask=None
):
    """ResNet (Wang, Yan & Oates, 2017): three residual blocks of three convs."""
    for i, width in enumerate(filters):
        block = f"{name}_res{i}"
        shortcut = _conv_bn_relu(
            x, width, 1, f"{block}_short", seeds, relu=False, mask=mask
        )
        y = x
        for j, kernel in enumerate(FCN_KERNELS):
            y = _conv_bn_relu(
                y, width, kernel, f"{block}_{j}", seeds, relu=j < 2, mask=mask
            )
        # Both terms are zero on padding, and so is the ReLU of their sum.
        x = keras.layers.Add(name=f"{block}_add")([shortcut, y])
        x = keras.layers.Activation("relu", name=f"{block}_out")(x)
    return _global_average(x, name, mask)
