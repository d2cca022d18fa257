"""_batching: seeded batches over named arrays, and the validation split."""

import numpy as np
import pytest

from skmtl.data.holdout import validation_rows
from skmtl.data.targets import CLASSIFICATION, TaskSpec
from skmtl.training.batching import TaskBatches


def _data(n=10):
    inputs = {"x": np.arange(n, dtype=np.float64)[:, None] * np.ones((1, 3))}
    targets = {"t": np.arange(n) % 2}
    weights = {"t": np.ones(n, dtype=np.float32)}
    return inputs, targets, weights


def _rows_seen(batches):
    return np.concatenate(
        [b[0]["x"][:, 0] for b in (batches[i] for i in range(len(batches)))]
    )


def test_batches_cover_every_row_once_per_epoch_as_float32():
    batches = TaskBatches(*_data(10), batch_size=4, shuffle=True, seed=0)
    assert len(batches) == 3
    x, t, _w = batches[0]
    assert x["x"].dtype == np.float32 and set(x) == {"x"} and set(t) == {"t"}
    assert sorted(_rows_seen(batches)) == list(range(10))


def test_the_order_is_seeded_and_changes_every_epoch():
    a = TaskBatches(*_data(), batch_size=4, shuffle=True, seed=1)
    b = TaskBatches(*_data(), batch_size=4, shuffle=True, seed=1)
    first = _rows_seen(a)
    np.testing.assert_array_equal(first, _rows_seen(b))
    a.on_epoch_end()
    assert not np.array_equal(first, _rows_seen(a))


def test_no_shuffle_keeps_the_order_and_rows_restrict_the_samples():
    batches = TaskBatches(
        *_data(), batch_size=3, shuffle=False, rows=np.array([7, 2, 5])
    )
    np.testing.assert_array_equal(_rows_seen(batches), [2, 5, 7])
    assert batches.n_samples == 3


def test_predict_style_batches_have_inputs_only():
    inputs, _, _ = _data()
    (x,) = TaskBatches(inputs, None, None, batch_size=4, shuffle=False)[0]
    assert x["x"].shape == (4, 3)


TASK = TaskSpec("t", CLASSIFICATION, "int64", classes=np.array([0, 1]))


def test_validation_fraction_is_a_stratified_seeded_split():
    targets = {"t": np.array([0] * 10 + [1] * 10)}
    train, val = validation_rows(targets, [TASK], 20, fraction=0.2, seed=0)
    assert len(val) == 4 and sorted(np.r_[train, val]) == list(range(20))
    assert np.bincount(targets["t"][val]).tolist() == [2, 2]
    again = validation_rows(targets, [TASK], 20, fraction=0.2, seed=0)[1]
    np.testing.assert_array_equal(val, again)


def test_keras_split_takes_the_last_rows_and_no_split_gives_none():
    targets = {"t": np.zeros(10, dtype=int)}
    _train, val = validation_rows(targets, [TASK], 10, keras_split=0.3)
    np.testing.assert_array_equal(val, [7, 8, 9])
    assert validation_rows(targets, [TASK], 10) == (None, None)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"fraction": 0.1, "keras_split": 0.1}, "do not also set"),
        ({"fraction": 0.99}, "leaves no training samples"),
        ({"keras_split": 0.01}, "leaves no training or no"),
    ],
)
def test_impossible_splits_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        validation_rows({"t": np.zeros(10, dtype=int)}, [TASK], 10, **kwargs)
