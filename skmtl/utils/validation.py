"""Checks of the values a user passes, shared by every layer.

Each refuses bools where a number is meant (Python counts ``True`` as 1) and
says in its message which argument was wrong and what it takes.
"""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval

__all__ = ["refuse_bools", "check_count", "check_open_fraction"]


class _NumberNotBool(Interval):
    """An :class:`Interval` that refuses bools.

    Python counts ``True`` as the integer 1 (``isinstance(True, Integral)``),
    so scikit-learn's intervals take ``dense_units=True`` as a 1-unit layer:
    a flag passed where a number was meant, accepted without a word.
    """

    def is_satisfied_by(self, val) -> bool:
        return not isinstance(val, bool | np.bool_) and super().is_satisfied_by(val)


# scikit-learn's "random_state" constraint, its seeds made bool-proof.
_RANDOM_STATE = [
    _NumberNotBool(Integral, 0, 2**32 - 1, closed="both"),
    np.random.RandomState,
    None,
]


def refuse_bools(constraints: Mapping[str, list]) -> dict[str, list]:
    """``_parameter_constraints`` with every number constraint refusing bools.

    Each :class:`Interval` (and the ``"random_state"`` constraint) is replaced
    by one that refuses ``True``/``False``, so every int or float parameter
    declared in the table, now or later, gets the rule.

    Examples
    --------
    >>> from sklearn.utils._param_validation import validate_parameter_constraints
    >>> table = refuse_bools({"units": [Interval(Integral, 0, None, closed="left")]})
    >>> validate_parameter_constraints(table, {"units": True}, caller_name="est")
    Traceback (most recent call last):
    ...
    sklearn.utils._param_validation.InvalidParameterError: The 'units' parameter ...
    """
    return {
        name: [strict for c in options for strict in _strict(c)]
        for name, options in constraints.items()
    }


def _strict(constraint) -> list:
    """The bool-proof constraint(s) standing for ``constraint``."""
    if isinstance(constraint, Interval):
        bounds = (constraint.type, constraint.left, constraint.right)
        return [_NumberNotBool(*bounds, closed=constraint.closed)]
    if isinstance(constraint, str) and constraint == "random_state":
        return _RANDOM_STATE
    return [constraint]


def check_count(
    name: str, value, *, low: int = 1, optional: bool = False
) -> int | None:
    """An int argument of a public method: an integer ``>= low``, never a bool.

    Parameters
    ----------
    name : str
        The argument's name, for the message (``"window"``).
    value : object
        What the caller passed.
    low : int, default=1
        The smallest value allowed.
    optional : bool, default=False
        Whether None (the method's default) is allowed.

    Returns
    -------
    int or None
        ``value`` as a Python int (None if it was None and that is allowed).

    Raises
    ------
    ValueError
        If ``value`` is a bool, not an integer, or below ``low``.

    Examples
    --------
    >>> check_count("window", 8), check_count("window", None, optional=True)
    (8, None)
    >>> check_count("window", -4)
    Traceback (most recent call last):
    ...
    ValueError: window must be a positive integer; got -4.
    """
    if value is None and optional:
        return None
    if isinstance(value, bool | np.bool_) or not isinstance(value, Integral):
        valid = False
    else:
        valid = value >= low
    if not valid:
        wanted = "a positive integer" if low == 1 else f"an integer >= {low}"
        default = " (or None for the default)" if optional else ""
        raise ValueError(f"{name} must be {wanted}{default}; got {value!r}.")
    return int(value)


def check_open_fraction(name: str, value) -> float:
    """A float argument strictly between 0 and 1 (``alpha``), never a bool.

    Examples
    --------
    >>> check_open_fraction("alpha", 0.1)
    0.1
    >>> check_open_fraction("alpha", True)
    Traceback (most recent call last):
    ...
    ValueError: alpha=True; alpha must be a float strictly between 0 and 1 (e.g. ...
    """
    number = isinstance(value, Real) and not isinstance(value, bool | np.bool_)
    if not (number and 0 < value < 1):  # NaN fails the comparison too
        raise ValueError(
            f"{name}={value!r}; {name} must be a float strictly between 0 and 1 "
            "(e.g. 0.1 for 90% coverage)."
        )
    return float(value)
