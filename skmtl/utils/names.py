"""User names (fields, tasks) and the names Keras and TensorFlow accept.

Users name fields and tasks as they like: ``"température"``, ``"振幅"``,
``"amp l"``, ``"ampl:raw"``, ``"mat/erial"``. Keras layer names (and the
TensorFlow name scopes of their weights) accept only
``[A-Za-z0-9.][A-Za-z0-9_.>-]*``, and Keras refuses two layers of one name; the
refusal comes when a layer is built or when training starts. skmtl keeps the
user's names everywhere the user sees them (schema, predictions, ``classes_``,
``history_``) and derives the internal layer names from them here:
:func:`keras_stem` sanitises one name (plain names are kept as they are) and
:class:`LayerNamer` hands out names that are unique in one network. The
network's inputs and outputs keep the user's names as their dict keys (Keras
allows any string there, but ``/`` in an input's name). No TensorFlow here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

__all__ = [
    "LayerNamer",
    "check_known",
    "check_name",
    "check_unique_columns",
    "keras_stem",
    "repeated",
]

# TensorFlow's name-scope pattern, without "/" (Keras refuses it in layer
# names) and ">" (legal, but surprising in a file path or a history key).
_VALID = re.compile(r"[A-Za-z0-9.][A-Za-z0-9_.-]*")
_VALID_CHAR = re.compile(r"[A-Za-z0-9_.-]")
# A stem longer than this is cut: layer names end up in file paths of the
# saved network and in TensorFlow node names.
_MAX_STEM = 64


def repeated(names: Iterable[str]) -> list[str]:
    """The names given more than once, sorted (empty if all differ).

    Examples
    --------
    >>> repeated(["a", "b", "a", "c", "b"]), repeated(["a", "b"])
    (['a', 'b'], [])
    """
    seen, twice = set(), set()
    for name in names:
        (twice if name in seen else seen).add(name)
    return sorted(twice)


def check_unique_columns(frame, name: str, member: str) -> None:
    """Refuse a DataFrame whose columns repeat a name: ``frame[col]`` of such a
    name is itself a frame, which would become one ``member`` (a signal, a
    task) built from several columns.

    Parameters
    ----------
    frame : DataFrame
    name : str
        The argument, for the message (``"X"``, ``"y"``).
    member : str
        What each column is (``"field"``, ``"task"``).

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame([[1, 2, 3]], columns=["a", "b", "a"])
    >>> check_unique_columns(frame, "X", "field")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: X has duplicate column names ['a']; each field needs its own name...
    """
    columns = frame.columns
    duplicated = list(dict.fromkeys(columns[columns.duplicated()]))
    if duplicated:
        raise ValueError(
            f"{name} has duplicate column names {duplicated}; each {member} "
            "needs its own name. Rename or drop the duplicates, e.g. "
            f"{name} = {name}.loc[:, ~{name}.columns.duplicated()]."
        )


def check_known(
    what: str, given: Iterable, known: Iterable, kind: str = "tasks"
) -> None:
    """Refuse names in ``given`` that are not among ``known``: the one check
    behind every ``{task: ...}`` parameter and every named lookup.

    Parameters
    ----------
    what : str
        What named them, for the message (``"loss_weights"``).
    given : iterable
        The names given (a dict's keys).
    known : iterable
        The names allowed.
    kind : str, default="tasks"
        What the known names are, for the message.

    Raises
    ------
    ValueError
        ``<what> names [...], which are not <kind>; the <kind> are [...].``

    Examples
    --------
    >>> check_known("loss_weights", {"material": 1.0}, ["material", "density"])
    >>> check_known("loss_weights", {"colour": 1.0}, ["material", "density"])
    Traceback (most recent call last):
    ...
    ValueError: loss_weights names ['colour'], which are not tasks; the tasks are ...
    """
    known = list(known)
    unknown = [name for name in given if name not in known]
    if unknown:
        raise ValueError(
            f"{what} names {unknown}, which are not {kind}; the {kind} are {known}."
        )


def check_name(name: object, what: str) -> str:
    """Refuse a name that is not a non-empty string; return it unchanged.

    Parameters
    ----------
    name : object
        The name a user gave.
    what : str
        What it names, for the message (``"X field"``, ``"Task"``).

    Raises
    ------
    TypeError
        If ``name`` is not a string.
    ValueError
        If ``name`` is empty or only whitespace.

    Examples
    --------
    >>> check_name("température", "X field")
    'température'
    >>> check_name("", "X field")
    Traceback (most recent call last):
    ...
    ValueError: X field name '' is empty; give every field a non-empty name.
    """
    if not isinstance(name, str):
        raise TypeError(f"{what} names must be strings; got {name!r}.")
    if not name.strip():
        noun = what.split()[-1].lower()
        raise ValueError(
            f"{what} name {name!r} is empty; give every {noun} a non-empty name."
        )
    return name


def keras_stem(name: str) -> str:
    """A name Keras accepts for a layer, derived from a user's name.

    A plain name (ASCII letters, digits, ``_``, ``.``, ``-``, not starting with
    ``_`` or ``-``) is returned unchanged. Otherwise accents are dropped
    (``é`` -> ``e``), other non-ASCII characters become ``u<hex code>``, any
    other character becomes ``_``, and a name that would start with ``_`` or
    ``-`` gets an ``n`` in front. Two different names may give one stem:
    :class:`LayerNamer` de-duplicates.

    Examples
    --------
    >>> keras_stem("ampl"), keras_stem("température"), keras_stem("振幅")
    ('ampl', 'temperature', 'u632fu5e45')
    >>> keras_stem("amp l"), keras_stem("mat/erial"), keras_stem("_x")
    ('amp_l', 'mat_erial', 'n_x')
    """
    if _VALID.fullmatch(name) and len(name) <= _MAX_STEM:
        return name
    out = []
    for char in unicodedata.normalize("NFKD", name):
        if _VALID_CHAR.fullmatch(char):
            out.append(char)
        elif unicodedata.combining(char):
            continue  # the accent of a decomposed letter
        elif char.isascii():
            out.append("_")
        else:
            out.append(f"u{ord(char):x}")
    stem = "".join(out)[:_MAX_STEM] or "n"
    return stem if _VALID.fullmatch(stem) else "n" + stem


class LayerNamer:
    """Hands out layer names that are unique within one network.

    Parameters
    ----------
    taken : iterable of str
        Names already used in the network (its ``keras.Input`` names, which
        are the user's field names).

    Examples
    --------
    >>> namer = LayerNamer(["ampl", "ampl_norm", "covariates"])
    >>> namer.name("ampl_norm"), namer.name("covariates"), namer.name("features")
    ('ampl_norm_2', 'covariates_2', 'features')
    >>> namer.prefix("branch32")  # for branch32_conv0, branch32_bn0, ...
    'branch32'
    >>> namer.name("branch32_gap")  # under a claimed prefix
    'n2_branch32_gap'
    """

    def __init__(self, taken: Iterable[str] = ()):
        self._used = set(taken)
        self._prefixes: set[str] = set()

    def _under_prefix(self, name: str) -> bool:
        return any(name.startswith(p + "_") for p in self._prefixes)

    def _free_name(self, name: str) -> bool:
        return name not in self._used and not self._under_prefix(name)

    def _free_prefix(self, prefix: str) -> bool:
        return not (
            prefix in self._used
            or prefix in self._prefixes
            or self._under_prefix(prefix)
            or any(u.startswith(prefix + "_") for u in self._used)
            or any(p.startswith(prefix + "_") for p in self._prefixes)
        )

    def _first_free(self, stem: str, free) -> str:
        if free(stem):
            return stem
        for k in range(2, 2 + len(self._used) + len(self._prefixes) + 1):
            if free(f"{stem}_{k}"):
                return f"{stem}_{k}"
        # Every "<stem>_<k>" lies under a claimed prefix: move the number in front.
        k = 2
        while not free(f"n{k}_{stem}"):
            k += 1
        return f"n{k}_{stem}"

    def name(self, stem: str) -> str:
        """A unique layer name: ``stem`` (sanitised) or ``stem_2``, ``stem_3``..."""
        name = self._first_free(keras_stem(stem), self._free_name)
        self._used.add(name)
        return name

    def prefix(self, stem: str) -> str:
        """A unique prefix: no name given so far or later starts with ``<it>_``."""
        prefix = self._first_free(keras_stem(stem), self._free_prefix)
        self._prefixes.add(prefix)
        return prefix
