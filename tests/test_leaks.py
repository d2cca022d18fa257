"""A fit leaves nothing behind in TensorFlow's process-wide registries.

Every fit of a new Keras model used to leave its traced training step in two
global registries (optimizer slots created inside the traced step register
``tf.cond`` branch functions; the gradient all-reduce registers a
``tf.custom_gradient``), about 15 MiB per fit of the default network in a long
search. ``benchmarks/search_memory.py`` measures the memory; these tests pin
the cause with TensorFlow's (private) registries, cheaply.
"""

import gc

import pytest

from skmtl import MultiTaskConvEstimator

from .conftest import TINY

context = pytest.importorskip("tensorflow.python.eager.context")
ops = pytest.importorskip("tensorflow.python.framework.ops")


def _registries() -> tuple[int, int]:
    functions = len(context.context().list_function_names())
    gradients = len(ops._gradient_registry._registry)
    return functions, gradients


@pytest.mark.parametrize("loss_weighting", ["fixed", "uncertainty"])
def test_fits_leave_no_functions_or_gradients_behind(sensor_data, loss_weighting):
    X, y = sensor_data

    def fit():
        est = MultiTaskConvEstimator(
            **TINY, epochs=1, random_state=0, loss_weighting=loss_weighting
        )
        est.fit(X, y).predict(X)

    fit()  # the first fit may register process-wide things once
    gc.collect()
    before = _registries()
    for _ in range(3):
        fit()
    gc.collect()
    assert _registries() == before
