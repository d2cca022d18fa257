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

from ..utils.names import check_name, check_unique_columns, repeated
from ..utils.warnings import warn_user
from .dtypes import check_numeric_dtype
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
#: Name of the single signal held by a 2-D or 3-D array X.
ARRAY_SIGNAL_NAME = "signal"
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


def _form_of(X) -> str:
    """Name the form of X, or raise a TypeError that lists the accepted ones."""
    if isinstance(X, Mapping):
        return "dict"
    if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
        raise TypeError(
            "X is a sparse matrix, and sparse input is not supported: signals are "
            "dense. Convert it with X.toarray()."
        )
    if _is_dataframe(X):
        return "frame"
    if isinstance(X, np.ndarray) and X.dtype.names is not None:
        return "structured"
    check_input_list(X)
    if isinstance(X, np.ndarray | list | tuple) or hasattr(X, "__array__"):
        # np.asarray, not np.ndim: an array-like may define __array__ alone.
        try:
            ndim = X.ndim if isinstance(X, np.ndarray) else np.asarray(X).ndim
        except ValueError:
            raise ValueError(
                "X is a ragged nested sequence: its samples have different "
                "lengths. Pad or crop them to one length, or pass named fields "
                "(a dict of arrays, a structured array or a DataFrame)."
            ) from None
        if ndim == 2:
            return "array2d"
        if ndim == 3:
            return "array3d"
        raise ValueError(
            f"X as a plain array must be 2-D (n_samples, n_steps: one univariate "
            f"signal) or 3-D (n_samples, n_steps, n_channels); got {ndim}-D. "
            "Reshape your data (e.g. X.reshape(1, -1) for one sample of one "
            "signal). For named signals and covariates pass a dict of arrays, a "
            "NumPy structured array or a pandas DataFrame."
        )
    raise TypeError(
        f"X of type {type(X).__name__} is not supported. Pass a dict of arrays "
        "(convert it with skmtl.to_structured(X) before splitting with "
        "scikit-learn), a NumPy structured array, a pandas DataFrame, a 2-D array "
        "(n_samples, n_steps) or a 3-D array (n_samples, n_steps, n_channels)."
    )


def _is_dataframe(X) -> bool:
    return type(X).__name__ == "DataFrame" and hasattr(X, "columns")


def _is_input_list(X, same_shapes: bool) -> bool:
    """Whether X is a list or tuple of per-input arrays, as ``keras.Model.fit`` takes.

    Each such array has the samples on its first axis, so they share it. Without
    more knowledge that is certain only when their shapes differ otherwise, or
    when they have 3 or more dimensions (a sample in a list of samples has at
    most 2); arrays of one shape count only with ``same_shapes``.
    """
    if not isinstance(X, list | tuple) or not X:
        return False
    if not all(hasattr(a, "shape") and hasattr(a, "ndim") for a in X):
        return False  # nested Python lists: a list of samples
    shapes = [tuple(np.shape(a)) for a in X]
    if not all(shapes) or len({s[0] for s in shapes}) != 1:
        return False
    return same_shapes or len(set(shapes)) > 1 or len(shapes[0]) >= 3


def check_input_list(X, n_samples: int | None = None, names=None) -> None:
    """Refuse a Keras-style list of per-input arrays with the one-line fix.

    ``keras.Model.fit([X_ampl, X_phase, temp], y)`` names its inputs by their
    order in the model; skmtl names them in X, in a form scikit-learn can split.
    Guessing names here would leave X unsplittable, so the fix is the user's
    one call of :func:`to_structured`.

    Parameters
    ----------
    X : object
        Anything; only a list or tuple of arrays that share their first axis
        is refused.
    n_samples : int, optional
        The number of samples (from y at fit): arrays of one shape, each with
        ``n_samples`` rows, are inputs too, unless there are ``n_samples`` of
        them.
    names : list of str, optional
        The field names a fitted model expects (at predict): arrays of one
        shape are inputs too, and the fix names them.

    Examples
    --------
    >>> import numpy as np
    >>> check_input_list([np.zeros((4, 16)), np.zeros(4)])
    Traceback (most recent call last):
    ...
    TypeError: X is a list of 2 arrays of 4 samples each, the way keras.Model.fit ...
    >>> check_input_list([np.zeros(16), np.zeros(16)])  # two samples
    """
    if not isinstance(X, list | tuple):
        return
    same_shapes = names is not None or (n_samples is not None and len(X) != n_samples)
    if not _is_input_list(X, same_shapes):
        return
    n = np.shape(X[0])[0]
    if n_samples is not None and n != n_samples and names is None:
        return  # neither samples nor inputs of y's length: the length check says
    known = names is not None and len(names) == len(X)
    names = list(names) if known else [f"x{i}" for i in range(len(X))]
    pairs = ", ".join(f"{name}=X[{i}]" for i, name in enumerate(names[:3]))
    raise TypeError(
        f"X is a {type(X).__name__} of {len(X)} arrays of {n} samples each, the "
        "way keras.Model.fit takes several inputs; skmtl takes named inputs, in "
        "a form scikit-learn can split. Name them with "
        f"X = skmtl.to_structured(X, names={names!r})"
        f"{'' if known else ' (your names, in order)'}, or "
        f"skmtl.to_structured(dict({pairs}{', ...' if len(X) > 3 else ''}))."
    )


def check_same_index(X, y=None, sample_weight=None) -> None:
    """Refuse pandas objects among X, y and sample_weight whose indexes differ.

    scikit-learn pairs the rows of X, y and ``sample_weight`` by position;
    pandas users pair them by label. When two of them are pandas objects and
    their indexes differ (y shuffled, or filtered differently), each sample
    would silently get another sample's target or weight. The values of a
    dict X that are pandas Series count as well, as do the Series of a
    ``{task: weights}`` dict. Equal indexes, and objects that are not pandas,
    pass; so do different lengths (the length checks say more).

    Parameters
    ----------
    X : object
        The X given to a public method.
    y : object, optional
        Its targets.
    sample_weight : object, optional
        Its sample weights: an array, a Series or ``{task: array or Series}``.

    Raises
    ------
    ValueError
        Naming the two objects whose indexes differ, and the fix.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"temp": [1.0, 2.0, 3.0]})
    >>> check_same_index(X, pd.Series([0, 1, 0]))
    >>> check_same_index(X, pd.Series([0, 1, 0], index=[2, 0, 1]))
    Traceback (most recent call last):
    ...
    ValueError: X and y have different indexes (X: [0, 1, 2], y: [2, 0, 1]); ...
    >>> check_same_index(X, None, pd.Series([1.0, 2.0, 1.0], index=[5, 6, 7]))
    Traceback (most recent call last):
    ...
    ValueError: X and sample_weight have different indexes (X: [0, 1, 2], ...
    """
    indexed = _pandas_indexes(X, "X")
    indexed += _pandas_indexes(y, "y")
    indexed += _pandas_indexes(sample_weight, "sample_weight")
    if not indexed:
        return
    first, reference = indexed[0]
    for name, index in indexed[1:]:
        if len(index) == len(reference) and not index.equals(reference):
            raise ValueError(_index_message(first, reference, name, index))


def _is_pandas(obj) -> bool:
    return type(obj).__name__ in ("DataFrame", "Series") and hasattr(obj, "index")


def _pandas_indexes(obj, name: str) -> list:
    """``[(name, index)]`` of ``obj`` if pandas, or of each pandas value of a dict."""
    if _is_pandas(obj):
        return [(name, obj.index)]
    if isinstance(obj, Mapping):
        return [(f"{name}[{k!r}]", v.index) for k, v in obj.items() if _is_pandas(v)]
    return []


def _index_message(first: str, reference, name: str, index) -> str:
    def head(index) -> str:
        shown = ", ".join(map(repr, index[:3].tolist()))
        return f"[{shown}{', ...' if len(index) > 3 else ''}]"

    what = "targets" if name == "y" else "weights" if "weight" in name else "values"
    return (
        f"{first} and {name} have different indexes ({first}: {head(reference)}, "
        f"{name}: {head(index)}); rows are paired by position, so samples would "
        f"get other samples' {what}. Pair them by label with {name} = "
        f"{name}.loc[{first}.index], or, if the order is right, drop both "
        f"indexes with {first}.reset_index(drop=True) and "
        f"{name}.reset_index(drop=True)."
    )


def _frame_column(name: str, column) -> np.ndarray:
    """One DataFrame column as an array: scalars stay 1-D, per-sample arrays stack."""
    values = column.to_numpy()
    if values.dtype != object:
        return values
    cells = [np.asarray(v) if v is not None else None for v in values]
    if all(c is not None and c.ndim == 0 for c in cells):
        return np.asarray([c.item() for c in cells])
    shapes = {c.shape if c is not None else None for c in cells}
    if None in shapes:
        row = next(i for i, c in enumerate(cells) if c is None)
        need = (
            "a covariate needs a number"
            if shapes <= {(), None}
            else "a signal needs an array"
        )
        raise ValueError(
            f"Field {name!r}: sample {row} is missing (None); {need} in every "
            "sample. skmtl does not impute inputs: fill or drop those samples first."
        )
    if len(shapes) > 1:
        # Recordings of different lengths: a variable-length signal.
        return RaggedSignal.from_list(cells, name)
    return np.stack(cells)


def _dict_field(name: str, value) -> np.ndarray:
    """One value of a dict X as an array, with samples on axis 0."""
    if isinstance(value, RaggedSignal):
        return value
    try:
        a = np.asarray(value)
    except ValueError:  # NumPy's "inhomogeneous shape": samples differ in shape
        # Recordings of different lengths: a variable-length signal.
        return RaggedSignal.from_list(list(value), name)
    if a.dtype == object and a.ndim == 1:
        return object_cells(name, a)
    if a.ndim == 0:
        example = (
            f", e.g. {{{name!r}: [{a.item()!r}]}} for a single sample"
            if isinstance(a.item(), int | float)
            else ""
        )
        raise ValueError(
            f"X field {name!r} is a single value ({a.item()!r}), not one value per "
            f"sample. Pass an array with one entry per sample{example}."
        )
    return a


def to_named_arrays(X) -> tuple[dict[str, np.ndarray], str]:
    """Split X into ``{field name: array with samples on axis 0}`` without copying.

    Parameters
    ----------
    X : dict, structured ndarray, DataFrame, 2-D or 3-D array-like
        - dict of arrays: 1-D ``(n,)`` and ``(n, 1)`` values are covariates,
          2-D ``(n, n_steps)`` and 3-D ``(n, n_steps, n_channels)`` values are
          signals;
        - NumPy structured array: scalar fields (and fields of shape ``(1,)``)
          are covariates, sub-array fields signals;
        - pandas DataFrame: numeric columns are covariates, columns whose cells
          are arrays are signals;
        - 2-D array ``(n, n_steps)``: one univariate signal named ``"signal"``;
        - 3-D array ``(n, n_steps, n_channels)``: one signal named ``"signal"``
          (aeon's and sktime's ``(n, n_channels, n_steps)`` goes through
          :func:`skmtl.from_aeon` first).

        A Keras-style list of per-input arrays is refused with the call that
        names them (:func:`to_structured` with ``names=``).

    Returns
    -------
    arrays : dict of str to ndarray
        Views of X where possible (no dtype conversion happens here).
    form : str
        The form of X (see :class:`InputSchema`).

    Examples
    --------
    >>> import numpy as np
    >>> arrays, form = to_named_arrays({"ampl": np.zeros((4, 16)), "t": np.ones(4)})
    >>> form, {k: v.shape for k, v in arrays.items()}
    ('dict', {'ampl': (4, 16), 't': (4,)})
    """
    form = _form_of(X)
    if form == "dict":
        for key in X:
            check_name(key, "X field")
        check_same_index(X)  # Series values would pair by position
        arrays = {k: _dict_field(k, v) for k, v in X.items()}
    elif form == "structured":
        arrays = {
            name: object_cells(name, X[name]) if X.dtype[name].kind == "O" else X[name]
            for name in X.dtype.names
        }
    if form in ("dict", "structured"):
        # keras.Input(shape=(1,)) habit: an (n, 1) value is one number per
        # sample, a covariate; predict then takes (n,) and (n, 1) alike.
        arrays = {
            k: a[:, 0] if a.ndim == 2 and a.shape[1] == 1 else a
            for k, a in arrays.items()
        }
    elif form == "frame":
        named = [isinstance(col, str) for col in X.columns]
        if any(named) and not all(named):
            raise TypeError(
                f"DataFrame column names must all be strings (or none, as in a "
                f"frame built from an array); got {list(X.columns)!r}. Rename them, "
                "e.g. X.columns = X.columns.astype(str)."
            )
        if all(named):
            for col in X.columns:
                check_name(col, "DataFrame column")
        check_unique_columns(X, "X", "field")
        # Unnamed columns (0, 1, ...) become fields "0", "1", ...
        arrays = {str(col): _frame_column(str(col), X[col]) for col in X.columns}
    else:
        arrays = {ARRAY_SIGNAL_NAME: np.asarray(X)}
    if not arrays:
        raise ValueError("X has no fields: it needs at least one signal or covariate.")
    for name in arrays:
        if "/" in name:
            raise ValueError(
                f"Field name {name!r} contains '/', which Keras does not allow in "
                "input names; rename the field."
            )
    return arrays, form


def object_cells(name: str, a: np.ndarray):
    """An object array of per-sample values: numbers, equal arrays or ragged."""
    cells = [np.asarray(c) if c is not None else None for c in a]
    if any(c is None for c in cells) or all(c.ndim == 0 for c in cells):
        return a  # numbers (or missing values): checked as a covariate
    if len({c.shape for c in cells}) == 1:
        return np.stack(cells)
    return RaggedSignal.from_list(cells, name)


def _n_samples(arrays: Mapping[str, np.ndarray]) -> int:
    lengths = {name: a.shape[0] if a.ndim else 0 for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{n!r}: {k}" for n, k in lengths.items())
        raise ValueError(f"X fields have different numbers of samples ({detail}).")
    n = next(iter(lengths.values()))
    if n == 0:
        raise ValueError("X has 0 samples; at least 1 is required.")
    return n


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
    _n_samples(arrays)
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
    n_samples = _n_samples(arrays)
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
    n = _n_samples(arrays)
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
