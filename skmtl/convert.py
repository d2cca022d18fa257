"""Conversions from other libraries' layouts of time-series data into skmtl's.

aeon and sktime store a collection of series as ``(n_cases, n_channels,
n_timepoints)`` ("numpy3D"), or, when the series differ in length, as a list of
``(n_channels, n_timepoints_i)`` arrays. skmtl reads a 3-D array as
``(n_samples, n_steps, n_channels)``: the same data with the last two axes
swapped. Passing aeon's array as it is would be read as ``n_channels`` steps of
``n_timepoints`` channels, so the conversion is explicit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["from_aeon"]


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
        # A variable-length signal (skmtl.ragged), in a form sklearn can split.
        cells = np.empty(len(arrays), dtype=object)
        cells[:] = [np.ascontiguousarray(a.T) for a in arrays]
        out = np.empty(len(arrays), dtype=[("signal", object)])
        out["signal"] = cells
        return out
    return np.ascontiguousarray(np.stack(arrays).transpose(0, 2, 1))
