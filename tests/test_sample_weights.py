"""sample_weights: per-task loss weights from labels, sample and class weights."""

import numpy as np
import pytest

from skmtl.data.sample_weights import apply_class_weight, apply_sample_weight
from skmtl.data.targets import CLASSIFICATION, REGRESSION, TaskSpec

CLS = TaskSpec("c", CLASSIFICATION, "int64", classes=np.array([0, 1, 2]))
REG = TaskSpec("r", REGRESSION, "float64", mean=0.0, std=1.0)


def _weights():
    # Row 3 has no label for "c" (weight 0); the rest are labelled.
    return {"c": np.array([1.0, 1.0, 1.0, 0.0]), "r": np.ones(4)}


def test_sample_weight_keeps_each_tasks_mean_over_labelled_rows():
    out = apply_sample_weight(_weights(), [1.0, 2.0, 3.0, 4.0], 4)
    np.testing.assert_allclose(out["c"], [0.5, 1.0, 1.5, 0.0])
    np.testing.assert_allclose(out["r"], np.array([1, 2, 3, 4]) / 2.5)
    assert out["c"][:3].mean() == pytest.approx(1.0)


def test_per_task_sample_weight_leaves_the_other_tasks_alone():
    out = apply_sample_weight(_weights(), {"r": [0.0, 0.0, 1.0, 1.0]}, 4)
    np.testing.assert_array_equal(out["c"], _weights()["c"])
    np.testing.assert_allclose(out["r"], [0.0, 0.0, 2.0, 2.0])


@pytest.mark.parametrize(
    "sample_weight, match",
    [
        ([1.0, 1.0], r"must have shape \(4,\)"),
        ([1.0, -1.0, 1.0, 1.0], "finite and non-negative"),
        ([1.0, np.nan, 1.0, 1.0], "finite and non-negative"),
        ([0.0, 0.0, 0.0, 0.0], "zero for every sample"),
        ({"colour": [1, 1, 1, 1]}, r"names \['colour'\], which are not tasks"),
        ({"c": [0.0, 0.0, 0.0, 1.0]}, "'c'"),  # weight only on the unlabelled row
    ],
)
def test_bad_sample_weights_are_refused(sample_weight, match):
    with pytest.raises(ValueError, match=match):
        apply_sample_weight(_weights(), sample_weight, 4)


def test_balanced_class_weight_is_scikit_learns():
    weights = {"c": np.ones(6)}
    targets = {"c": np.array([0, 0, 0, 0, 1, 2])}
    out = apply_class_weight(weights, targets, [CLS], "balanced")
    # n / (n_classes * n_c): 6 / (3 * 4), 6 / 3, 6 / 3
    np.testing.assert_allclose(out["c"], [0.5, 0.5, 0.5, 0.5, 2.0, 2.0])


def test_a_label_dict_weighs_its_classes_and_skips_unlabelled_rows():
    weights = {"c": np.array([1.0, 1.0, 1.0, 0.0]), "r": np.ones(4)}
    targets = {"c": np.array([0, 1, 2, 0]), "r": np.zeros((4, 1))}
    out = apply_class_weight(weights, targets, [CLS, REG], {"c": {1: 5.0}})
    np.testing.assert_allclose(out["c"], [1.0, 5.0, 1.0, 0.0])
    np.testing.assert_array_equal(out["r"], weights["r"])  # regression untouched


def test_a_class_weight_naming_an_unknown_label_is_refused():
    with pytest.raises(ValueError, match=r"names \[7\], which are not classes of"):
        apply_class_weight(
            {"c": np.ones(3)}, {"c": np.array([0, 1, 2])}, [CLS], {"c": {7: 2.0}}
        )


def test_none_is_a_no_op_that_copies():
    weights = _weights()
    out = apply_class_weight(weights, {}, [CLS], None)
    assert out == weights and out is not weights
