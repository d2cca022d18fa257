"""Routed parameters: ``destination__name=value`` and the objects built from them.

scikeras' convention (``optimizer__learning_rate``, ``callbacks__0__patience``),
implemented here so that no private scikeras module is imported: scikeras
keeps these helpers in ``scikeras._utils``, which may change in any release.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping

__all__ = ["routed", "build_routed"]


def routed(params: Mapping, destination: str, *, nested: bool = True) -> dict:
    """The parameters routed to ``destination``, their prefix removed.

    Parameters
    ----------
    params : mapping
        Flat parameters, e.g. ``est.get_params()``.
    destination : str
        ``"optimizer"`` selects ``optimizer__<name>``.
    nested : bool, default=True
        Keep names routed further (``callbacks__0__patience`` routed to
        ``"callbacks"`` gives ``0__patience``); False drops them.

    Returns
    -------
    dict

    Examples
    --------
    >>> routed({"epochs": 3, "fit__verbose": 0, "fit__a__b": 1}, "fit")
    {'verbose': 0, 'a__b': 1}
    >>> routed({"fit__a__b": 1}, "fit", nested=False)
    {}
    """
    prefix = destination + "__"
    return {
        name[len(prefix) :]: value
        for name, value in params.items()
        if name.startswith(prefix) and (nested or "__" not in name[len(prefix) :])
    }


def build_routed(items, params: Mapping):
    """``items`` with every class in it built from its routed arguments.

    A class is called with the plain names of ``params`` as keyword arguments
    (``"0"``, ``"1"``... positionally) and each argument's own routed names
    applied to it in turn; a list, tuple or dict routes ``<index or key>__``
    to each item. Anything else takes no arguments.

    Parameters
    ----------
    items : class, instance, list, tuple or dict
        What to build, e.g. ``keras.optimizers.Adam`` or a list of callbacks.
    params : mapping
        Routed parameters for ``items``: ``{"learning_rate": 0.01}`` or
        ``{"0__patience": 3}``.

    Returns
    -------
    object
        ``items`` with its classes instantiated.

    Raises
    ------
    TypeError
        If a parameter is routed to something that is not a class.

    Examples
    --------
    >>> from fractions import Fraction
    >>> build_routed(Fraction, {"numerator": 1, "denominator": 3})
    Fraction(1, 3)
    >>> build_routed([Fraction, 2], {"0__numerator": 5})
    [Fraction(5, 1), 2]
    """
    return _build(items, params, {})


def _build(items, params: Mapping, inherited: Mapping):
    own = {name: value for name, value in params.items() if "__" not in name}
    if inspect.isclass(items):
        arguments = {**inherited, **own}
        arguments = {
            name: _build(value, routed(params, name), {})
            for name, value in arguments.items()
        }
        positional = sorted((int(k), v) for k, v in arguments.items() if k.isdigit())
        keywords = {k: v for k, v in arguments.items() if not k.isdigit()}
        return items(*(v for _, v in positional), **keywords)
    if isinstance(items, list | tuple):
        built = [
            _build(item, routed(params, str(i)), own) for i, item in enumerate(items)
        ]
        return type(items)(built)
    if isinstance(items, dict):
        return {
            key: _build(item, routed(params, str(key)), own)
            for key, item in items.items()
        }
    arguments = {**inherited, **own}
    if arguments:
        raise TypeError(
            f"{items!r} takes no parameters (it is not a class), but "
            f"{sorted(arguments)} were routed to it."
        )
    return items
