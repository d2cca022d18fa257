"""Warnings for target kinds that were guessed from a dtype that misleads.

A task's kind is inferred from its column's dtype (float: regression; int, str,
...: classification) unless ``tasks=`` declares it. Some dtypes say little about
what the user meant: a NumPy 2-D y has one dtype for all its columns
(``np.column_stack`` of labels and numbers makes everything text), class codes
are often stored as floats, and a one-hot y is a block of 0/1 columns. Each
check here looks at an inferred task only, and every warning names the
``tasks=`` entry that states the intent (and silences it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..utils.warnings import warn_user

# Fewer labelled samples than this are too few to judge a column by.
_MIN_SAMPLES = 10
# A float column of at most this many distinct integers reads as class codes.
_FEW_CODES = 10


def warn_guessed_kinds(
    y, form: str, labelled: Mapping[str, np.ndarray], specs: Sequence
) -> None:
    """Warn where an inferred task kind is likely not what the user meant.

    Parameters
    ----------
    y : array-like or DataFrame
        The target as given to fit.
    form : str
        Its form (``"1d"``, ``"2d"``, ``"frame"``, ``"structured"``).
    labelled : dict of str to ndarray
        The labelled values (missing labels removed) of each task whose kind
        was inferred; the tasks ``tasks=`` declares are not in it. The caller
        reads them from y, so this module needs nothing of
        :mod:`skmtl.data.targets`, which imports it.
    specs : sequence of TaskSpec
        Every task, as fitted.
    """
    inferred = [s for s in specs if s.name in labelled]
    if not inferred:
        return
    if form == "2d" and _warn_one_hot(y, inferred):
        return
    text = _text_numbers(labelled, inferred) if form == "2d" else []
    for spec in inferred:
        values = labelled[spec.name]
        if spec.name in text:
            _warn_text_numbers(spec, values)
        elif spec.kind == "classification":
            _warn_many_classes(spec, values)
        elif spec.n_outputs == 1:
            _warn_float_codes(spec, values, form)


def _examples(values: np.ndarray) -> str:
    return ", ".join(repr(v) for v in np.asarray(values)[:3].tolist())


def _warn_one_hot(y, inferred: Sequence) -> bool:
    """Warn (and say so) when a numeric 2-D y is one-hot encoded."""
    arr = np.asarray(y)
    if arr.ndim != 2 or arr.shape[1] < 2 or arr.dtype.kind not in "biuf":
        return False
    if len(inferred) != arr.shape[1] or arr.shape[0] < _MIN_SAMPLES:
        return False
    if not np.isin(arr, (0, 1)).all() or not (arr.sum(axis=1) == 1).all():
        return False
    kinds = sorted({s.kind for s in inferred})
    warn_user(
        f"y looks one-hot encoded: each row of its {arr.shape[1]} columns holds "
        f"a single 1. A 2-D y has one task per column, so this is "
        f"{arr.shape[1]} {' and '.join(kinds)} tasks, not one classifier of "
        f"{arr.shape[1]} classes. Pass the labels instead (y.argmax(axis=1), or "
        "the class names), or declare tasks= for the columns to keep them."
    )
    return True


def _parses_as_float(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _text_numbers(labelled: Mapping, inferred: Sequence) -> list[str]:
    """Text columns of fractional numbers, next to text that is not numbers."""
    numeric, other = [], []
    for spec in inferred:
        values = np.asarray(labelled[spec.name])
        if values.ndim != 1 or values.dtype.kind not in "USO" or not len(values):
            continue
        if not all(isinstance(v, str | bytes | np.str_) for v in values.tolist()):
            continue
        if all(map(_parses_as_float, values.tolist())):
            floats = np.asarray(values.tolist(), dtype=np.float64)
            if not np.array_equal(floats, np.round(floats)):
                numeric.append(spec.name)
        else:
            other.append(spec.name)
    return numeric if other else []


def _warn_text_numbers(spec, values: np.ndarray) -> None:
    warn_user(
        f"Column {spec.name!r} of y holds numbers stored as text "
        f"({_examples(values)}): a 2-D NumPy y has one dtype for all its "
        "columns, and np.column_stack of labels and numbers makes them all "
        f"strings. It is guessed a classification task of {spec.n_classes} "
        "classes. Pass y as a DataFrame (one dtype per column) or declare "
        f"tasks={{{spec.name!r}: 'regression'}}."
    )


def _warn_many_classes(spec, values: np.ndarray) -> None:
    """A classification task of about as many classes as labelled samples."""
    n = len(values)
    if n < _MIN_SAMPLES or spec.n_classes <= n / 2:
        return
    warn_user(
        f"Task {spec.name!r} is guessed a classification task (dtype "
        f"{spec.dtype}) with {spec.n_classes} classes for {n} labelled samples: "
        "nearly one class per sample, which no classifier can learn from. If it "
        f"holds numbers, declare tasks={{{spec.name!r}: 'regression'}}; if it is "
        "an identifier, drop it from y."
    )


def _warn_float_codes(spec, values: np.ndarray, form: str) -> None:
    """A float column of a few distinct integers: class codes, likely."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if n < 2 * _MIN_SAMPLES or not np.array_equal(values, np.round(values)):
        return
    distinct = np.unique(values)
    if len(distinct) > _FEW_CODES or len(distinct) > n / 4:
        return
    where = (
        " (a 2-D NumPy y has one dtype: np.column_stack of integer codes and "
        "floats makes the codes floats; a DataFrame keeps each column's dtype)"
        if form == "2d"
        else ""
    )
    warn_user(
        f"Task {spec.name!r} is guessed a regression task from its float dtype"
        f"{where}, but its {n} labels are only the integers "
        f"{distinct.tolist()}. If these are class codes, declare "
        f"tasks={{{spec.name!r}: 'classification'}}; declare 'regression' to "
        "keep it a regression task without this warning."
    )
