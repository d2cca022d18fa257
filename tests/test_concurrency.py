"""Fitting in threads, in worker processes and after other fits: same results, no
leaked global state.

(a) two estimators fitted at once in threads predict exactly as when fitted one
after the other; (b) a seeded fit, an unseeded fit and an unseeded fit in a
thread all work and leave TensorFlow op determinism and the global NumPy RNG as
they were, Python's ``random`` state included; (c)
``cross_val_score`` gives identical scores with ``n_jobs=1`` and ``n_jobs=2``
(loky worker processes); (d) the same on a Dask ``LocalCluster`` of two worker
processes, when ``dask[distributed]`` is installed.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import KFold, cross_val_score
from tensorflow.python.framework import config as tf_config

from skmtl import MultiTaskConvEstimator
from skmtl.datasets import make_sensor_tasks

from .conftest import TINY


@pytest.fixture(scope="module")
def data():
    return make_sensor_tasks(60, n_steps=32, random_state=0)


def _est(**params) -> MultiTaskConvEstimator:
    return MultiTaskConvEstimator(**{**TINY, "epochs": 2, **params})


def _fit_predict(params: dict, X, y) -> tuple[pd.DataFrame, np.ndarray]:
    est = _est(**params).fit(X, y)
    return est.predict(X), est.predict_proba(X)["material"]


def _global_state() -> dict:
    np_state = np.random.get_state()
    return {
        "tf_op_determinism": tf_config.is_op_determinism_enabled(),
        "numpy": (np_state[0], np_state[1].tobytes(), *np_state[2:]),
        "python_random": random.getstate(),
    }


# ------------------------------------------------------------------ (a)
def test_concurrent_fits_in_threads_match_sequential_fits(data):
    X, y = data
    configs = [{"random_state": 0}, {"random_state": 1, "dropout": 0.3}]
    sequential = [_fit_predict(p, X, y) for p in configs]
    with ThreadPoolExecutor(max_workers=2) as pool:
        threaded = list(pool.map(lambda p: _fit_predict(p, X, y), configs))
    for (pred_s, proba_s), (pred_t, proba_t) in zip(sequential, threaded, strict=True):
        pd.testing.assert_frame_equal(pred_t, pred_s)
        np.testing.assert_array_equal(proba_t, proba_s)
    # The two configurations really are different networks.
    assert not np.array_equal(sequential[0][1], sequential[1][1])


# ------------------------------------------------------------------ (b)
@pytest.fixture(scope="module")
def fit_sequence(data):
    """A seeded fit, an unseeded fit, an unseeded fit in a thread, in that order.

    Returns ``[(step, estimator, global state before, global state after)]``;
    Python's ``random`` is seeded first, as a user's script might.
    """
    X, y = data
    random.seed(123)

    def in_thread():
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(lambda: _est().fit(X, y)).result()

    steps = {
        "seeded": lambda: _est(random_state=0).fit(X, y),
        "unseeded": lambda: _est().fit(X, y),
        "unseeded-in-thread": in_thread,
    }
    out = []
    for name, fit in steps.items():
        before = _global_state()
        est = fit()
        out.append((name, est, before, _global_state()))
    return out


def test_seeded_then_unseeded_fits_work_and_keep_tf_and_numpy_state(data, fit_sequence):
    X, _ = data
    for name, est, before, after in fit_sequence:
        assert est.predict(X).shape == (60, 2), name
        assert before["tf_op_determinism"] is False, name
        assert after["tf_op_determinism"] is False, name
        assert after["numpy"] == before["numpy"], name
    seeded = fit_sequence[0]
    assert seeded[3]["python_random"] == seeded[2]["python_random"]


@pytest.mark.parametrize("step", [1, 2], ids=["unseeded", "unseeded-in-thread"])
def test_unseeded_fit_leaves_python_random_alone(fit_sequence, step):
    _, _, before, after = fit_sequence[step]
    assert after["python_random"] == before["python_random"]


# ------------------------------------------------------------------ (c), (d)
def _cv_scores(X, y, n_jobs: int) -> np.ndarray:
    return cross_val_score(
        _est(random_state=0, epochs=1),
        X,
        y,
        cv=KFold(2, shuffle=True, random_state=0),
        n_jobs=n_jobs,
    )


@pytest.fixture(scope="module")
def serial_scores(data):
    return _cv_scores(*data, n_jobs=1)


def test_cross_val_score_is_identical_with_one_or_two_loky_workers(data, serial_scores):
    X, y = data
    with joblib.parallel_config(backend="loky"):
        parallel = _cv_scores(X, y, n_jobs=2)
    np.testing.assert_array_equal(parallel, serial_scores)
    assert np.isfinite(serial_scores).all()


def test_cross_val_score_is_identical_on_a_dask_cluster(
    data, serial_scores, dask_client
):
    from distributed import get_task_stream

    X, y = data
    with (
        get_task_stream(dask_client) as stream,
        joblib.parallel_config(backend="dask"),
    ):
        on_dask = _cv_scores(X, y, n_jobs=2)
    np.testing.assert_array_equal(on_dask, serial_scores)
    # Equal scores would also come from a serial run: the fits ran as tasks.
    assert len(stream.data) >= 2
    assert {task["worker"] for task in stream.data} <= set(
        dask_client.scheduler_info()["workers"]
    )
