"""The estimator's parameters: checks and resolution to plain values.

Functions of plain values (a ``get_params()`` dict, a routed sub-dict), so that
``estimator.py`` stays a thin class and these rules are tested on their own.
"""

from __future__ import annotations

import contextlib
import random
import secrets
from collections.abc import Mapping
from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state

from ..training.fitted import PREDICT_CHUNK
from ..utils.validation import check_count

__all__ = [
    "ROUTING_PREFIXES",
    "check_routed_names",
    "predict_chunk",
    "architecture_key",
    "check_architecture_unchanged",
    "draw_seed",
    "refuse_keras_fit_arguments",
    "python_random_seeded",
    "check_lengths",
    "feature_names",
]

ROUTING_PREFIXES = frozenset(
    {"model", "fit", "compile", "predict", "optimizer", "callbacks", "loss_weights"}
)
# Routed predict__ names skmtl reads (Model.predict itself is never called).
PREDICT_ARGUMENTS = frozenset({"batch_size"})
# Parameters that shape the network: a warm start cannot change them.
ARCHITECTURE = (
    "model",
    "tasks",
    "trunk",
    "filters",
    "kernel_size",
    "pool_size",
    "dropout",
    "dense_units",
    "mixed_precision",
)
# Keras' fit keywords that are estimator parameters here.
_ESTIMATOR_PARAMETERS = {
    "epochs",
    "batch_size",
    "verbose",
    "shuffle",
    "callbacks",
    "class_weight",
}


def check_routed_names(names, declared: set[str]) -> None:
    """Only routed names may come through ``**kwargs``: an unrouted one would
    leak into both the model builder and compile (see PITFALLS).

    Examples
    --------
    >>> check_routed_names(["epochs", "fit__verbose"], {"epochs"})
    >>> check_routed_names(["units"], {"epochs"})
    Traceback (most recent call last):
    ...
    ValueError: Unknown parameter 'units' for MultiTaskConvEstimator. ...
    """
    for name in names:
        if name in declared:
            continue
        if "__" not in name or name.split("__", 1)[0] not in ROUTING_PREFIXES:
            raise ValueError(
                f"Unknown parameter {name!r} for MultiTaskConvEstimator. Routed "
                f"parameters start with one of "
                f"{sorted(p + '__' for p in ROUTING_PREFIXES)}; the others are "
                f"{sorted(declared)}."
            )


def predict_chunk(routed: Mapping) -> int:
    """Rows per forward pass from the routed ``predict__*`` parameters.

    Examples
    --------
    >>> predict_chunk({}), predict_chunk({"batch_size": 64})
    (256, 64)
    """
    unknown = sorted(set(routed) - PREDICT_ARGUMENTS)
    if unknown:
        raise ValueError(
            f"Unknown routed parameter(s) {[f'predict__{n}' for n in unknown]}: "
            f"skmtl's predict takes {sorted(PREDICT_ARGUMENTS)} through predict__."
        )
    return check_count("predict__batch_size", routed.get("batch_size", PREDICT_CHUNK))


def architecture_key(params: Mapping) -> dict[str, str]:
    """``{name: repr}`` of the parameters that shape the network."""
    shaping = {n: params[n] for n in ARCHITECTURE if n in params}
    shaping.update({n: v for n, v in params.items() if n.startswith("model__")})
    return {name: repr(value) for name, value in shaping.items()}


def check_architecture_unchanged(now: Mapping, before: Mapping | None) -> None:
    """Refuse a warm start after a change to the network's parameters.

    Examples
    --------
    >>> check_architecture_unchanged({"filters": "(8,)"}, {"filters": "(8,)"})
    >>> check_architecture_unchanged({"filters": "(4,)"}, {"filters": "(8,)"})
    Traceback (most recent call last):
    ...
    ValueError: warm_start/partial_fit continues the fitted network, but ['filters'] ...
    """
    if before is None:  # loaded from a file that predates the key
        return
    changed = sorted(n for n in set(now) | set(before) if now.get(n) != before.get(n))
    if changed:
        raise ValueError(
            f"warm_start/partial_fit continues the fitted network, but {changed} "
            "changed since it was built and shape the network. Set them back, or "
            "fit with warm_start=False to build a new network."
        )


def draw_seed(random_state) -> int:
    """The fit's one int seed: ``random_state``, or fresh OS entropy if None.

    Unseeded fits are seeded too, from the OS: Keras would otherwise draw its
    seeds from Python's global ``random`` module and change its state.

    Examples
    --------
    >>> draw_seed(7)
    7
    """
    if random_state is None:
        return secrets.randbits(31)
    if isinstance(random_state, Integral):
        return int(random_state)
    return int(check_random_state(random_state).randint(2**31 - 1))


def refuse_keras_fit_arguments(fit_params: Mapping) -> None:
    """Keras habits (``fit(X, y, epochs=3)``) get the skmtl way in one line.

    Examples
    --------
    >>> refuse_keras_fit_arguments({"epochs": 3})
    Traceback (most recent call last):
    ...
    TypeError: fit() got unexpected keyword argument(s) ['epochs']; epochs is ...
    """
    if not fit_params:
        return
    names = sorted(fit_params)
    hints = []
    for name in names:
        if name == "validation_data":
            hints.append(
                "validation: early_stopping=True with validation_fraction=..., or "
                "the routed fit__validation_split"
            )
        elif name in _ESTIMATOR_PARAMETERS:
            hints.append(
                f"{name} is an estimator parameter: "
                f"MultiTaskConvEstimator({name}=...) or est.set_params({name}=...)"
            )
        else:
            hints.append(f"keras.Model.fit's {name} can be routed as fit__{name}")
    raise TypeError(
        f"fit() got unexpected keyword argument(s) {names}; " + "; ".join(hints) + "."
    )


@contextlib.contextmanager
def python_random_seeded(seed: int):
    """Seed Python's global ``random`` for a block, then put its state back.

    Keras draws the seeds of initialisers and dropout layers built without one
    from it: a custom builder is reproducible under ``random_state`` this way,
    and nothing outside the block sees a changed state. (Threads drawing from
    it at the same moment, e.g. on a Dask worker, can still interleave.)

    Examples
    --------
    >>> with python_random_seeded(0):
    ...     a = random.random()
    >>> with python_random_seeded(0):
    ...     b = random.random()
    >>> a == b
    True
    """
    state = random.getstate()
    random.seed(seed)
    try:
        yield
    finally:
        random.setstate(state)


def check_lengths(n_samples: int, n_targets: int) -> None:
    if n_targets != n_samples:
        raise ValueError(
            f"X has {n_samples} samples but y has {n_targets}; they must match."
        )


def feature_names(X, schema) -> np.ndarray | None:
    """Like scikit-learn: ``feature_names_in_`` only for string column names."""
    columns = getattr(X, "columns", None)
    if schema.form != "frame" or columns is None:
        return None
    if not all(isinstance(c, str) for c in columns):
        return None
    return np.asarray(schema.names, dtype=object)
