"""Training batches drawn in a seeded order.

Keras shuffles NumPy inputs with ``tf.random.shuffle``, whose order depends on
TensorFlow's process-global seed: a fixed ``random_state`` could only make it
reproducible by setting (and racing on) global state. Here the order comes from
a private ``np.random.Generator``.

Two ways to deliver the same batches in the same order:

* :class:`TaskBatches` gathers each batch from the caller's arrays (strided
  views, memory maps, variable-length signals) as it is needed, in Python: the
  only full-size arrays are the ones the caller already holds.
* :func:`in_graph_batches` copies a small data set (at most
  :data:`IN_GRAPH_BYTES`) once into TensorFlow tensors and gathers each batch
  inside a ``tf.data`` pipeline. A step then costs what its arithmetic costs:
  the Python work per batch (a ``PyDataset`` item, the generator hop into
  ``tf.data``) and per epoch (a new iterator) is gone, and several steps can
  run in one compiled call (``steps_per_execution``).
"""

from __future__ import annotations

import copy
import math
import mmap
from collections.abc import Mapping

import keras
import numpy as np
import tensorflow as tf

from ..data.ragged import PAD_STEPS, total_lengths

# Batches per window sorted by length (variable-length signals).
_BUCKET_BATCHES = 16
#: Largest training set (inputs, targets and weights, as the batches hold them)
#: that :func:`in_graph_batches` copies into tensors. The copy is what it costs:
#: 2,000 recordings of 3,750 steps x 2 channels are 57 MiB, their 10,000
#: MiniRocket features 76 MiB (on the Python path a batch of those features
#: cost 4.2 ms a step against 1.4 ms in-graph). Larger data, memory maps and
#: variable-length signals keep the zero-copy :class:`TaskBatches`.
IN_GRAPH_BYTES = 256 * 2**20


class TaskBatches(keras.utils.PyDataset):
    """``(inputs, targets, weights)`` batches of named arrays for ``Model.fit``.

    Parameters
    ----------
    inputs, targets, weights : dict of str to ndarray
        Samples on axis 0; ``targets`` and ``weights`` may be None (predict-style).
    batch_size : int
    shuffle : bool
        Draw a new permutation at the end of every epoch.
    seed : int or None
        Seeds the permutations; None draws fresh entropy.
    rows : ndarray of int or None
        Restrict the batches to these samples (a validation split) without
        copying the arrays; None uses every sample.
    passes : int, default=1
        Passes over the rows in one epoch: each row ``passes`` times, in one
        shuffled order, or (``shuffle=False``) the rows in order, then again.
    """

    def __init__(
        self,
        inputs: Mapping[str, np.ndarray],
        targets: Mapping[str, np.ndarray] | None,
        weights: Mapping[str, np.ndarray] | None,
        *,
        batch_size: int,
        shuffle: bool = True,
        seed: int | None = None,
        rows: np.ndarray | None = None,
        passes: int = 1,
    ):
        super().__init__()
        self.inputs = dict(inputs)
        self.targets = None if targets is None else dict(targets)
        self.weights = None if weights is None else dict(weights)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        n_total = len(next(iter(self.inputs.values())))
        self.rows = np.arange(n_total) if rows is None else np.sort(rows)
        self.passes = passes
        self.n_samples = len(self.rows) * passes
        self._rng = np.random.default_rng(seed)
        # Variable-length signals: batches of similar lengths pad little.
        self._lengths = total_lengths(self.inputs)
        self._order = self._next_order()

    def _next_order(self) -> np.ndarray:
        """The one place an epoch's order is built."""
        repeated = np.tile(self.rows, self.passes)
        if not self.shuffle:
            return repeated
        order = self._rng.permutation(repeated)
        if self._lengths is None:
            return order
        return self._bucketed(order)

    def _bucketed(self, order: np.ndarray) -> np.ndarray:
        """The shuffled rows regrouped so each batch holds similar lengths.

        Within windows of ``_BUCKET_BATCHES`` batches the rows are sorted by
        length and cut into batches, and the batches are shuffled: the order
        stays seeded and random, and a batch pads to a length close to its
        members'.
        """
        size = self.batch_size * _BUCKET_BATCHES
        batches = []
        for start in range(0, len(order), size):
            window = order[start : start + size]
            window = window[np.argsort(self._lengths[window], kind="stable")]
            batches += [
                window[i : i + self.batch_size]
                for i in range(0, len(window), self.batch_size)
            ]
        # The last (short) batch stays last; the full ones are shuffled.
        last = batches.pop() if len(batches[-1]) < self.batch_size else None
        batches = [batches[i] for i in self._rng.permutation(len(batches))]
        if last is not None:
            batches.append(last)
        return np.concatenate(batches) if batches else order

    def __len__(self) -> int:
        return math.ceil(self.n_samples / self.batch_size)

    def _rows(self, index: int):
        start = index * self.batch_size
        stop = min(start + self.batch_size, self.n_samples)
        rows = self._order[start:stop]
        if not self.shuffle and len(rows) and rows[-1] - rows[0] == len(rows) - 1:
            return slice(rows[0], rows[-1] + 1)  # contiguous: a view, no gather
        # Sorted rows read memory maps and strided views front to back.
        return np.sort(rows)

    @staticmethod
    def _take(arrays: Mapping[str, np.ndarray], rows) -> dict[str, np.ndarray]:
        return {
            # A variable-length signal pads to a multiple of PAD_STEPS: a few
            # batch shapes recur, where one new length per batch made oneDNN
            # build new convolution kernels for every batch.
            name: a.padded(rows, multiple=PAD_STEPS)
            if hasattr(a, "padded")
            else np.ascontiguousarray(a[rows], dtype=np.float32)
            if a.dtype.kind == "f"
            else np.ascontiguousarray(a[rows])
            for name, a in arrays.items()
        }

    def __getitem__(self, index: int):
        rows = self._rows(index)
        x = self._take(self.inputs, rows)
        if self._lengths is not None and index == 1:
            x = self._unlike_first(x)
        if self.targets is None:
            return (x,)
        return x, self._take(self.targets, rows), self._take(self.weights, rows)

    def _unlike_first(self, x: dict) -> dict:
        """Batch 1 one step longer than batch 0 where they would be equal.

        Keras fixes the batch shapes from the first two batches it reads; two
        of one padded length would make every later length an error. An extra
        padded step is masked out like any other, so nothing else changes.
        """
        first = self._take(self.inputs, self._rows(0))
        out = dict(x)
        for name, a in self.inputs.items():
            if hasattr(a, "lengths") and x[name].shape[1] == first[name].shape[1]:
                out[name] = np.pad(x[name], ((0, 0), (0, 1), (0, 0)))
        return out

    def on_epoch_end(self) -> None:
        self._order = self._next_order()

    def epoch_rows(self) -> np.ndarray:
        """The rows of this epoch's batches, in order, as ``__getitem__`` reads
        them (each batch's rows sorted)."""
        if not self.shuffle:
            return self._order
        full = len(self._order) // self.batch_size * self.batch_size
        head = np.sort(self._order[:full].reshape(-1, self.batch_size), axis=1)
        return np.concatenate([head.ravel(), np.sort(self._order[full:])])

    def restarted(self) -> TaskBatches:
        """A copy at its first epoch: the same sequence of orders again."""
        other = copy.copy(self)
        other._rng = np.random.default_rng(self.seed)
        other._order = other._next_order()
        return other


def in_graph_batches(batches: TaskBatches, *, repeat: bool):
    """``batches``' batches, in the same order, from in-graph tensors.

    Parameters
    ----------
    batches : TaskBatches
        The arrays, rows, batch size and seeded order to reproduce.
    repeat : bool
        Yield epoch after epoch without end (training, with Keras'
        ``steps_per_epoch``: one iterator serves every epoch of a fit); else
        one epoch (validation).

    Returns
    -------
    tf.data.Dataset or None
        None where the data should not be copied: variable-length signals,
        memory maps, or more than :data:`IN_GRAPH_BYTES` in all.

    Examples
    --------
    >>> import numpy as np
    >>> x = {"s": np.arange(10.0).reshape(5, 2)}
    >>> b = TaskBatches(x, {"t": np.arange(5)}, {"t": np.ones(5)}, batch_size=2,
    ...                 shuffle=False)
    >>> [len(t["t"]) for _, t, _ in in_graph_batches(b, repeat=False)]
    [2, 2, 1]
    """
    arrays = (batches.inputs, batches.targets or {}, batches.weights or {})
    flat = [a for group in arrays for a in group.values()]
    if any(hasattr(a, "lengths") or _memory_mapped(a) for a in flat):
        return None
    if sum(len(a) * _batch_dtype(a).itemsize * _per_row(a) for a in flat) > (
        IN_GRAPH_BYTES
    ):
        return None
    tensors = tuple(
        {name: tf.constant(np.asarray(a, _batch_dtype(a))) for name, a in g.items()}
        for g in arrays
    )
    size = batches.batch_size

    def gather(rows):
        out = tuple({k: tf.gather(t, rows) for k, t in g.items()} for g in tensors)
        return out if batches.targets is not None else out[:1]

    if not repeat:
        rows = tf.data.Dataset.from_tensor_slices(batches.epoch_rows()).batch(size)
        return rows.map(gather).prefetch(2)

    def epochs():
        source = batches.restarted()
        # Keras reads a PyDataset's first two batches to learn their shapes,
        # then starts the first epoch on a new order: skip one order too, so
        # both paths train on the same batches.
        source.on_epoch_end()
        while True:
            yield source.epoch_rows()
            source.on_epoch_end()

    orders = tf.data.Dataset.from_generator(
        epochs, output_signature=tf.TensorSpec([batches.n_samples], tf.int64)
    )
    rows = orders.flat_map(lambda o: tf.data.Dataset.from_tensor_slices(o).batch(size))
    return rows.map(gather).prefetch(2)


def _batch_dtype(a: np.ndarray) -> np.dtype:
    """The dtype a batch of ``a`` has (floats are trained in float32)."""
    return np.dtype(np.float32) if a.dtype.kind == "f" else a.dtype


def _per_row(a: np.ndarray) -> int:
    return int(np.prod(a.shape[1:], dtype=np.int64))


def _memory_mapped(a) -> bool:
    """Whether ``a`` (or an array it views) reads a file mapped into memory."""
    while a is not None:
        if isinstance(a, np.memmap | mmap.mmap):
            return True
        a = getattr(a, "base", None)
    return False
