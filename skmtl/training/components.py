"""The optimizer and the callbacks a fit trains with, built fresh from the
parameters each time, so that the parameters themselves never change."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from numbers import Real

import keras
import numpy as np

from ..utils.routing import build_routed
from .session import TrainingConfig

__all__ = ["build_optimizer", "build_callbacks"]


def build_optimizer(config: TrainingConfig) -> keras.optimizers.Optimizer:
    """A new optimizer from ``optimizer``, ``learning_rate`` and the routed
    ``optimizer__*`` parameters.

    Parameters
    ----------
    config : TrainingConfig
        The resolved training parameters.

    Returns
    -------
    keras.optimizers.Optimizer
        Never the instance the user passed (an optimizer built for one model
        cannot train another): a copy of it, or a new one.

    Raises
    ------
    ValueError
        If the routed learning rate is not a finite number > 0, or routed
        parameters come with an optimizer instance.

    Examples
    --------
    >>> from skmtl import MultiTaskConvEstimator
    >>> from skmtl.training.session import TrainingConfig
    >>> est = MultiTaskConvEstimator(optimizer="sgd", learning_rate=0.01)
    >>> config = TrainingConfig.of(est.get_params())
    >>> optimizer = build_optimizer(config)
    >>> type(optimizer).__name__, round(float(optimizer.learning_rate), 4)
    ('SGD', 0.01)
    """
    optimizer = config.optimizer
    rate = config.optimizer_params.get("learning_rate")
    if isinstance(rate, Real) and (
        isinstance(rate, bool) or not np.isfinite(rate) or rate <= 0
    ):
        # Keras takes any number: a negative rate would climb the loss.
        raise ValueError(
            f"optimizer__learning_rate must be a finite number > 0; got {rate!r}."
        )
    if isinstance(optimizer, keras.optimizers.Optimizer):
        if config.optimizer_params:
            raise ValueError(
                "optimizer__ parameters need optimizer as a name or a class, "
                "not an instance."
            )
        return type(optimizer).from_config(optimizer.get_config())
    if isinstance(optimizer, str):
        # keras.optimizers.get returns an instance: its class takes the
        # routed arguments.
        optimizer = type(keras.optimizers.get(optimizer))
    # A NumPy scalar (from a grid built with np.logspace) is refused by Keras:
    # a float is what it takes.
    rate = float(config.learning_rate)
    return build_routed(optimizer, {"learning_rate": rate, **config.optimizer_params})


def build_callbacks(callbacks, routed: Mapping) -> list:
    """The callbacks of one fit: copies of the user's, routed arguments applied.

    Parameters
    ----------
    callbacks : callback, class, list of them, or None
        The ``callbacks`` parameter.
    routed : mapping
        The routed ``callbacks__*`` parameters, prefix removed
        (``{"0__patience": 3}``).

    Returns
    -------
    list of keras.callbacks.Callback

    Examples
    --------
    >>> import keras
    >>> given = keras.callbacks.EarlyStopping(patience=2)
    >>> (built,) = build_callbacks([given], {})
    >>> built is given, built.patience
    (False, 2)
    >>> build_callbacks([keras.callbacks.EarlyStopping], {"0__patience": 3})[0].patience
    3
    """
    if callbacks is None:
        return []
    if isinstance(callbacks, list | tuple):
        items = [_copy_for_fit(c) for c in callbacks]
    else:
        items = _copy_for_fit(callbacks)
    built = build_routed(items, routed)
    if isinstance(built, keras.callbacks.Callback):
        built = [built]
    return list(built)


def _copy_for_fit(callback):
    """The callback a fit trains with: a deep copy where one can be made.

    A used Keras callback keeps the model it trained (CSVLogger its file,
    TensorBoard a module), which would make the estimator impossible to clone or
    pickle, and scikit-learn's fit must not change parameters. A callback that
    cannot be copied (it holds a lock, a thread, an open file) is used as given.
    """
    try:
        return copy.deepcopy(callback)
    except Exception:
        return callback
