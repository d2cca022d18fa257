"""Per-task scorers and the combined score.

``MultiTaskConvEstimator.score`` is the unweighted mean, over tasks, of each
task's default score on its labelled samples: **accuracy** for a classification
task and **R²** for a regression task. Samples whose label is missing for a task
are left out of that task's score. :func:`task_scorer` scores one task with any
metric, for ``GridSearchCV(scoring={...}, refit=...)``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
from sklearn import metrics as skm

from ..data.targets import CLASSIFICATION, column_values, missing_mask, target_columns
from ..utils.names import check_known
from ..utils.warnings import warn_user

__all__ = [
    "task_scorer",
    "combined_score",
    "check_score_weights",
    "check_unseen_labels",
    "task_column",
]

# name -> (metric function on labels/values, sign so that higher is better)
_METRICS: dict[str, tuple[Callable, float]] = {
    "accuracy": (skm.accuracy_score, 1.0),
    "balanced_accuracy": (skm.balanced_accuracy_score, 1.0),
    "f1_macro": (partial(skm.f1_score, average="macro"), 1.0),
    "f1_weighted": (partial(skm.f1_score, average="weighted"), 1.0),
    "r2": (skm.r2_score, 1.0),
    "neg_mean_absolute_error": (skm.mean_absolute_error, -1.0),
    "neg_mean_squared_error": (skm.mean_squared_error, -1.0),
    "neg_root_mean_squared_error": (skm.root_mean_squared_error, -1.0),
    "neg_median_absolute_error": (skm.median_absolute_error, -1.0),
}
DEFAULT_METRIC = {CLASSIFICATION: "accuracy", "regression": "r2"}


def task_column(y, task: str) -> np.ndarray:
    """The values of ``task`` in y (or in predictions of the same form as y).

    Parameters
    ----------
    y : array-like, DataFrame or structured ndarray
        Targets in any form the estimator accepts, or its predictions. A 1-D y
        holds a single task, whatever ``task`` is.
    task : str
        Task (column) name.

    Returns
    -------
    ndarray
        The task's column, missing labels included.

    Raises
    ------
    ValueError
        If y has several tasks and none is named ``task``.

    Examples
    --------
    >>> import pandas as pd
    >>> from skmtl.metrics import task_column
    >>> y = pd.DataFrame({"material": ["steel", "wood"], "density": [7.9, 0.6]})
    >>> task_column(y, "density")
    array([7.9, 0.6])
    """
    form, columns = target_columns(y)
    if form == "1d":
        # One task: a 1-D y (named Series or not) is that task's column.
        return column_values(next(iter(columns.values())))
    if task not in columns:
        raise ValueError(f"Unknown task {task!r}; y has tasks {list(columns)}.")
    return column_values(columns[task])


def score_task(y_true, y_pred, metric: str | Callable, sample_weight=None) -> float:
    """Score one task's labelled samples; NaN if none is labelled."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    labelled = ~missing_mask(y_true)
    true, pred = y_true[labelled], y_pred[labelled]
    if true.dtype == object and pred.dtype != object:
        true = true.astype(pred.dtype)
    if len(true) == 0:
        return float("nan")
    if callable(metric):
        return float(metric(true, pred))
    try:
        func, sign = _METRICS[metric]
    except KeyError:
        raise ValueError(
            f"Unknown metric {metric!r}; use a callable(y_true, y_pred) or one of "
            f"{sorted(_METRICS)}."
        ) from None
    if sample_weight is None:
        return sign * float(func(true, pred))
    weight = np.asarray(sample_weight, dtype=np.float64)[labelled]
    return sign * float(func(true, pred, sample_weight=weight))


def check_score_weights(score_weights, tasks: list[str]) -> None:
    """Refuse ``score_weights`` naming unknown tasks or holding bad weights.

    Parameters
    ----------
    score_weights : dict or None
        ``{task: weight}``, as given to ``MultiTaskConvEstimator(score_weights=)``.
    tasks : list of str
        The task names.

    Raises
    ------
    ValueError
        If a key is not a task, or a weight is negative, infinite or NaN.

    Examples
    --------
    >>> from skmtl.metrics import check_score_weights
    >>> check_score_weights({"density": 0.5}, ["material", "density"])
    >>> check_score_weights({"colour": 1.0}, ["material", "density"])
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: score_weights names ['colour'], which are not tasks; ...
    """
    check_known("score_weights", score_weights or {}, tasks)
    for task, weight in (score_weights or {}).items():
        if not np.isfinite(weight) or weight < 0:
            raise ValueError(
                f"score_weights[{task!r}] must be a finite number >= 0; got {weight!r}."
            )
    # Refused here, so that fit refuses it too, before any training.
    if tasks and all((score_weights or {}).get(t, 1.0) == 0 for t in tasks):
        raise ValueError(
            "score_weights must give a positive total weight; they are zero for "
            "every task."
        )


def combined_score(
    task_kinds: dict[str, str],
    y_true,
    y_pred,
    sample_weight=None,
    score_weights: dict[str, float] | None = None,
) -> float:
    """Weighted mean over tasks of accuracy (classification) or R² (regression).

    This is what :meth:`MultiTaskConvEstimator.score` returns. Each task is
    scored on its labelled samples only; a task with no labelled sample in
    ``y_true`` is left out of the mean.

    Parameters
    ----------
    task_kinds : dict
        ``{task: "classification" | "regression"}``, e.g. a fitted estimator's
        ``task_kinds_``.
    y_true : array-like, DataFrame or structured ndarray
        True targets, in the form y had at fit; NaN or None marks a missing
        label.
    y_pred : array-like, DataFrame or structured ndarray
        Predictions in the same form (what ``predict`` returns).
    sample_weight : array-like of shape (n_samples,), default=None
        Weight of each sample in every task's score.
    score_weights : dict or None, default=None
        ``{task: weight}`` of each task in the mean; unnamed tasks weigh 1.

    Returns
    -------
    float
        The weighted mean of the task scores.

    Raises
    ------
    ValueError
        If no task has a labelled sample, ``score_weights`` names an unknown
        task or holds a bad weight, or the weights sum to 0.

    See Also
    --------
    task_scorer : One task's score with any metric, for scikit-learn searches.

    Examples
    --------
    >>> import pandas as pd
    >>> from skmtl.metrics import combined_score
    >>> kinds = {"material": "classification", "density": "regression"}
    >>> y_true = pd.DataFrame({"material": ["steel", "wood", "steel", None],
    ...                        "density": [7.9, 0.6, 8.1, 7.7]})
    >>> y_pred = pd.DataFrame({"material": ["steel", "steel", "steel", "wood"],
    ...                        "density": [7.9, 0.6, 8.1, 7.7]})
    >>> combined_score(kinds, y_true, y_pred)  # accuracy 2/3 (3 labelled), R² 1
    0.8333333333333333
    >>> combined_score(kinds, y_true, y_pred, score_weights={"density": 0})
    0.6666666666666666
    """
    score_weights = dict(score_weights or {})
    check_score_weights(score_weights, list(task_kinds))
    scores, weights = [], []
    for task, kind in task_kinds.items():
        value = score_task(
            task_column(y_true, task),
            task_column(y_pred, task),
            DEFAULT_METRIC[kind],
            sample_weight,
        )
        if not np.isnan(value):
            scores.append(value)
            weights.append(float(score_weights.get(task, 1.0)))
    if not scores:
        raise ValueError("y has no labelled sample in any task; nothing to score.")
    if sum(weights) <= 0:
        raise ValueError("score_weights must give a positive total weight.")
    return float(np.average(scores, weights=weights))


def task_scorer(task: str, metric: str | Callable = "default") -> Callable:
    """A scorer ``scorer(estimator, X, y) -> float`` for one task.

    Parameters
    ----------
    task : str
        Task (column) name, e.g. ``"material"``.
    metric : str or callable, default="default"
        ``"default"`` (accuracy or R² by the task's kind), a name among
        ``accuracy``, ``balanced_accuracy``, ``f1_macro``, ``f1_weighted``,
        ``r2``, ``neg_mean_absolute_error``, ``neg_mean_squared_error``,
        ``neg_root_mean_squared_error``, ``neg_median_absolute_error``, or a
        callable ``metric(y_true, y_pred) -> float`` (higher is better).

    Returns
    -------
    callable
        Usable as ``scoring=`` (alone or in a dict) in ``cross_val_score`` and
        ``GridSearchCV``. Works on the estimator or a Pipeline ending in one.

    Examples
    --------
    >>> from skmtl.metrics import task_scorer
    >>> scoring = {"acc": task_scorer("material", "accuracy"),
    ...            "mae": task_scorer("density", "neg_mean_absolute_error")}
    >>> sorted(scoring)
    ['acc', 'mae']
    """
    if not callable(metric) and metric != "default" and metric not in _METRICS:
        raise ValueError(
            f"Unknown metric {metric!r}; use a callable(y_true, y_pred) or one of "
            f"{['default', *sorted(_METRICS)]}."
        )

    def scorer(estimator, X, y) -> float:
        y_pred = estimator.predict(X)
        chosen = metric
        if chosen == "default":
            final = estimator[-1] if hasattr(estimator, "steps") else estimator
            chosen = DEFAULT_METRIC[final.task_kinds_[task]]
        return score_task(task_column(y, task), task_column(y_pred, task), chosen)

    scorer.__name__ = f"task_scorer({task!r}, {metric!r})"
    return scorer


def check_unseen_labels(encoder, y) -> None:
    """Warn when y holds class labels the fit never saw: as scikit-learn's
    classifiers score them, such a row can only be an error.

    Parameters
    ----------
    encoder : TargetEncoder
        The fitted encoder of the tasks.
    y : array-like or DataFrame
        Targets about to be scored.

    Warns
    -----
    UserWarning
        Naming the count of such rows per task.

    Examples
    --------
    >>> import warnings
    >>> from skmtl.data.targets import TargetEncoder
    >>> encoder = TargetEncoder().fit(np.array(["a", "b"]))
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     check_unseen_labels(encoder, np.array(["a", "c"]))
    >>> print(caught[0].message)
    y holds labels not seen at fit ({'y': 1} rows per task); they count as errors.
    """
    unseen = encoder.unseen_labels(y)
    if unseen:
        warn_user(
            f"y holds labels not seen at fit ({unseen} rows per task); they "
            "count as errors."
        )
