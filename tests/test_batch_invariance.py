"""A recording's outputs do not depend on the batch it comes in (issue 28).

oneDNN picks its kernels by the CPU's instruction set and by the shapes, so
the same sums can be added in another order when other rows share the batch.
The default network is built so that this cannot change a result (exact
MiniRocket sums, heads summed in float64: ``skmtl.nn.exact``). These tests
predict the same rows alone, in batches of several sizes and shuffled, and
compare for equality; the last one runs them again in a child process on
oneDNN's AVX2 kernels (``ONEDNN_MAX_CPU_ISA=AVX2``), which is how an AVX-512
machine tries the path of a machine without AVX-512.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from skmtl import MultiTaskConvEstimator
from skmtl.datasets import make_sensor_tasks
from skmtl.nn.exact import ExactDense, matmul_exact
from skmtl.nn.rocket import MiniRocketFeatures

from .conftest import TINY


def _outputs_by_batch(est, X, sizes=(1, 3, 16, 61)):
    """Each row's raw outputs, predicted in chunks of each size and shuffled."""
    n = len(X)
    whole = est._outputs(X)
    for size in sizes:
        est.set_params(predict__batch_size=size)
        yield f"batch {size}", est._outputs(X)
    est.set_params(predict__batch_size=256)
    order = np.random.default_rng(0).permutation(n)
    shuffled = est._outputs(X[order])
    back = np.argsort(order)
    yield "shuffled", {k: v[back] for k, v in shuffled.items()}
    for i in (0, n // 2, n - 1):
        alone = est._outputs(X[i : i + 1])
        yield (
            f"row {i} alone",
            {
                k: np.concatenate([whole[k][:i], v, whole[k][i + 1 :]])
                for k, v in alone.items()
            },
        )
    yield "whole", whole


@pytest.fixture(scope="module")
def data():
    X, y = make_sensor_tasks(120, n_steps=700, random_state=0)
    X_new, _ = make_sensor_tasks(61, n_steps=700, random_state=1)
    return X, y, X_new


@pytest.mark.parametrize(
    "params",
    [{"filters": (840,), "epochs": 2}, {**TINY, "epochs": 2}],
    ids=["default", "tiny"],
)
def test_outputs_do_not_change_with_batch_size_or_order(data, params):
    X, y, X_new = data
    # 700 steps: the default averages them down to 350 first.
    est = MultiTaskConvEstimator(random_state=0, **params).fit(X, y)
    for rows in (X_new, X):  # new recordings, and the ones the biases came from
        whole = est._outputs(rows)
        for label, outputs in _outputs_by_batch(est, rows):
            for task, values in outputs.items():
                np.testing.assert_array_equal(values, whole[task], err_msg=label)


def test_rocket_sums_are_exact_whatever_the_order():
    layer = MiniRocketFeatures(64, 2, n_features=168, difference=True, exact=True)
    x = np.random.default_rng(0).normal(size=(9, 64, 2)).astype(np.float32)
    x[0, 5, 0] = 1e-30  # magnitudes float32 cannot add exactly in any order
    x[1, 7, 1] = 1e7
    layer.adapt(x)
    whole = np.asarray(layer(x))
    for i in range(len(x)):
        np.testing.assert_array_equal(np.asarray(layer(x[i : i + 1]))[0], whole[i])
    # Layers saved before ``exact`` load without it and read as they were.
    config = layer.get_config()
    del config["exact"]
    assert MiniRocketFeatures.from_config(config).exact is False


def test_exact_dense_sums_in_float64():
    a = np.float32([[1e8, 1.0, -1e8]])
    assert float(np.asarray(matmul_exact(a, np.ones((3, 1), np.float32)))[0, 0]) == 1
    layer = ExactDense(4, activation="relu")
    x = np.random.default_rng(0).normal(size=(33, 300)).astype(np.float32)
    whole = np.asarray(layer(x))
    assert whole.dtype == np.float32
    for size in (1, 2, 7):
        parts = [np.asarray(layer(x[i : i + size])) for i in range(0, 33, size)]
        np.testing.assert_array_equal(np.concatenate(parts), whole)


@pytest.mark.slow
def test_same_answers_on_oneDNN_avx2_kernels():
    """The checks above, and scikit-learn's invariance checks, on the AVX2
    kernels: CI machines differ in CPU."""
    script = textwrap.dedent(
        """
        import numpy as np
        from sklearn.utils.estimator_checks import (
            check_methods_sample_order_invariance, check_methods_subset_invariance)
        from skmtl import MultiTaskConvEstimator
        from tests.test_batch_invariance import _outputs_by_batch
        from tests.conftest import TINY
        from skmtl.datasets import make_sensor_tasks

        X, y = make_sensor_tasks(80, n_steps=64, random_state=0)
        est = MultiTaskConvEstimator(random_state=0, **TINY, epochs=2).fit(X, y)
        whole = est._outputs(X)
        for label, outputs in _outputs_by_batch(est, X):
            for task, values in outputs.items():
                np.testing.assert_array_equal(values, whole[task], err_msg=label)
        for kind in ("classification", "regression"):
            est = MultiTaskConvEstimator(
                tasks=[kind], random_state=0, epochs=10, learning_rate=0.03, **TINY)
            check_methods_subset_invariance("est", est)
            check_methods_sample_order_invariance("est", est)
        print("same")
        """
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2", "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0 and "same" in proc.stdout, proc.stderr[-3000:]
