"""Warnings that point at the user's code, never at skmtl's insides.

A warning's ``stacklevel`` counted by hand (``stacklevel=5  # the caller of
fit``) encodes how deep the estimator happens to call: one helper more between
``fit`` and the check, and the warning names a line of skmtl that the user can
do nothing about. :func:`warn_user` walks the stack instead and reports the
first frame outside the package, as pandas' ``find_stack_level`` does (Python
3.12's ``skip_file_prefixes`` would do it too, but skmtl supports 3.11).
"""

from __future__ import annotations

import os
import sys
import warnings

__all__ = ["user_stacklevel", "warn_user"]

# skmtl/ and a separator, so that a sibling "skmtl_extra/" is not ours. Taken
# from this file's path as Python recorded it, which is how it records every
# frame's file too.
_PACKAGE_PREFIX = os.path.dirname(os.path.dirname(__file__)) + os.sep


def _in_package(frame) -> bool:
    return frame.f_code.co_filename.startswith(_PACKAGE_PREFIX)


def _import_machinery(frame) -> bool:
    filename = frame.f_code.co_filename
    return "importlib" in filename and "_bootstrap" in filename


def _outer(frame):
    """The next frame out that ``warnings.warn`` counts: like it, skip the
    import machinery's frames (a warning issued while a module is imported)."""
    frame = frame.f_back
    while frame is not None and _import_machinery(frame):
        frame = frame.f_back
    return frame


def user_stacklevel() -> int:
    """The ``stacklevel`` at which the caller's warning reaches the user's code.

    Counted from the function that calls this one (level 1) outwards to the
    first frame whose file is outside the skmtl package: the user's script, a
    test, or a library that called skmtl (scikit-learn's ``cross_validate``).

    Returns
    -------
    int
        The value to pass as ``warnings.warn(..., stacklevel=...)`` from the
        calling function.

    Examples
    --------
    Called from code outside skmtl (here a doctest), the caller is the user:

    >>> user_stacklevel()
    1
    """
    level = 1
    frame = sys._getframe(1)
    while frame is not None and _in_package(frame):
        frame = _outer(frame)
        level += 1
    return level


def warn_user(message: str, category: type[Warning] = UserWarning) -> None:
    """Issue a warning at the first frame outside skmtl: the user's call.

    Parameters
    ----------
    message : str
        What happened and what to do about it.
    category : subclass of Warning, default=UserWarning
        The warning's class, which the user's filters match.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_user("Task 'y' has no labelled sample.")
    >>> caught[0].category.__name__, str(caught[0].message)
    ('UserWarning', "Task 'y' has no labelled sample.")
    >>> caught[0].filename.startswith("<doctest")  # this example, not skmtl
    True
    """
    warnings.warn(message, category, stacklevel=user_stacklevel())
