"""Variable-length signals: recordings of different lengths in one field.

A ragged field holds one ``(T_i, C)`` recording per sample, ``T_i`` free and
``C`` fixed. It is kept as one flat float32 array of every true step and the
row offsets (:class:`RaggedSignal`), never as a padded copy of the data set.
Each batch is padded to its own longest member, and the network gets the
field as ``(batch, T, C + 1)``: the last channel is 1 on true steps and 0 on
padding. Every trunk multiplies its activations by that mask after each layer,
pools it with the values and averages over true steps only, so a sample's
prediction does not depend on what it is batched with (the layers are in
:mod:`skmtl.nn.masking`; this module, like the rest of the data layer, needs no
TensorFlow).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .dtypes import check_numeric_dtype

__all__ = ["RaggedSignal", "length_ordered_chunks", "total_lengths"]


class RaggedSignal:
    """Recordings of different lengths, stored flat without padding.

    Parameters
    ----------
    values : ndarray of shape (total_steps, n_channels)
        Every sample's steps, one after the other.
    offsets : ndarray of int, shape (n_samples + 1,)
        Sample ``i`` is ``values[offsets[i]:offsets[i + 1]]``.

    Examples
    --------
    >>> import numpy as np
    >>> ragged = RaggedSignal.from_list([np.ones(3), np.arange(5.0)], "ampl")
    >>> len(ragged), ragged.lengths.tolist(), ragged.n_channels
    (2, [3, 5], 1)
    >>> ragged.padded().shape  # values and the mask channel
    (2, 5, 2)
    >>> ragged[[1]].lengths.tolist(), np.asarray(ragged[[1]]).shape
    ([5], (1, 5, 2))
    """

    ndim = 3
    dtype = np.dtype(np.float32)

    def __init__(self, values: np.ndarray, offsets: np.ndarray):
        self.values = values
        self.offsets = np.asarray(offsets, dtype=np.int64)

    @classmethod
    def from_list(cls, cells: Sequence, name: str) -> RaggedSignal:
        """Check each recording and store them flat; errors name the sample."""
        arrays = []
        n_channels = None
        for i, cell in enumerate(cells):
            try:
                dtype = np.asarray(cell).dtype
            except ValueError:  # unevenly nested: refused as not numeric below
                dtype = np.dtype(object)
            # The fixed-length fields' dtype rule, before any conversion.
            check_numeric_dtype(name, dtype, f" (sample {i})")
            try:
                a = np.asarray(cell, dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(
                    f"Field {name!r}: sample {i} is not numeric ({type(cell).__name__}"
                    "); each recording must be an array of numbers."
                ) from None
            if a.ndim == 1:
                a = a[:, None]
            if a.ndim != 2:
                raise ValueError(
                    f"Field {name!r}: sample {i} has shape {a.shape}; a recording "
                    "is (n_steps,) or (n_steps, n_channels)."
                )
            if a.shape[0] == 0:
                raise ValueError(
                    f"Field {name!r}: sample {i} is an empty recording (0 steps)."
                )
            if n_channels is None:
                n_channels = a.shape[1]
            elif a.shape[1] != n_channels:
                # Equal first axes, unequal second: aeon's (channels, T_i).
                transposed = a.shape[0] == arrays[0].shape[0]
                raise ValueError(
                    f"Field {name!r}: sample {i} has {a.shape[1]} channel(s), sample "
                    f"0 has {n_channels}; every recording needs the same channels."
                    + (
                        f" Both have {a.shape[0]} rows: the recordings look like "
                        "aeon's (n_channels, n_timepoints), and skmtl reads "
                        "(n_steps, n_channels). Convert them with "
                        "skmtl.from_aeon(list_of_recordings), or transpose each "
                        "(a.T)."
                        if transposed
                        else ""
                    )
                )
            if not np.isfinite(a).all():
                raise ValueError(
                    f"Field {name!r}: sample {i} contains NaN or infinity."
                )
            if np.abs(a).max() > np.finfo(np.float32).max:
                raise ValueError(f"Field {name!r}: sample {i} overflows float32.")
            arrays.append(a)
        if not arrays:
            raise ValueError(f"Field {name!r} has no samples.")
        lengths = np.array([len(a) for a in arrays])
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        values = np.concatenate(arrays).astype(np.float32)
        return cls(values, offsets)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def n_channels(self) -> int:
        return self.values.shape[1]

    @property
    def shape(self) -> tuple:
        return (len(self), None, self.n_channels)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def _rows(self, rows) -> np.ndarray:
        return np.arange(len(self))[rows] if isinstance(rows, slice) else rows

    def __getitem__(self, rows):
        """Sample ``rows`` (an int: its ``(T_i, C)`` array; a slice or an index
        array: a :class:`RaggedSignal` of those samples, in that order)."""
        if isinstance(rows, int | np.integer):
            return self.values[self.offsets[rows] : self.offsets[rows + 1]]
        rows = np.atleast_1d(self._rows(rows))
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        lengths = self.lengths[rows]
        parts = [self.values[self.offsets[i] : self.offsets[i + 1]] for i in rows]
        values = np.concatenate(parts) if parts else self.values[:0]
        return RaggedSignal(values, np.concatenate([[0], np.cumsum(lengths)]))

    def __array__(self, dtype=None, copy=None):
        """The padded batch with the mask channel, what the network takes:
        ``(n_samples, longest, n_channels + 1)``, zero beyond each length."""
        out = self.padded()
        return out if dtype is None else out.astype(dtype, copy=False)

    def padded(self, rows=None, multiple: int = 1) -> np.ndarray:
        """Samples ``rows`` zero-padded to their longest, rounded up to a
        ``multiple`` of steps, with the mask channel last."""
        rows = np.arange(len(self)) if rows is None else self._rows(rows)
        rows = np.atleast_1d(rows)
        lengths = self.lengths[rows]
        width = int(lengths.max()) if len(rows) else 0
        width = -(-width // multiple) * multiple
        out = np.zeros((len(rows), width, self.n_channels + 1), dtype=np.float32)
        for j, (i, n) in enumerate(zip(rows, lengths, strict=True)):
            out[j, :n, :-1] = self.values[self.offsets[i] : self.offsets[i] + n]
            out[j, :n, -1] = 1.0
        return out

    def cells(self) -> list[np.ndarray]:
        """One ``(T_i, C)`` array per sample."""
        return [
            self.values[self.offsets[i] : self.offsets[i + 1]] for i in range(len(self))
        ]


def total_lengths(arrays: Mapping[str, object]) -> np.ndarray | None:
    """Each sample's steps summed over the variable-length fields of
    ``arrays`` (None when it has none).

    Examples
    --------
    >>> import numpy as np
    >>> ragged = RaggedSignal.from_list([np.ones(3), np.ones(5)], "a")
    >>> total_lengths({"a": ragged, "b": np.zeros(2)}).tolist()
    [3, 5]
    >>> total_lengths({"b": np.zeros(2)}) is None
    True
    """
    lengths = [a.lengths for a in arrays.values() if hasattr(a, "lengths")]
    return np.sum(lengths, axis=0) if lengths else None


#: Padded lengths of variable-length batches are multiples of this: a few
#: batch shapes recur (oneDNN builds kernels per shape), and a lone short
#: recording still spans the network's pooling.
PAD_STEPS = 32
#: Lengths up to which recordings share a chunk whatever their ratio.
_SHORT_STEPS = 64


def length_ordered_chunks(
    arrays: Mapping[str, object], n_samples: int, size: int
) -> list:
    """Row selections of at most ``size`` rows that cover every sample once:
    contiguous slices, or, where a field is variable-length, runs of the rows
    in order of length, so that each chunk pads to its own longest member.

    A run also ends where the length would more than double (beyond
    :data:`_SHORT_STEPS`): one long recording among short ones is a chunk of
    its own, not the width every short one is padded to.

    Examples
    --------
    >>> import numpy as np
    >>> ragged = RaggedSignal.from_list([np.ones(9), np.ones(2), np.ones(5)], "a")
    >>> [c.tolist() for c in length_ordered_chunks({"a": ragged}, 3, 2)]
    [[1, 2], [0]]
    >>> cells = [np.ones(16)] * 3 + [np.ones(20_000)]
    >>> ragged = RaggedSignal.from_list(cells, "a")
    >>> [c.tolist() for c in length_ordered_chunks({"a": ragged}, 4, 256)]
    [[0, 1, 2], [3]]
    >>> length_ordered_chunks({"b": np.zeros(3)}, 3, 2)
    [slice(0, 2, None), slice(2, 4, None)]
    """
    lengths = total_lengths(arrays)
    if lengths is None:
        return [slice(s, s + size) for s in range(0, n_samples, size)]
    order = np.argsort(lengths, kind="stable")
    chunks, start = [], 0
    for i in range(1, n_samples + 1):
        if (
            i == n_samples
            or i - start == size
            or lengths[order[i]] > 2 * max(lengths[order[start]], _SHORT_STEPS)
        ):
            chunks.append(order[start:i])
            start = i
    return chunks
