"""Sums whose result does not depend on the batch: one recording gets the same
outputs alone, in any batch and in any order.

oneDNN picks its matrix-product kernels by the CPU's instruction set *and by
the shapes*, so the same row's dot products are summed in another order when
it comes with other rows (one row is a matrix-vector product; 61 rows are
blocked). In float32 the results then differ in the last bits, and
MiniRocket's features, which count how often a convolution exceeds a bias
taken from the training recordings' own outputs, turn such a bit into a whole
count: on an AVX2 machine a probability moved by 0.046 between predicting a
subset and the whole set (issue 28).

Two fixes, one per kind of sum:

* MiniRocket's convolutions read their series rounded to a fixed grid
  (``skmtl.nn.rocket.MiniRocketFeatures(exact=True)``): with weights -1 and 2,
  nine taps and at most nine series per kernel, every partial sum is then an
  integer number of grid steps below ``2**24``, which float32 holds exactly,
  so every summation order gives the same number.
* Dense layers sum in float64 (:class:`ExactDense`, :func:`matmul_exact`).
  Each product of two float32 values is exact in float64 (48 significant bits
  of 53); a sum of ~10,000 of them rounds at ~1e-16 relative, about 1e9 times
  finer than float32's last bit, so its float32 result is the same in every
  order unless it falls within that distance of a rounding boundary.
"""

from __future__ import annotations

import keras

__all__ = ["ExactDense", "matmul_exact"]


def matmul_exact(a, b, dtype: str = "float32"):
    """``a @ b`` summed in float64, returned as ``dtype``.

    Parameters
    ----------
    a, b : tensors
        Operands of ``keras.ops.matmul`` (float32, or narrower).
    dtype : str, default="float32"
        The result's dtype.

    Returns
    -------
    tensor
        The product, independent of the batch it comes in.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.float32([[1e8, 1.0, -1e8]])
    >>> b = np.float32([[1.0], [1.0], [1.0]])
    >>> float(np.asarray(matmul_exact(a, b))[0, 0])  # float32 may give 0.0
    1.0
    """
    product = keras.ops.matmul(
        keras.ops.cast(a, "float64"), keras.ops.cast(b, "float64")
    )
    return keras.ops.cast(product, dtype)


@keras.saving.register_keras_serializable(package="skmtl")
class ExactDense(keras.layers.Dense):
    """A ``Dense`` layer whose dot products are summed in float64.

    Its weights, inputs and outputs are those of ``keras.layers.Dense``
    (float32 under the default policy), so everything that reads a ``Dense``
    (saving, the ridge refit, export) reads it the same way; only the sum is
    batch-invariant (see the module's notes).

    Parameters
    ----------
    *args, **kwargs
        Those of ``keras.layers.Dense``.

    Examples
    --------
    >>> import numpy as np
    >>> layer = ExactDense(3, kernel_initializer="ones")
    >>> x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    >>> bool((np.asarray(layer(x))[2:3] == np.asarray(layer(x[2:3]))).all())
    True
    """

    def call(self, inputs, training=None):
        """``activation(inputs @ kernel + bias)``, the product in float64
        (in training, float32: a gradient step has no batch to agree with)."""
        if training:
            x = keras.ops.matmul(inputs, keras.ops.cast(self.kernel, inputs.dtype))
        else:
            x = matmul_exact(inputs, self.kernel, self.compute_dtype)
        if self.bias is not None:
            x = keras.ops.add(x, keras.ops.cast(self.bias, self.compute_dtype))
        if self.activation is not None:
            x = self.activation(x)
        return x
