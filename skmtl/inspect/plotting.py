"""Plots of a fitted estimator: training curves and per-task diagnostics.

matplotlib is an optional extra (``pip install "skmtl[plot]"``); it is imported
only when a function here is called, so ``import skmtl`` never needs it. The
diagnostics reuse scikit-learn's displays (:class:`~sklearn.metrics.
ConfusionMatrixDisplay`, :class:`~sklearn.metrics.PredictionErrorDisplay`), so
each panel can be restyled through the display it returns.

Both functions accept the estimator or a :class:`~sklearn.pipeline.Pipeline`
ending in one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..data.targets import CLASSIFICATION, missing_mask
from ..utils.warnings import warn_user
from .metrics import DEFAULT_METRIC, score_task, task_column

if TYPE_CHECKING:  # pragma: no cover - matplotlib is an optional extra
    from matplotlib.figure import Figure, SubFigure

__all__ = ["plot_explanation", "plot_history", "plot_task_diagnostics"]

_INSTALL_HINT = 'pip install "skmtl[plot]"'
# History keys that carry a task's name but are not its metrics.
_PER_TASK_PREFIXES = ("weight_", "gradnorm_")
_METRIC_NAMES = {"mean_absolute_error": "MAE", "accuracy": "accuracy"}
_SCORE_NAMES = {"accuracy": "accuracy", "r2": "R²"}


def _pyplot():
    """``matplotlib.pyplot``, or an ImportError that says how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "skmtl.plotting needs matplotlib, an optional dependency; install it "
            f"with: {_INSTALL_HINT}"
        ) from exc
    return plt


def _fitted(est):
    """The fitted MultiTaskConvEstimator in ``est`` (itself or a Pipeline's end)."""
    final = est[-1] if hasattr(est, "steps") else est
    check_is_fitted(final)
    if not hasattr(final, "tasks_"):
        raise TypeError(
            f"Expected a fitted MultiTaskConvEstimator (or a Pipeline ending in "
            f"one); got {type(final).__name__}."
        )
    return final


def _select_tasks(est, tasks) -> list[str]:
    """Task names to plot, in the order asked; unknown names raise."""
    known = [t.name for t in est.tasks_]
    if tasks is None:
        return known
    chosen = [tasks] if isinstance(tasks, str) else list(tasks)
    unknown = [t for t in chosen if t not in known]
    if unknown:
        raise ValueError(
            f"Unknown task(s) {unknown}; the estimator's tasks are {known}."
        )
    if not chosen:
        raise ValueError(f"tasks is empty; choose among {known}.")
    return list(dict.fromkeys(chosen))


def _new_figure(plt, fig, nrows: int, ncols: int, panel_size: tuple[float, float]):
    """A fresh figure sized for the grid, or ``fig`` cleared for reuse."""
    if fig is None:
        width, height = panel_size
        return plt.figure(figsize=(width * ncols, height * nrows), layout="constrained")
    fig.clear()
    return fig


def _task_metric_keys(history: dict, task: str, tasks: Sequence[str]) -> list[str]:
    """``<task>_<metric>`` keys of ``history`` (not the loss, no ``val_``).

    A key belongs to the longest task name it starts with, so tasks "a" and
    "a_b" do not share "a_b_loss".
    """
    not_metrics = {f"{p}{t}" for p in _PER_TASK_PREFIXES for t in tasks}
    keys = []
    for key in history:
        if key in not_metrics or key == f"{task}_loss":
            continue
        if key.startswith("val_") and key[4:] in history:
            continue  # a validation twin, drawn next to its training curve
        owners = [t for t in tasks if key.startswith(f"{t}_")]
        if owners and max(owners, key=len) == task:
            keys.append(key)
    return keys


def _plot_series(ax, history: dict, key: str, label: str, **style) -> bool:
    """One curve of ``history[key]`` against the 1-based epoch, if logged."""
    values = history.get(key)
    if not values:
        return False
    epochs = np.arange(1, len(values) + 1)
    ax.plot(epochs, values, marker="o", markersize=3, label=label, **style)
    return True


def _style_epoch_axis(ax, title: str, ylabel: str) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.set_title(title)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if ax.get_legend_handles_labels()[0]:
        # Beside the panel, not on it: inside, any corner hides some curve.
        ax.legend(
            fontsize="small",
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            borderaxespad=0.0,
            frameon=False,
        )


def _best_epoch(est, n_logged: int) -> int | None:
    """The early-stopping epoch kept, counted over the whole history (1-based)."""
    if not getattr(est, "early_stopping", False):
        return None
    best, ran = getattr(est, "best_epoch_", None), getattr(est, "n_epochs_", None)
    if best is None or ran is None:
        return None
    return n_logged - ran + best


def plot_history(
    est,
    *,
    tasks: str | Sequence[str] | None = None,
    fig: Figure | SubFigure | None = None,
) -> Figure | SubFigure:
    """Plot the per-epoch training curves of a fitted estimator.

    One row per task: its loss (before task weighting) and its metrics
    (accuracy for classification, mean absolute error for regression, in
    standardised units: standard deviations of the target), each with its
    validation curve when validation data was used (``early_stopping``
    or ``fit__validation_split``). A last row holds the total loss and, when
    the weights can move (``loss_weighting`` other than ``"fixed"``), the task
    weights ``weight_<task>`` of every epoch. With ``early_stopping`` a dotted
    vertical line marks the epoch whose weights were kept.

    Parameters
    ----------
    est : MultiTaskConvEstimator or Pipeline
        A fitted estimator (or a Pipeline ending in one); reads its
        ``history_``, which warm starts and ``partial_fit`` extend.
    tasks : str or sequence of str, default=None
        Tasks to plot, in this order; None plots every task.
    fig : matplotlib Figure or SubFigure, default=None
        Draw into this figure, which is cleared first (handy to redraw after
        each ``partial_fit``); None creates a new one.

    Returns
    -------
    matplotlib.figure.Figure
        The figure; its axes are in ``fig.axes``, row by row.

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    sklearn.exceptions.NotFittedError
        If ``est`` is not fitted.
    ValueError
        If ``tasks`` names a task the estimator does not have.

    See Also
    --------
    plot_task_diagnostics : Confusion matrices and prediction-error plots.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skmtl import MultiTaskConvEstimator
    >>> from skmtl.datasets import make_sensor_tasks
    >>> from skmtl.plotting import plot_history
    >>> X, y = make_sensor_tasks(40, n_steps=32, random_state=0)
    >>> est = MultiTaskConvEstimator(filters=(84,), dense_units=8, epochs=2,
    ...                              loss_weighting="uncertainty", random_state=0)
    >>> fig = plot_history(est.fit(X, y))
    >>> for ax in fig.axes:
    ...     print(ax.get_title())
    material: loss
    material: accuracy
    density: loss
    density: MAE
    total loss
    task weights
    >>> fig.savefig("history.png")  # doctest: +SKIP
    >>> import matplotlib.pyplot as plt
    >>> plt.close(fig)
    """
    plt = _pyplot()
    est = _fitted(est)
    chosen = _select_tasks(est, tasks)
    history = est.history_
    all_tasks = [t.name for t in est.tasks_]
    kinds = {t.name: t.kind for t in est.tasks_}
    strategy = getattr(est, "loss_weighting", "fixed")
    show_weights = strategy != "fixed" and any(f"weight_{t}" in history for t in chosen)
    fig = _new_figure(plt, fig, len(chosen) + 1, 2, (6.0, 3.0))  # legends beside
    axes = fig.subplots(len(chosen) + 1, 2, squeeze=False)
    best = _best_epoch(est, len(history.get("loss", [])))

    def mark_best(ax):
        if best is not None:
            ax.axvline(best, color="0.5", linestyle=":", label="best epoch", gid="best")

    for row, task in zip(axes[:-1], chosen, strict=True):
        loss_ax, metric_ax = row
        _plot_series(loss_ax, history, f"{task}_loss", "train")
        _plot_series(loss_ax, history, f"val_{task}_loss", "validation", ls="--")
        mark_best(loss_ax)
        _style_epoch_axis(loss_ax, f"{task}: loss", "loss")
        metric_keys = _task_metric_keys(history, task, all_tasks)
        if not metric_keys:
            fig.delaxes(metric_ax)
            continue
        names = []
        for key in metric_keys:
            metric = key[len(task) + 1 :]
            name = _METRIC_NAMES.get(metric, metric)
            names.append(name)
            suffix = f" {name}" if len(metric_keys) > 1 else ""
            _plot_series(metric_ax, history, key, f"train{suffix}")
            _plot_series(
                metric_ax, history, f"val_{key}", f"validation{suffix}", ls="--"
            )
        mark_best(metric_ax)
        ylabel = ", ".join(names)
        if kinds.get(task) == "regression":
            # Regression targets are standardised inside the estimator: its
            # metrics are in standard deviations of the target.
            ylabel += " (standardised units)"
        _style_epoch_axis(metric_ax, f"{task}: {', '.join(names)}", ylabel)

    total_ax, weight_ax = axes[-1]
    _plot_series(total_ax, history, "loss", "train")
    _plot_series(total_ax, history, "val_loss", "validation", ls="--")
    if strategy != "fixed":
        # The weighted loss moves with the weights; the base loss does not.
        _plot_series(total_ax, history, "base_loss", "train, starting weights")
        _plot_series(
            total_ax, history, "val_base_loss", "validation, starting weights", ls="--"
        )
    mark_best(total_ax)
    _style_epoch_axis(total_ax, "total loss", "loss")
    if show_weights:
        for task in chosen:
            _plot_series(weight_ax, history, f"weight_{task}", task)
        _style_epoch_axis(weight_ax, "task weights", "weight")
    else:
        fig.delaxes(weight_ax)
    return fig


def _labelled(values: np.ndarray, task, y_pred_col: np.ndarray):
    """``(true, predicted)`` on the rows where the task has a label."""
    labelled = ~missing_mask(values)
    true, pred = values[labelled], np.asarray(y_pred_col)[labelled]
    if task.kind == CLASSIFICATION:
        # A column with missing labels comes out as objects; match the classes.
        if true.dtype != task.classes.dtype:
            true = true.astype(task.classes.dtype)
        return true, pred
    return np.asarray(true, dtype=np.float64), np.asarray(pred, dtype=np.float64)


def plot_task_diagnostics(
    est,
    X,
    y,
    *,
    tasks: str | Sequence[str] | None = None,
    normalize: str | None = None,
    subsample: int | float | None = 1000,
    random_state: int | np.random.RandomState | None = None,
    fig: Figure | SubFigure | None = None,
) -> tuple[Figure, dict[str, Any]]:
    """Plot, per task, how the predictions on ``(X, y)`` compare with the labels.

    A classification task gets a confusion matrix
    (:class:`~sklearn.metrics.ConfusionMatrixDisplay`) over its classes as seen
    at fit, in their original names; a regression task gets actual against
    predicted values (:class:`~sklearn.metrics.PredictionErrorDisplay` with
    ``kind="actual_vs_predicted"``). Each task uses only the rows where it has
    a label: missing labels (NaN, None) are dropped task by task, as in
    :meth:`~skmtl.MultiTaskConvEstimator.score`. Panel titles give the task,
    its default score (accuracy or R²) and the number of labelled rows.

    Parameters
    ----------
    est : MultiTaskConvEstimator or Pipeline
        A fitted estimator (or a Pipeline ending in one). It predicts X once.
    X : any form of X the estimator accepts
    y : array-like or DataFrame
        True labels, in the form y had at fit.
    tasks : str or sequence of str, default=None
        Tasks to plot, in this order; None plots every task.
    normalize : {"true", "pred", "all"} or None, default=None
        Passed to :func:`~sklearn.metrics.confusion_matrix`.
    subsample : int, float or None, default=1000
        Points drawn in a regression panel, passed to
        :meth:`~sklearn.metrics.PredictionErrorDisplay.from_predictions`
        (None draws all). A task of several outputs pools its values.
    random_state : int, RandomState or None, default=None
        Which points ``subsample`` draws.
    fig : matplotlib Figure or SubFigure, default=None
        Draw into this figure, which is cleared first; None creates a new one.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure, one panel per task (up to three per row).
    displays : dict
        ``{task: display}``: a ``ConfusionMatrixDisplay`` or a
        ``PredictionErrorDisplay``. A task with no labelled row has none (and
        a warning says so).

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    sklearn.exceptions.NotFittedError
        If ``est`` is not fitted.
    ValueError
        If ``tasks`` names a task the estimator does not have, y lacks a
        fitted task or holds a class not seen at fit, or X and y differ in
        length.

    See Also
    --------
    plot_history : Training curves and task weights per epoch.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skmtl import MultiTaskConvEstimator
    >>> from skmtl.datasets import make_sensor_tasks
    >>> from skmtl.plotting import plot_task_diagnostics
    >>> X, y = make_sensor_tasks(40, n_steps=32, missing_rate=0.2, random_state=0)
    >>> est = MultiTaskConvEstimator(filters=(84,), dense_units=8, epochs=2,
    ...                              random_state=0).fit(X, y)
    >>> fig, displays = plot_task_diagnostics(est, X, y)
    >>> {task: type(d).__name__ for task, d in displays.items()}
    {'material': 'ConfusionMatrixDisplay', 'density': 'PredictionErrorDisplay'}
    >>> # 8 of the 40 material labels are missing: the matrix counts the other 32.
    >>> print(displays["material"].confusion_matrix.sum(), y["material"].notna().sum())
    32 32
    >>> import matplotlib.pyplot as plt
    >>> plt.close(fig)
    """
    plt = _pyplot()
    from sklearn.metrics import ConfusionMatrixDisplay, PredictionErrorDisplay

    final = _fitted(est)
    chosen = _select_tasks(final, tasks)
    specs = {t.name: t for t in final.tasks_}
    # Refuses, as score does, a y without the fitted tasks or with an unseen
    # class (which confusion_matrix would silently leave out).
    final.target_encoder_.transform(y)
    y_pred = est.predict(X)
    n_true = final.target_encoder_.n_samples_of(y)
    n_pred = final.target_encoder_.n_samples_of(y_pred)
    if n_true != n_pred:
        raise ValueError(f"X has {n_pred} samples but y has {n_true}; they must match.")

    ncols = min(len(chosen), 3)
    nrows = -(-len(chosen) // ncols)
    fig = _new_figure(plt, fig, nrows, ncols, (4.5, 4.0))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[len(chosen) :]:
        fig.delaxes(ax)

    displays = {}
    for ax, task in zip(axes, chosen, strict=False):
        spec = specs[task]
        values = task_column(y, task)
        true, pred = _labelled(values, spec, task_column(y_pred, task))
        if len(true) == 0:
            warn_user(f"Task {task!r} has no labelled sample in y; its panel is empty.")
            ax.set_axis_off()
            ax.set_title(f"{task}: no labelled sample")
            continue
        metric = DEFAULT_METRIC[spec.kind]
        score = score_task(true, pred, metric)
        if spec.kind == CLASSIFICATION:
            display = ConfusionMatrixDisplay.from_predictions(
                true,
                pred,
                labels=spec.classes,
                normalize=normalize,
                ax=ax,
                colorbar=False,
                # Class names rarely fit side by side under more than 3 columns.
                xticks_rotation=45 if spec.n_classes > 3 else "horizontal",
            )
            if spec.n_classes > 3:
                for label in ax.get_xticklabels():
                    label.set_horizontalalignment("right")
        else:
            display = PredictionErrorDisplay.from_predictions(
                true.ravel(),
                pred.ravel(),
                kind="actual_vs_predicted",
                subsample=subsample,
                random_state=random_state,
                ax=ax,
            )
        ax.set_title(f"{task}: {_SCORE_NAMES[metric]} {score:.3f} (n={len(true)})")
        displays[task] = display
    return fig, displays


def plot_explanation(
    est,
    X_row,
    task: str | None = None,
    *,
    target=None,
    method: str = "occlusion",
    fig: Figure | SubFigure | None = None,
) -> tuple[Figure, dict[str, Any]]:
    """Plot each signal of one sample with its relevance as a coloured band.

    One panel per signal (its channels as lines over a band whose colour is
    the relevance of each step, from :meth:`~skmtl.MultiTaskConvEstimator.
    explain`) and, if there are covariates, one bar panel of theirs. The
    figure title gives the task and its prediction for the sample.

    Parameters
    ----------
    est : MultiTaskConvEstimator or Pipeline
        A fitted estimator (or a Pipeline ending in one: X_row is then in the
        form the final estimator takes).
    X_row : any form of X the estimator accepts
        The sample explained: the first one if there are several.
    task : str or None, default=None
        The task explained; None is the first.
    target : label or None, default=None
        For a classification task, the class explained (None: the predicted).
    method : str, default="occlusion"
        Passed to ``explain``.
    fig : Figure or SubFigure or None, default=None
        Draw into this figure; None creates one.

    Returns
    -------
    fig : Figure or SubFigure
    axes : dict
        ``{field name: Axes}``; the covariates' panel is under ``"covariates"``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skmtl import MultiTaskConvEstimator
    >>> from skmtl.datasets import make_sensor_tasks
    >>> from skmtl.plotting import plot_explanation
    >>> X, y = make_sensor_tasks(40, n_steps=32, random_state=0)
    >>> est = MultiTaskConvEstimator(filters=(84,), epochs=1, random_state=0)
    >>> fig, axes = plot_explanation(est.fit(X, y), X[:1], "material")
    >>> sorted(axes)
    ['ampl', 'covariates', 'phase']
    """
    from ..data.inputs import encode

    plt = _pyplot()
    final = _fitted(est)
    schema = final.schema_
    task = final.tasks_[0].name if task is None else task
    inputs, _ = encode(X_row, schema)
    relevance = final.explain(X_row, task=task, target=target, method=method)
    predicted = np.asarray(task_column(final.predict(X_row), task)).reshape(-1)
    signals = [f.name for f in schema.signals]
    covariates = [f.name for f in schema.covariates]
    n_panels = len(signals) + bool(covariates)
    fig = _new_figure(plt, fig, n_panels, 1, (8.0, 2.2))
    axes_list = np.atleast_1d(fig.subplots(n_panels, 1, squeeze=False)[:, 0])
    axes: dict[str, Any] = {}
    for ax, name in zip(axes_list, signals, strict=False):
        # The values as given (encode may subtract an offset and rescale).
        values = schema[name].to_raw(inputs[name][0])
        weights = relevance[name][0]
        low, high = float(values.min()), float(values.max())
        ax.imshow(
            weights[None, :],
            aspect="auto",
            cmap="Reds",
            extent=(-0.5, len(weights) - 0.5, low, high if high > low else low + 1),
            vmin=0.0,
            alpha=0.6,
            interpolation="nearest",
        )
        ax.plot(values, color="black", linewidth=0.8)
        ax.set_ylabel(name)
        axes[name] = ax
    if covariates:
        ax = axes_list[-1]
        ax.bar(covariates, [float(relevance[c][0]) for c in covariates], color="C3")
        ax.set_ylabel("relevance")
        axes["covariates"] = ax
    if signals:
        axes_list[len(signals) - 1].set_xlabel("step")
    label = predicted[0].item() if hasattr(predicted[0], "item") else predicted[0]
    shown = f"{label:.4g}" if isinstance(label, float) else repr(label)
    fig.suptitle(f"{task}: predicted {shown} ({method})")
    return fig, axes
