"""The task heads of the default network, and the checks every network's
outputs and inputs pass (a custom ``model=`` builder's included).

:func:`task_heads` puts one correctly shaped head per task on the trunk's
features; :func:`with_task_outputs`, :func:`model_input_names` and
:func:`check_heads` make sure a network's outputs are keyed by task, its
inputs are fields of X and its heads can fit their tasks, before training.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import keras
import numpy as np

from ..data.inputs import InputSchema
from ..data.targets import CLASSIFICATION, TaskSpec
from ..utils.names import LayerNamer
from .chain import SHARED_DENSE, chained_heads
from .exact import ExactDense
from .seeds import layer_seeds

__all__ = ["check_heads", "model_input_names", "task_heads", "with_task_outputs"]


def _layer_names_above(tensor: keras.KerasTensor) -> set[str]:
    """Names of the layers ``tensor`` is computed from, its inputs' included."""
    names: set[str] = set()
    seen: set[int] = set()
    stack = [tensor]
    while stack:
        history = getattr(stack.pop(), "_keras_history", None)
        if history is None or id(history[0]) in seen:
            continue
        layer, node_index = history[0], history[1]
        seen.add(id(layer))
        names.add(layer.name)
        stack.extend(layer._inbound_nodes[node_index].input_tensors)
    return names


def _activation(task: TaskSpec) -> str:
    if task.kind == CLASSIFICATION:
        return "sigmoid" if task.is_binary else "softmax"
    return "linear"


def task_heads(
    features: keras.KerasTensor,
    tasks: Sequence[TaskSpec],
    *,
    dense_units: int,
    dropout: float,
    seeds: Iterator[int | None] | None = None,
) -> dict[str, keras.KerasTensor]:
    """A shared dense block, then one correctly shaped head per task.

    A classification task gets ``Dense(n_classes, softmax)`` (one sigmoid unit
    for two classes); a regression task a linear ``Dense`` with one unit per
    output, on the standardised target. Heads compute in float32, also under
    a mixed-precision policy.

    Parameters
    ----------
    features : KerasTensor
        The trunk's feature vector, from :func:`conv_trunk`.
    tasks : sequence of TaskSpec
        The tasks, as learned at fit; each head is named ``head_<task>``.
    dense_units : int
        Width of the shared ReLU dense block; 0 shares one layer of the
        tasks' linear predictors instead, each head reading every task's
        outputs (:func:`skmtl.nn.chain.chained_heads`). No default: the
        estimator's ``dense_units`` is the one.
    dropout : float
        Dropout rate after the shared dense block, or on the features before
        the shared layer when ``dense_units=0`` (0 to skip it).
    seeds : iterator of int or None, default=None
        Per-layer seeds (see ``layer_seeds``); None leaves the layers unseeded.

    Returns
    -------
    dict of str to KerasTensor
        ``{task: head output}``, ready to be a ``keras.Model``'s outputs.

    Examples
    --------
    >>> import keras
    >>> import pandas as pd
    >>> from skmtl.data.targets import TargetEncoder
    >>> from skmtl.nn.heads import task_heads
    >>> y = pd.DataFrame({"material": ["a", "b", "c", "a"],
    ...                   "density": [1.0, 2.0, 3.0, 4.0]})
    >>> tasks = TargetEncoder().fit(y).tasks_
    >>> heads = task_heads(keras.Input((16,)), tasks, dense_units=8, dropout=0.0)
    >>> {name: tuple(t.shape) for name, t in heads.items()}
    {'material': (None, 3), 'density': (None, 1)}
    """
    seeds = seeds if seeds is not None else layer_seeds(None)
    namer = LayerNamer(_layer_names_above(features))
    x = features
    if not dense_units:
        # No shared dense block: the tasks share one layer of their linear
        # predictors and read each other's outputs (skmtl.nn.chain).
        return chained_heads(
            features,
            tasks,
            namer=namer,
            seeds=seeds,
            dropout=dropout,
            activation_of=_activation,
        )
    x = ExactDense(
        dense_units,
        activation="relu",
        kernel_initializer=keras.initializers.HeNormal(seed=next(seeds)),
        name=namer.name(SHARED_DENSE),
    )(x)
    if dropout:
        x = keras.layers.Dropout(
            dropout, seed=next(seeds), name=namer.name("shared_dropout")
        )(x)
    outputs = {}
    for task in tasks:
        outputs[task.name] = ExactDense(
            task.units,
            activation=_activation(task),
            kernel_initializer=keras.initializers.GlorotUniform(seed=next(seeds)),
            name=namer.name(f"head_{task.name}"),
            # Probabilities and losses in float32 under mixed precision.
            dtype="float32",
        )(x)
    return outputs


def _output_names(model: keras.Model) -> list[str]:
    output = model.output
    if isinstance(output, dict):
        return list(output)
    return list(model.output_names)


def with_task_outputs(model: keras.Model, tasks: Sequence[TaskSpec]) -> keras.Model:
    """Return ``model`` with outputs as a dict keyed by task name.

    A user's functional model may name its outputs by layer rather than by dict
    key, or (with a single task) not name them after the task at all.

    Parameters
    ----------
    model : keras.Model
        A functional model with one output per task: a dict keyed by task
        name, outputs named after the tasks (a list), or, with a single task,
        one output of any name.
    tasks : sequence of TaskSpec
        The tasks, as learned at fit.

    Returns
    -------
    keras.Model
        ``model`` itself if its outputs already are a dict keyed by task name;
        else a model on the same layers whose outputs are that dict.

    Raises
    ------
    ValueError
        If the outputs' names do not match the task names one to one.

    Examples
    --------
    >>> import keras
    >>> import numpy as np
    >>> from skmtl.nn.heads import with_task_outputs
    >>> from skmtl.data.targets import TargetEncoder
    >>> tasks = TargetEncoder().fit(np.array([0.5, 1.5, 2.5])).tasks_
    >>> [t.name for t in tasks]
    ['y']
    >>> inputs = keras.Input((8, 1), name="signal")
    >>> pooled = keras.layers.GlobalAveragePooling1D()(inputs)
    >>> model = keras.Model(inputs, keras.layers.Dense(1, name="out")(pooled))
    >>> list(with_task_outputs(model, tasks).output)
    ['y']
    """
    names = _output_names(model)
    task_names = [t.name for t in tasks]
    if isinstance(model.output, dict) and set(names) == set(task_names):
        return model
    if len(tasks) == 1 and len(names) == 1:
        names = task_names
    missing = [t for t in task_names if t not in names]
    extra = [n for n in names if n not in task_names]
    if missing or extra:
        raise ValueError(
            f"The model's outputs are named {names}, but the tasks are {task_names}: "
            f"no output for {missing}, no task for {extra}. Name each output after "
            "its task, e.g. keras.Model(inputs, {'material': head1, ...})."
        )
    outputs = dict(zip(names, model.outputs, strict=True))
    return keras.Model(inputs=model.input, outputs=outputs, name=model.name)


def model_input_names(model: keras.Model, schema: InputSchema) -> list[str]:
    """Return the fields the model reads; refuse an input not in the schema.

    Parameters
    ----------
    model : keras.Model
        A network whose ``keras.Input`` layers are named after fields of X.
    schema : InputSchema
        The fields of X, as learned at fit.

    Returns
    -------
    list of str
        The names of the model's inputs, in the model's order; a model may
        read only some of the fields.

    Raises
    ------
    ValueError
        If an input of the model is not a field of X.

    Examples
    --------
    >>> import keras
    >>> import numpy as np
    >>> from skmtl.data.inputs import infer_schema
    >>> from skmtl.nn.heads import model_input_names
    >>> schema = infer_schema({"ampl": np.zeros((4, 8)), "temp": np.ones(4)})
    >>> ampl = keras.Input((8, 1), name="ampl")
    >>> pooled = keras.layers.GlobalAveragePooling1D()(ampl)
    >>> model = keras.Model({"ampl": ampl}, keras.layers.Dense(1)(pooled))
    >>> model_input_names(model, schema)
    ['ampl']
    """
    names = [t.name for t in model.inputs]
    unknown = [n for n in names if n not in schema]
    if unknown:
        raise ValueError(
            f"The model has input(s) {unknown}, which are not fields of X; the "
            f"fields are {schema.names}. Name each keras.Input after its field, "
            "e.g. keras.Input(shape, name='ampl')."
        )
    return names


def check_heads(
    model: keras.Model, tasks: Sequence[TaskSpec], sample: dict[str, np.ndarray]
) -> None:
    """Refuse heads that cannot fit their task, before any training.

    The classic failure is ``Dense(1, activation="softmax")``: a softmax over one
    unit is always 1.0, so the model predicts one class whatever it learns. The
    estimator runs this check on every custom ``model=`` before training.

    Parameters
    ----------
    model : keras.Model
        A network whose outputs are a dict keyed by task name.
    tasks : sequence of TaskSpec
        The tasks, as learned at fit.
    sample : dict of str to ndarray
        A few rows of encoded inputs by field name; the model is called on
        them once.

    Raises
    ------
    ValueError
        If a head has the wrong number of units for its task, a one-unit
        softmax head, or outputs that are not probabilities for a
        classification task. The message names the task and the fix.

    Examples
    --------
    >>> import keras
    >>> import numpy as np
    >>> from skmtl.data.targets import TargetEncoder
    >>> from skmtl.nn.heads import check_heads
    >>> tasks = TargetEncoder().fit(np.array(["a", "b", "c", "a"])).tasks_
    >>> inputs = {"signal": keras.Input((8, 1), name="signal")}
    >>> pooled = keras.layers.GlobalAveragePooling1D()(inputs["signal"])
    >>> head = keras.layers.Dense(1, activation="softmax")(pooled)
    >>> model = keras.Model(inputs, {"y": head})
    >>> import warnings
    >>> with warnings.catch_warnings():  # Keras warns about the softmax too
    ...     warnings.simplefilter("ignore")
    ...     check_heads(model, tasks, {"signal": np.zeros((2, 8, 1), "float32")})
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Classification task 'y' has 3 classes but its head has 1 unit. ...
    """
    # An eager call: tracing a predict function here would only add a retrace.
    outputs = {k: np.asarray(v) for k, v in model(sample, training=False).items()}
    for task in tasks:
        out = np.asarray(outputs[task.name])
        width = out.shape[-1] if out.ndim > 1 else 1
        if task.kind != CLASSIFICATION:
            if width != task.units:
                raise ValueError(
                    f"Regression task {task.name!r} needs a head of {task.units} "
                    f"unit(s); the model's has {width}."
                )
            continue
        if width == 1 and task.n_classes > 2:
            raise ValueError(
                f"Classification task {task.name!r} has {task.n_classes} classes "
                "but its head has 1 unit. A Dense(1, activation='softmax') head "
                "always outputs 1.0 and predicts a single class; use "
                f"Dense({task.n_classes}, activation='softmax')."
            )
        if width != task.units:
            raise ValueError(
                f"Classification task {task.name!r} has {task.n_classes} classes "
                f"but its head has {width} units; use "
                f"Dense({task.units}, activation="
                f"{'sigmoid' if task.is_binary else 'softmax'!r})."
            )
        if width == 1 and np.allclose(out, 1.0) and _is_softmax_head(model, task):
            raise ValueError(
                f"Binary task {task.name!r} has a Dense(1, activation='softmax') "
                "head, which always outputs 1.0; use Dense(1, activation="
                "'sigmoid')."
            )
        if (
            np.any(out < 0)
            or np.any(out > 1)
            or (width > 1 and not np.allclose(out.sum(axis=-1), 1.0, atol=1e-3))
        ):
            raise ValueError(
                f"Classification task {task.name!r}: the head must output class "
                "probabilities (softmax, or sigmoid for one unit); its outputs "
                "are not probabilities. Add activation='softmax' to the head."
            )


def _is_softmax_head(model: keras.Model, task: TaskSpec) -> bool:
    tensor = model.output[task.name]
    layer = (
        tensor._keras_history.operation if hasattr(tensor, "_keras_history") else None
    )
    return getattr(layer, "activation", None) is keras.activations.softmax
