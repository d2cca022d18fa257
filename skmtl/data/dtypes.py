"""The dtype rule every field's values obey, fixed-length or ragged.

A module of its own so that :mod:`skmtl.data.inputs` (whole fields) and
:mod:`skmtl.data.ragged` (each recording of a variable-length field) share
one rule without importing each other (inputs imports ragged).
"""

from __future__ import annotations

import numpy as np

__all__ = ["check_numeric_dtype"]


def check_numeric_dtype(name: str, dtype: np.dtype, where: str = "") -> None:
    """The one dtype rule for the values of a field: bool, int or float.

    Used for whole fields and for each recording of a variable-length field
    (:meth:`skmtl.data.ragged.RaggedSignal.from_list`), so that a complex or
    timedelta recording is refused as a complex or timedelta field is.

    Parameters
    ----------
    name : str
        The field's name.
    dtype : numpy.dtype
        The dtype of its values (an object dtype is converted elsewhere).
    where : str, default=""
        Where in the field, e.g. ``" (sample 3)"``.

    Raises
    ------
    ValueError
        For complex, text, date, timedelta and other non-numeric dtypes.

    Examples
    --------
    >>> import numpy as np
    >>> check_numeric_dtype("ampl", np.dtype("float32"))
    >>> check_numeric_dtype("ampl", np.dtype("complex128"), " (sample 0)")
    Traceback (most recent call last):
    ...
    ValueError: Complex data not supported: field 'ampl' (sample 0) has dtype ...
    """
    if dtype.kind == "c":
        raise ValueError(
            f"Complex data not supported: field {name!r}{where} has dtype {dtype}. "
            "Split it into two real fields (real and imaginary part, or "
            "magnitude and phase)."
        )
    if dtype.kind not in "biufO":
        raise ValueError(
            f"Field {name!r}{where} has dtype {dtype}, but signals and covariates "
            "must be numeric (bool, int or float). Encode categories as numbers first."
        )
