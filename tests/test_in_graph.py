"""In-graph batches (small data at compute speed) train exactly as TaskBatches do.

A small training set is copied once into tensors and batched inside tf.data
(``skmtl.training.batching.in_graph_batches``), several steps per compiled call. These
tests pin that it changes nothing a user can see: the same batches in the same
order (fitted models are bit-identical to the Python ``PyDataset`` path), the
same history and early stopping, every batch shown to a callback that asks for
batches, and the zero-copy path kept for memory maps, variable-length signals
and data over the size threshold.
"""

import keras
import numpy as np
import pytest

import skmtl.training.batching as batching
from skmtl import MultiTaskConvEstimator
from skmtl.training.batching import TaskBatches, in_graph_batches

from .conftest import TINY


def _python_path(monkeypatch):
    """Force every fit onto the PyDataset path."""
    monkeypatch.setattr(batching, "IN_GRAPH_BYTES", -1)


class _Steps(keras.callbacks.Callback):
    """Counts the training batches Keras reports (in a class attribute: the
    estimator fits a copy of its callbacks)."""

    batches = 0

    def on_train_batch_end(self, batch, logs=None):
        type(self).batches += 1


@pytest.mark.parametrize(
    "params",
    [
        # Dropout's random stream and GradNorm's weight update are per step.
        {"dropout": 0.3, "loss_weighting": "gradnorm"},
        {"epochs": "auto", "batch_size": 32},  # several passes per epoch
        {"early_stopping": True, "validation_fraction": 0.2, "epochs": 6},
        {"loss_weighting": "dwa", "shuffle": False},
        {"trunk": "rocket", "dense_units": 0},  # heads trained on cached features
    ],
    ids=["dropout-gradnorm", "auto", "early-stopping", "dwa-no-shuffle", "rocket"],
)
def test_in_graph_fit_is_bit_identical_to_the_python_path(
    sensor_data, monkeypatch, params
):
    X, y = sensor_data
    settings = {**TINY, "epochs": 3, "random_state": 0, **params}
    fast = MultiTaskConvEstimator(**settings).fit(X, y)
    with monkeypatch.context() as m:
        _python_path(m)
        slow = MultiTaskConvEstimator(**settings).fit(X, y)
    np.testing.assert_array_equal(
        fast.predict_proba(X)["material"], slow.predict_proba(X)["material"]
    )
    assert fast.n_epochs_ == slow.n_epochs_ and fast.best_epoch_ == slow.best_epoch_
    assert fast.history_.keys() == slow.history_.keys()
    for key in slow.history_:
        np.testing.assert_allclose(fast.history_[key], slow.history_[key], rtol=1e-6)


def test_warm_starts_continue_the_same_batch_sequence(sensor_data, monkeypatch):
    X, y = sensor_data

    def two_fits():
        est = MultiTaskConvEstimator(**TINY, epochs=2, random_state=0, warm_start=True)
        est.fit(X, y)
        est.partial_fit(X, y)
        return est.predict_proba(X)["material"], len(est.history_["loss"])

    fast = two_fits()
    _python_path(monkeypatch)
    slow = two_fits()
    np.testing.assert_array_equal(fast[0], slow[0])
    assert fast[1] == slow[1] == 3


def test_several_steps_run_per_call_unless_a_callback_wants_every_batch(
    sensor_data,
):
    X, y = sensor_data
    # 120 samples in batches of 16: 8 batches per epoch; 50 epochs are 400
    # steps, enough for several steps per call to repay their tracing.
    _Steps.batches = 0
    est = MultiTaskConvEstimator(
        **TINY, epochs=50, random_state=0, callbacks=[_Steps()]
    ).fit(X, y)
    assert _Steps.batches == 400  # each batch reported
    assert est._session.trainer.steps_per_execution == 1
    est = MultiTaskConvEstimator(**TINY, epochs=50, random_state=0).fit(X, y)
    assert est._session.trainer.steps_per_execution == 8  # divides the epoch
    est = MultiTaskConvEstimator(**TINY, epochs=2, random_state=0).fit(X, y)
    assert est._session.trainer.steps_per_execution == 1  # 16 steps: not worth it


def test_a_routed_steps_per_execution_is_kept(sensor_data):
    X, y = sensor_data
    est = MultiTaskConvEstimator(
        **TINY, epochs=1, random_state=0, compile__steps_per_execution=2
    ).fit(X, y)
    assert est._session.trainer.steps_per_execution == 2


def _arrays(n=12):
    x = {"s": np.arange(n * 3, dtype=np.float64).reshape(n, 3)}
    return x, {"t": np.arange(n) % 3}, {"t": np.ones(n, np.float32)}


def test_the_stream_repeats_taskbatches_orders_as_keras_reads_them():
    batches = TaskBatches(*_arrays(), batch_size=5, shuffle=True, seed=4)
    stream = iter(in_graph_batches(batches, repeat=True))
    reference = batches.restarted()
    for _ in range(3):  # Keras starts training on the second order
        reference.on_epoch_end()
        rows = reference.epoch_rows()
        for start in range(0, 12, 5):
            x, t, _w = next(stream)
            expect = rows[start : start + 5]
            np.testing.assert_array_equal(x["s"][:, 0], expect * 3)
            assert x["s"].dtype == np.float32 and t["t"].dtype == np.int64
            np.testing.assert_array_equal(t["t"], expect % 3)


def test_memory_maps_ragged_fields_and_large_data_stay_on_the_python_path(
    tmp_path, monkeypatch
):
    x, t, w = _arrays()
    path = tmp_path / "s.npy"
    np.save(path, x["s"])
    mapped = {"s": np.load(path, mmap_mode="r")[2:]}
    assert (
        in_graph_batches(TaskBatches(mapped, None, None, batch_size=4), repeat=False)
        is None
    )

    from skmtl.data.ragged import RaggedSignal

    ragged = {
        "s": RaggedSignal.from_list([np.ones((i + 2, 1)) for i in range(12)], "s")
    }
    assert (
        in_graph_batches(TaskBatches(ragged, t, w, batch_size=4), repeat=True) is None
    )

    batches = TaskBatches(x, t, w, batch_size=4)
    assert in_graph_batches(batches, repeat=True) is not None
    # 12 rows x (3 float32 inputs + 1 int64 target + 1 float32 weight) = 240 B.
    monkeypatch.setattr(batching, "IN_GRAPH_BYTES", 239)
    assert in_graph_batches(batches, repeat=True) is None
