"""Pure builders from (input schema, task specs, hyper-parameters) to a Keras model.

The default network, in the order data flows through it:

1. one ``Input`` per field, named as the field;
2. per-signal ``Normalization`` with the statistics learned at fit, so that an
   amplitude trace of ~100 and a phase of ~1 reach the convolutions on one scale
   (and a saved model carries its normalisation);
3. signals of equal length are stacked on the channel axis and share a branch;
   each branch is ``len(filters)`` stages of ``Conv1D(same) -> BatchNorm -> ReLU ->
   MaxPool``. Pooling stops once a branch is shorter than ``pool_size``, so any
   length from 1 step to 100,000 works (six ``valid`` stages collapse below
   ~1,500 steps);
4. global average pooling, then the normalised covariates joined;
5. a shared ``Dense`` block, and one head per task: ``Dense(n_classes, softmax)``
   (one sigmoid unit for two classes) or a linear unit on the standardised
   target; or, with ``dense_units=0`` (the estimator's default), one shared
   layer of every task's linear predictor and heads that read every task's
   outputs (:mod:`skmtl.nn.chain`).

Every layer with randomness gets its own seed derived from ``random_state``, so a
fit is reproducible without touching TensorFlow's global seed
(:func:`skmtl.nn.seeds.layer_seeds`).

This module assembles the network and reads its parameters; the trainable
trunks' branches are in :mod:`skmtl.nn.branches`, MiniRocket's in
:mod:`skmtl.nn.rocket`, the heads and the checks of any network's inputs and
outputs in :mod:`skmtl.nn.heads`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from numbers import Integral

import keras
import numpy as np

from ..data.inputs import InputSchema
from ..data.targets import TaskSpec
from ..utils.names import LayerNamer
from ..utils.warnings import warn_user
from .branches import conv_branch, fcn_branch, resnet_branch
from .heads import check_heads, model_input_names, task_heads, with_task_outputs
from .masking import split_mask
from .rocket import _N_KERNELS, rocket_branch
from .seeds import layer_seeds

__all__ = [
    "build_inputs",
    "conv_trunk",
    "task_heads",
    "build_network",
    "check_filters",
    "dtype_policy",
    "TRUNK_FILTERS",
    "NETWORK_PARAMETERS",
    "network_parameters",
    "inapplicable_parameters",
    "warn_inapplicable",
    "with_task_outputs",
    "model_input_names",
    "check_heads",
]


def check_filters(filters) -> tuple[int, ...] | None:
    """Return ``filters`` as a tuple of positive ints (None: trunk default).

    Parameters
    ----------
    filters : int, sequence of int or None
        The estimator's ``filters`` parameter: the number of filters of each
        conv stage. A single int is one stage.

    Returns
    -------
    tuple of int or None
        One positive int per stage; None if ``filters`` is None, which leaves
        the choice to the trunk (see ``TRUNK_FILTERS``).

    Raises
    ------
    ValueError
        If ``filters`` is empty or holds anything but positive ints.

    Examples
    --------
    >>> check_filters([16, 32]), check_filters(8), check_filters(None)
    ((16, 32), (8,), None)
    >>> check_filters((16, 0))
    Traceback (most recent call last):
    ...
    ValueError: The 'filters' parameter must be a non-empty sequence of positive ...
    """
    if filters is None:
        return None
    values = (filters,) if isinstance(filters, Integral) else tuple(filters)
    if not values or not all(_is_count(f) and f >= 1 for f in values):
        raise ValueError(
            f"The 'filters' parameter must be a non-empty sequence of positive "
            f"ints (one per conv stage); got {filters!r}."
        )
    return tuple(int(f) for f in values)


def _is_count(value) -> bool:
    # True is an Integral to Python; as a number of filters it is a mistake.
    return isinstance(value, Integral) and not isinstance(value, bool)


@contextmanager
def dtype_policy(name: str | None):
    """Build layers under a Keras dtype policy (e.g. ``"mixed_bfloat16"``).

    Keras reads its global policy when a layer is created; it is restored on
    exit, so nothing outside the build sees the change.

    Parameters
    ----------
    name : str or None
        A Keras dtype policy name, such as ``"float32"``, ``"mixed_float16"``
        or ``"mixed_bfloat16"``; None leaves the global policy as it is.

    Examples
    --------
    >>> import keras
    >>> from skmtl.nn.network import dtype_policy
    >>> with dtype_policy("mixed_bfloat16"):
    ...     layer = keras.layers.Dense(4)
    >>> layer.compute_dtype, layer.variable_dtype
    ('bfloat16', 'float32')
    >>> keras.config.dtype_policy().name
    'float32'
    """
    if name is None:
        yield
        return
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def build_inputs(schema: InputSchema) -> dict[str, keras.KerasTensor]:
    """One ``keras.Input`` per field, named as the field, in schema order.

    The first step of a custom ``model=`` builder: the estimator feeds X to the
    network by these names.

    Parameters
    ----------
    schema : InputSchema
        The fields of X, as learned at fit (``est.schema_``, or the ``schema``
        argument a ``model=`` builder receives).

    Returns
    -------
    dict of str to KerasTensor
        ``{field: keras.Input}``: float32, of shape ``(n_steps, n_channels)``
        for a signal and ``(1,)`` for a covariate.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.data.inputs import infer_schema
    >>> from skmtl.nn.network import build_inputs
    >>> schema = infer_schema({"ampl": np.zeros((4, 64)), "temp": np.ones(4)})
    >>> {name: tuple(t.shape) for name, t in build_inputs(schema).items()}
    {'ampl': (None, 64, 1), 'temp': (None, 1)}
    """
    return {
        spec.name: keras.Input(shape=spec.shape, name=spec.name, dtype="float32")
        for spec in schema.fields
    }


def _normalization(mean, std, name: str) -> keras.layers.Normalization:
    # float32 even under a mixed-precision policy: raw values of ~100 lose
    # digits in half precision before they are scaled.
    return keras.layers.Normalization(
        axis=-1,
        mean=np.asarray(mean),
        variance=np.square(std),
        name=name,
        dtype="float32",
    )


#: Published (or, for "conv", skmtl's) default filters of each trunk.
TRUNK_FILTERS = {
    "conv": (16, 32, 64, 64),
    "fcn": (128, 256, 128),
    "resnet": (64, 128, 128),
    # MiniRocket's feature count (84 kernels x 119 biases).
    "rocket": (10_000,),
    "minirocket": (10_000,),
}
_BRANCHES = {
    "conv": conv_branch,
    "fcn": fcn_branch,
    "resnet": resnet_branch,
    "rocket": rocket_branch,
    # MiniRocket alone: no first differences, 10-40 % cheaper to predict.
    "minirocket": functools.partial(rocket_branch, difference=False),
}


def _ragged_branch(x, spec, namer, *, trunk, branch, **params):
    """A variable-length signal's own branch, its padding masked throughout.

    Every trunk reads each recording over its own steps: the conv trunks zero
    the padding after each layer and average over true steps, the rocket
    trunks count each recording's PPV over its own steps, with dilations that
    follow from the longest training recording (MiniRocket's variable-length
    variant).
    """
    name = namer.prefix(f"ragged_{spec.name}")
    values, mask = split_mask(x, name)
    normalised = _normalization(spec.network_mean, spec.network_std, f"{name}_norm")(
        values
    )
    n_steps = spec.n_steps if trunk in _ROCKET_TRUNKS else max(spec.min_steps, 1)
    return branch(normalised, n_steps, name, mask=mask, **params)


# Trunks whose dilations follow from a reference length (the longest at fit).
_ROCKET_TRUNKS = {"rocket", "minirocket"}

#: The estimator's parameters that shape the default network: the keyword
#: arguments of :func:`build_network` besides ``random_state``.
NETWORK_PARAMETERS = (
    "trunk",
    "filters",
    "kernel_size",
    "pool_size",
    "dropout",
    "dense_units",
)

# Why each trunk reads no value from the architecture parameters it ignores;
# "conv" reads them all.
_FIXED_KERNELS_NO_POOLING = (
    "its kernels are 8, 5 and 3 steps, as published, and it does not pool"
)
_ROCKET_KERNELS = "MiniRocket's kernels are 9 steps long and it does not pool"
_IGNORED_BY_TRUNK = {
    "conv": ((), ""),
    "fcn": (("kernel_size", "pool_size"), _FIXED_KERNELS_NO_POOLING),
    "resnet": (("kernel_size", "pool_size"), _FIXED_KERNELS_NO_POOLING),
    "rocket": (("kernel_size", "pool_size"), _ROCKET_KERNELS),
    "minirocket": (("kernel_size", "pool_size"), _ROCKET_KERNELS),
}


def _check_trunk(trunk: str) -> None:
    if trunk not in _BRANCHES:
        raise ValueError(f"trunk={trunk!r}; expected one of {sorted(_BRANCHES)}.")


def _trunk_filters(trunk: str, filters: Sequence[int] | None) -> tuple[int, ...]:
    """``filters`` as ``trunk`` builds with it: None is the trunk's default.

    A rocket trunk reads one number, its feature count; the values after it
    would be dropped without a word, so they are named in a warning.
    """
    if filters is None:
        return TRUNK_FILTERS[trunk]
    filters = tuple(filters)
    if trunk in _ROCKET_TRUNKS and len(filters) > 1:
        warn_user(
            f"filters={filters!r}: the {trunk!r} trunk reads one number, its "
            f"feature count (filters=(n_features,)); it uses {filters[0]} and "
            f"drops {filters[1:]!r}. Pass filters=({filters[0]},), or "
            "trunk='conv' for conv stages of these widths."
        )
        filters = filters[:1]
    if trunk in _ROCKET_TRUNKS and filters[0] < _N_KERNELS:
        # One feature per kernel is the fewest MiniRocket makes: asking for
        # 4 and getting 84 without a word would be a parameter with two meanings.
        warn_user(
            f"filters={filters!r}: the {trunk!r} trunk makes at least "
            f"{_N_KERNELS} features (one per kernel), so it uses {_N_KERNELS}. "
            f"Pass filters=({_N_KERNELS},) or more, or trunk='conv' for a "
            "narrower conv trunk."
        )
        filters = (_N_KERNELS,)
    return filters


def network_parameters(params: Mapping[str, object]) -> dict[str, object]:
    """The keyword arguments of :func:`build_network` from an estimator's parameters.

    The network builders carry no defaults of their own: their values come
    from the estimator (its ``get_params()``), the one place defaults live.

    Parameters
    ----------
    params : mapping of str to object
        Holds at least :data:`NETWORK_PARAMETERS`, e.g.
        ``MultiTaskConvEstimator().get_params()``.

    Returns
    -------
    dict of str to object
        ``{name: value}`` for each of :data:`NETWORK_PARAMETERS`, ``filters``
        checked by :func:`check_filters` (an int becomes a one-stage tuple).

    Raises
    ------
    KeyError
        If ``params`` lacks one of :data:`NETWORK_PARAMETERS`.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl import MultiTaskConvEstimator
    >>> from skmtl.data.inputs import infer_schema
    >>> from skmtl.data.targets import TargetEncoder
    >>> from skmtl.nn.network import build_network, network_parameters
    >>> params = network_parameters(MultiTaskConvEstimator(filters=168).get_params())
    >>> params["filters"]
    (168,)
    >>> schema = infer_schema({"ampl": np.random.rand(4, 32)})
    >>> tasks = TargetEncoder().fit(np.array([0, 1, 0, 1])).tasks_
    >>> model = build_network(schema, tasks, **params, random_state=0)
    >>> tuple(model.output["y"].shape)
    (None, 1)
    """
    picked = {name: params[name] for name in NETWORK_PARAMETERS}
    picked["filters"] = check_filters(picked["filters"])
    return picked


def inapplicable_parameters(
    trunk: str, given: Mapping[str, object], defaults: Mapping[str, object]
) -> list[str]:
    """The architecture parameters set away from their default that ``trunk`` ignores.

    ``kernel_size`` and ``pool_size`` shape the ``"conv"`` trunk only: the
    published trunks have their own kernels, MiniRocket's are fixed, and none
    of them pools. A value left at its default says nothing; a value changed
    from it was meant to do something, and does not.

    Parameters
    ----------
    trunk : {"conv", "fcn", "resnet", "rocket", "minirocket"}
        The chosen trunk.
    given : mapping of str to object
        The parameters as set, e.g. ``est.get_params()``.
    defaults : mapping of str to object
        The same parameters at their defaults, e.g.
        ``type(est)().get_params()``. A name missing here counts as changed.

    Returns
    -------
    list of str
        The names, in a fixed order; empty if the trunk reads every
        parameter that was changed.

    Raises
    ------
    ValueError
        If ``trunk`` is not one of the trunks above.

    Examples
    --------
    >>> from skmtl.nn.network import inapplicable_parameters
    >>> defaults = {"kernel_size": 7, "pool_size": 4}
    >>> inapplicable_parameters("rocket", {"kernel_size": 3, "pool_size": 4}, defaults)
    ['kernel_size']
    >>> inapplicable_parameters("conv", {"kernel_size": 3, "pool_size": 2}, defaults)
    []
    """
    _check_trunk(trunk)
    ignored, _ = _IGNORED_BY_TRUNK[trunk]
    return [
        name
        for name in ignored
        if name in given and (name not in defaults or given[name] != defaults[name])
    ]


def warn_inapplicable(
    trunk: str, given: Mapping[str, object], defaults: Mapping[str, object]
) -> None:
    """Warn once, naming each changed parameter that ``trunk`` ignores.

    The estimator calls this at fit, so that ``kernel_size=3`` under the
    default rocket trunk is not silently without effect.

    Parameters
    ----------
    trunk : {"conv", "fcn", "resnet", "rocket", "minirocket"}
        The chosen trunk.
    given, defaults : mapping of str to object
        The parameters as set and at their defaults (see
        :func:`inapplicable_parameters`).

    Warns
    -----
    UserWarning
        One warning, if any parameter applies: it names each, their values,
        the trunk, and says that they have no effect. It points at the first
        line outside skmtl (the user's call of ``fit``).

    Examples
    --------
    >>> import warnings
    >>> from skmtl.nn.network import warn_inapplicable
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_inapplicable("fcn", {"kernel_size": 3}, {"kernel_size": 7})
    >>> print(caught[0].message)  # doctest: +ELLIPSIS
    kernel_size=3 has no effect with trunk='fcn': its kernels are 8, 5 and 3 ...
    """
    names = inapplicable_parameters(trunk, given, defaults)
    if not names:
        return
    _, reason = _IGNORED_BY_TRUNK[trunk]
    settings = " and ".join(f"{name}={given[name]!r}" for name in names)
    verb = "has" if len(names) == 1 else "have"
    warn_user(
        f"{settings} {verb} no effect with trunk={trunk!r}: {reason}. Leave "
        f"{' and '.join(names)} at the default, or choose trunk='conv', the "
        "trunk that reads them."
    )


def conv_trunk(
    inputs: dict[str, keras.KerasTensor],
    schema: InputSchema,
    *,
    trunk: str,
    filters: Sequence[int] | None,
    kernel_size: int,
    pool_size: int,
    seeds: Iterator[int | None] | None = None,
) -> keras.KerasTensor:
    """The shared trunk: normalised signals through conv branches, plus covariates.

    Each signal is normalised with its statistics from the schema; signals of
    equal length are stacked on the channel axis and share one branch, which
    ends in global average pooling; the normalised covariates are joined to
    the branches' features.

    Parameters
    ----------
    inputs : dict of str to KerasTensor
        The network's inputs by field name, from :func:`build_inputs`.
    schema : InputSchema
        The fields of X with their normalisation statistics.
    trunk : {"conv", "fcn", "resnet", "rocket", "minirocket"}
        The branch: skmtl's pooled conv stages, the FCN or ResNet of Wang,
        Yan & Oates (2017) with their kernel sizes 8, 5, 3, or MiniRocket's
        fixed features (with or without first differences). This and the
        next three have no default here: the estimator's parameters are the
        one source of defaults (see :func:`network_parameters`).
    filters : sequence of int or None
        ``"conv"``: the width of each stage; ``"fcn"``, ``"resnet"``: of each
        block; ``"rocket"``, ``"minirocket"``: one number, ``(n_features,)``,
        the feature count (rounded down to a multiple of 84; fewer than 84
        warns and uses 84), any further value dropped with a ``UserWarning``.
        None uses the trunk's
        default (:data:`TRUNK_FILTERS`).
    kernel_size : int
        Convolution kernel of every ``"conv"`` stage; the other trunks ignore
        it (see :func:`inapplicable_parameters`).
    pool_size : int
        Max-pooling size of every ``"conv"`` stage (pooling stops once a
        branch is shorter than this); the other trunks ignore it.
    seeds : iterator of int or None, default=None
        Per-layer seeds (see ``layer_seeds``); None leaves the layers unseeded.

    Returns
    -------
    KerasTensor
        The joined feature vector, of shape ``(batch, n_features)``.

    Warns
    -----
    UserWarning
        If a rocket trunk is given more than one ``filters`` value.

    Examples
    --------
    A custom ``model=`` builder that keeps skmtl's inputs and trunk and adds
    its own head:

    >>> import keras
    >>> import numpy as np
    >>> from skmtl import MultiTaskConvEstimator
    >>> from skmtl.datasets import make_sensor_tasks
    >>> from skmtl.nn.network import build_inputs, conv_trunk
    >>> def my_model(schema, tasks):
    ...     inputs = build_inputs(schema)
    ...     x = conv_trunk(inputs, schema, trunk="conv", filters=(4, 8),
    ...                    kernel_size=3, pool_size=4)
    ...     heads = {t.name: keras.layers.Dense(t.units, activation="softmax")(x)
    ...              for t in tasks}
    ...     return keras.Model(inputs, heads)
    >>> X, y = make_sensor_tasks(40, n_steps=32, random_state=0)
    >>> est = MultiTaskConvEstimator(model=my_model, epochs=1, random_state=0)
    >>> est.fit(X, y["material"]).predict_proba(X).shape
    (40, 5)
    """
    _check_trunk(trunk)
    branch = _BRANCHES[trunk]
    filters = _trunk_filters(trunk, filters)
    seeds = seeds if seeds is not None else layer_seeds(None)
    # Layer names derive from field names, which may be anything: each is
    # sanitised and kept clear of the inputs' names and of each other.
    namer = LayerNamer(t.name for t in inputs.values())
    by_length: dict[int, list] = {}
    features = []
    for spec in schema.signals:
        if spec.ragged:
            features.append(
                _ragged_branch(
                    inputs[spec.name],
                    spec,
                    namer,
                    trunk=trunk,
                    branch=branch,
                    filters=filters,
                    kernel_size=kernel_size,
                    pool_size=pool_size,
                    seeds=seeds,
                )
            )
            continue
        norm_name = namer.name(f"{spec.name}_norm")
        normalised = _normalization(spec.network_mean, spec.network_std, norm_name)(
            inputs[spec.name]
        )
        by_length.setdefault(spec.n_steps, []).append(normalised)
    for n_steps, tensors in by_length.items():
        name = namer.prefix(f"branch{n_steps}")
        x = (
            keras.layers.Concatenate(name=f"{name}_stack")(tensors)
            if len(tensors) > 1
            else tensors[0]
        )
        features.append(
            branch(
                x,
                n_steps,
                name,
                filters=filters,
                kernel_size=kernel_size,
                pool_size=pool_size,
                seeds=seeds,
            )
        )
    covariates = schema.covariates
    if covariates:
        tensors = [inputs[spec.name] for spec in covariates]
        x = (
            keras.layers.Concatenate(name=namer.name("covariates"))(tensors)
            if len(tensors) > 1
            else tensors[0]
        )
        mean = [spec.network_mean[0] for spec in covariates]
        std = [spec.network_std[0] for spec in covariates]
        features.append(_normalization(mean, std, namer.name("covariates_norm"))(x))
    if len(features) == 1:
        return features[0]
    return keras.layers.Concatenate(name=namer.name("features"))(features)


def build_network(
    schema: InputSchema,
    tasks: Sequence[TaskSpec],
    *,
    trunk: str,
    filters: Sequence[int] | None,
    kernel_size: int,
    pool_size: int,
    dropout: float,
    dense_units: int,
    random_state: int | None,
) -> keras.Model:
    """Build the default multi-task network (uncompiled).

    Every argument after ``tasks`` is required: the estimator's parameters
    are the one source of defaults (:func:`network_parameters` picks them
    from ``get_params()``).

    Parameters
    ----------
    schema : InputSchema
        Fields of X and their normalisation statistics.
    tasks : sequence of TaskSpec
        One head per task, named as the task.
    trunk : {"conv", "fcn", "resnet", "rocket", "minirocket"}
        The branch applied to each group of equal-length signals.
    filters : sequence of int or None
        Width of each conv stage (``"conv"``), block (``"fcn"``) or residual
        block (``"resnet"``); for ``"rocket"`` and ``"minirocket"`` one
        number, the feature count. None takes the trunk's default.
    kernel_size, pool_size : int
        Convolution kernel and max-pooling size of every ``"conv"`` stage
        (the other trunks ignore them).
    dropout : float
        Dropout rate after the shared dense block (with ``dense_units=0``:
        on the features, before the shared layer).
    dense_units : int
        Width of the shared dense block (0: chained heads, see :func:`task_heads`).
    random_state : int or None
        Seeds every initialiser and dropout layer.

    Returns
    -------
    keras.Model
        Inputs and outputs are dicts keyed by field and task names.

    Warns
    -----
    UserWarning
        If a rocket trunk is given more than one ``filters`` value.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl import MultiTaskConvEstimator
    >>> from skmtl.data.inputs import infer_schema
    >>> from skmtl.data.targets import TargetEncoder
    >>> schema = infer_schema({"ampl": np.random.rand(8, 64), "temp": np.ones(8)})
    >>> tasks = TargetEncoder().fit(np.array(["a", "b", "c"] * 2 + ["a", "b"])).tasks_
    >>> params = MultiTaskConvEstimator(trunk="conv", filters=(4, 8)).get_params()
    >>> model = build_network(schema, tasks, **network_parameters(params),
    ...                       random_state=0)
    >>> {name: tuple(t.shape) for name, t in model.output.items()}
    {'y': (None, 3)}
    """
    seeds = layer_seeds(random_state)
    inputs = build_inputs(schema)
    features = conv_trunk(
        inputs,
        schema,
        trunk=trunk,
        filters=filters,
        kernel_size=kernel_size,
        pool_size=pool_size,
        seeds=seeds,
    )
    outputs = task_heads(
        features, tasks, dense_units=dense_units, dropout=dropout, seeds=seeds
    )
    return keras.Model(inputs=inputs, outputs=outputs, name="skmtl_network")
