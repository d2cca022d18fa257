"""Turn any accepted X into named float32 arrays, and the schema that guards them.

skmtl accepts five forms of X (see :func:`to_named_arrays`). Whatever the form,
every sample is a set of named *fields*: a field that holds an array per sample
is a **signal** (``n_steps`` steps by ``n_channels`` channels); a field that holds
one number per sample is a **covariate**. The :class:`InputSchema` learned at fit
records each field's kind, shape and normalisation statistics; at predict, X is
matched to it **by name**, so a DataFrame whose columns come in another order, or
a float64 array where float32 was seen at fit, just works.
"""

from __future__ import annotations

import mmap
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from ..utils.names import repeated
from ..utils.warnings import warn_user
from .dtypes import check_numeric_dtype
from .forms import (
    check_input_list,
    count_samples,
    to_named_arrays,
)
from .ragged import RaggedSignal

__all__ = [
    "FieldSpec",
    "InputSchema",
    "InputEncoder",
    "to_named_arrays",
    "to_structured",
]

SIGNAL = "signal"
COVARIATE = "covariate"
# Rows checked per chunk when scanning for NaN, so the check never allocates a
# boolean mask as large as the data.
_CHUNK_ROWS = 1024


@dataclass(frozen=True)
class FieldSpec:
    """One named input field, as learned at fit.

    A frozen dataclass: each parameter is kept as the attribute of that name.

    Parameters
    ----------
    name : str
        Field name (dict key, structured-array field or DataFrame column).
    kind : {"signal", "covariate"}
        A signal holds ``n_steps`` x ``n_channels`` values per sample, a covariate
        one value.
    n_steps, n_channels : int
        Per-sample shape; both are 1 for a covariate.
    dtype : str
        The dtype seen at fit (informational: any numeric dtype is accepted later).
    mean, std : tuple of float, default=()
        Per-channel normalisation statistics (one value for a covariate). A
        constant channel gets ``std = 1`` so it cannot blow up at predict.
    offset : tuple of float, default=()
        Per-channel value subtracted in float64 before the cast to float32,
        for a field whose offset dwarfs its variation (``1e6 + 0.01 * noise``
        would keep a handful of distinct float32 values); empty for none.
    ragged : bool, default=False
        A variable-length signal (:mod:`skmtl.data.ragged`): ``n_steps`` is then the
        longest recording seen at fit and ``min_steps`` the shortest.
    min_steps : int, default=0
        The shortest recording of a ragged signal at fit.
    scale : tuple of float, default=()
        Per-channel power of two the values are multiplied by in float64 (after
        ``offset``) before the cast to float32, for a field whose spread is
        far from 1 (SI units: ``1e-15`` or ``1e20``), which the network's
        float32 normalisation could not divide out; empty for none.

    See Also
    --------
    InputSchema : The fields of X, in order.

    Examples
    --------
    >>> spec = FieldSpec("ampl", "signal", n_steps=64, n_channels=2,
    ...                  dtype="float64", mean=(0.0, 1.5), std=(1.0, 0.5))
    >>> spec.shape
    (64, 2)
    >>> spec.describe()
    "signal 'ampl' of 64 steps x 2 channel(s)"
    >>> FieldSpec("temp", "covariate", 1, 1, "float32").shape
    (1,)
    """

    name: str
    kind: str
    n_steps: int
    n_channels: int
    dtype: str
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()
    offset: tuple[float, ...] = ()
    ragged: bool = False
    min_steps: int = 0
    scale: tuple[float, ...] = ()

    @property
    def network_mean(self) -> tuple[float, ...]:
        """The mean of the values the network gets (after ``offset`` and
        ``scale``)."""
        offset = self.offset or (0.0,) * len(self.mean)
        scale = self.scale or (1.0,) * len(self.mean)
        return tuple(
            (m - o) * k for m, o, k in zip(self.mean, offset, scale, strict=True)
        )

    @property
    def network_std(self) -> tuple[float, ...]:
        """The standard deviation of the values the network gets."""
        if not self.scale:
            return self.std
        return tuple(s * k for s, k in zip(self.std, self.scale, strict=True))

    def to_raw(self, values: np.ndarray) -> np.ndarray:
        """Values as the network gets them, back in the field's own units."""
        values = np.asarray(values, dtype=np.float64)
        if self.scale:
            values = values / np.asarray(self.scale)
        return values + np.asarray(self.offset or 0.0)

    @property
    def shape(self) -> tuple[int, ...]:
        """Per-sample shape of the array fed to the network.

        A ragged signal is ``(None, n_channels + 1)``: any length, and a last
        channel that is 1 on true steps and 0 on padding.
        """
        if self.ragged:
            return (None, self.n_channels + 1)
        return (self.n_steps, self.n_channels) if self.kind == SIGNAL else (1,)

    def describe(self) -> str:
        if self.ragged:
            return (
                f"variable-length signal {self.name!r} ({self.min_steps} to "
                f"{self.n_steps} steps at fit) x {self.n_channels} channel(s)"
            )
        if self.kind == SIGNAL:
            return (
                f"signal {self.name!r} of {self.n_steps} steps x "
                f"{self.n_channels} channel(s)"
            )
        return f"covariate {self.name!r} (one value per sample)"


@dataclass(frozen=True)
class InputSchema:
    """The named fields of X, learned at fit and enforced at predict.

    A frozen dataclass: each parameter is kept as the attribute of that name.
    Fields are looked up by name with ``schema[name]`` and ``name in schema``.

    Parameters
    ----------
    fields : tuple of FieldSpec
        In the order they were seen at fit.
    form : str
        The form X had at fit: ``"dict"``, ``"structured"``, ``"frame"``,
        ``"array2d"`` or ``"array3d"``.

    See Also
    --------
    infer_schema : Learn the schema of X, with normalisation statistics.

    Examples
    --------
    >>> schema = InputSchema(
    ...     fields=(
    ...         FieldSpec("ampl", "signal", 64, 1, "float64"),
    ...         FieldSpec("temp", "covariate", 1, 1, "float64"),
    ...     ),
    ...     form="dict",
    ... )
    >>> schema.names, "temp" in schema, schema["ampl"].shape
    (['ampl', 'temp'], True, (64, 1))
    >>> InputSchema.from_dict(schema.to_dict()) == schema
    True
    """

    fields: tuple[FieldSpec, ...]
    form: str
    _by_name: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "_by_name", {f.name: f for f in self.fields})

    def __getitem__(self, name: str) -> FieldSpec:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def signals(self) -> list[FieldSpec]:
        return [f for f in self.fields if f.kind == SIGNAL]

    @property
    def covariates(self) -> list[FieldSpec]:
        return [f for f in self.fields if f.kind == COVARIATE]

    @property
    def n_features_in(self) -> int:
        """scikit-learn's ``n_features_in_``: columns of a 2-D X, else fields."""
        if self.form == "array2d":
            return self.fields[0].n_steps
        return len(self.fields)

    def to_dict(self) -> dict:
        return {"form": self.form, "fields": [asdict(f) for f in self.fields]}

    @classmethod
    def from_dict(cls, data: Mapping) -> InputSchema:
        fields = tuple(
            FieldSpec(
                **{
                    **f,
                    "mean": tuple(f.get("mean", ())),
                    "std": tuple(f.get("std", ())),
                    "offset": tuple(f.get("offset", ())),
                    "scale": tuple(f.get("scale", ())),
                }
            )
            for f in data["fields"]
        )
        return cls(fields=fields, form=data["form"])


def _numeric(name: str, a: np.ndarray) -> np.ndarray:
    """``a`` itself if numeric; an object array of numbers as float64; else raise."""
    if a.dtype == object:
        try:
            return a.astype(np.float64)
        except TypeError as exc:
            raise TypeError(
                f"Field {name!r} holds a value that is not a number ({exc})."
            ) from None
        except ValueError as exc:
            raise ValueError(
                f"Field {name!r} has dtype object with non-numeric values ({exc}); "
                "signals and covariates must be numeric."
            ) from None
    check_numeric_dtype(name, a.dtype)
    return a


def _check_finite(name: str, a: np.ndarray) -> None:
    """Refuse NaN, infinity and float32 overflow, in row chunks to bound memory.

    The values checked are those the network gets, cast to float32: a finite
    float64 of 1e39 becomes infinity there.
    """
    if a.dtype.kind != "f":
        return
    for start in range(0, a.shape[0], _CHUNK_ROWS):
        raw = a[start : start + _CHUNK_ROWS]
        _check_finite_rows(name, _as_float32(raw), start, raw)


def _as_float32(a: np.ndarray) -> np.ndarray:
    """``a`` cast to float32; an overflow becomes infinity without a warning."""
    with np.errstate(over="ignore"):
        return a.astype(np.float32, copy=False)


def _check_finite_rows(
    name: str, rows: np.ndarray, start: int, raw: np.ndarray | None = None
) -> None:
    """Refuse NaN and infinity in ``rows``, the samples from ``start`` on.

    ``raw`` holds the same samples before the cast to float32: where it is
    finite and ``rows`` is not, the value overflows float32.
    """
    if np.isfinite(rows).all():
        return
    bad = ~np.isfinite(rows.reshape(rows.shape[0], -1))
    index = int(np.flatnonzero(bad.any(axis=1))[0])
    row = start + index
    if raw is not None:
        value = np.asarray(raw[index]).reshape(-1)[np.flatnonzero(bad[index])[0]]
        if np.isfinite(value):
            raise ValueError(
                f"Field {name!r} overflows float32 (first in sample {row}: "
                f"{float(value):.6g}; float32 holds magnitudes up to "
                f"{float(np.finfo(np.float32).max):.4g}). Rescale the field "
                "first (e.g. change its units)."
            )
    raise ValueError(
        f"Field {name!r} contains NaN or infinity (first in sample {row}). "
        "skmtl does not impute inputs: fill or drop those samples first."
    )


def _per_sample_shape(name: str, a: np.ndarray) -> tuple[str, int, int]:
    if a.ndim == 1:
        return COVARIATE, 1, 1
    if a.ndim in (2, 3):
        n_steps, n_channels = a.shape[1], a.shape[2] if a.ndim == 3 else 1
        if n_steps == 0 or n_channels == 0:
            # scikit-learn's wording, which its estimator checks look for.
            raise ValueError(
                f"Field {name!r} has {n_steps} steps x {n_channels} channel(s) per "
                f"sample: found array with 0 feature(s) (shape={a.shape}) while a "
                "minimum of 1 is required."
            )
        return SIGNAL, n_steps, n_channels
    raise ValueError(
        f"Field {name!r} has {a.ndim - 1} dimensions per sample; expected a scalar "
        "(covariate), (n_steps,) or (n_steps, n_channels) (signal)."
    )


def is_memory_mapped(a: np.ndarray) -> bool:
    """Whether ``a`` (or the array it is a view of) lives in a memory-mapped file."""
    while isinstance(a, np.ndarray):
        if isinstance(a, np.memmap):
            return True
        a = a.base
    return isinstance(a, mmap.mmap)


def _as_model_array(a: np.ndarray, kind: str, offset=(), scale=()) -> np.ndarray:
    """float32 with the per-sample shape the network expects; a view when possible.

    A memory-mapped float array of another precision keeps its dtype: converting
    it would load the whole file; batches are cast to float32 as they are read
    (through :class:`_Centred` when the field has an ``offset`` or a ``scale``).
    """
    if kind == COVARIATE or a.ndim == 2:
        a = a[..., np.newaxis]
    if offset or scale:
        offset = np.asarray(offset or 0.0, dtype=np.float64)
        scale = np.asarray(scale or 1.0, dtype=np.float64)
        if a.dtype.kind == "f" and is_memory_mapped(a):
            return _Centred(a, offset, scale)
        return _centred(a, offset, scale)
    if not (a.dtype.kind == "f" and is_memory_mapped(a)):
        a = np.asarray(a, dtype=np.float32)
    return a


def _centred(a: np.ndarray, offset: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``(a - offset) * scale`` in float64, cast to float32, chunk by chunk."""
    out = np.empty(a.shape, dtype=np.float32)
    for start in range(0, a.shape[0], _CHUNK_ROWS):
        stop = start + _CHUNK_ROWS
        out[start:stop] = (np.asarray(a[start:stop], dtype=np.float64) - offset) * scale
    return out


class _Centred:
    """A memory-mapped field read as ``(a - offset) * scale`` in float32, rows
    on demand."""

    def __init__(self, a: np.ndarray, offset: np.ndarray, scale: np.ndarray):
        self._a, self._offset, self._scale = a, offset, scale
        self.shape, self.ndim = a.shape, a.ndim
        self.dtype = np.dtype(np.float32)

    def __len__(self) -> int:
        return len(self._a)

    def __getitem__(self, rows) -> np.ndarray:
        values = (np.asarray(self._a[rows], dtype=np.float64) - self._offset) * (
            self._scale
        )
        return values.astype(np.float32)

    def __array__(self, dtype=None, copy=None):
        return self[:].astype(dtype or np.float32)


# Precision float32 keeps: an offset above this many standard deviations is
# subtracted (in float64) before the cast.
_OFFSET_RATIO = 1e3


def _offset(a: np.ndarray, mean, std) -> tuple[float, ...]:
    """The offset a field needs before its float32 cast, or () if none."""
    if a.dtype == np.float32:
        return ()  # its precision is what float32 holds already
    mean, std = np.asarray(mean), np.asarray(std)
    if np.any(np.abs(mean) > _OFFSET_RATIO * std):
        return tuple(float(m) for m in mean)
    return ()


def _channel_stats(name: str, a: np.ndarray, kind: str) -> tuple[tuple, tuple]:
    """Per-channel mean and standard deviation, accumulated in float64 by chunks.

    Each chunk is also checked for NaN and infinity (as float32, what the
    network sees), so that fitting reads X once for both.
    """
    a = np.asarray(a)  # float64 chunks below: no float32 copy of the whole
    a = a[..., np.newaxis] if kind == COVARIATE or a.ndim == 2 else a
    n_channels = a.shape[-1]
    mean = np.zeros(n_channels)
    m2 = np.zeros(n_channels)  # sum of squared deviations from the mean
    count = 0
    for start in range(0, a.shape[0], _CHUNK_ROWS):
        raw = a[start : start + _CHUNK_ROWS]
        _check_finite_rows(name, _as_float32(raw), start, raw)
        # The statistics come from the values themselves, in float64: a cast
        # to float32 first would round an offset signal's variation away.
        chunk = np.asarray(raw, dtype=np.float64).reshape(-1, n_channels)
        # Chan et al.'s pairwise update: sum(x**2) - n * mean**2 cancels
        # catastrophically for a signal with an offset (or a constant channel).
        n_chunk = chunk.shape[0]
        chunk_mean = chunk.mean(axis=0)
        delta = chunk_mean - mean
        total = count + n_chunk
        mean = mean + delta * (n_chunk / total)
        m2 = m2 + np.square(chunk - chunk_mean).sum(axis=0)
        m2 = m2 + np.square(delta) * (count * n_chunk / total)
        count = total
    return _as_statistics(mean, np.sqrt(m2 / count))


def _as_statistics(mean: np.ndarray, std: np.ndarray) -> tuple[tuple, tuple]:
    """Per-channel ``(mean, std)`` as tuples of floats, for a FieldSpec."""
    # A constant channel carries no information; scale 1 keeps it harmless.
    # Constant relative to its own level (float64 rounding of a sum leaves
    # ~1e-16 of it), never to an absolute floor: a field in units of 1e-15 has
    # the spread of the same field in units of 1.
    varies = (std > 0) & (std > _CONSTANT_SPREAD * np.abs(mean))
    std = np.where(varies, std, 1.0)
    return tuple(float(m) for m in mean), tuple(float(s) for s in std)


# A channel whose spread is below this share of its mean is constant.
_CONSTANT_SPREAD = 1e-12
# Spreads the network's float32 normalisation divides out faithfully: Keras
# divides by max(std, 1e-7) and holds the variance in float32, which
# underflows below std ~1e-19 and overflows above ~1e19.
_SPREAD_RANGE = (2.0**-10, 2.0**10)


def _scale(std) -> tuple[float, ...]:
    """The power of two per channel that brings a spread outside
    ``_SPREAD_RANGE`` to about 1 (exact in floating point); () if none needs it.
    """
    std = np.asarray(std, dtype=np.float64)
    low, high = _SPREAD_RANGE
    outside = (std < low) | (std > high)
    if not outside.any():
        return ()
    powers = np.where(outside, -np.round(np.log2(std)), 0.0)
    return tuple(float(2.0**p) for p in powers)


def _warn_if_channels_first(name: str, a: np.ndarray, form: str) -> None:
    """A 3-D signal of more channels than steps is likely aeon's numpy3D layout."""
    if a.ndim != 3 or a.shape[2] <= a.shape[1]:
        return
    what = "X" if form == "array3d" else f"Field {name!r}"
    warn_user(
        f"{what} has {a.shape[1]} steps x {a.shape[2]} channels per sample: more "
        "channels than steps. skmtl reads a 3-D array as (n_samples, n_steps, "
        "n_channels); aeon and sktime store (n_samples, n_channels, n_steps). If "
        "yours comes from them, convert it with skmtl.from_aeon(X)."
    )


def infer_schema(X) -> InputSchema:
    """Learn the :class:`InputSchema` of X, including normalisation statistics."""
    arrays, form = to_named_arrays(X)
    count_samples(arrays)
    fields = []
    for name, a in arrays.items():
        if isinstance(a, RaggedSignal):
            fields.append(_ragged_spec(name, a))
            continue
        a = _numeric(name, a)
        kind, n_steps, n_channels = _per_sample_shape(name, a)
        _warn_if_channels_first(name, a, form)
        mean, std = _channel_stats(name, a, kind)
        offset = _offset(a, mean, std)
        fields.append(
            FieldSpec(
                name,
                kind,
                n_steps,
                n_channels,
                str(a.dtype),
                mean,
                std,
                offset,
                scale=_scale(std),
            )
        )
    return InputSchema(fields=tuple(fields), form=form)


def _ragged_spec(name: str, a: RaggedSignal) -> FieldSpec:
    """A variable-length signal's spec: statistics over its true steps only."""
    values = a.values.astype(np.float64)
    mean, std = _as_statistics(values.mean(axis=0), values.std(axis=0))
    lengths = a.lengths
    return FieldSpec(
        name,
        SIGNAL,
        int(lengths.max()),
        a.n_channels,
        "float32",
        mean,
        std,
        ragged=True,
        min_steps=int(lengths.min()),
        scale=_scale(std),
    )


def _encode_ragged(spec: FieldSpec, a) -> RaggedSignal:
    """A ragged field at predict: any lengths, the channels seen at fit."""
    if not isinstance(a, RaggedSignal):
        a = _numeric(spec.name, a)
        if a.ndim not in (2, 3):
            raise ValueError(
                f"Field {spec.name!r} was a {spec.describe()} at fit, but now holds "
                "one value per sample."
            )
        a = RaggedSignal.from_list(list(a), spec.name)
    if a.n_channels != spec.n_channels:
        raise ValueError(
            f"Field {spec.name!r} has {a.n_channels} channel(s) per step, but the "
            f"{spec.describe()} was seen at fit."
        )
    if spec.scale:  # powers of two: exact in float32 too
        a = RaggedSignal(a.values * np.asarray(spec.scale, np.float32), a.offsets)
    return a


def _mismatch_message(schema: InputSchema, arrays: Mapping) -> str | None:
    missing = [n for n in schema.names if n not in arrays]
    extra = [n for n in arrays if n not in schema]
    if not missing and not extra:
        return None
    parts = []
    if missing:
        parts.append(
            "X is missing "
            + ", ".join(schema[n].describe() for n in missing)
            + " seen at fit"
        )
    if extra:
        parts.append(f"X has field(s) {extra} not seen at fit")
    return (
        "; ".join(parts)
        + f". Fields are matched by name; expected exactly {schema.names}."
    )


def encode(
    X, schema: InputSchema, *, check_finite: bool = True
) -> tuple[dict[str, np.ndarray], int]:
    """Check X against ``schema`` and return ``({name: float32 array}, n_samples)``.

    Arrays are ``(n, n_steps, n_channels)`` for signals and ``(n, 1)`` for
    covariates. Data that already is float32 is not copied. ``check_finite=False``
    skips the scan for NaN and infinity, for an X that :func:`infer_schema` has
    just scanned (one read of a memory-mapped file less).
    """
    if schema.form in ("dict", "structured", "frame"):
        check_input_list(X, names=schema.names)
    arrays, _ = to_named_arrays(X)
    message = _mismatch_message(schema, arrays)
    if message:
        raise ValueError(message)
    n_samples = count_samples(arrays)
    encoded = {}
    for spec in schema.fields:
        if spec.ragged:
            encoded[spec.name] = _encode_ragged(spec, arrays[spec.name])
            continue
        if isinstance(arrays[spec.name], RaggedSignal):
            raise ValueError(
                f"Field {spec.name!r} holds recordings of different lengths, but "
                f"the {spec.describe()} was seen at fit (every recording of one "
                "length). Fit on recordings of different lengths to predict them."
            )
        a = _numeric(spec.name, arrays[spec.name])
        if spec.kind == SIGNAL and spec.shape == (1, 1) and a.ndim == 1:
            a = a[:, np.newaxis]  # a model saved when (n, 1) was a 1-step signal
        kind, n_steps, n_channels = _per_sample_shape(spec.name, a)
        if kind != spec.kind:
            got = (
                f"a signal of {n_steps} steps"
                if kind == SIGNAL
                else "one value per sample"
            )
            raise ValueError(
                f"Field {spec.name!r} was a {spec.describe()} at fit, but now holds "
                f"{got}."
            )
        if (n_steps, n_channels) != (spec.n_steps, spec.n_channels):
            prefix = ""
            if schema.form == "array2d" and a.ndim == 2:
                # scikit-learn's own wording, which its estimator checks look for.
                prefix = (
                    f"X has {n_steps} features, but MultiTaskConvEstimator is "
                    f"expecting {spec.n_steps} features as input. "
                )
            raise ValueError(
                f"{prefix}Field {spec.name!r} has {n_steps} steps x {n_channels} "
                f"channel(s) per sample, but the {spec.describe()} was seen at fit. "
                "Resample or crop the recordings to the fitted length."
            )
        if check_finite:
            _check_finite(spec.name, a)
        encoded[spec.name] = _as_model_array(a, spec.kind, spec.offset, spec.scale)
    return encoded, n_samples


class InputEncoder:
    """Stand-alone encoder of X: ``fit`` learns the schema, ``transform`` checks it.

    Examples
    --------
    >>> import numpy as np
    >>> X = {"ampl": np.random.rand(5, 32), "temp": np.arange(5.0)}
    >>> enc = InputEncoder().fit(X)
    >>> [(f.name, f.kind) for f in enc.schema_.fields]
    [('ampl', 'signal'), ('temp', 'covariate')]
    >>> {k: v.shape for k, v in enc.transform(X).items()}
    {'ampl': (5, 32, 1), 'temp': (5, 1)}
    """

    def fit(self, X, y=None) -> InputEncoder:
        self.schema_ = infer_schema(X)
        return self

    def transform(self, X) -> dict[str, np.ndarray]:
        return encode(X, self.schema_)[0]

    def fit_transform(self, X, y=None) -> dict[str, np.ndarray]:
        return self.fit(X).transform(X)


def to_structured(X, names: Sequence[str] | None = None) -> np.ndarray:
    """Convert X (typically a dict of arrays) into a NumPy structured array.

    scikit-learn cannot index a dict, so ``train_test_split``, ``cross_val_score``
    and ``GridSearchCV`` fail on one. A structured array holds the same named
    signals and covariates and can be split like any array.

    Parameters
    ----------
    X : dict, structured ndarray, DataFrame, 2-D or 3-D array, or list of arrays
        Any form of X that :class:`~skmtl.MultiTaskConvEstimator` accepts: a
        dict of arrays (signals ``(n, n_steps)`` or ``(n, n_steps,
        n_channels)``, covariates ``(n,)`` or ``(n, 1)``), a structured array,
        a DataFrame (array-valued and numeric columns), or a 2-D or 3-D array
        (one field named ``"signal"``). With ``names``, a list or tuple of
        per-input arrays, as ``keras.Model.fit`` takes them.
    names : sequence of str, optional
        The field names of a list X, in its order (``X[i]`` becomes field
        ``names[i]``); only for a list or tuple X.

    Returns
    -------
    ndarray of shape (n_samples,)
        A structured array with one field per field of X, in X's order: a
        sub-array field per signal, a scalar field per covariate. Each keeps
        its numeric dtype (an object array of numbers becomes float64).

    Raises
    ------
    ValueError
        If X is not an accepted form, its fields differ in length, or a field
        is not numeric; if ``names`` does not give one name per array of X.
    TypeError
        If an object field holds a value that is not a number, or ``names`` is
        given for an X that is not a list or tuple.

    See Also
    --------
    MultiTaskConvEstimator : Accepts the result (and X itself) at fit and predict.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import train_test_split
    >>> from skmtl import to_structured
    >>> X = to_structured({"ampl": np.zeros((10, 8)), "temp": np.ones(10)})
    >>> X.shape, X.dtype.names, X["ampl"].shape
    ((10,), ('ampl', 'temp'), (10, 8))
    >>> X_train, X_test = train_test_split(X, test_size=0.3, random_state=0)
    >>> X_train["ampl"].shape, X_test["temp"].shape
    ((7, 8), (3,))

    Keras-style per-input arrays, named in their order:

    >>> X = to_structured([np.zeros((10, 8, 1)), np.ones((10, 1))],
    ...                   names=["ampl", "temp"])
    >>> X.dtype.names, X["ampl"].shape, X["temp"].shape
    (('ampl', 'temp'), (10, 8, 1), (10,))

    Recordings of different lengths become an object field:

    >>> X = to_structured({"ampl": [np.zeros(5), np.zeros(9)], "temp": [1.0, 2.0]})
    >>> X.dtype["ampl"], [len(a) for a in X["ampl"]]
    (dtype('O'), [5, 9])
    """
    if names is not None:
        X = _named_inputs(X, names)
    arrays, _ = to_named_arrays(X)
    n = count_samples(arrays)
    arrays = {
        name: a if isinstance(a, RaggedSignal) else _numeric(name, a)
        for name, a in arrays.items()
    }
    dtype = np.dtype(
        [
            # Recordings of different lengths: an object field, one array each.
            (name, object)
            if isinstance(a, RaggedSignal)
            else (name, a.dtype, a.shape[1:])
            for name, a in arrays.items()
        ]
    )
    out = np.empty(n, dtype=dtype)
    for name, a in arrays.items():
        if isinstance(a, RaggedSignal):
            cells = np.empty(n, dtype=object)
            cells[:] = a.cells()
            out[name] = cells
        else:
            out[name] = a
    return out


def _named_inputs(X, names) -> dict:
    """``{names[i]: X[i]}`` for a list of per-input arrays; names checked."""
    if not isinstance(X, list | tuple):
        raise TypeError(
            f"names= names the arrays of a list or tuple X; X is a "
            f"{type(X).__name__} (a dict or DataFrame names its fields already)."
        )
    if isinstance(names, str):
        raise TypeError(f"names must be a list of str, one per array; got {names!r}.")
    names = list(names)
    if len(names) != len(X):
        raise ValueError(
            f"names has {len(names)} name(s) for the {len(X)} arrays of X; give "
            "one name per array, in X's order."
        )
    duplicated = repeated(names)
    if duplicated:
        raise ValueError(f"names repeats {duplicated}; each array needs its own name.")
    return dict(zip(names, X, strict=True))
