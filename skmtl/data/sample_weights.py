"""Per-task loss weights of each sample: missing labels, sample_weight, class_weight.

Keras refuses ``class_weight`` for multi-output models and scikeras' own
``sample_weight`` handling is 1-D (and drops zero-weight rows), so everything
is folded into one weight array per task, passed to the loss of that task's
head. A missing label already has weight 0 (see :mod:`skmtl.data.targets`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Real

import numpy as np

from ..utils.names import check_known
from .targets import CLASSIFICATION, TaskSpec

__all__ = ["apply_sample_weight", "apply_class_weight", "check_sample_weight"]


def check_sample_weight(sample_weight, n_samples: int, name: str = "sample_weight"):
    """The one check of a per-sample weight vector, for fit, partial_fit and score.

    Weights are relative, so they are returned divided by their largest value,
    in float64: a uniform 1e307 and a uniform 1 weigh alike, where sums of the
    raw values would overflow to infinity (and their ratios to 0).

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,)
        One finite weight >= 0 per sample, not all 0. A pandas Series is
        paired with X by position; :func:`skmtl.data.inputs.check_same_index`
        refuses one whose index differs from X's and y's.
    n_samples : int
        The number of samples of X and y.
    name : str, default="sample_weight"
        The argument's name in messages (``"sample_weight['density']"``).

    Returns
    -------
    ndarray of shape (n_samples,)
        float64 weights, the largest 1.

    Raises
    ------
    ValueError
        If the shape is not ``(n_samples,)``, a weight is negative, NaN or
        infinite, or every weight is 0.

    Examples
    --------
    >>> check_sample_weight([1e307, 2e307, 0.0], 3).tolist()
    [0.5, 1.0, 0.0]
    >>> check_sample_weight([1.0, -1.0], 2)
    Traceback (most recent call last):
    ...
    ValueError: sample_weight must be finite and non-negative; sample 1 has -1.0. ...
    """
    if isinstance(sample_weight, Mapping):
        raise ValueError(
            f"{name} is a dict; here it must be one array of {n_samples} weights "
            "(only fit and partial_fit also take {task: array})."
        )
    vector = _relative_weights(name, sample_weight, n_samples)
    if not vector.any():
        raise ValueError(f"{name} is zero for every sample; nothing would count.")
    return vector


def _relative_weights(name: str, values, n_samples: int) -> np.ndarray:
    """Shape and values checked; divided by the largest (all zero kept as is)."""
    try:
        vector = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be numbers, one weight per sample ({exc})."
        ) from None
    if vector.shape != (n_samples,):
        raise ValueError(
            f"{name} must have shape ({n_samples},), one weight per sample; got "
            f"{vector.shape} (X and y have {n_samples} samples)."
        )
    bad = ~np.isfinite(vector) | (vector < 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name} must be finite and non-negative; sample {row} has "
            f"{float(vector[row])!r}. To leave a sample out, give it weight 0."
        )
    largest = vector.max()
    return vector / largest if largest > 0 else vector


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
        check_known("sample_weight", sample_weight, weights)
        per_task = {
            t: _relative_weights(f"sample_weight[{t!r}]", w, n_samples)
            for t, w in sample_weight.items()
        }
    else:
        vector = check_sample_weight(sample_weight, n_samples)
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


# Largest per-sample loss weight training can take. The loss, its gradient
# and Adam's squared gradient are float32 (at most 3.4e38): a weight of 1e39
# is infinite there, and one of 1e20 overflows the squared gradient, which
# ends in a NaN loss blamed on the learning rate.
_LARGEST_WEIGHT = 1e9


def _check_representable(task: str, weighted: np.ndarray) -> None:
    """Refuse class weights whose products with the sample weights float32
    training cannot hold."""
    largest = float(weighted.max(initial=0.0))
    if largest > _LARGEST_WEIGHT:
        raise ValueError(
            f"class_weight[{task!r}] makes sample weights of task {task!r} as large "
            f"as {largest:.3g}; training in float32 holds weights up to "
            f"{_LARGEST_WEIGHT:.0e}. Class weights compare classes: divide them "
            "all by the same factor (and use loss_weights to make the task count "
            "more)."
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
    by_task = all(key in names for key in class_weight)
    if not by_task and len(classifiers) == 1:
        task = next(t for t in tasks if t.name == classifiers[0])
        strangers = [k for k in class_weight if k not in set(task.classes.tolist())]
        if strangers:
            raise ValueError(
                f"class_weight key(s) {strangers} are not tasks {names} and not "
                f"labels of the task {task.name!r} {task.classes.tolist()}."
            )
        return {classifiers[0]: dict(class_weight)}
    check_known("class_weight", class_weight, names)
    regression = [k for k in class_weight if k not in classifiers]
    if regression:
        raise ValueError(
            f"class_weight names regression task(s) {regression}; class "
            "weights apply to classification tasks only."
        )
    return dict(class_weight)


def _class_weights(task: TaskSpec, spec: Mapping) -> np.ndarray:
    """``{label: weight}`` as one float64 weight per class (1 if not named)."""
    values = [spec.get(c, 1.0) for c in task.classes.tolist()]
    numbers = all(
        isinstance(v, Real) and not isinstance(v, bool | np.bool_) for v in values
    )
    per_class = np.array(values, dtype=np.float64) if numbers else None
    if per_class is None or not np.isfinite(per_class).all() or (per_class < 0).any():
        raise ValueError(
            f"class_weight[{task.name!r}] must hold finite weights >= 0 (numbers, "
            f"not bools); got {dict(spec)!r}."
        )
    return per_class


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
            check_known(
                f"class_weight[{task.name!r}]",
                spec,
                task.classes.tolist(),
                kind="classes of the task",
            )
            per_class = _class_weights(task, spec)
        weighted = weights[task.name] * per_class[codes]
        _check_representable(task.name, weighted)
        if labelled.any() and not weighted[labelled].any():
            raise ValueError(
                _all_zero(f"class_weight[{task.name!r}]", task.name, "class")
            )
        out[task.name] = weighted.astype(np.float32)
    return out
