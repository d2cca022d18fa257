"""metrics: task columns, per-task scores and the combined score."""

import numpy as np
import pandas as pd
import pytest

from skmtl.metrics import combined_score, score_task, task_column, task_scorer

KINDS = {"m": "classification", "d": "regression"}


def _frames():
    y_true = pd.DataFrame({"m": ["a", "b", "a", None], "d": [1.0, 2.0, 3.0, np.nan]})
    y_pred = pd.DataFrame({"m": ["a", "a", "a", "b"], "d": [1.0, 2.0, 3.0, 9.0]})
    return y_true, y_pred


def test_a_1d_y_is_its_single_task_whatever_the_name():
    np.testing.assert_array_equal(task_column(pd.Series([1, 2], name="x"), "m"), [1, 2])
    with pytest.raises(ValueError, match="Unknown task 'z'"):
        task_column(_frames()[0], "z")


def test_score_task_skips_missing_labels_and_weighs_samples():
    assert score_task(["a", "b", None], ["a", "a", "b"], "accuracy") == 0.5
    assert score_task(["a", "b"], ["a", "a"], "accuracy", [3.0, 1.0]) == 0.75
    assert np.isnan(score_task([None, None], ["a", "b"], "accuracy"))
    assert score_task([1.0, 2.0], [2.0, 2.0], "neg_mean_absolute_error") == -0.5


def test_combined_score_is_the_weighted_mean_over_tasks():
    y_true, y_pred = _frames()
    acc, r2 = 2 / 3, 1.0
    assert combined_score(KINDS, y_true, y_pred) == pytest.approx((acc + r2) / 2)
    weighted = combined_score(KINDS, y_true, y_pred, score_weights={"m": 3.0})
    assert weighted == pytest.approx((3 * acc + r2) / 4)
    by_sample = combined_score(KINDS, y_true, y_pred, sample_weight=[1, 0, 1, 1])
    assert by_sample == pytest.approx((1.0 + 1.0) / 2)


@pytest.mark.parametrize(
    "score_weights, match",
    [
        ({"zzz": 1.0}, "zzz"),
        ({"m": 0.0, "d": 0.0}, "positive total weight"),
    ],
)
def test_bad_score_weights_are_refused(score_weights, match):
    y_true, y_pred = _frames()
    with pytest.raises(ValueError, match=match):
        combined_score(KINDS, y_true, y_pred, score_weights=score_weights)


def test_task_scorer_uses_the_metric_asked_for():
    y_true, y_pred = _frames()

    class Fitted:
        task_kinds_ = KINDS

        def predict(self, X):
            return y_pred

    assert task_scorer("m")(Fitted(), None, y_true) == pytest.approx(2 / 3)
    mae = task_scorer("d", "neg_mean_absolute_error")(Fitted(), None, y_true)
    assert mae == 0.0
    custom = task_scorer("m", lambda t, p: float(len(t)))(Fitted(), None, y_true)
    assert custom == 3.0
    with pytest.raises(ValueError, match="Unknown metric 'nope'"):
        task_scorer("m", "nope")
