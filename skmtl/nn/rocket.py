"""A MiniRocket trunk made of Keras layers: fixed kernels, biases adapted at fit.

MiniRocket (Dempster, Schmidt & Webb, KDD 2021) convolves each series with 84
fixed length-9 kernels (weights -1 and 2, the 2s at one of the 84 choices of 3
positions out of 9) at dilations spread exponentially up to the series length,
subtracts biases drawn from quantiles of the convolution outputs on training
series, and keeps the proportion of positive values (PPV) of each output: about
10,000 features that a linear model separates as well as the best deep networks
on the UCR archive, in a fraction of their training time.

Here the transform is one non-trainable Keras layer, :class:`MiniRocketFeatures`,
so that skmtl's trainable multi-task heads sit on top and the whole network
stays one ``keras.Model`` (saved in safe mode, exported as a SavedModel). Its
kernels follow from its configuration; its biases and the standardisation of
its features are data-dependent, set once per fit by :func:`adapt_rocket`
before training (like a ``Normalization`` layer's ``adapt``). Several channels
are combined as MiniRocket's multivariate variant does: each kernel and
dilation sums the convolutions of a random subset of channels.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping

import keras
import numpy as np

from .masking import masked_downsample

__all__ = [
    "GRID_BOUND",
    "MAX_STEPS",
    "MiniRocketFeatures",
    "PASS_BYTES",
    "adapt_rocket",
    "rocket_branch",
    "rocket_columns",
    "rocket_dilations",
    "rows_per_pass",
    "scale_rocket_features",
]

_KERNEL_LENGTH = 9
# The 84 kernels: weight 2 at three of the nine positions, -1 elsewhere.
_KERNELS = np.full((84, _KERNEL_LENGTH), -1.0, dtype=np.float32)
for _k, _positions in enumerate(itertools.combinations(range(_KERNEL_LENGTH), 3)):
    _KERNELS[_k, list(_positions)] = 2.0
_N_KERNELS = len(_KERNELS)
# Most steps counted in one uint8 sum.
_UINT8_STEPS = 255
# Rows of training data used to set the features' standardisation.
_ADAPT_ROWS = 512
#: Fewest rows :func:`adapt_rocket` sets feature scales from: fewer would make
#: most features constant (one row: all of them), scaled to 0 for good.
MIN_ADAPT_ROWS = 4
_ADAPT_CHUNK = 64
#: Bytes of comparisons (84 kernels x biases x steps, one byte each) that one
#: forward pass makes at its widest dilation: rows go through in chunks of
#: about this size, not of hundreds, so the comparisons stay in the CPU's
#: caches. Rows per second against 256-row passes, interleaved: 1.23x at 16
#: rows of 468 steps (0.9 MB a row), 1.11x at 32-64 rows of 150 steps, 1.07x
#: at 64-128 rows of 60 steps (12-26 MB in each); 4x smaller or larger passes
#: gained less.
PASS_BYTES = 16 * 2**20
#: Longest signal the "rocket" branch convolves; longer ones are averaged down.
MAX_STEPS = 512
#: With ``exact``, the normalised series are clipped at +-this (64 standard
#: deviations: a step in a smooth signal is many of its differences' ones).
GRID_BOUND = 64.0
#: Most memory the kernels and per-dilation plans of one layer may take (a
#: ``(84, n_steps)`` mask and ``(9, series, 84)`` kernels per dilation): what a
#: layer built from a saved configuration can allocate, whatever it declares.
MAX_PLAN_BYTES = 2**30
# Scale of the standardised features; None: 1 / sqrt(n_features) (see adapt).
_GAIN = None


def rocket_dilations(
    n_steps: int, n_features: int = 10_000, max_dilations: int = 32
) -> tuple[np.ndarray, np.ndarray]:
    """MiniRocket's dilations and the number of features (biases) of each.

    Dilations are spread exponentially from 1 to ``(n_steps - 1) / 8``, so that
    the widest kernel spans the series; each of the 84 kernels gets
    ``n_features // 84`` features, shared out over its dilations.

    Parameters
    ----------
    n_steps : int
        Length of the series.
    n_features : int, default=10_000
        Requested number of features (rounded down to a multiple of 84, at
        least 84).
    max_dilations : int, default=32
        Most dilations per kernel.

    Returns
    -------
    dilations, features_per_dilation : ndarray of int
        Equal lengths; ``84 * features_per_dilation.sum()`` features in all.

    Examples
    --------
    >>> dilations, per = rocket_dilations(150)
    >>> dilations.tolist(), int(84 * per.sum())
    ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15, 16, 18], 9996)
    """
    per_kernel = max(n_features // _N_KERNELS, 1)
    n_dilations = min(per_kernel, max_dilations)
    multiplier = per_kernel / n_dilations
    max_exponent = np.log2(max(n_steps - 1, 1) / (_KERNEL_LENGTH - 1))
    max_exponent = max(max_exponent, 0.0)
    dilations, counts = np.unique(
        np.logspace(0, max_exponent, n_dilations, base=2).astype(np.int32),
        return_counts=True,
    )
    per_dilation = (counts * multiplier).astype(np.int64)
    remainder = per_kernel - int(per_dilation.sum())
    i = 0
    while remainder > 0:
        per_dilation[i] += 1
        remainder -= 1
        i = (i + 1) % len(per_dilation)
    return dilations.astype(np.int64), per_dilation


def _quantiles(n: int) -> np.ndarray:
    # A low-discrepancy sequence in (0, 1): the golden ratio's multiples mod 1.
    return ((np.arange(1, n + 1) * ((np.sqrt(5) + 1) / 2)) % 1).astype(np.float32)


@keras.saving.register_keras_serializable(package="skmtl")
class MiniRocketFeatures(keras.layers.Layer):
    """MiniRocket's transform as a non-trainable layer: ``(batch, steps, channels)``
    to ``(batch, n_features)`` standardised PPV features.

    Parameters
    ----------
    n_steps, n_channels : int
        Shape of the series this layer reads (its input is
        ``(batch, n_steps, n_channels)``).
    n_features : int, default=10_000
        Requested number of features (a multiple of 84 is kept; see
        :func:`rocket_dilations`).
    max_dilations : int, default=32
        Most dilations per kernel.
    seed : int, default=0
        Draws the channel combinations and, in :meth:`adapt`, the training
        series each bias is taken from.
    difference : bool, default=False
        Convolve each channel's first difference too (scaled to unit variance
        on the training series in :meth:`adapt`), as MultiRocket does: the
        kernels then combine ``2 * n_channels`` series. skmtl's networks set
        it; the default keeps models saved before it read as they were.
    exact : bool, default=False
        Round the series the kernels read to a grid (:attr:`grid_bits` binary
        digits), so that every convolution sum is exact in float32, whatever
        order the matrix product adds it in: a recording gets the same
        features alone and in any batch, on any CPU. skmtl's networks set it;
        the default keeps models saved before it read as they were.
    grid : {"absolute", "relative"}, default="absolute"
        With ``exact``: a fixed grid (digits after the point, clipped at
        +-:data:`GRID_BOUND`), or one per recording, relative to its largest
        value, which keeps the shape of recordings far smaller or larger than
        the field's spread. skmtl's networks set "relative"; the default keeps
        models saved before it read as they were.
    ragged : bool, default=False
        Read recordings of any length: the input is then ``(batch, steps,
        n_channels + 1)``, its last channel 1 on a recording's true steps and
        0 on its padding (:mod:`skmtl.data.ragged`), ``steps`` is free, and
        ``n_steps`` is only the reference length the dilations follow from
        (the longest training recording). Each recording is convolved as if
        alone, set in the field's background level (learned by :meth:`adapt`),
        and its PPV are counted over its own outputs, as MiniRocket's
        variable-length variant does; its mean level per channel and log
        length follow (:meth:`_summary`).
    **kwargs
        Passed to ``keras.layers.Layer`` (``name``, ``dtype``).

    Notes
    -----
    Until :meth:`adapt` is called the biases are 0 and the features are not
    standardised. Half of the kernel/dilation pairs read the zero-padded
    output ("same"), the other half only its valid part, as in MiniRocket.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.nn.rocket import MiniRocketFeatures
    >>> layer = MiniRocketFeatures(64, 2, n_features=840, seed=0)
    >>> x = np.random.default_rng(0).normal(size=(10, 64, 2)).astype("float32")
    >>> layer.adapt(x)
    >>> features = np.asarray(layer(x))
    >>> features.shape, bool(abs(features.mean(axis=0)).max() < 1e-4)
    ((10, 840), True)
    """

    def __init__(
        self,
        n_steps: int,
        n_channels: int,
        n_features: int = 10_000,
        max_dilations: int = 32,
        seed: int = 0,
        difference: bool = False,
        exact: bool = False,
        ragged: bool = False,
        grid: str = "absolute",
        **kwargs,
    ):
        super().__init__(trainable=False, **kwargs)
        self.n_steps = int(n_steps)
        self.n_channels = int(n_channels)
        self.n_features_requested = int(n_features)
        self.max_dilations = int(max_dilations)
        self.seed = int(seed)
        self.difference = bool(difference)
        self.exact = bool(exact)
        self.ragged = bool(ragged)
        if grid not in ("absolute", "relative"):
            raise ValueError(f"grid={grid!r}; expected 'absolute' or 'relative'.")
        self.grid = grid
        # The series the kernels read: the channels, then their differences.
        self.n_series = self.n_channels * (2 if self.difference else 1)
        self.dilations, self.features_per_dilation = rocket_dilations(
            self.n_steps, self.n_features_requested, self.max_dilations
        )
        self.n_features = int(_N_KERNELS * self.features_per_dilation.sum())
        # A ragged layer also gives each recording's level per channel and its
        # log length (see _summary).
        self.n_summary = self.n_channels + 1 if self.ragged else 0
        self.n_outputs = self.n_features + self.n_summary
        self._check_plan_size()
        self._kernel_values = self._kernels()
        # The convolutions read 4 * max(dilation) zeros either side; the steps
        # are padded to ``chunks * chunk`` so that counts fit in uint8.
        self._margin = (_KERNEL_LENGTH // 2) * int(self.dilations.max())
        chunks = -(-self.n_steps // _UINT8_STEPS)
        self._chunks = (chunks, -(-self.n_steps // chunks))
        self._padded_steps = chunks * self._chunks[1]
        self._plans = self._plan()

    def _check_plan_size(self) -> None:
        """Refuse sizes whose plans would not fit :data:`MAX_PLAN_BYTES`."""
        per_dilation = _N_KERNELS * (self.n_steps + 9 * self.n_series) * 4
        planned = len(self.dilations) * per_dilation
        if planned > MAX_PLAN_BYTES:
            raise ValueError(
                f"MiniRocketFeatures(n_steps={self.n_steps}, "
                f"n_channels={self.n_channels}) would take {planned / 2**30:.1f} "
                f"GiB for its kernels and plans (at most {MAX_PLAN_BYTES / 2**30:g} "
                "GiB): use fewer steps or channels (rocket_branch averages long "
                f"signals down to {MAX_STEPS} steps first)."
            )

    @property
    def rows_per_pass(self) -> int | float:
        """Rows whose comparisons at the widest dilation take about
        :data:`PASS_BYTES` (at least 8): a pass of that many keeps them in the
        CPU's caches. Unbounded (``inf``) where TensorFlow sees a GPU: the
        comparisons stay in its memory, and it wants large batches."""
        import tensorflow as tf

        if tf.config.list_logical_devices("GPU"):
            return float("inf")
        per_row = _N_KERNELS * int(self.features_per_dilation.max())
        return max(8, PASS_BYTES // (per_row * self._padded_steps))

    @property
    def grid_bits(self) -> int:
        """Binary digits the series keep with ``exact``: after the point
        (``grid="absolute"``), or below each recording's leading digit
        (``grid="relative"``).

        A kernel sums 9 taps of at most 9 series (its channel combination),
        each weighed -1 or 2 and at most :data:`GRID_BOUND` (absolute), or
        ``2**e`` for a recording below ``2**e`` (relative), in size: with this
        many digits every partial sum is an integer multiple of the grid step
        below ``2**24`` steps, which float32 holds exactly.
        """
        terms = _KERNEL_LENGTH * min(self.n_series, _KERNEL_LENGTH)
        bound = GRID_BOUND if self.grid == "absolute" else 1.0
        return 24 - int(np.ceil(np.log2(2 * bound * terms)))

    # ------------------------------------------------------------- config
    def _kernels(self) -> list[np.ndarray]:
        """One ``(9, series, 84)`` kernel per dilation, subsets of the series drawn."""
        rng = np.random.default_rng(self.seed)
        kernels = []
        max_exponent = np.log2(min(self.n_series, _KERNEL_LENGTH) + 1)
        for _ in self.dilations:
            mask = np.zeros((self.n_series, _N_KERNELS), dtype=np.float32)
            sizes = (2 ** rng.uniform(0, max_exponent, _N_KERNELS)).astype(int)
            for k, size in enumerate(np.clip(sizes, 1, self.n_series)):
                mask[rng.choice(self.n_series, size, replace=False), k] = 1.0
            kernels.append(_KERNELS.T[:, None, :] * mask[None, :, :])
        return kernels

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("trainable", None)
        config.update(
            n_steps=self.n_steps,
            n_channels=self.n_channels,
            n_features=self.n_features_requested,
            max_dilations=self.max_dilations,
            seed=self.seed,
            difference=self.difference,
            exact=self.exact,
            ragged=self.ragged,
            grid=self.grid,
        )
        return config

    # ---------------------------------------------------------------- build
    def build(self, input_shape):
        # The data-dependent values are weights, so that a saved model keeps them.
        self.biases = [
            self.add_weight(
                shape=(_N_KERNELS, int(n)),
                initializer="zeros",
                trainable=False,
                name=f"biases_d{int(d)}",
            )
            for d, n in zip(self.dilations, self.features_per_dilation, strict=True)
        ]
        self.feature_mean = self.add_weight(
            shape=(self.n_outputs,),
            initializer="zeros",
            trainable=False,
            name="feature_mean",
        )
        self.feature_scale = self.add_weight(
            shape=(self.n_outputs,),
            initializer="ones",
            trainable=False,
            name="feature_scale",
        )
        if self.difference:
            self.difference_scale = self.add_weight(
                shape=(self.n_channels,),
                initializer="ones",
                trainable=False,
                name="difference_scale",
            )
        if self.ragged:
            self.background = self.add_weight(
                shape=(self.n_channels,),
                initializer="zeros",
                trainable=False,
                name="background",
            )

    def _plan(self) -> list[tuple]:
        """Per dilation: the kernels' order, their ``(84, 9 * channels)`` weights
        in that order, the additive mask of the steps each one averages over and
        those steps' count.

        The kernels are ordered as the features are: those that read the padded
        output, then those that read its valid part (:meth:`_groups`), so the
        PPV of each dilation come out in the features' order with no gather.
        """
        steps = self._padded_steps
        plan = []
        for i, dilation in enumerate(self.dilations):
            pad = (_KERNEL_LENGTH - 1) * int(dilation) // 2
            groups = self._groups(i, pad)
            order = np.concatenate([kernels for kernels, _ in groups])
            # Steps outside a kernel's range (and past the series, where the
            # steps were padded for the uint8 counts) read -inf: never counted.
            mask = np.zeros((_N_KERNELS, steps), dtype=np.float32)
            length = np.zeros((_N_KERNELS, 1), dtype=np.float32)
            row = 0
            for kernels, (start, stop) in groups:
                mask[row : row + len(kernels), :start] = -np.inf
                mask[row : row + len(kernels), stop:] = -np.inf
                length[row : row + len(kernels)] = stop - start
                row += len(kernels)
            plan.append(
                (
                    int(dilation),
                    order.astype(np.int32),
                    self._weights_matrix(i)[order],
                    mask if np.isinf(mask).any() else None,
                    length,
                )
            )
        return plan

    def _weights_matrix(self, i: int) -> np.ndarray:
        """Dilation i's kernels as an ``(84, 9 * series)`` matrix: row k holds
        kernel k's weight for tap j and series c at column ``j * series + c``,
        the order of :meth:`_taps`'s rows."""
        kernels = self._kernel_values[i]  # (9, series, 84)
        return np.ascontiguousarray(kernels.reshape(-1, _N_KERNELS).T)

    def _taps(self, padded, dilation: int, width=None, axis: int = 1, margin=None):
        """``(batch, 9 * channels, width)``: the nine dilated shifts of the
        series, stacked (a dilated convolution's im2col); ``(9 * channels,
        batch, width)`` with ``axis=0``, for series laid out channels first.

        ``padded`` is the series time last, zero-padded by ``margin`` (``4 *
        max(dilations)`` unless given) on the left and as much plus ``width -
        steps`` on the right (``width``: the steps counted, the uint8 padding
        included; the static ``_padded_steps`` unless given). A convolution is
        then one matrix product per dilation: TensorFlow's CPU kernel for
        dilated ``Conv1D`` took 1.5-2.7x as long (1 and 64 rows of 468 steps x
        2 channels) and gave bit-identical outputs.
        """
        import tensorflow as tf

        margin = self._margin if margin is None else margin
        width = self._padded_steps if width is None else width
        starts = [margin + (j - _KERNEL_LENGTH // 2) * dilation for j in range(9)]
        return tf.concat([padded[..., s : s + width] for s in starts], axis=axis)

    def _series(self, x, ragged: bool = False):
        """The series the kernels read: the channels, then their differences,
        on the grid with ``exact``.

        Recordings (``ragged``) are zero beyond their steps, and their
        differences are those of the recording set in zeros: one step longer,
        from the zero before its start to the zero after its end (on
        JapaneseVowels these two steps lifted accuracy from 0.964 to 0.972).
        """
        import tensorflow as tf

        if self.difference:
            if ragged:
                x = tf.pad(x, [[0, 0], [0, 1], [0, 0]])
                steps = x - tf.pad(x[:, :-1], [[0, 0], [1, 0], [0, 0]])
            else:
                steps = tf.pad(x[:, 1:] - x[:, :-1], [[0, 0], [1, 0], [0, 0]])
            x = tf.concat([x, steps * self.difference_scale], axis=-1)
        if self.exact and self.grid == "relative":
            return _on_relative_grid(x, self.grid_bits)
        if self.exact:
            step = 2.0**-self.grid_bits
            x = tf.round(tf.clip_by_value(x, -GRID_BOUND, GRID_BOUND) / step) * step
        return x

    def _pad(self, x, extra=None):
        """The series time last, zero-padded for :meth:`_taps` (``extra`` more
        steps on the right: the static uint8 padding unless given)."""
        import tensorflow as tf

        margin = self._margin
        extra = self._padded_steps - self.n_steps if extra is None else extra
        return tf.pad(
            tf.transpose(x, (0, 2, 1)), [[0, 0], [0, 0], [margin, margin + extra]]
        )

    def _own_convolutions(self, x, i: int):
        """``(84, steps)``: kernel k's outputs at dilation index i ("same"
        padding) on series k of ``x``, 84 series (a ragged layer's ``x``
        carries its mask channel; the outputs then span the batch's steps).

        One kernel per series, not all 84 on each: 84x less work than the
        full convolution, and the same sums (exact on the grid with ``exact``).
        """
        import tensorflow as tf

        weights = tf.constant(self._weights_matrix(i)[:, None, :], dtype=x.dtype)
        if self.ragged:
            series = self._series(self._recordings(x)[0], ragged=True)
            steps = tf.shape(series)[1]
            taps = self._taps(self._pad(series, 0), int(self.dilations[i]), steps)
            return tf.matmul(weights, taps)[:, 0]
        taps = self._taps(self._pad(self._series(x)), int(self.dilations[i]))
        return tf.matmul(weights, taps)[:, 0, : self.n_steps]

    def _raw_features(self, x):
        if self.ragged:
            return self._ragged_features(x)
        import tensorflow as tf

        # Channels first, (series, batch, steps): each dilation's convolution
        # is then one plain matrix product (84, 9 * series) @ (9 * series,
        # batch * steps), not a batch of small ones, and the comparisons
        # broadcast over three axes, not four. Features bit-identical; the
        # layer 4-8% faster at 1-256 rows (seed shape, interleaved).
        padded = tf.transpose(self._pad(self._series(x)), (1, 0, 2))
        steps = self._padded_steps
        parts = []
        for i, (dilation, order, weights, mask, length) in enumerate(self._plans):
            taps = self._taps(padded, dilation, axis=0)
            conv = tf.matmul(
                tf.constant(weights, dtype=x.dtype),
                tf.reshape(taps, (9 * self.n_series, -1)),
            )
            conv = tf.reshape(conv, (_N_KERNELS, -1, steps))
            if mask is not None:
                conv = conv + tf.constant(mask[:, None, :], dtype=x.dtype)
            parts.append(self._ppv(conv, i, order, self._chunks, length[:, :, None]))
        features = tf.concat(parts, axis=0) if len(parts) > 1 else parts[0]
        return tf.transpose(features)

    def _ppv(self, conv, i: int, order, chunks, length):
        """``(84 * biases, batch)`` proportions of ``conv``, ``(84, batch,
        steps)``, above each bias of dilation index i (steps to skip read
        -inf), over ``length`` steps (broadcast against ``(84, biases,
        batch)``)."""
        import tensorflow as tf

        biases = tf.gather(self.biases[i], order, axis=0)
        n = int(biases.shape[-1])
        # (84, biases, batch, steps): the one big tensor, and most of the
        # layer's time. Counted in uint8 over chunks of at most 255 steps,
        # then in float32: the comparisons cast to float32 moved 4x the bytes
        # and took 1.5-1.8x as long (64 rows). Counts are exact.
        hits = tf.cast(conv[:, None] > biases[:, :, None, None], tf.uint8)
        shape = tf.stack([_N_KERNELS, n, -1, *chunks])
        counts = tf.reduce_sum(tf.reshape(hits, shape), axis=-1)
        counts = tf.reduce_sum(tf.cast(counts, conv.dtype), axis=-1)
        if isinstance(length, np.ndarray):
            # A fixed length: TensorFlow's graph optimiser turns a division by
            # a constant into a product with its float32 reciprocal, eager
            # execution divides. Written as that product, the layer gives the
            # same features eagerly (adapt, ``layer(x)``) as traced (predict);
            # divided, half of them differed in the last bit.
            ppv = counts * tf.constant(np.float32(1) / length, conv.dtype)
        else:
            ppv = counts / tf.cast(length, conv.dtype)
        return tf.reshape(ppv, (_N_KERNELS * n, -1))

    def _recordings(self, x):
        """A ragged input's values about the field's background level, zero
        on padding, and its ``(batch, steps, 1)`` mask."""
        mask = x[..., -1:]
        return (x[..., :-1] - self.background) * mask, mask

    def _ragged_features(self, x):
        """:meth:`_raw_features` of recordings of any length (``ragged``).

        Each recording is convolved as if alone, set in zeros (its values
        about the field's background), and its PPV are counted over its own
        outputs only: for the kernels that read the zero-padded output, every
        output that reads one of its steps (from ``4 * dilation`` steps before
        its start to as many after its end); for the others, those their
        kernel covers fully (or all, where there are none). Then the
        :meth:`_summary` of each recording.
        """
        import tensorflow as tf

        values, mask = self._recordings(x)
        lengths = tf.reduce_sum(mask, axis=1, keepdims=True)  # (batch, 1, 1)
        # Channels first, as in _raw_features: (series, batch, steps).
        series = tf.transpose(self._series(values, ragged=True), (2, 0, 1))
        steps = tf.shape(series)[2]
        per_row = tf.reshape(lengths, (1, -1, 1))  # (1, batch, 1)
        # Rows of each dilation's kernels (in the features' order) that read
        # the valid part of the output where a recording has one.
        reads_valid = np.arange(_N_KERNELS)[:, None, None] >= _N_KERNELS // 2
        parts = []
        for i, (dilation, order, weights) in enumerate(self._ragged_plans()):
            pad = (_KERNEL_LENGTH - 1) * dilation // 2
            # Output p is centred on step p - pad: the first pad outputs read
            # the zeros before the recording's start.
            span = steps + 2 * pad
            chunks = (span + _UINT8_STEPS - 1) // _UINT8_STEPS
            chunk = (span + chunks - 1) // chunks
            width = chunks * chunk
            padded = tf.pad(series, [[0, 0], [0, 0], [2 * pad, width - steps]])
            # Read as padded by pad only: the extra pad zeros on the left give
            # the outputs centred before the recording's start.
            taps = self._taps(padded, dilation, width, axis=0, margin=pad)
            conv = tf.matmul(
                tf.constant(weights, dtype=x.dtype),
                tf.reshape(taps, (9 * self.n_series, -1)),
            )
            conv = tf.reshape(conv, (_N_KERNELS, -1, width))  # (84, batch, width)
            valid = tf.logical_and(reads_valid, per_row - 2 * pad >= 1)
            start = tf.where(valid, 2.0 * pad, 0.0)
            stop = tf.where(valid, per_row, per_row + 2 * pad)
            position = tf.cast(tf.range(width), x.dtype)
            inside = tf.logical_and(position >= start, position < stop)
            conv = tf.where(inside, conv, tf.constant(-np.inf, x.dtype))
            length = tf.transpose(stop - start, (0, 2, 1))  # (84, 1, batch)
            parts.append(self._ppv(conv, i, order, (chunks, chunk), length))
        features = tf.transpose(tf.concat(parts, axis=0))
        return tf.concat([features, self._summary(values, lengths)], axis=-1)

    def _summary(self, values, lengths):
        """``(batch, channels + 1)``: each recording's mean level per channel
        (about the background) and its log length.

        MiniRocket's kernels sum to zero, so a recording's level and length
        reach its PPV only through its edges (and, in a zero-padded batch,
        through the padding). Read on its own, a recording gives them here:
        on JapaneseVowels they lifted a ridge on the features from 0.968 and
        0.962 to 0.981 and 0.984 (seeds 0, 1). Summed in float64, so that the
        batch's padding does not change the last bit.
        """
        import tensorflow as tf

        total = tf.reduce_sum(tf.cast(values, tf.float64), axis=1)
        steps = tf.cast(lengths[:, 0], tf.float64)
        level = tf.cast(total / tf.maximum(steps, 1.0), values.dtype)
        return tf.concat([level, tf.math.log(tf.maximum(lengths[:, 0], 1.0))], axis=-1)

    def _ragged_plans(self) -> list[tuple]:
        """Per dilation, as a ragged layer reads it: the kernels' order (those
        that read the padded output, then, always, the others) and their
        weights in that order. Which of the latter read the valid part is
        decided per recording (:meth:`_ragged_features`)."""
        plans = []
        for i, dilation in enumerate(self.dilations):
            order = np.concatenate(self._alternation(i))
            weights = self._weights_matrix(i)[order]
            plans.append((int(dilation), order.astype(np.int32), weights))
        return plans

    @staticmethod
    def _alternation(i: int) -> tuple[np.ndarray, np.ndarray]:
        """The kernels at dilation index ``i`` that average their whole
        zero-padded output (``i + k`` even), and those that average only the
        steps they cover fully (MiniRocket's alternation)."""
        return np.arange(i % 2, _N_KERNELS, 2), np.arange(1 - i % 2, _N_KERNELS, 2)

    def _groups(self, i: int, pad: int):
        """The kernels that read the padded output, then those that read the
        valid part, with the steps each group averages over (all of them,
        for every kernel, where no step is covered fully)."""
        if self.n_steps - 2 * pad < 1:
            return [(np.arange(_N_KERNELS), (0, self.n_steps))]
        padded, valid = self._alternation(i)
        return [(padded, (0, self.n_steps)), (valid, (pad, self.n_steps - pad))]

    def call(self, inputs):
        features = self._raw_features(inputs)
        return (features - self.feature_mean) * self.feature_scale

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n_outputs)

    # ---------------------------------------------------------------- adapt
    def adapt(self, x: np.ndarray, scales: bool = True) -> None:
        """Set the biases and the features' standardisation from training series.

        Each kernel/dilation pair takes its biases from the quantiles of its
        output on one training series drawn at random (seeded by ``seed``);
        then the features of up to 512 series give their mean and scale.

        Parameters
        ----------
        x : ndarray of shape (n_samples, n_steps, n_channels)
            Training series, as this layer receives them (normalised; a
            ragged layer's with their mask channel last, any ``n_steps``).
        scales : bool, default=True
            False leaves the scaling the identity, for :meth:`set_scales`.
        """
        from keras import ops

        x = np.asarray(x, dtype=np.float32)
        if not self.built:
            self.build(x.shape)
        # A ragged layer's input carries its mask: the steps each recording has.
        lengths = None
        if self.ragged:
            lengths = x[..., -1].sum(axis=1).round().astype(np.int64)
            # Each recording is read as embedded in the field's background:
            # its median over true steps (robust to a few large recordings).
            background = np.median(x[x[..., -1] > 0][:, :-1], axis=0)
            self.background.assign(background.astype(np.float32))
        if self.difference:
            # Differences of smooth series are small: scaled to unit variance,
            # they weigh as much as the series in the kernels that sum both.
            std = np.zeros(self.n_channels)
            steps = np.diff(x[..., : self.n_channels], axis=1)
            if lengths is not None:
                steps = steps[x[:, 1:, -1] > 0][None]  # within a recording only
            if steps.size:
                std = steps.std(axis=(0, 1))
            scale = np.where(std > 1e-6, 1 / np.maximum(std, 1e-6), 1.0)
            self.difference_scale.assign(scale.astype(np.float32))

        def trimmed(rows):
            """Those rows (of a ragged layer, cut to their longest member)."""
            return x[rows] if lengths is None else x[rows, : lengths[rows].max()]

        rng = np.random.default_rng([self.seed, 1])
        quantiles = _quantiles(self.n_features)
        start = 0
        for i, n in enumerate(self.features_per_dilation):
            rows = rng.integers(len(x), size=_N_KERNELS)
            # Kernel k's output on its own series (its own steps).
            own = self._own_convolutions(ops.convert_to_tensor(trimmed(rows)), i)
            own = np.asarray(own)
            if lengths is not None:
                own = [o[:length] for o, length in zip(own, lengths[rows], strict=True)]
            q = quantiles[start : start + _N_KERNELS * int(n)].reshape(_N_KERNELS, n)
            biases = np.stack([np.quantile(own[k], q[k]) for k in range(_N_KERNELS)])
            self.biases[i].assign(biases.astype(np.float32))
            start += _N_KERNELS * int(n)
        sample = np.arange(len(x))
        if len(x) > _ADAPT_ROWS:
            sample = np.sort(rng.choice(len(x), _ADAPT_ROWS, replace=False))
        if lengths is not None:
            # Similar lengths together: each chunk pads to its own longest.
            sample = sample[np.argsort(lengths[sample], kind="stable")]
        if not scales:
            # Identity scales: the caller sets them (set_scales) from the raw
            # features it computes anyway, once for every row.
            self.feature_mean.assign(np.zeros(self.n_outputs, np.float32))
            self.feature_scale.assign(np.ones(self.n_outputs, np.float32))
            return
        features = []
        per_pass = min(_ADAPT_CHUNK, self.rows_per_pass)
        for rows in np.array_split(sample, max(1, -(-len(sample) // per_pass))):
            batch = ops.convert_to_tensor(trimmed(rows))
            features.append(np.asarray(self._raw_features(batch)))
        self.set_scales(np.concatenate(features))

    def set_scales(self, features: np.ndarray) -> None:
        """Set the features' mean and scale from raw ``features`` of training
        series, ``(n_samples, n_outputs)``.

        Parameters
        ----------
        features : ndarray
            This layer's raw features (before standardisation) of up to 512
            training series.
        """
        std = features.std(axis=0)
        # Unit variance over the samples, and 1/sqrt(n_features) on top: then a
        # sample's feature vector has norm ~1, so the heads' initial outputs are
        # ~0 (not ~N(0, 2) for Glorot weights on 10,000 unit features: noise
        # that training on a few dozen samples cannot remove) and one Adam step
        # moves them by ~lr, not by ~lr * n_features.
        gain = np.full(self.n_outputs, 1.0 / np.sqrt(self.n_features))
        if _GAIN is not None:
            gain[:] = _GAIN
        # The summary block (ragged) weighs as much as all the PPV together.
        gain[self.n_features :] = 1.0 / np.sqrt(max(self.n_summary, 1))
        # A feature constant on the training data carries nothing: keep it at 0.
        scale = np.where(std > 1e-6, gain / np.maximum(std, 1e-6), 0.0)
        self.feature_mean.assign(features.mean(axis=0).astype(np.float32))
        self.feature_scale.assign(scale.astype(np.float32))


def _on_relative_grid(x, bits: int):
    """Each recording of ``x`` rounded to ``bits`` binary digits below its
    leading one: to multiples of ``2**(e - bits)``, ``2**e`` the smallest power
    of two above its largest absolute value.

    The step follows from the recording alone (not its batch), and ``e`` is
    read from the float's exponent bits, not a logarithm, so it is the same
    on every CPU. A fixed grid would round a recording 10,000 times smaller
    than the field's spread (PLAID's appliances span six orders of magnitude)
    to zero; this one keeps its shape.
    """
    import tensorflow as tf

    largest = tf.reduce_max(tf.abs(x), axis=[1, 2], keepdims=True)
    exponent = tf.bitwise.bitwise_and(
        tf.bitwise.right_shift(tf.bitcast(largest, tf.int32), 23), 255
    )
    # frexp's exponent (largest < 2**e) is exponent - 126; 2**(bits - e),
    # within float32's normal range, built from its bits: exact everywhere.
    power = tf.clip_by_value(bits - (exponent - 126), -126, 127)
    scale = tf.bitcast(tf.bitwise.left_shift(power + 127, 23), tf.float32)
    return tf.round(x * scale) / scale


def rocket_branch(
    x,
    n_steps,
    name,
    *,
    filters,
    kernel_size,
    pool_size,
    seeds,
    difference=True,
    mask=None,
):
    """The ``"rocket"`` branch of :func:`skmtl.nn.network.conv_trunk`.

    A signal longer than :data:`MAX_STEPS` is averaged over windows of
    ``ceil(n_steps / MAX_STEPS)`` steps first; then one
    :class:`MiniRocketFeatures` layer on the signals and, unless
    ``difference=False``, their first differences (float32 also under mixed
    precision).

    Parameters
    ----------
    x : KerasTensor
        The normalised, stacked signals of one length: ``(batch, n_steps,
        n_channels)``.
    n_steps : int
        Their length (of a variable-length signal: its longest at fit, the
        reference length of the dilations).
    name : str
        Prefix of the layers' names.
    filters : sequence of int or None
        ``(n_features,)``: the number of features requested (10,000 if None
        or empty), rounded down to a multiple of 84, at least 84.
        :func:`~skmtl.nn.network.conv_trunk` passes one number, having
        warned about any other.
    kernel_size, pool_size : int
        Not used (MiniRocket's kernels have length 9 and no pooling); there
        for the signature every branch shares.
    seeds : iterator of int or None
        The next seed draws the layer's channel combinations and biases.
    difference : bool, default=True
        Convolve the signals' first differences too (``trunk="rocket"``);
        False is MiniRocket alone (``trunk="minirocket"``).
    mask : KerasTensor or None, default=None
        A variable-length signal's ``(batch, steps, 1)`` mask of true steps:
        the layer then reads each recording over its own steps (averaged down
        over true steps only; :class:`~skmtl.nn.masking.MaskedDownsample`).

    Returns
    -------
    KerasTensor
        ``(batch, n_features)`` features.

    Examples
    --------
    >>> import keras
    >>> from skmtl.nn.seeds import layer_seeds
    >>> from skmtl.nn.rocket import rocket_branch
    >>> x = keras.Input((2000, 2))
    >>> out = rocket_branch(x, 2000, "b", filters=(168,), kernel_size=7,
    ...                     pool_size=4, seeds=layer_seeds(0))
    >>> tuple(out.shape)
    (None, 168)
    """
    n_features = int(filters[0]) if filters else 10_000
    seed = next(seeds)
    factor = -(-n_steps // MAX_STEPS)
    if mask is not None:
        # Values and mask joined again, the padding zeroed (and averaged over
        # true steps only): a ragged MiniRocketFeatures reads both.
        x = masked_downsample(x, mask, factor, f"{name}_downsample")
        n_steps = -(-n_steps // factor)
    elif factor > 1:
        # The transform costs n_steps x n_features per sample: a long signal is
        # averaged down to at most MAX_STEPS steps first.
        x = keras.layers.AveragePooling1D(factor, name=f"{name}_downsample")(x)
        n_steps //= factor
    return MiniRocketFeatures(
        n_steps,
        int(x.shape[-1]) - (mask is not None),
        n_features=n_features,
        seed=0 if seed is None else seed,
        difference=difference,
        exact=True,
        grid="relative",
        ragged=mask is not None,
        # Thresholds compared in half precision would flip many PPV counts.
        dtype="float32",
        name=f"{name}_rocket",
    )(x)


def rocket_layers(model: keras.Model) -> Iterator[MiniRocketFeatures]:
    """The :class:`MiniRocketFeatures` layers of ``model`` (nested ones too)."""
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, MiniRocketFeatures):
            yield layer


def rows_per_pass(model: keras.Model, rows: int) -> int:
    """``rows``, or fewer where ``model`` has a MiniRocket layer and runs on
    the CPU: the rows of one forward pass
    (:attr:`MiniRocketFeatures.rows_per_pass`). Features and outputs do not
    depend on it (the layer is batch-invariant).

    Examples
    --------
    >>> import keras
    >>> x = keras.Input((468, 2))
    >>> model = keras.Model(x, MiniRocketFeatures(468, 2)(x))
    >>> rows_per_pass(model, 256), rows_per_pass(model, 4)
    (18, 4)
    """
    for layer in rocket_layers(model):
        rows = min(rows, layer.rows_per_pass)
    return rows


def adapt_rocket(
    model: keras.Model, inputs: Mapping[str, np.ndarray], scales: bool = True
) -> int:
    """Adapt every :class:`MiniRocketFeatures` layer of ``model`` to training data.

    Each layer's input (the normalised, stacked signals) is computed from the
    model's inputs and passed to its :meth:`~MiniRocketFeatures.adapt`. A model
    without such layers is left as it is.

    Parameters
    ----------
    model : keras.Model
        A functional model whose inputs are named after fields.
    inputs : dict of str to ndarray
        Training data by input name.
    scales : bool, default=True
        False sets the biases only, the scaling left the identity for
        :func:`scale_rocket_features`.

    Returns
    -------
    int
        The number of layers adapted.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl import MultiTaskConvEstimator
    >>> from skmtl.data.inputs import infer_schema, encode
    >>> from skmtl.nn.network import build_network, network_parameters
    >>> from skmtl.nn.rocket import adapt_rocket
    >>> from skmtl.data.targets import TargetEncoder
    >>> X = {"ampl": np.random.default_rng(0).normal(size=(12, 32))}
    >>> schema = infer_schema(X)
    >>> tasks = TargetEncoder().fit(np.arange(12) % 2).tasks_
    >>> params = MultiTaskConvEstimator(trunk="rocket", filters=(168,)).get_params()
    >>> model = build_network(schema, tasks, **network_parameters(params),
    ...                       random_state=0)
    >>> adapt_rocket(model, encode(X, schema)[0])
    1
    """
    layers = list(rocket_layers(model))
    if not layers:
        return 0
    n_samples = len(next(iter(inputs.values())))
    if n_samples < MIN_ADAPT_ROWS:
        raise ValueError(
            "The network's MiniRocket features take their biases and scales "
            f"from the first rows it sees; {n_samples} sample(s) cannot show how "
            f"a feature varies (at least {MIN_ADAPT_ROWS} are needed). Give the "
            "first fit or partial_fit more rows."
        )
    names = [t.name for t in model.inputs]
    structure = model.input
    rows = _adapt_rows(n_samples)
    feed = {name: np.asarray(inputs[name][rows], dtype=np.float32) for name in names}
    for layer in layers:
        upstream = keras.Model(structure, layer.input)
        x = np.concatenate(
            [
                np.asarray(upstream(_like(structure, feed, s)), dtype=np.float32)
                for s in range(0, len(rows), 256)
            ]
        )
        layer.adapt(x, scales=scales)
    return len(layers)


def _adapt_rows(n_samples: int) -> np.ndarray:
    """The (at most 512, seeded) rows a layer is adapted on, sorted."""
    if n_samples <= _ADAPT_ROWS:
        return np.arange(n_samples)
    return np.sort(np.random.default_rng(0).choice(n_samples, _ADAPT_ROWS, False))


def rocket_columns(trunk: keras.Model, model: keras.Model) -> list | None:
    """``[(layer, columns of the trunk's output)]`` of every MiniRocket layer
    whose output is a block of ``trunk``'s output (the output itself, or one
    input of the concatenation that makes it); None if some layer's is not."""
    output = trunk.output
    op = output._keras_history.operation
    parts = [output]
    if isinstance(op, keras.layers.Concatenate) and op.axis in (
        -1,
        len(output.shape) - 1,
    ):
        parts = list(op._inbound_nodes[0].input_tensors)
    starts = np.cumsum([0, *(int(t.shape[-1]) for t in parts)])
    found = []
    for layer in rocket_layers(model):
        index = next((i for i, t in enumerate(parts) if t is layer.output), None)
        if index is None:
            return None
        found.append((layer, slice(int(starts[index]), int(starts[index + 1]))))
    return found


def scale_rocket_features(blocks: list, features: np.ndarray) -> None:
    """Set each layer's scales from the trunk's ``features`` of every training
    row (computed with identity scales: :func:`adapt_rocket` with
    ``scales=False``), and scale ``features`` in place as the layer now would.

    The statistics come from the rows :func:`adapt_rocket` reads; the scaling
    is the layer's own float32 arithmetic, ``(raw - mean) * scale``, so the
    features equal what the layer gives at predict. This spares computing the
    features of the adapt rows twice.

    Parameters
    ----------
    blocks : list
        :func:`rocket_columns` of the network.
    features : ndarray of shape (n_samples, n_features), float32
        The trunk's output for every training row.
    """
    rows = _adapt_rows(len(features))
    for layer, columns in blocks:
        layer.set_scales(features[rows, columns])
        mean = layer.feature_mean.numpy()
        scale = layer.feature_scale.numpy()
        features[:, columns] = (features[:, columns] - mean) * scale


def _like(structure, feed: Mapping[str, np.ndarray], start: int):
    """Rows ``start:start + 256`` of ``feed`` in the structure of a model's input."""
    rows = {k: v[start : start + 256] for k, v in feed.items()}
    if isinstance(structure, dict):
        return rows
    if isinstance(structure, list | tuple):
        return [rows[t.name] for t in structure]
    return rows[structure.name]
