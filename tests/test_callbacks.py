"""Keras callbacks through ``callbacks=``, and scikit-learn's ``verbose`` convention.

TensorBoard, CSVLogger and ReduceLROnPlateau each do their job in a plain fit
and inside ``GridSearchCV`` (serial and on two loky workers). The instances
given are never changed by fit (each fit trains with copies), so a fitted
estimator still clones and pickles. ``verbose=0`` prints nothing from any
public method; 1 draws a progress bar per epoch on a terminal (one line per
epoch elsewhere); 2 prints one line per epoch.
"""

from __future__ import annotations

import csv
import pickle
import re
import sys

import joblib
import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold

from skmtl import MultiTaskConvEstimator, load
from skmtl.datasets import make_sensor_tasks

from .conftest import TINY

EPOCHS = 3


@pytest.fixture(scope="module")
def data():
    return make_sensor_tasks(60, n_steps=32, random_state=0)


def _est(**params) -> MultiTaskConvEstimator:
    return MultiTaskConvEstimator(
        **{**TINY, "epochs": EPOCHS, "random_state": 0, **params}
    )


def _plateau(**params) -> keras.callbacks.ReduceLROnPlateau:
    """Lowers the learning rate after every epoch but the first: no epoch can
    improve on the best loss by ``min_delta``."""
    return keras.callbacks.ReduceLROnPlateau(
        **{"monitor": "loss", "patience": 0, "min_delta": 1e9, "factor": 0.5, **params}
    )


def _event_files(log_dir) -> list:
    return sorted(log_dir.glob("train/events.out.tfevents.*"))


def _csv_rows(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# ------------------------------------------------------------ plain fit
def test_tensorboard_writes_per_task_scalars(data, tmp_path):
    pytest.importorskip(
        "tensorboard", reason="TensorFlow >= 2.21 no longer installs tensorboard"
    )
    from tensorboard.backend.event_processing.event_accumulator import (
        EventAccumulator,
    )

    _est(callbacks=[keras.callbacks.TensorBoard(log_dir=tmp_path)]).fit(*data)
    (events,) = _event_files(tmp_path)
    accumulator = EventAccumulator(str(events))
    accumulator.Reload()
    tags = accumulator.Tags()["tensors"]
    for tag in ("epoch_loss", "epoch_material_loss", "epoch_density_loss"):
        assert tag in tags
        assert [e.step for e in accumulator.Tensors(tag)] == list(range(EPOCHS))


def test_csv_logger_writes_one_row_per_epoch_with_task_losses(data, tmp_path):
    path = tmp_path / "log.csv"
    est = _est(callbacks=[keras.callbacks.CSVLogger(str(path))]).fit(*data)
    rows = _csv_rows(path)
    assert [int(r["epoch"]) for r in rows] == list(range(EPOCHS))
    for column in ("loss", "material_loss", "density_loss", "material_accuracy"):
        logged = [float(r[column]) for r in rows]
        np.testing.assert_allclose(logged, est.history_[column], rtol=1e-6)


def test_reduce_lr_on_plateau_lowers_the_learning_rate(data, fitted):
    est = _est(learning_rate=1e-3, callbacks=[_plateau()]).fit(*data)
    # The rate in force during each epoch (logged before the callback lowers it).
    np.testing.assert_allclose(
        est.history_["learning_rate"], [1e-3, 1e-3, 5e-4], rtol=1e-6
    )
    assert "learning_rate" not in fitted.history_  # no callback, no rate logged


def test_callback_class_configured_by_routed_parameters(data, tmp_path):
    path = tmp_path / "routed.csv"
    est = _est(
        callbacks=[keras.callbacks.ReduceLROnPlateau, keras.callbacks.CSVLogger],
        callbacks__0__monitor="loss",
        callbacks__0__patience=0,
        callbacks__0__min_delta=1e9,
        callbacks__0__factor=0.1,
        callbacks__1__filename=str(path),
    ).fit(*data)
    np.testing.assert_allclose(
        est.history_["learning_rate"], [1e-3, 1e-3, 1e-4], rtol=1e-6
    )
    assert len(_csv_rows(path)) == EPOCHS


def _callback_instances(tmp_path) -> list:
    callbacks = [
        _plateau(),
        keras.callbacks.CSVLogger(str(tmp_path / "log.csv")),
        keras.callbacks.EarlyStopping(monitor="loss", patience=10),
        keras.callbacks.TerminateOnNaN(),
    ]
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        pass
    else:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=tmp_path / "tb"))
    return callbacks


def test_fit_leaves_callback_instances_unchanged(data, tmp_path):
    """A used Keras callback holds the model it trained (and CSVLogger its file,
    TensorBoard a module): fit trains with copies so that the estimator still
    clones and pickles."""
    callbacks = _callback_instances(tmp_path)
    before = [pickle.dumps(cb) for cb in callbacks]
    est = _est(callbacks=callbacks).fit(*data)
    assert est.callbacks is callbacks
    assert [pickle.dumps(cb) for cb in callbacks] == before
    assert all(getattr(cb, "_model", None) is None for cb in callbacks)

    copied = clone(est)
    assert all(a is not b for a, b in zip(copied.callbacks, callbacks, strict=True))
    restored = pickle.loads(pickle.dumps(est))
    X, _ = data
    np.testing.assert_array_equal(
        restored.predict_proba(X)["material"], est.predict_proba(X)["material"]
    )


# ----------------------------------------------------------- in a search
N_FITS = 2 * 2 + 1  # candidates x folds, and the refit


def _search(log_dir, n_jobs: int) -> tuple[GridSearchCV, list]:
    """A search over a callback's own parameter, with callback instances too."""
    callbacks = [
        keras.callbacks.ReduceLROnPlateau,  # a class: built per fit (callbacks__0__*)
        keras.callbacks.CSVLogger(str(log_dir / "search.csv"), append=True),
    ]
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        pass
    else:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=log_dir))
    search = GridSearchCV(
        _est(
            callbacks=callbacks,
            callbacks__0__monitor="loss",
            callbacks__0__patience=0,
            callbacks__0__min_delta=1e9,
        ),
        {"callbacks__0__factor": [0.5, 0.1]},
        cv=KFold(2, shuffle=True, random_state=0),
        n_jobs=n_jobs,
    )
    return search, callbacks


@pytest.fixture(scope="module")
def searches(data, tmp_path_factory):
    """The same search run serially and on two loky workers."""
    out = {}
    for name, n_jobs in [("serial", 1), ("loky", 2)]:
        log_dir = tmp_path_factory.mktemp(name)
        search, callbacks = _search(log_dir, n_jobs)
        before = [pickle.dumps(cb) for cb in callbacks]
        with joblib.parallel_config(backend="loky"):
            search.fit(*data)
        unchanged = [pickle.dumps(cb) for cb in callbacks] == before
        out[name] = (search, log_dir, unchanged)
    return out


def test_callbacks_in_grid_search(searches, tmp_path):
    search, log_dir, unchanged = searches["serial"]
    # Every fit appended its epochs to the one file (one header).
    assert len(_csv_rows(log_dir / "search.csv")) == N_FITS * EPOCHS
    factor = search.best_params_["callbacks__0__factor"]
    np.testing.assert_allclose(
        search.best_estimator_.history_["learning_rate"],
        [1e-3, 1e-3, 1e-3 * factor],
        rtol=1e-6,
    )
    # The user's instances were cloned, never used; the search pickles.
    assert unchanged
    joblib.dump(search, tmp_path / "search.joblib")
    restored = joblib.load(tmp_path / "search.joblib")
    assert restored.best_params_ == search.best_params_


def test_callbacks_cross_into_loky_workers(searches):
    """Fresh Keras callbacks pickle, so loky sends each fit its own copy: the
    scores match the serial search exactly."""
    serial, _, _ = searches["serial"]
    parallel, log_dir, unchanged = searches["loky"]
    for key in ("mean_test_score", "split0_test_score", "split1_test_score"):
        np.testing.assert_array_equal(
            parallel.cv_results_[key], serial.cv_results_[key]
        )
    assert parallel.best_params_ == serial.best_params_
    np.testing.assert_array_equal(
        parallel.best_estimator_.history_["learning_rate"],
        serial.best_estimator_.history_["learning_rate"],
    )
    assert unchanged
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        return
    # Every fit, in whichever worker, wrote its own event file.
    assert len(_event_files(log_dir)) == N_FITS


# --------------------------------------------------------------- verbose
def _every_public_method(est, X, y, tmp_path) -> None:
    est.fit(X, y)
    est.partial_fit(X, y)
    est.predict(X)
    est.predict_proba(X)
    est.score(X, y)
    est.save(tmp_path / "model.skmtl")
    load(tmp_path / "model.skmtl").predict(X)


@pytest.mark.parametrize(
    "params",
    [{}, {"early_stopping": True}, {"loss_weighting": "dwa"}],
    ids=["default", "early_stopping", "dwa"],
)
def test_verbose_0_prints_nothing(data, tmp_path, capfd, params):
    X, y = data
    # TensorFlow's one-off start-up lines (CUDA probing) come with the first
    # operation in the process: out of scope, so get them out of the way first.
    _est(epochs=1).fit(X, y).predict(X)
    capfd.readouterr()
    _every_public_method(_est(verbose=0, **params), X, y, tmp_path)
    out, err = capfd.readouterr()
    assert out == ""
    assert err == ""


def test_verbose_1_draws_a_progress_bar_on_a_terminal(data, capfd, monkeypatch):
    X, y = data
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    est = _est(verbose=1).fit(X, y)
    out = capfd.readouterr().out
    for epoch in range(1, EPOCHS + 1):
        assert f"Epoch {epoch}/{EPOCHS}" in out
    assert out.count("━") > EPOCHS  # the bar's characters
    est.predict(X)
    est.score(X, y)
    assert capfd.readouterr().out == ""  # like scikit-learn: only fit reports


def test_verbose_1_off_a_terminal_prints_one_line_per_epoch(data, capfd):
    # A log file or CI: no bar redrawn with \b and \r.
    X, y = data
    _est(verbose=1).fit(X, y)
    out = capfd.readouterr().out
    assert "━" not in out and "\b" not in out and "\r" not in out
    assert [line for line in out.splitlines() if line.startswith("Epoch ")] == [
        f"Epoch {epoch}/{EPOCHS}" for epoch in range(1, EPOCHS + 1)
    ]
    assert len([line for line in out.splitlines() if " - loss: " in line]) == EPOCHS


def test_verbose_2_prints_one_line_per_epoch(data, capfd):
    X, y = data
    _est(verbose=2).fit(X, y)
    out = capfd.readouterr().out
    assert "━" not in out
    lines = [line for line in out.splitlines() if " - loss: " in line]
    assert len(lines) == EPOCHS
    assert all(re.match(r"\d+/\d+ - ", line) for line in lines)
    assert all("material_loss: " in line and "density_loss: " in line for line in lines)
