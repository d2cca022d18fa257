"""The estimator's parameters: one table, and the rules read from it.

:data:`PARAMETERS` declares each parameter once: its default, its constraint
and its role. ``MultiTaskConvEstimator.__init__`` takes its defaults from it,
``_parameter_constraints``, the warm-start key (:data:`ARCHITECTURE`) and the
command line's help come from it, and a test checks every docs table and
docstring against it. The functions below take plain values (a
``get_params()`` dict, a routed sub-dict), so they are tested on their own.
"""

from __future__ import annotations

import contextlib
import random
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Integral, Real
from types import MappingProxyType

import keras
import numpy as np
import tensorflow as tf
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ..nn.network import TRUNK_FILTERS
from ..training.fitted import PREDICT_CHUNK
from ..training.weighting import STRATEGIES
from ..utils.validation import check_count, refuse_bools
from ..utils.warnings import warn_user

__all__ = [
    "Parameter",
    "PARAMETERS",
    "numpydoc_parameters",
    "inactive_parameters",
    "warn_inactive",
    "DEFAULTS",
    "CONSTRAINTS",
    "ARCHITECTURE",
    "ROUTING_PREFIXES",
    "check_routed_names",
    "predict_chunk",
    "architecture_key",
    "check_architecture_unchanged",
    "draw_seed",
    "refuse_keras_fit_arguments",
    "python_random_seeded",
    "check_lengths",
    "declared_kinds",
    "feature_names",
]

#: What a parameter acts on. ``architecture``: the network's shape (a warm
#: start cannot change it); ``training``: how the weights are learned (the
#: training session is rebuilt when it changes); ``fit``: what one call of fit
#: does; ``predict``: what the fitted estimator returns.
ROLES = ("architecture", "training", "fit", "predict")


@dataclass(frozen=True)
class Parameter:
    """One estimator parameter.

    Attributes
    ----------
    name : str
    default : object
    constraints : list
        scikit-learn ``_parameter_constraints`` entries; number intervals
        refuse bools (:func:`skmtl.utils.validation.refuse_bools`).
    role : {"architecture", "training", "fit", "predict"}
    help : str
        One line, as the command line shows it.
    type : str
        The numpydoc type, as the class docstring shows it.
    doc : str
        The full description, as the class docstring shows it
        (:func:`numpydoc_parameters`).
    active_when : (str, object) or None
        ``(other, value)``: the parameter acts only while parameter ``other``
        is ``value`` (:func:`warn_inactive`); None: always.
    """

    name: str
    default: object
    constraints: list
    role: str
    help: str
    type: str
    doc: str
    active_when: tuple | None = None


def _positive(kind, closed="left", low=1):
    return Interval(kind, low, None, closed=closed)


PARAMETERS = (
    Parameter(
        "model",
        default=None,
        constraints=[callable, None],
        role="architecture",
        help="a custom network builder (None: the default network)",
        type="callable or None",
        doc="""\
None builds the default network (:func:`skmtl.nn.network.build_network`).
A callable ``model(schema, tasks, **model_params) -> keras.Model`` builds
your own: its inputs are named as fields of the schema and its outputs
(a dict, or output layers) as the tasks; ``model__*`` parameters are
passed to it. skmtl compiles it and checks its heads before training.""",
    ),
    Parameter(
        "tasks",
        default=None,
        constraints=[dict, list, tuple, str, None],
        role="architecture",
        help="task kinds by column, classification or regression",
        type="dict, sequence or None",
        doc="""\
Task kinds, ``"classification"`` or ``"regression"``, by column name
(dict) or position (sequence). Unnamed tasks are inferred from the
dtype: float is regression; int, bool, str, object and category are
classification.""",
    ),
    Parameter(
        "loss_weights",
        default=None,
        constraints=[dict, None],
        role="training",
        help="weight of each task's loss",
        type="dict or None",
        doc="""\
``{task: weight}``; unnamed tasks weigh 1.0. With ``"dwa"`` and
``"gradnorm"`` these are the initial weights.""",
    ),
    Parameter(
        "loss_weighting",
        default="fixed",
        constraints=[StrOptions(set(STRATEGIES))],
        role="training",
        help="how task losses are combined",
        type='{"fixed", "uncertainty", "dwa", "gradnorm"}',
        doc="""\
How task losses are combined: fixed ``loss_weights``; learned
homoscedastic uncertainty (Kendall et al., 2018); dynamic weight average
(Liu et al., 2019); GradNorm (Chen et al., 2018). See
:mod:`skmtl.training.weighting`.""",
    ),
    Parameter(
        "dwa_temperature",
        default=2.0,
        constraints=[_positive(Real, "neither", 0)],
        role="training",
        help="temperature of dynamic weight average",
        type="float",
        doc="""\
Temperature ``T`` of dynamic weight average.""",
        active_when=("loss_weighting", "dwa"),
    ),
    Parameter(
        "gradnorm_alpha",
        default=1.5,
        constraints=[_positive(Real, "left", 0)],
        role="training",
        help="restoring-force strength of GradNorm",
        type="float",
        doc="""\
Restoring-force strength ``alpha`` of GradNorm.""",
        active_when=("loss_weighting", "gradnorm"),
    ),
    Parameter(
        "trunk",
        default="rocket",
        constraints=[StrOptions(set(TRUNK_FILTERS))],
        role="architecture",
        help="the shared trunk",
        type='{"rocket", "minirocket", "conv", "fcn", "resnet"}',
        doc="""\
The shared trunk. ``"rocket"``: MiniRocket's fixed convolutions
(Dempster et al. 2021) of the signals and of their first differences
(as MultiRocket) as a non-trainable layer whose biases are set from
the training data at fit (:mod:`skmtl.nn.rocket`); its features are
computed once per fit and only the heads train, in seconds
(:mod:`skmtl.nn.frozen`). It reaches FCN-level accuracy on the UCR
archive where the trainable trunks need thousands of epochs (see the
Accuracy page). ``"minirocket"``: the same without the differences,
10-40 % cheaper to predict in batches and slightly less accurate. The
trainable ones: skmtl's pooled conv stages, or the
FCN or ResNet of Wang, Yan & Oates (2017) with their published kernel
sizes (8, 5, 3).""",
        active_when=("model", None),
    ),
    Parameter(
        "filters",
        default=None,
        constraints=["array-like", _positive(Integral), None],
        role="architecture",
        help="stage widths (conv trunks) or (n_features,) (rocket trunks)",
        type="sequence of int or None",
        doc="""\
Width of each stage; its length is the number of stages. None takes the
trunk's default: 10,000 features for "rocket" and "minirocket"
(``filters[0]`` is their number, rounded down to a multiple of 84; fewer
than 84 warns and uses 84), (16, 32, 64, 64) for "conv", the published
(128, 256, 128) for "fcn" and (64, 128, 128) for "resnet".""",
        active_when=("model", None),
    ),
    Parameter(
        "kernel_size",
        default=7,
        constraints=[_positive(Integral)],
        role="architecture",
        help="kernel of every conv stage",
        type="int",
        doc="""\
Kernel of every "conv" stage.""",
        active_when=("model", None),
    ),
    Parameter(
        "pool_size",
        default=4,
        constraints=[_positive(Integral)],
        role="architecture",
        help="max-pooling size of each conv stage",
        type="int",
        doc="""\
Max-pooling size of each "conv" stage (skipped once a signal is too
short).""",
        active_when=("model", None),
    ),
    Parameter(
        "dropout",
        default=0.0,
        constraints=[Interval(Real, 0, 1, closed="left")],
        role="architecture",
        help="dropout rate on the shared features",
        type="float",
        doc="""\
Dropout rate after the shared dense block (on the trunk's features
when there is none).""",
        active_when=("model", None),
    ),
    Parameter(
        "dense_units",
        default=0,
        constraints=[_positive(Integral, "left", 0)],
        role="architecture",
        help="0: chained task heads; > 0: a shared dense block of that width",
        type="int",
        doc="""\
0 (the default): the tasks share one linear layer on the trunk's
features, a block of logits or values per task, and each task's head
reads its own block and every task's outputs (:mod:`skmtl.nn.chain`), so
loss weights act and a task with few labels reads its partners. A
positive width puts a shared ReLU dense block of that width before
independent heads instead.""",
        active_when=("model", None),
    ),
    Parameter(
        "optimizer",
        default="adam",
        constraints=[str, keras.optimizers.Optimizer, type],
        role="training",
        help="a Keras optimizer: name, class or instance",
        type="str, keras Optimizer class or instance",
        doc="""\
Its arguments can be routed as ``optimizer__<name>``.""",
    ),
    Parameter(
        "learning_rate",
        default=1e-3,
        constraints=[_positive(Real, "neither", 0)],
        role="training",
        help="the optimizer's learning rate",
        type="float",
        doc="""\
Overridden by ``optimizer__learning_rate`` if that is given.""",
    ),
    Parameter(
        "batch_size",
        default=32,
        constraints=[_positive(Integral)],
        role="training",
        help="samples per batch",
        type="int",
        doc="""\
Samples per gradient step (``predict__batch_size`` sets the most
rows of one forward pass at ``predict``; on a CPU a MiniRocket trunk
passes fewer, sized to stay in its caches).""",
    ),
    Parameter(
        "epochs",
        default="auto",
        constraints=[_positive(Integral), StrOptions({"auto"})],
        role="fit",
        help="training epochs, or auto",
        type='int or "auto"',
        doc="""\
Passes over the training data per call to ``fit``. ``"auto"`` sets a
budget in optimizer steps: at least 2,000 steps and 10 passes, small
sets' passes grouped into epochs of at least 50 steps (see
:mod:`skmtl.training.budget`). A network of one task whose output the
closed-form refit sets whole (the default trunk, up to 3,000
labelled rows, no callbacks) takes no gradient steps under
``"auto"``: they would change nothing it predicts, and
``history_`` stays empty.""",
    ),
    Parameter(
        "shuffle",
        default=True,
        constraints=["boolean"],
        role="training",
        help="reshuffle the samples every epoch",
        type="bool",
        doc="""\
Reshuffle the training samples every epoch (in a seeded order).""",
    ),
    Parameter(
        "callbacks",
        default=None,
        constraints=[list, keras.callbacks.Callback, None],
        role="fit",
        help="Keras callbacks",
        type="list of keras callbacks or None",
        doc="""\
Keras callbacks (instances, or classes configured through
``callbacks__<i>__<arg>``). Each fit uses deep copies, so the instances
given are never changed (one that cannot be copied, e.g. holding a
lock, is used as given); per-epoch logs are in ``history_``.""",
    ),
    Parameter(
        "warm_start",
        default=False,
        constraints=["boolean"],
        role="fit",
        help="continue training the fitted network",
        type="bool",
        doc="""\
Continue training the fitted network instead of building a new one.""",
    ),
    Parameter(
        "random_state",
        default=None,
        constraints=["random_state"],
        role="fit",
        help="seed, for repeatable fits",
        type="int, RandomState or None",
        doc="""\
Seeds every initialiser, dropout layer and the shuffling order, without
touching TensorFlow's global seed or op-determinism setting.""",
    ),
    Parameter(
        "class_weight",
        default=None,
        constraints=[StrOptions({"balanced"}), dict, None],
        role="fit",
        help="per-class weights of classification tasks",
        type='"balanced", dict or None',
        doc="""\
Per-class weights folded into each classification task's sample
weights: ``"balanced"`` for every classification task,
``{task: "balanced" | {label: weight}}``, or ``{label: weight}`` when
there is a single classification task.""",
    ),
    Parameter(
        "early_stopping",
        default=False,
        constraints=["boolean"],
        role="training",
        help="stop when the held-out loss stops falling",
        type="bool",
        doc="""\
Hold out ``validation_fraction`` of the training samples inside each
``fit`` (stratified on the first classification task where possible),
stop after ``n_iter_no_change`` epochs without a lower validation loss
and restore the best weights (in memory; no file is written).""",
    ),
    Parameter(
        "validation_fraction",
        default=0.1,
        constraints=[Interval(Real, 0, 1, closed="neither")],
        role="training",
        help="share held out for early stopping",
        type="float",
        doc="""\
Share of the training samples held out when ``early_stopping``.""",
        active_when=("early_stopping", True),
    ),
    Parameter(
        "n_iter_no_change",
        default=5,
        constraints=[_positive(Integral)],
        role="training",
        help="epochs without improvement before stopping",
        type="int",
        doc="""\
Epochs without a lower validation loss before ``early_stopping`` stops.""",
        active_when=("early_stopping", True),
    ),
    Parameter(
        "calibration_fraction",
        default="auto",
        constraints=[Interval(Real, 0, 1, closed="left"), StrOptions({"auto"}), None],
        role="fit",
        help="share held out for intervals and calibration",
        type='float, "auto" or None',
        doc="""\
Rows of each ``fit`` kept for :meth:`predict_interval` (split-conformal
residuals) and temperature scaling, never trained on. ``"auto"`` reuses
the validation rows of ``early_stopping`` (or ``fit__validation_split``)
when there are any, at no cost, and otherwise holds out 10 % when that
is at least 20 rows (200 samples), else none; a float holds out that
share; 0 or None none. Rows are chosen by their content
(:mod:`skmtl.data.holdout`): a warm start or ``partial_fit`` never
calibrates on a row an earlier fit of the network trained on.
``partial_fit`` holds out nothing under ``"auto"``, and that share of
each batch under a float. See ``docs/explain.md`` for the cost.""",
    ),
    Parameter(
        "score_weights",
        default=None,
        constraints=[dict, None],
        role="predict",
        help="weight of each task's score in score()",
        type="dict or None",
        doc="""\
``{task: weight}`` of each task's score in :meth:`score` (default 1).""",
    ),
    Parameter(
        "distribute",
        default=None,
        constraints=[StrOptions({"mirrored"}), tf.distribute.Strategy, None],
        role="training",
        help="train data-parallel on several devices",
        type='"mirrored", tf.distribute.Strategy or None',
        doc="""\
Train data-parallel: ``"mirrored"`` is ``tf.distribute.MirroredStrategy()``
over all visible GPUs (the CPU if there is none). Each batch of
``batch_size`` is split across the replicas.""",
    ),
    Parameter(
        "mixed_precision",
        default=None,
        constraints=[StrOptions({"mixed_float16", "mixed_bfloat16"}), None],
        role="architecture",
        help="half-precision compute policy",
        type='"mixed_bfloat16", "mixed_float16" or None',
        doc="""\
Compute the default network in half precision with float32 weights;
normalisation and heads stay float32. ``"mixed_float16"`` (GPUs) adds
loss scaling; ``"mixed_bfloat16"`` suits recent CPUs and TPUs.""",
    ),
    Parameter(
        "verbose",
        default=0,
        constraints=[
            Interval(Integral, 0, 2, closed="both"),
            StrOptions({"auto"}),
            "boolean",
        ],
        role="training",
        help="0 silent, 1 progress bar, 2 a line per epoch",
        type="int",
        doc="""\
0 silent, 1 progress bar, 2 one line per epoch.""",
    ),
)

#: The description of ``**kwargs`` in the class docstring.
ROUTED_DOC = """\
Routed parameters only: ``loss_weights__<task>`` (one task's weight,
overriding ``loss_weights``; searchable as a scalar), ``model__*``,
``fit__*`` (e.g. ``fit__validation_split``), ``compile__*`` (e.g.
``compile__jit_compile``), ``predict__batch_size``, ``optimizer__*`` and
``callbacks__*``."""


def numpydoc_parameters(indent: str = "    ") -> str:
    """The "Parameters" section of the estimator's docstring, from the table.

    Examples
    --------
    >>> print(numpydoc_parameters().splitlines()[0])
        model : callable or None, default=None
    """
    lines = []
    for p in PARAMETERS:
        lines.append(
            f"{indent}{p.name} : {p.type}, default={_numpydoc_value(p.default)}"
        )
        lines += [f"{indent * 2}{line}" if line else "" for line in p.doc.splitlines()]
    lines.append(f"{indent}**kwargs")
    lines += [f"{indent * 2}{line}" for line in ROUTED_DOC.splitlines()]
    return "\n".join(lines)


def inactive_parameters(params: Mapping) -> list[str]:
    """The parameters set away from their default that cannot act, because
    the parameter they depend on (:attr:`Parameter.active_when`) is off.

    Examples
    --------
    >>> inactive_parameters({**DEFAULTS, "dwa_temperature": 5.0})
    ['dwa_temperature']
    >>> inactive_parameters({**DEFAULTS, "dwa_temperature": 5.0,
    ...                      "loss_weighting": "dwa"})
    []
    """
    return [
        p.name
        for p in PARAMETERS
        if p.active_when is not None
        and params[p.active_when[0]] != p.active_when[1]
        and repr(params[p.name]) != repr(p.default)
    ]


def warn_inactive(params: Mapping) -> None:
    """One warning naming each parameter :func:`inactive_parameters` finds,
    and the setting it waits for."""
    names = inactive_parameters(params)
    if names:
        needs = {p.name: p.active_when for p in PARAMETERS if p.name in names}
        settings = "; ".join(
            f"{name}={params[name]!r} acts only with {other}={value!r}"
            for name, (other, value) in needs.items()
        )
        custom = any(other == "model" for other, _ in needs.values())
        hint = (
            " A custom model builder gets only the routed model__* parameters "
            "(e.g. model__filters=...)."
            if custom
            else ""
        )
        warn_user(f"{settings}: as set, it has no effect.{hint}")


def _numpydoc_value(value) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


#: ``{name: default}``, read by ``__init__``'s signature.
DEFAULTS = MappingProxyType({p.name: p.default for p in PARAMETERS})
#: scikit-learn's ``_parameter_constraints``.
CONSTRAINTS = MappingProxyType(
    refuse_bools({p.name: p.constraints for p in PARAMETERS})
)
#: Parameters that shape the network: a warm start cannot change them.
ARCHITECTURE = tuple(p.name for p in PARAMETERS if p.role == "architecture")
#: Parameters a training session is built from (:class:`TrainingConfig`).
TRAINING = tuple(p.name for p in PARAMETERS if p.role == "training")

ROUTING_PREFIXES = frozenset(
    {"model", "fit", "compile", "predict", "optimizer", "callbacks", "loss_weights"}
)
# Routed predict__ names skmtl reads (Model.predict itself is never called).
PREDICT_ARGUMENTS = frozenset({"batch_size"})
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


def declared_kinds(tasks) -> list | None:
    """The task kinds the ``tasks`` parameter declares (None: not declared,
    inferred from y at fit).

    Examples
    --------
    >>> declared_kinds("regression"), declared_kinds({"a": None}), declared_kinds(None)
    (['regression'], [None], None)
    """
    if isinstance(tasks, str):
        return [tasks]
    if isinstance(tasks, Mapping):
        return list(tasks.values())
    if isinstance(tasks, list | tuple):
        return list(tasks)
    return None


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
