"""Per-task loss weights of each sample: missing labels, sample_weight, class_weight.

Keras refuses ``class_weight`` for multi-output models and scikeras' own
``sample_weight`` handling is 1-D (and drops zero-weight rows), so everything
is folded into one weight array per task, passed to the loss of that task's
head. A missing label already has weight 0 (see :mod:`skmtl.targets`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .targets import CLASSIFICATION, TaskSpec

__all__ = ["apply_sample_weight", "apply_class_weight"]


def _check_vector(name: str, values, n_samples: int) -> np.ndarray:
    vector = np.asarray(values, dtype=np.float64)
    if vector.shape != (n_samples,):
        raise ValueError(
            f"{name} must have shape ({n_samples},), one weight per sample; got "
            f"{vector.shape}."
        )
    if not np.isfinite(vector).all() or (vector < 0).any():
        raise ValueError(f"{name} must be finite and non-negative.")
    return vector


def apply_sample_weight(
    weights: Mapping[str, np.ndarray], sample_weight, n_samples: int
) -> dict[str, np.ndarray]:
    """Multiply each task's weights by ``sample_weight``.

    ``sample_weight`` is one array for every task, or ``{task: array}``. Each
    task's weights are then rescaled so that their mean over labelled samples is
    unchanged: the weights say how samples compare, not how much the task counts
    (that is ``loss_weights``).
    """
    if sample_weight is None:
        return dict(weights)
    if isinstance(sample_weight, Mapping):
        unknown = [t for t in sample_weight if t not in weights]
        if unknown:
            raise ValueError(
                f"sample_weight names {unknown}, which are not tasks; the tasks are "
                f"{list(weights)}."
            )
        per_task = {
            t: _check_vector(f"sample_weight[{t!r}]", w, n_samples)
            for t, w in sample_weight.items()
        }
    else:
        vector = _check_vector("sample_weight", sample_weight, n_samples)
        if not vector.any():
            raise ValueError("sample_weight is zero for every sample.")
        per_task = dict.fromkeys(weights, vector)
    out = {}
    for name, w in weights.items():
        if name not in per_task:
            out[name] = w
            continue
        scaled = w * per_task[name]
        labelled = w > 0
        total = scaled[labelled].sum()
        if labelled.any() and not total > 0:
            given = (
                f"sample_weight[{name!r}]"
                if isinstance(sample_weight, Mapping)
                else "sample_weight"
            )
            raise ValueError(_all_zero(given, name, "sample"))
        factor = w[labelled].sum() / total if total > 0 else 0.0
        out[name] = (scaled * factor).astype(np.float32)
    return out


def _all_zero(given: str, task: str, unit: str) -> str:
    # Per-sample and per-class weights compare samples within a task; a task
    # left with no weight at all would train nothing, without a word.
    return (
        f"{given} is zero for every labelled {unit} of task {task!r}, which would "
        "then train nothing. These weights compare samples; to switch a task off, "
        f"use loss_weights={{{task!r}: 0}}."
    )


def _class_weight_by_task(class_weight, tasks: Sequence[TaskSpec]) -> dict:
    """Normalise ``class_weight`` to ``{task: "balanced" | {label: weight}}``."""
    classifiers = [t.name for t in tasks if t.kind == CLASSIFICATION]
    if class_weight == "balanced":
        return dict.fromkeys(classifiers, "balanced")
    if not isinstance(class_weight, Mapping):
        raise ValueError(
            f"class_weight must be 'balanced', {{task: 'balanced' | {{label: "
            f"weight}}}} or, with one classification task, {{label: weight}}; got "
            f"{class_weight!r}."
        )
    names = [t.name for t in tasks]
    if all(key in names for key in class_weight):
        regression = [k for k in class_weight if k not in classifiers]
        if regression:
            raise ValueError(
                f"class_weight names regression task(s) {regression}; class "
                "weights apply to classification tasks only."
            )
        return dict(class_weight)
    if len(classifiers) == 1:
        task = next(t for t in tasks if t.name == classifiers[0])
        strangers = [k for k in class_weight if k not in set(task.classes.tolist())]
        if strangers:
            raise ValueError(
                f"class_weight key(s) {strangers} are not tasks {names} and not "
                f"labels of the task {task.name!r} {task.classes.tolist()}."
            )
        return {classifiers[0]: dict(class_weight)}
    unknown = [k for k in class_weight if k not in names]
    raise ValueError(
        f"class_weight names {unknown}, which are not tasks; the tasks are {names}."
    )


def apply_class_weight(
    weights: Mapping[str, np.ndarray],
    targets: Mapping[str, np.ndarray],
    tasks: Sequence[TaskSpec],
    class_weight,
) -> dict[str, np.ndarray]:
    """Multiply each classification task's weights by its label's class weight.

    ``"balanced"`` gives class ``c`` the weight ``n_labelled / (n_classes *
    n_c)``, as scikit-learn does.
    """
    if class_weight is None:
        return dict(weights)
    by_task = _class_weight_by_task(class_weight, tasks)
    out = dict(weights)
    for task in tasks:
        spec = by_task.get(task.name)
        if spec is None:
            continue
        codes = np.asarray(targets[task.name]).reshape(len(weights[task.name]))
        codes = codes.astype(np.int64)
        labelled = weights[task.name] > 0
        if isinstance(spec, str):
            if spec != "balanced":
                raise ValueError(
                    f"class_weight[{task.name!r}] is {spec!r}; expected 'balanced' "
                    "or {label: weight}."
                )
            counts = np.bincount(codes[labelled], minlength=task.n_classes)
            per_class = labelled.sum() / (task.n_classes * np.maximum(counts, 1))
        else:
            known = set(task.classes.tolist())
            unknown = [label for label in spec if label not in known]
            if unknown:
                raise ValueError(
                    f"class_weight[{task.name!r}] names label(s) {unknown} not in "
                    f"the task's classes {task.classes.tolist()}."
                )
            per_class = np.array(
                [float(spec.get(c, 1.0)) for c in task.classes.tolist()]
            )
            if not np.isfinite(per_class).all() or (per_class < 0).any():
                raise ValueError(
                    f"class_weight[{task.name!r}] must hold finite weights >= 0."
                )
        weighted = weights[task.name] * per_class[codes]
        if labelled.any() and not weighted[labelled].any():
            raise ValueError(
                _all_zero(f"class_weight[{task.name!r}]", task.name, "class")
            )
        out[task.name] = weighted.astype(np.float32)
    return out
