"""The five accepted forms of X, read into named arrays (:func:`to_named_arrays`),
and the checks that X, y and sample weights describe the same rows.

A form is only read here: each field's values are checked and encoded by
:mod:`skmtl.data.inputs`, against the schema learned at fit.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..utils.names import check_name, check_unique_columns
from .ragged import RaggedSignal

__all__ = [
    "ARRAY_SIGNAL_NAME",
    "check_input_list",
    "check_same_index",
    "to_named_arrays",
]

#: Name of the single signal held by a 2-D or 3-D array X.
ARRAY_SIGNAL_NAME = "signal"


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


def count_samples(arrays: Mapping[str, np.ndarray]) -> int:
    lengths = {name: a.shape[0] if a.ndim else 0 for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{n!r}: {k}" for n, k in lengths.items())
        raise ValueError(f"X fields have different numbers of samples ({detail}).")
    n = next(iter(lengths.values()))
    if n == 0:
        raise ValueError("X has 0 samples; at least 1 is required.")
    return n
