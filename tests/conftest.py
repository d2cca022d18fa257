"""Shared fixtures: quiet TensorFlow, seeded NumPy, small data sets."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest


def run_python(code: str) -> str:
    """Run ``code`` in a fresh interpreter (TensorFlow quiet); return its stdout.

    The child sees no environment but oneDNN's settings: a suite run with
    ``ONEDNN_MAX_CPU_ISA=AVX2`` (an AVX2 machine's kernels) runs its children
    on the same kernels, as they would be on such a machine.
    """
    import os
    import subprocess
    import sys
    import textwrap

    env = {"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": ""}
    env.update(
        {k: v for k, v in os.environ.items() if k.startswith(("ONEDNN_", "DNNL_"))}
    )
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


# Tiny network settings that train in well under a second per fit, for the
# default (rocket) trunk: filters is its feature count, (84,) its fewest.
TINY = {"filters": (84,), "dense_units": 8, "batch_size": 16}
# The same for the trainable "conv" trunk: two small stages of short kernels
# (kernel_size shapes this trunk only; the others warn about it).
TINY_CONV = {**TINY, "trunk": "conv", "filters": (4, 8), "kernel_size": 3}
# The same settings as ``skmtl fit`` options, one epoch.
TINY_OPTIONS = [
    "--epochs",
    "1",
    "--batch-size",
    str(TINY["batch_size"]),
    "--random-state",
    "0",
    "--param",
    f"filters={TINY['filters']}",
    "--param",
    f"dense_units={TINY['dense_units']}",
]


def network_kwargs(**overrides) -> dict:
    """``build_network``'s keyword arguments besides ``random_state``: the
    estimator's defaults (its ``get_params()``, the one source of them), with
    ``overrides`` set as on the estimator."""
    from skmtl import MultiTaskConvEstimator
    from skmtl.nn.network import network_parameters

    return network_parameters(MultiTaskConvEstimator(**overrides).get_params())


@pytest.fixture(autouse=True)
def _seed_numpy():
    """Every test starts from the same global NumPy state."""
    state = np.random.get_state()
    np.random.seed(0)
    yield
    np.random.set_state(state)


@pytest.fixture(scope="session")
def sensor_data():
    """(X, y) from make_sensor_tasks: 120 samples of 64 steps, both tasks."""
    from skmtl.datasets import make_sensor_tasks

    return make_sensor_tasks(120, n_steps=64, random_state=0)


@pytest.fixture(scope="session")
def fitted(sensor_data):
    """A tiny estimator fitted on ``sensor_data`` (do not mutate it)."""
    from skmtl import MultiTaskConvEstimator

    X, y = sensor_data
    return MultiTaskConvEstimator(**TINY, epochs=2, random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def dask_client():
    """A client of a two-process, single-threaded ``LocalCluster``, one per test
    module: an idle cluster still takes about 9 % of a core, so it does not
    outlive the module that needs it."""
    distributed = pytest.importorskip(
        "distributed",
        reason="dask[distributed] is not installed (pip install 'skmtl[dask]')",
    )
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=50,  # logging.CRITICAL
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def signal_and_noise():
    """Task 'clean' is a function of X; task 'noise' is pure noise (96 x 16)."""
    import pandas as pd

    rng = np.random.default_rng(0)
    X = rng.normal(size=(96, 16)).astype("float32")
    y = pd.DataFrame(
        {"clean": X[:, :4].sum(axis=1) * 3.0, "noise": rng.normal(size=96) * 3.0}
    )
    return X, y
