"""Conversions from other libraries' layouts of time-series data into skmtl's.

aeon and sktime store a collection of series as ``(n_cases, n_channels,
n_timepoints)`` ("numpy3D"), or, when the series differ in length, as a list of
``(n_channels, n_timepoints_i)`` arrays. skmtl reads a 3-D array as
``(n_samples, n_steps, n_channels)``: the same data with the last two axes
swapped. Passing aeon's array as it is would be read as ``n_channels`` steps of
``n_timepoints`` channels, so the conversion is explicit.

The UCR/UEA archive's ``.ts`` files hold one target each; a set of files with
the same series and different targets (a regression set and its ``_disc``
classes) is one multi-task data set, read with :func:`read_ts_tasks`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..utils.files import DataFileError, check_extension, existing_file
from ..utils.names import repeated

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["from_aeon", "read_ts_tasks"]

#: Series of two files are the same if each value differs by at most this
#: share of its series' own scale: the archive writes them as text, not always
#: to the same digits. Relative to the series, not absolute, so that data in
#: tiny units (1e-9) are not all "equal" and data in huge units are not refused.
_RTOL = 1e-5


def from_aeon(X) -> np.ndarray:
    """Convert aeon/sktime collection data into skmtl's ``(n, n_steps, n_channels)``.

    Parameters
    ----------
    X : ndarray or list of ndarray
        - a 3-D array ``(n_cases, n_channels, n_timepoints)``, aeon's and
          sktime's "numpy3D" (what ``aeon.datasets.load_from_ts_file`` returns
          for series of equal length);
        - a list of 2-D arrays ``(n_channels, n_timepoints_i)``, aeon's form for
          unequal lengths;
        - a 2-D array ``(n_cases, n_timepoints)`` (aeon's "numpy2D"), which is
          already skmtl's layout of one univariate signal and is returned as it
          is.

    Returns
    -------
    ndarray
        ``(n_cases, n_timepoints, n_channels)``: a new C-contiguous array of
        X's dtype (or X itself for a 2-D array), ready for
        :class:`~skmtl.MultiTaskConvEstimator` as one signal of ``n_channels``
        channels. A list of series of different lengths gives a structured
        array of shape ``(n_cases,)`` with one object field ``"signal"`` of
        ``(n_timepoints_i, n_channels)`` arrays: a variable-length signal, which
        scikit-learn can split.

    Raises
    ------
    ValueError
        If a list holds arrays that are not 2-D or different numbers of
        channels; or if an array is not 2-D or 3-D.
    TypeError
        If X is neither an array nor a list of arrays (e.g. a nested pandas
        DataFrame: convert it with aeon or sktime to numpy3D first).

    See Also
    --------
    skmtl.to_structured : Name several signals and covariates in one X.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl import from_aeon
    >>> X_aeon = np.zeros((40, 6, 100))       # 40 cases, 6 channels, 100 steps
    >>> from_aeon(X_aeon).shape
    (40, 100, 6)
    >>> from_aeon([np.zeros((2, 50)), np.ones((2, 50))]).shape
    (2, 50, 2)
    >>> ragged = from_aeon([np.zeros((2, 7)), np.ones((2, 29))])
    >>> ragged.dtype.names, [cell.shape for cell in ragged["signal"]]
    (('signal',), [(7, 2), (29, 2)])
    """
    if isinstance(X, list | tuple):
        return _from_list(X)
    if not hasattr(X, "shape") or type(X).__name__ == "DataFrame":
        raise TypeError(
            f"from_aeon takes a 3-D array (n_cases, n_channels, n_timepoints) or "
            f"a list of (n_channels, n_timepoints) arrays; got "
            f"{type(X).__name__}. Convert other layouts (e.g. sktime's nested "
            "DataFrame) to numpy3D first, e.g. with sktime's "
            "convert_to(X, to_type='numpy3D')."
        )
    X = np.asarray(X)
    if X.ndim == 2:
        return X  # numpy2D (n_cases, n_timepoints): skmtl's own 2-D layout
    if X.ndim != 3:
        raise ValueError(
            f"from_aeon takes a 3-D array (n_cases, n_channels, n_timepoints); got "
            f"{X.ndim}-D with shape {X.shape}."
        )
    return np.ascontiguousarray(X.transpose(0, 2, 1))


def _from_list(series: Sequence) -> np.ndarray:
    """aeon's list of ``(n_channels, n_timepoints_i)`` arrays."""
    if not len(series):
        raise ValueError("from_aeon got an empty list: there are no series.")
    arrays = [np.asarray(s) for s in series]
    bad = next((i for i, a in enumerate(arrays) if a.ndim != 2), None)
    if bad is not None:
        raise ValueError(
            f"from_aeon takes a list of 2-D arrays (n_channels, n_timepoints); "
            f"series {bad} has shape {arrays[bad].shape}."
        )
    channels = sorted({a.shape[0] for a in arrays})
    if len(channels) > 1:
        raise ValueError(
            f"The series have different numbers of channels ({channels}); every "
            "series needs the same channels."
        )
    lengths = [a.shape[1] for a in arrays]
    if len(set(lengths)) > 1:
        # A variable-length signal (skmtl.data.ragged), in a form sklearn can split.
        cells = np.empty(len(arrays), dtype=object)
        cells[:] = [np.ascontiguousarray(a.T) for a in arrays]
        out = np.empty(len(arrays), dtype=[("signal", object)])
        out["signal"] = cells
        return out
    return np.ascontiguousarray(np.stack(arrays).transpose(0, 2, 1))


def read_ts_tasks(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    tasks: Sequence[str] | None = None,
) -> tuple[np.ndarray, pd.DataFrame]:
    r"""Read ``.ts`` files of the same series with different targets as one set.

    The UCR/UEA archive stores one target per ``.ts`` file; where two files
    hold the same series with different targets (``Covid3Month`` and its
    tertiles ``Covid3Month_disc``), they are one multi-task data set: X once,
    and a column of y per file. Needs aeon (``pip install "skmtl[aeon]"``),
    whose ``load_from_ts_file`` reads each file.

    Parameters
    ----------
    paths : sequence of str or path-like
        The ``.ts`` files, each with a class label or a regression target;
        the first gives X, the others must hold the same series in the same
        order. A single path reads one file as a one-task set.
    tasks : sequence of str, optional
        The task (column) name of each file's target, in the order of
        ``paths``. By default the file's name without ``.ts`` and a final
        ``_TRAIN`` or ``_TEST``: ``Covid3Month_disc_TRAIN.ts`` gives
        ``"Covid3Month_disc"``.

    Returns
    -------
    X : ndarray
        The series as :func:`from_aeon` returns them: ``(n_cases,
        n_timepoints, n_channels)``, or for series of unequal lengths a
        structured array with a variable-length field ``"signal"``.
    y : pandas.DataFrame
        One column per file, named by ``tasks``. A regression target stays
        float64; class labels stay labels (strings, as aeon reads them, also
        for a ``_disc`` file's ``"0.0"``, ``"1.0"``, ...), so the estimator
        infers each task's kind.

    Raises
    ------
    ValueError
        If a file does not exist, is not a ``.ts`` file, has no target, or
        cannot be read; if aeon is not installed; if two files do not hold the
        same series (the message names both files and the first case that
        differs; two values count as equal when they differ by at most 1e-5
        times their series' scale, the largest finite absolute value of that
        case and channel in either file, whatever the units; missing values
        match missing values); or if ``tasks`` does not give one distinct name
        per file.

    See Also
    --------
    from_aeon : Convert aeon's arrays, for data already loaded.

    Notes
    -----
    The command line combines files the same way: ``skmtl fit A_TRAIN.ts
    A_disc_TRAIN.ts -o model.skmtl`` (see the command-line guide).

    Examples
    --------
    >>> import os, tempfile
    >>> from skmtl import read_ts_tasks
    >>> folder = tempfile.mkdtemp()
    >>> def write(name, targets, label):
    ...     header = ("@problemName x\n@univariate true\n@equalLength true\n"
    ...               f"{label}\n@data\n")
    ...     rows = [f"{i},{i + 1},{i + 2}:{t}\n" for i, t in enumerate(targets)]
    ...     path = os.path.join(folder, name)
    ...     with open(path, "w") as stream:
    ...         stream.write(header + "".join(rows))
    ...     return path
    >>> rate = write("Rate_TRAIN.ts", [0.25, 1.5, 3.0], "@targetLabel true")
    >>> level = write("Rate_disc_TRAIN.ts", ["0", "1", "2"],
    ...               "@classLabel true 0 1 2")
    >>> X, y = read_ts_tasks([rate, level])
    >>> X.shape
    (3, 3, 1)
    >>> y["Rate"].dtype
    dtype('float64')
    >>> y["Rate_disc"].tolist()
    ['0', '1', '2']
    """

    single = isinstance(paths, str | os.PathLike)
    paths = [os.fspath(p) for p in ([paths] if single else paths)]
    if not paths:
        raise ValueError("read_ts_tasks got no files: pass one .ts file per task")
    names = _task_names(paths, tasks)
    X, columns = None, {}
    for path, name in zip(paths, names, strict=True):
        existing_file(path, "data file")
        check_extension(path, (".ts",), "data file")
        series, target = load_ts(path)
        if target is None:
            raise DataFileError(
                f"{path} has no class label or target (@classLabel false, "
                "@targetLabel false): it adds no task"
            )
        if X is None:
            X = series
        else:
            _check_same_series(paths[0], X, path, series)
        columns[name] = target
    import pandas as pd  # aeon depends on pandas: it is there

    return X, pd.DataFrame(columns)


def _task_names(paths: Sequence[str], tasks: Sequence[str] | None) -> list[str]:
    if tasks is None:
        names = [
            re.sub(r"_(TRAIN|TEST)$", "", Path(p).name[: -len(".ts")], flags=re.I)
            if p.lower().endswith(".ts")
            else Path(p).name
            for p in paths
        ]
        twice = repeated(names)
        if twice:
            raise ValueError(
                f"two files give the task name {twice[0]!r} (the file name "
                "without .ts and _TRAIN/_TEST); name the tasks with tasks=[...]"
            )
        return names
    names = [tasks] if isinstance(tasks, str) else list(tasks)
    if len(names) != len(paths):
        raise ValueError(
            f"tasks= gives {len(names)} name(s) for {len(paths)} file(s); give "
            "one task name per file"
        )
    twice = repeated(names)
    if twice:
        raise ValueError(f"tasks= names {twice[0]!r} twice; names must differ")
    return [str(n) for n in names]


def _check_same_series(first: str, a: np.ndarray, other: str, b: np.ndarray) -> None:
    """Raise unless ``a`` and ``b`` hold the same series, case by case."""
    heading = f"{first} and {other} do not hold the same series"
    # The heading names the files in full; the details by their short names.
    if Path(first).name != Path(other).name:
        first, other = Path(first).name, Path(other).name
    if len(a) != len(b):
        raise ValueError(
            f"{heading}: {len(a)} cases in {first}, {len(b)} in {other}; files "
            "combined as tasks must list the same series in the same order"
        )
    cells_a = a[a.dtype.names[0]] if a.dtype.names else a
    cells_b = b[b.dtype.names[0]] if b.dtype.names else b
    start = 0
    if cells_a.dtype != object and cells_a.shape == cells_b.shape:
        close = _same_values(cells_a, cells_b)
        if close.all():
            return
        start = int(np.flatnonzero(~close.reshape(len(a), -1).all(axis=1))[0])
    for case in range(start, len(a)):
        x, z = cells_a[case], cells_b[case]
        x, z = np.asarray(x, dtype=np.float64), np.asarray(z, dtype=np.float64)
        if x.shape != z.shape:
            detail = (
                f"{x.shape[0]} steps x {x.shape[1]} channel(s) in {first}, "
                f"{z.shape[0]} x {z.shape[1]} in {other}"
            )
        else:
            close = _same_values(x, z)
            if close.all():
                continue
            step, channel = np.argwhere(~close)[0]
            detail = (
                f"step {step}, channel {channel}: {float(x[step, channel])!r} "
                f"in {first}, {float(z[step, channel])!r} in {other}"
            )
        raise ValueError(
            f"{heading}: case {case} (0-based) differs ({detail}); files "
            "combined as tasks must list the same series in the same order"
        )


def _same_values(x: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Elementwise: whether ``x`` and ``z`` hold the same value, up to text rounding.

    Steps are on axis -2 (``(steps, channels)`` or ``(cases, steps, channels)``).
    The tolerance is :data:`_RTOL` times the series' scale, the largest finite
    absolute value of one case and channel in either array, so the rule does
    not depend on the units; an all-zero series matches only zeros. Equal
    infinities and two missing values match.
    """
    x, z = np.asarray(x, dtype=np.float64), np.asarray(z, dtype=np.float64)
    scale = np.maximum(_series_scale(x), _series_scale(z))
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf, max - min
        near = np.abs(x - z) <= _RTOL * scale
    return near | (x == z) | (np.isnan(x) & np.isnan(z))


def _series_scale(values: np.ndarray) -> np.ndarray:
    """The largest finite absolute value of each series (over axis -2)."""
    finite = np.where(np.isfinite(values), np.abs(values), 0.0)
    return finite.max(axis=-2, keepdims=True, initial=0.0)


def load_ts(path: str) -> tuple[np.ndarray, np.ndarray | None]:
    """``(X, y)`` of a ``.ts`` file: X as :func:`skmtl.from_aeon` returns it.

    y is the file's class labels (strings, as aeon reads them) or regression
    targets (floats), or None if the file has neither.
    """
    try:
        from aeon.datasets import load_from_ts_file
    except ImportError:
        raise DataFileError(
            f"reading {path} (.ts) needs aeon: pip install 'skmtl[aeon]'"
        ) from None
    try:
        X, y = load_from_ts_file(path)
    except Exception as exc:  # aeon raises IOError, ValueError, TypeError...
        raise DataFileError(f"cannot read {path} as a .ts file: {exc}") from None
    try:
        signal = from_aeon(X)
    except ValueError as exc:
        raise DataFileError(f"{path}: {exc}") from None
    return signal, (np.asarray(y) if y is not None and len(y) else None)
