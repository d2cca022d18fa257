"""Hyper-parameter search on a Dask cluster gives the serial run's results exactly.

``GridSearchCV`` (over ``loss_weights__<task>`` and ``learning_rate``) and
``RandomizedSearchCV`` (fixed ``random_state``) run through joblib's Dask
backend on a ``distributed.LocalCluster`` of two single-threaded worker
processes; every split score equals the ``n_jobs=1`` run bit for bit. Ray's
joblib backend gets the same check when ray is installed (it is not a
dependency of skmtl).
"""

from __future__ import annotations

import joblib
import numpy as np
import pytest
from scipy.stats import loguniform
from sklearn.model_selection import GridSearchCV, KFold, RandomizedSearchCV

from skmtl import MultiTaskConvEstimator
from skmtl.datasets import make_sensor_tasks

from .conftest import TINY

pytest.importorskip(
    "distributed",
    reason="dask[distributed] is not installed (pip install 'skmtl[dask]')",
)

SCORES = ["mean_test_score", "split0_test_score", "split1_test_score"]


@pytest.fixture(scope="module")
def data():
    return make_sensor_tasks(48, n_steps=32, random_state=0)


def _grid(n_jobs: int) -> GridSearchCV:
    return GridSearchCV(
        MultiTaskConvEstimator(**TINY, epochs=1, random_state=0),
        {"loss_weights__material": [0.5, 2.0], "learning_rate": [1e-3, 1e-2]},
        cv=KFold(2, shuffle=True, random_state=0),
        refit=False,
        n_jobs=n_jobs,
    )


def _randomized(n_jobs: int) -> RandomizedSearchCV:
    return RandomizedSearchCV(
        MultiTaskConvEstimator(**TINY, epochs=1, random_state=0),
        {
            "learning_rate": loguniform(1e-4, 1e-1),
            "loss_weights__density": [0.25, 1.0, 4.0],
        },
        n_iter=2,
        cv=KFold(2, shuffle=True, random_state=0),
        random_state=0,
        refit=False,
        n_jobs=n_jobs,
    )


SEARCHES = {"grid": _grid, "randomized": _randomized}


@pytest.fixture(scope="module")
def serial(data):
    return {name: make(n_jobs=1).fit(*data) for name, make in SEARCHES.items()}


def _assert_same_results(search, reference) -> None:
    for key in SCORES:
        # Exact equality: every fit is seeded by random_state, whatever process
        # or thread runs it.
        np.testing.assert_array_equal(
            search.cv_results_[key], reference.cv_results_[key]
        )
    assert search.cv_results_["params"] == reference.cv_results_["params"]
    assert search.best_params_ == reference.best_params_
    assert np.isfinite(reference.cv_results_["mean_test_score"]).all()


@pytest.mark.parametrize("name", list(SEARCHES))
def test_search_on_dask_matches_serial_search(data, dask_client, serial, name):
    from distributed import get_task_stream

    with (
        get_task_stream(dask_client) as stream,
        joblib.parallel_config(backend="dask"),
    ):
        search = SEARCHES[name](n_jobs=-1).fit(*data)
    _assert_same_results(search, serial[name])
    # The fits really ran on the cluster: tasks on both workers.
    workers = {task["worker"] for task in stream.data}
    assert len(workers) == 2, workers
    assert len(stream.data) >= 4  # at least one task per candidate and split


def test_search_on_ray_matches_serial_search(data, serial):
    ray = pytest.importorskip("ray", reason="ray is optional and not installed")
    from ray.util.joblib import register_ray

    register_ray()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        with joblib.parallel_config(backend="ray"):
            search = _grid(n_jobs=-1).fit(*data)
    finally:
        ray.shutdown()
    _assert_same_results(search, serial["grid"])
