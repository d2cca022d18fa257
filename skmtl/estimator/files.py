"""Reading an estimator back from its file (writing it is
:meth:`MultiTaskConvEstimator.save`): the file holds parameters and fitted
state (:mod:`skmtl.io.persistence`), from which the estimator is rebuilt."""

from __future__ import annotations

from ..io import persistence
from .wrapper import MultiTaskConvEstimator

__all__ = ["load"]


def load(path) -> MultiTaskConvEstimator:
    """Load an estimator written by :meth:`MultiTaskConvEstimator.save`.

    No code from the file is executed (no pickle; Keras safe mode). The result
    has the saved parameters (with their types: int dict keys, NumPy scalars
    and arrays, tuples) and fitted state; it predicts, scores, warm-starts and
    refits like the saved one. Parameters JSON cannot hold (a custom ``model``
    builder, callbacks) come back as their defaults, with a warning.

    Parameters
    ----------
    path : str or path-like
        A file written by ``MultiTaskConvEstimator.save`` (or
        :func:`skmtl.persistence.save`).

    Returns
    -------
    MultiTaskConvEstimator
        A fitted estimator.

    Raises
    ------
    SkmtlFileError
        If the file is not an skmtl model, was written in another file format
        version or with another Keras major version, or holds a layer that
        would run code when loaded.

    Warns
    -----
    UserWarning
        If some parameters could not be saved and are back to their defaults.

    Examples
    --------
    >>> import tempfile, os
    >>> from skmtl import MultiTaskConvEstimator, load
    >>> from skmtl.datasets import make_sensor_tasks
    >>> X, y = make_sensor_tasks(40, n_steps=32, random_state=0)
    >>> est = MultiTaskConvEstimator(filters=(84,), epochs=1, random_state=0)
    >>> est = est.fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.skmtl")
    >>> est.save(path)
    >>> (load(path).predict(X) == est.predict(X)).all().all()
    np.True_
    """
    params, state = persistence.read(path)
    estimator = MultiTaskConvEstimator(**params)
    estimator._state = state
    return estimator
