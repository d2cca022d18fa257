"""skmtl.plotting: training curves and per-task diagnostics, rendered headless."""

import copy
import importlib
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    ConfusionMatrixDisplay,
    PredictionErrorDisplay,
    confusion_matrix,
    r2_score,
)
from sklearn.pipeline import Pipeline  # noqa: E402

from skmtl import MultiTaskConvEstimator  # noqa: E402
from skmtl.datasets import make_sensor_tasks  # noqa: E402
from skmtl.plotting import plot_history, plot_task_diagnostics  # noqa: E402

from .conftest import TINY  # noqa: E402

EPOCHS = 3
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def data():
    """80 recordings of 64 steps; about a fifth of each task's labels missing."""
    return make_sensor_tasks(80, n_steps=64, missing_rate=0.2, random_state=0)


@pytest.fixture(scope="module")
def fixed(data):
    X, y = data
    return MultiTaskConvEstimator(**TINY, epochs=EPOCHS, random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def learned(data):
    """Learned task weights and a validation split (early stopping)."""
    X, y = data
    est = MultiTaskConvEstimator(
        **TINY,
        epochs=EPOCHS,
        loss_weighting="uncertainty",
        early_stopping=True,
        validation_fraction=0.25,
        random_state=0,
    )
    return est.fit(X, y)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _titles(fig) -> list[str]:
    return [ax.get_title() for ax in fig.axes]


def _axis(fig, title: str):
    (ax,) = [ax for ax in fig.axes if ax.get_title() == title]
    return ax


def _curves(ax) -> dict[str, np.ndarray]:
    """``{label: y values}`` of the per-epoch lines (not the best-epoch marker)."""
    return {
        line.get_label(): np.asarray(line.get_ydata())
        for line in ax.get_lines()
        if line.get_gid() != "best"
    }


def _assert_png(fig, path) -> None:
    fig.savefig(path)
    content = path.read_bytes()
    assert content.startswith(PNG_SIGNATURE)
    assert len(content) > 10_000  # several panels of lines, text and ticks


# ------------------------------------------------------------------ history
def test_history_renders_png(fixed, tmp_path):
    _assert_png(plot_history(fixed), tmp_path / "history.png")


def test_history_panels_name_each_task(fixed):
    fig = plot_history(fixed)
    assert _titles(fig) == [
        "material: loss",
        "material: accuracy",
        "density: loss",
        "density: MAE",
        "total loss",
    ]
    for ax in fig.axes:
        assert ax.get_xlabel() == "epoch"
        for line in ax.get_lines():
            np.testing.assert_array_equal(line.get_xdata(), np.arange(1, EPOCHS + 1))


def test_history_curves_are_the_logged_values(fixed):
    fig = plot_history(fixed)
    history = fixed.history_
    assert list(_curves(_axis(fig, "material: loss"))) == ["train"]
    np.testing.assert_allclose(
        _curves(_axis(fig, "material: loss"))["train"], history["material_loss"]
    )
    np.testing.assert_allclose(
        _curves(_axis(fig, "density: MAE"))["train"],
        history["density_mean_absolute_error"],
    )
    np.testing.assert_allclose(
        _curves(_axis(fig, "total loss"))["train"], history["loss"]
    )


def test_history_fixed_weights_have_no_weight_panel(fixed):
    # They are logged every epoch, but never move.
    assert "weight_material" in fixed.history_
    assert "task weights" not in _titles(plot_history(fixed))


def test_history_learned_weights_and_validation(learned):
    fig = plot_history(learned)
    assert len(fig.axes) == 6
    weights = _curves(_axis(fig, "task weights"))
    assert list(weights) == ["material", "density"]
    for task, values in weights.items():
        assert len(values) == EPOCHS
        np.testing.assert_allclose(values, learned.history_[f"weight_{task}"])
    loss = _curves(_axis(fig, "density: loss"))
    assert list(loss) == ["train", "validation"]
    np.testing.assert_allclose(loss["validation"], learned.history_["val_density_loss"])
    total = _curves(_axis(fig, "total loss"))
    assert "train, starting weights" in total
    assert "validation, starting weights" in total
    # Early stopping marks the epoch it kept.
    markers = [ln for ln in _axis(fig, "total loss").get_lines() if ln.get_gid()]
    assert [m.get_xdata()[0] for m in markers] == [learned.best_epoch_]


def test_history_tasks_subset(learned):
    fig = plot_history(learned, tasks="density")
    assert _titles(fig) == [
        "density: loss",
        "density: MAE",
        "total loss",
        "task weights",
    ]
    assert list(_curves(_axis(fig, "task weights"))) == ["density"]
    fig = plot_history(learned, tasks=["density", "material"])
    assert _titles(fig)[0] == "density: loss"


def test_history_redraws_into_a_given_figure(fixed):
    fig = plt.figure()
    assert plot_history(fixed, fig=fig) is fig
    assert plot_history(fixed, fig=fig) is fig
    assert len(fig.axes) == 5


def test_history_redraw_follows_a_growing_history(fixed):
    # What warm starts and partial_fit do to history_: lists grow in place.
    est = copy.copy(fixed)
    fig = plt.figure()
    for n_epochs in (EPOCHS, 2 * EPOCHS):
        est.history_ = {k: (v * 2)[:n_epochs] for k, v in fixed.history_.items()}
        plot_history(est, fig=fig)
        assert len(fig.axes) == 5
        for ax in fig.axes:
            for line in ax.get_lines():
                assert len(line.get_xdata()) == n_epochs


def test_history_of_a_pipeline(fixed):
    fig = plot_history(Pipeline([("est", fixed)]))
    assert len(fig.axes) == 5


# -------------------------------------------------------------- diagnostics
def _labelled(y, task):
    values = y[task].to_numpy()
    return values[y[task].notna().to_numpy()], y[task].notna().to_numpy()


def test_diagnostics_renders_png(fixed, data, tmp_path):
    fig, _ = plot_task_diagnostics(fixed, *data)
    _assert_png(fig, tmp_path / "diagnostics.png")


def test_confusion_matrix_counts_match_sklearn(fixed, data):
    X, y = data
    fig, displays = plot_task_diagnostics(fixed, X, y)
    assert list(displays) == ["material", "density"]
    display = displays["material"]
    assert isinstance(display, ConfusionMatrixDisplay)
    true, labelled = _labelled(y, "material")
    pred = fixed.predict(X)["material"].to_numpy()[labelled]
    classes = fixed.classes_["material"]
    expected = confusion_matrix(true.astype(str), pred, labels=classes)
    np.testing.assert_array_equal(display.confusion_matrix, expected)
    # Every class seen at fit, by its original name, on both axes.
    assert display.confusion_matrix.sum() == labelled.sum() < len(y)
    assert list(display.display_labels) == classes.tolist()
    assert [t.get_text() for t in display.ax_.get_yticklabels()] == classes.tolist()
    assert display.ax_.get_title().startswith("material: accuracy")
    assert display.figure_ is fig


def test_regression_display_holds_labelled_rows(fixed, data):
    X, y = data
    _, displays = plot_task_diagnostics(fixed, X, y, tasks="density", subsample=None)
    assert list(displays) == ["density"]
    display = displays["density"]
    assert isinstance(display, PredictionErrorDisplay)
    true, labelled = _labelled(y, "density")
    pred = fixed.predict(X)["density"].to_numpy()[labelled]
    np.testing.assert_allclose(display.y_true, true)
    np.testing.assert_allclose(display.y_pred, pred)
    r2 = r2_score(true, pred)
    assert display.ax_.get_title() == f"density: R² {r2:.3f} (n={labelled.sum()})"


def test_regression_subsample(fixed, data):
    _, displays = plot_task_diagnostics(
        fixed, *data, tasks="density", subsample=10, random_state=0
    )
    assert len(displays["density"].y_true) == 10


def test_task_without_labels_warns_and_is_left_out(fixed, data):
    X, y = data
    y = y.assign(density=np.nan)
    with pytest.warns(UserWarning, match="'density' has no labelled sample"):
        fig, displays = plot_task_diagnostics(fixed, X, y)
    assert list(displays) == ["material"]
    assert "density: no labelled sample" in _titles(fig)


def test_diagnostics_one_task_1d_y(data):
    # A 1-D y of labels with None (object dtype), a single classification task.
    X, y = data
    labels = y["material"].to_numpy()
    est = MultiTaskConvEstimator(**TINY, epochs=1, random_state=0).fit(X, labels)
    _, displays = plot_task_diagnostics(est, X, labels)
    (display,) = displays.values()
    labelled = y["material"].notna().to_numpy()
    expected = confusion_matrix(
        labels[labelled].astype(str), est.predict(X)[labelled], labels=est.classes_
    )
    np.testing.assert_array_equal(display.confusion_matrix, expected)


def test_diagnostics_normalize(fixed, data):
    _, displays = plot_task_diagnostics(
        fixed, *data, tasks="material", normalize="true"
    )
    rows = displays["material"].confusion_matrix.sum(axis=1)
    np.testing.assert_allclose(rows[rows > 0], 1.0)


# ------------------------------------------------------------------- errors
@pytest.mark.parametrize("plot", ["history", "diagnostics"])
def test_unfitted_estimator(plot, data):
    est = MultiTaskConvEstimator()
    with pytest.raises(NotFittedError):
        if plot == "history":
            plot_history(est)
        else:
            plot_task_diagnostics(est, *data)


@pytest.mark.parametrize("plot", ["history", "diagnostics"])
def test_unknown_task(plot, fixed, data):
    match = r"'colour'.*\['material', 'density'\]"
    with pytest.raises(ValueError, match=match):
        if plot == "history":
            plot_history(fixed, tasks=["density", "colour"])
        else:
            plot_task_diagnostics(fixed, *data, tasks="colour")


def test_lengths_must_match(fixed, data):
    X, y = data
    with pytest.raises(ValueError, match="samples"):
        plot_task_diagnostics(fixed, X[:10], y)


def test_unseen_class_is_refused(fixed, data):
    # confusion_matrix(labels=...) would silently leave such rows out.
    X, y = data
    y = y.assign(material=y["material"].where(y.index != 0, "glass"))
    with pytest.raises(ValueError, match="'glass'"):
        plot_task_diagnostics(fixed, X, y)


def test_missing_matplotlib_says_how_to_install(fixed, data, monkeypatch):
    for name in [m for m in sys.modules if m.startswith("matplotlib")]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=r'pip install "skmtl\[plot\]"'):
        plot_history(fixed)
    with pytest.raises(ImportError, match=r'pip install "skmtl\[plot\]"'):
        plot_task_diagnostics(fixed, *data)


def test_module_imports_without_matplotlib(monkeypatch):
    # skmtl.plotting imports matplotlib only when a plot is asked for. (Keras
    # imports matplotlib itself when it is installed, so "import skmtl" alone
    # cannot be checked for that.)
    import skmtl.plotting

    for name in [m for m in sys.modules if m.startswith("matplotlib")]:
        monkeypatch.setitem(sys.modules, name, None)
    importlib.reload(skmtl.plotting)
    assert callable(skmtl.plotting.plot_history)


def test_regression_subsample_as_a_fraction(fixed, data):
    _, y = data
    n_labelled = int(y["density"].notna().sum())
    _, displays = plot_task_diagnostics(
        fixed, *data, tasks="density", subsample=0.5, random_state=0
    )
    assert len(displays["density"].y_true) == int(0.5 * n_labelled)
    # random_state picks which points: the same seed, the same points.
    _, again = plot_task_diagnostics(
        fixed, *data, tasks="density", subsample=0.5, random_state=0
    )
    np.testing.assert_array_equal(again["density"].y_true, displays["density"].y_true)


def test_diagnostics_redraw_into_a_given_figure(fixed, data):
    fig = plt.figure()
    top, bottom = fig.subfigures(2, 1)
    out, displays = plot_task_diagnostics(fixed, *data, fig=bottom)
    assert out is bottom
    assert displays["material"].figure_ is bottom
    assert len(bottom.axes) == 2 and top.axes == []
    plot_task_diagnostics(fixed, *data, fig=bottom)  # cleared first
    assert len(bottom.axes) == 2


def test_regression_block_panel_pools_its_outputs(data):
    X, y = data
    labelled = y["density"].notna().to_numpy()
    block = np.column_stack([y["density"], 2 * y["density"]])
    y_block = y.assign(pos=list(block)).drop(columns="density")
    est = MultiTaskConvEstimator(**TINY, epochs=1, random_state=0).fit(X, y_block)
    _, displays = plot_task_diagnostics(est, X, y_block, tasks="pos", subsample=None)
    display = displays["pos"]
    pred = np.stack(est.predict(X)["pos"])[labelled]
    np.testing.assert_allclose(display.y_true, block[labelled].ravel())
    np.testing.assert_allclose(display.y_pred, pred.ravel())
    assert display.ax_.get_title().startswith("pos: R² ")
    assert display.ax_.get_title().endswith(f"(n={labelled.sum()})")


def test_diagnostics_normalize_by_prediction_and_overall(fixed, data):
    raw = plot_task_diagnostics(fixed, *data, tasks="material")[1]["material"]
    counts = raw.confusion_matrix
    for normalize, total in [("pred", counts.sum(axis=0)), ("all", counts.sum())]:
        display = plot_task_diagnostics(
            fixed, *data, tasks="material", normalize=normalize
        )[1]["material"]
        with np.errstate(invalid="ignore", divide="ignore"):
            expected = np.nan_to_num(counts / total)
        np.testing.assert_allclose(display.confusion_matrix, expected)
