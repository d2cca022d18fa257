"""The TensorFlow-free scoring and weighting layer, value by value.

``skmtl.metrics`` (per-task scores and their combination) and
``skmtl.data.sample_weights`` (sample and class weights folded into per-task loss
weights) computed on small hand-made arrays and compared with scikit-learn or
with the numbers worked out in the comments. No network is trained, so these
tests run in a fraction of a second: they are the ones mutation testing
(``[tool.mutmut]`` in pyproject.toml) runs against these modules.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    median_absolute_error,
    r2_score,
    root_mean_squared_error,
)
from sklearn.pipeline import Pipeline

from skmtl.data.sample_weights import apply_class_weight, apply_sample_weight
from skmtl.data.targets import TargetEncoder
from skmtl.metrics import (
    check_score_weights,
    combined_score,
    score_task,
    task_column,
    task_scorer,
)

KINDS = {"material": "classification", "density": "regression"}
Y_TRUE = pd.DataFrame(
    {
        "material": ["steel", "wood", "steel", None, "wood", "steel"],
        "density": [7.9, 0.6, 8.1, 7.7, np.nan, 7.0],
    }
)
Y_PRED = pd.DataFrame(
    {
        "material": ["steel", "steel", "steel", "wood", "wood", "wood"],
        "density": [7.5, 0.9, 8.0, 7.0, 3.0, 7.4],
    }
)
# Labelled rows: material 0, 1, 2, 4, 5 (3 of 5 right); density 0, 1, 2, 3, 5.
MATERIAL = [0, 1, 2, 4, 5]
DENSITY = [0, 1, 2, 3, 5]


def _material_accuracy(weight=None):
    w = None if weight is None else np.asarray(weight)[MATERIAL]
    true, pred = Y_TRUE["material"][MATERIAL], Y_PRED["material"][MATERIAL]
    return accuracy_score(true, pred, sample_weight=w)


def _density_r2(weight=None):
    w = None if weight is None else np.asarray(weight)[DENSITY]
    true, pred = Y_TRUE["density"][DENSITY], Y_PRED["density"][DENSITY]
    return r2_score(true, pred, sample_weight=w)


# ------------------------------------------------------------ task_column
def test_task_column_of_each_form_of_y():
    np.testing.assert_array_equal(
        task_column(Y_TRUE, "density"), Y_TRUE["density"].to_numpy()
    )
    structured = np.array([(1, 2.0), (3, 4.0)], dtype=[("a", "i8"), ("b", "f8")])
    np.testing.assert_array_equal(task_column(structured, "b"), [2.0, 4.0])
    # A 1-D y is its one task, whatever the name asked for.
    np.testing.assert_array_equal(task_column(np.array([1, 2]), "anything"), [1, 2])
    np.testing.assert_array_equal(
        task_column(pd.Series([5, 6], name="y"), "other"), [5, 6]
    )
    with pytest.raises(
        ValueError,
        match=r"Unknown task 'colour'; y has tasks \['material', 'density'\]",
    ):
        task_column(Y_TRUE, "colour")


# ------------------------------------------------------------- score_task
@pytest.mark.parametrize(
    ("metric", "function", "sign"),
    [
        ("accuracy", accuracy_score, 1),
        ("balanced_accuracy", balanced_accuracy_score, 1),
        ("f1_macro", lambda t, p, **kw: f1_score(t, p, average="macro", **kw), 1),
        ("f1_weighted", lambda t, p, **kw: f1_score(t, p, average="weighted", **kw), 1),
    ],
)
def test_score_task_classification_metrics(metric, function, sign):
    true, pred = Y_TRUE["material"], Y_PRED["material"]
    labelled_true = true[MATERIAL].to_numpy()
    labelled_pred = pred[MATERIAL].to_numpy()
    assert score_task(true, pred, metric) == pytest.approx(
        sign * function(labelled_true, labelled_pred)
    )
    weight = np.array([1.0, 2.0, 3.0, 100.0, 0.5, 4.0])
    assert score_task(true, pred, metric, sample_weight=weight) == pytest.approx(
        sign * function(labelled_true, labelled_pred, sample_weight=weight[MATERIAL])
    )


@pytest.mark.parametrize(
    ("metric", "function", "sign"),
    [
        ("r2", r2_score, 1),
        ("neg_mean_absolute_error", mean_absolute_error, -1),
        ("neg_mean_squared_error", mean_squared_error, -1),
        ("neg_root_mean_squared_error", root_mean_squared_error, -1),
        ("neg_median_absolute_error", median_absolute_error, -1),
    ],
)
def test_score_task_regression_metrics(metric, function, sign):
    true, pred = Y_TRUE["density"], Y_PRED["density"]
    value = score_task(true, pred, metric)
    expected = sign * function(true[DENSITY], pred[DENSITY])
    assert value == pytest.approx(expected)
    assert (value > 0) == (metric == "r2")  # losses are negated: higher is better
    if metric != "neg_median_absolute_error":  # it takes no sample_weight
        weight = np.array([1.0, 2.0, 3.0, 4.0, 100.0, 0.5])
        assert score_task(true, pred, metric, sample_weight=weight) == pytest.approx(
            sign * function(true[DENSITY], pred[DENSITY], sample_weight=weight[DENSITY])
        )


def test_score_task_callable_unlabelled_and_unknown():
    true, pred = Y_TRUE["density"], Y_PRED["density"]
    seen = []

    def count(t, p):
        seen.append((np.asarray(t).tolist(), np.asarray(p).tolist()))
        return 0.25

    assert score_task(true, pred, count) == 0.25
    # The callable sees the labelled rows only.
    assert seen == [(true[DENSITY].tolist(), pred[DENSITY].tolist())]
    assert np.isnan(score_task([np.nan, np.nan], [1.0, 2.0], "r2"))
    assert np.isnan(
        score_task(np.array([None, None], dtype=object), ["a", "b"], "accuracy")
    )
    with pytest.raises(ValueError, match=r"Unknown metric 'median'; use a callable"):
        score_task(true, pred, "median")


def test_score_task_compares_object_labels_with_typed_predictions():
    # y with a missing label is object; the predictions are ints.
    true = np.array([1, 2, None, 2], dtype=object)
    pred = np.array([1, 2, 3, 1])
    assert score_task(true, pred, "accuracy") == pytest.approx(2 / 3)


# ---------------------------------------------------- check_score_weights
def test_check_score_weights():
    check_score_weights(None, ["a"])
    check_score_weights({}, ["a"])
    check_score_weights({"a": 0.0, "b": 2}, ["a", "b"])
    with pytest.raises(
        ValueError,
        match=r"score_weights names \['c'\], which are not tasks; the tasks are "
        r"\['a', 'b'\]\.",
    ):
        check_score_weights({"a": 1.0, "c": 1.0}, ["a", "b"])
    for bad in (-0.5, np.inf, np.nan):
        with pytest.raises(
            ValueError, match=r"score_weights\['a'\] must be a finite number >= 0"
        ):
            check_score_weights({"a": bad}, ["a", "b"])


# --------------------------------------------------------- combined_score
def test_combined_score_is_the_mean_of_accuracy_and_r2():
    expected = (_material_accuracy() + _density_r2()) / 2
    assert combined_score(KINDS, Y_TRUE, Y_PRED) == pytest.approx(expected)


def test_combined_score_with_score_weights_and_sample_weight():
    weight = np.array([1.0, 3.0, 0.5, 2.0, 1.0, 0.0])
    acc, r2 = _material_accuracy(weight), _density_r2(weight)
    assert combined_score(KINDS, Y_TRUE, Y_PRED, sample_weight=weight) == (
        pytest.approx((acc + r2) / 2)
    )
    assert combined_score(
        KINDS, Y_TRUE, Y_PRED, sample_weight=weight, score_weights={"material": 3.0}
    ) == pytest.approx((3 * acc + r2) / 4)
    assert combined_score(
        KINDS, Y_TRUE, Y_PRED, score_weights={"density": 0}
    ) == pytest.approx(_material_accuracy())


def test_combined_score_leaves_out_a_task_without_labels():
    y_true = Y_TRUE.assign(density=np.nan)
    assert combined_score(KINDS, y_true, Y_PRED) == pytest.approx(_material_accuracy())
    # The weight of the left-out task does not count either.
    assert combined_score(
        KINDS, y_true, Y_PRED, score_weights={"density": 5.0}
    ) == pytest.approx(_material_accuracy())


def test_combined_score_errors():
    empty = pd.DataFrame({"material": [None, None], "density": [np.nan, np.nan]})
    with pytest.raises(ValueError, match="no labelled sample in any task"):
        combined_score(KINDS, empty, Y_PRED.iloc[:2])
    with pytest.raises(ValueError, match="positive total weight"):
        combined_score(
            KINDS, Y_TRUE, Y_PRED, score_weights={"material": 0, "density": 0}
        )
    with pytest.raises(ValueError, match=r"score_weights names \['colour'\]"):
        combined_score(KINDS, Y_TRUE, Y_PRED, score_weights={"colour": 1.0})


# ------------------------------------------------------------ task_scorer
class _Fitted(BaseEstimator):
    """Stands in for a fitted estimator: predicts fixed values."""

    task_kinds_ = KINDS

    def __init__(self, pred=None):
        self.pred = pred
        self.seen = None

    def __sklearn_is_fitted__(self):
        return True

    def fit(self, X, y):
        return self

    def predict(self, X):
        self.seen = X
        return self.pred


def test_task_scorer_default_metric_follows_the_task_kind():
    est = _Fitted(Y_PRED)
    X = np.zeros((6, 2))
    assert task_scorer("material")(est, X, Y_TRUE) == pytest.approx(
        _material_accuracy()
    )
    assert est.seen is X
    assert task_scorer("density")(est, X, Y_TRUE) == pytest.approx(_density_r2())
    assert task_scorer("density", "neg_mean_absolute_error")(
        est, X, Y_TRUE
    ) == pytest.approx(
        -mean_absolute_error(Y_TRUE["density"][DENSITY], Y_PRED["density"][DENSITY])
    )


def test_task_scorer_in_a_pipeline_reads_the_final_step():
    pipe = Pipeline([("est", _Fitted(Y_PRED))])
    X = np.zeros((6, 2))
    assert task_scorer("material")(pipe, X, Y_TRUE) == pytest.approx(
        _material_accuracy()
    )
    assert task_scorer("density")(pipe, X, Y_TRUE) == pytest.approx(_density_r2())


def test_task_scorer_with_a_callable_on_a_regression_block():
    block_true = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    block_pred = block_true + np.array([[0.5, 0.0], [0.0, 0.0], [1.0, 1.0]])
    kinds = {"pos": "regression"}
    y_true = pd.DataFrame({"pos": list(block_true)})
    est = _Fitted(pd.DataFrame({"pos": list(block_pred)}))
    est.task_kinds_ = kinds

    def worst_error(t, p):
        return -float(np.max(np.abs(np.stack(t) - np.stack(p))))

    scorer = task_scorer("pos", worst_error)
    assert scorer(est, None, y_true) == -1.0
    assert "task_scorer('pos'" in scorer.__name__


def test_task_scorer_refuses_an_unknown_metric_at_once():
    with pytest.raises(ValueError, match=r"Unknown metric 'median'.*'default'"):
        task_scorer("density", "median")


# ------------------------------------------------------ apply_sample_weight
def test_apply_sample_weight_one_vector_for_every_task():
    weights = {"a": np.array([1.0, 1.0, 0.0, 1.0]), "b": np.array([2.0, 2.0, 2.0, 2.0])}
    out = apply_sample_weight(weights, [1.0, 2.0, 3.0, 0.0], 4)
    # a: labelled 0, 1, 3 -> scaled [1, 2, 0, 0], sum 3 -> factor 3 / 3
    np.testing.assert_allclose(out["a"], [1.0, 2.0, 0.0, 0.0])
    # b: scaled [2, 4, 6, 0], sum 12 -> factor 8 / 12
    np.testing.assert_allclose(out["b"], [4 / 3, 8 / 3, 4.0, 0.0], rtol=1e-6)
    assert out["a"].dtype == out["b"].dtype == np.float32
    assert apply_sample_weight(weights, None, 4) == weights


def test_apply_sample_weight_by_task_leaves_other_tasks_alone():
    weights = {"a": np.array([1.0, 1.0, 1.0]), "b": np.array([1.0, 0.0, 1.0])}
    out = apply_sample_weight(weights, {"b": [3.0, 5.0, 1.0]}, 3)
    assert out["a"] is weights["a"]
    np.testing.assert_allclose(out["b"], [1.5, 0.0, 0.5])


@pytest.mark.parametrize(
    ("sample_weight", "message"),
    [
        (
            [1.0, 1.0],
            r"sample_weight must have shape \(3,\), one weight per sample; got \(2,\)",
        ),
        ([1.0, np.nan, 1.0], "sample_weight must be finite and non-negative"),
        ([1.0, np.inf, 1.0], "sample_weight must be finite and non-negative"),
        ([1.0, -1.0, 1.0], "sample_weight must be finite and non-negative"),
        ([0.0, 0.0, 0.0], "sample_weight is zero for every sample"),
        (
            {"c": [1.0, 1.0, 1.0]},
            r"sample_weight names \['c'\], which are not tasks; "
            r"the tasks are \['a', 'b'\]",
        ),
        ({"a": [1.0, -1.0, 1.0]}, r"sample_weight\['a'\] must be finite"),
        ({"a": [1.0, 1.0]}, r"sample_weight\['a'\] must have shape \(3,\)"),
    ],
)
def test_apply_sample_weight_refuses(sample_weight, message):
    weights = {"a": np.ones(3), "b": np.ones(3)}
    with pytest.raises(ValueError, match=message):
        apply_sample_weight(weights, sample_weight, 3)


def test_apply_sample_weight_zero_on_every_labelled_sample_is_refused():
    weights = {"a": np.array([1.0, 0.0, 1.0]), "b": np.ones(3)}
    # Non-zero only where task a has no label.
    with pytest.raises(
        ValueError,
        match=r"sample_weight is zero for every labelled sample of task 'a'.*"
        r"loss_weights=\{'a': 0\}",
    ):
        apply_sample_weight(weights, [0.0, 1.0, 0.0], 3)
    with pytest.raises(ValueError, match=r"sample_weight\['a'\] is zero for every"):
        apply_sample_weight(weights, {"a": [0.0, 1.0, 0.0]}, 3)
    # A task with no label at all keeps its zero weights.
    out = apply_sample_weight({"a": np.zeros(3), "b": np.ones(3)}, [1.0, 2.0, 3.0], 3)
    np.testing.assert_array_equal(out["a"], [0.0, 0.0, 0.0])


# ------------------------------------------------------- apply_class_weight
def _encoded(**columns):
    y = pd.DataFrame(columns)
    encoder = TargetEncoder().fit(y)
    targets, weights = encoder.transform(y)
    return encoder.tasks_, targets, weights


def test_balanced_class_weight_matches_scikit_learn_per_task():
    from sklearn.utils.class_weight import compute_class_weight

    labels = np.array(["a", "a", "a", "b", "c", "c"], dtype=object)
    tasks, targets, weights = _encoded(t=labels, r=np.arange(6.0))
    out = apply_class_weight(weights, targets, tasks, "balanced")
    expected = compute_class_weight(
        "balanced", classes=np.array(["a", "b", "c"]), y=labels
    )
    by_label = dict(zip(["a", "b", "c"], expected, strict=True))
    np.testing.assert_allclose(out["t"], [by_label[v] for v in labels], rtol=1e-6)
    np.testing.assert_array_equal(out["r"], weights["r"])  # regression untouched
    assert out["t"].dtype == np.float32


def test_class_weight_forms():
    labels = np.array(["a", "a", "b", "b"], dtype=object)
    tasks, targets, weights = _encoded(t=labels, u=np.array([0, 1, 0, 1]))
    by_task = apply_class_weight(weights, targets, tasks, {"t": {"b": 3.0}})
    np.testing.assert_allclose(by_task["t"], [1.0, 1.0, 3.0, 3.0])
    np.testing.assert_array_equal(by_task["u"], weights["u"])
    balanced_u = apply_class_weight(weights, targets, tasks, {"u": "balanced"})
    np.testing.assert_array_equal(balanced_u["t"], weights["t"])
    assert apply_class_weight(weights, targets, tasks, None) == weights
    # {label: weight} directly, when one task is a classification task.
    tasks1, targets1, weights1 = _encoded(t=labels, r=np.arange(4.0))
    direct = apply_class_weight(weights1, targets1, tasks1, {"a": 0.5})
    np.testing.assert_allclose(direct["t"], [0.5, 0.5, 1.0, 1.0])


@pytest.mark.parametrize(
    ("class_weight", "message"),
    [
        ("auto", r"class_weight must be 'balanced', \{task: 'balanced'"),
        ({"r": "balanced"}, r"class_weight names regression task\(s\) \['r'\]"),
        ({"t": "even"}, r"class_weight\['t'\] is 'even'; expected 'balanced'"),
        ({"z": 1.0}, r"key\(s\) \['z'\] are not tasks \['t', 'r'\] and not labels"),
        ({"t": {"z": 1.0}}, r"\['z'\], which are not classes of the task"),
    ],
)
def test_class_weight_refusals(class_weight, message):
    tasks, targets, weights = _encoded(
        t=np.array(["a", "b", "a"], dtype=object), r=np.arange(3.0)
    )
    with pytest.raises(ValueError, match=message):
        apply_class_weight(weights, targets, tasks, class_weight)


def test_class_weight_unknown_task_with_two_classifiers():
    tasks, targets, weights = _encoded(
        t=np.array(["a", "b"], dtype=object), u=np.array([0, 1])
    )
    with pytest.raises(
        ValueError,
        match=r"class_weight names \['v'\], which are not tasks; "
        r"the tasks are \['t', 'u'\]",
    ):
        apply_class_weight(weights, targets, tasks, {"v": "balanced"})


def test_class_weight_zero_on_every_labelled_class_is_refused():
    tasks, targets, weights = _encoded(
        t=np.array(["a", "b", None], dtype=object), r=np.arange(3.0)
    )
    with pytest.raises(ValueError, match=r"zero for every labelled class of task 't'"):
        apply_class_weight(weights, targets, tasks, {"t": {"a": 0.0, "b": 0.0}})


# ------------------------------------------------------- check_same_index
def test_check_same_index():
    from skmtl.data.forms import check_same_index

    X = pd.DataFrame({"temp": [1.0, 2.0, 3.0, 4.0]})
    check_same_index(X, pd.Series([0, 1, 0, 1]))
    check_same_index(X, pd.DataFrame({"a": [0, 1, 0, 1]}))
    # Not both pandas, or of other lengths (the length check speaks): no word.
    check_same_index(X.to_numpy(), pd.Series([0, 1, 0, 1], index=[3, 2, 1, 0]))
    check_same_index(X, np.array([0, 1, 0, 1]))
    check_same_index(X, pd.Series([0, 1], index=[5, 6]))
    with pytest.raises(
        ValueError,
        match=r"X and y have different indexes \(X: \[0, 1, 2, \.\.\.\], "
        r"y: \[3, 2, 1, \.\.\.\]\); rows are paired by position.*y\.loc\[X\.index\]",
    ):
        check_same_index(X, pd.Series([0, 1, 0, 1], index=[3, 2, 1, 0]))
    with pytest.raises(ValueError, match=r"\(X: \[0, 1, 2\], y: \['a', 'b', 'c'\]\)"):
        check_same_index(X.iloc[:3], pd.Series([0, 1, 0], index=["a", "b", "c"]))


# --------------------------------------------------- declared and unseen classes
def test_declared_classes_widen_the_observed_ones():
    y = pd.DataFrame({"t": ["b", "a", "b"], "n": [1, 2, 1]})
    encoder = TargetEncoder().fit(y, classes={"t": ["c", "a"], "n": [3]})
    t, n = encoder.tasks_
    assert t.classes.tolist() == ["a", "b", "c"]
    assert n.classes.tolist() == [1, 2, 3]
    assert encoder.transform(pd.DataFrame({"t": ["c"], "n": [3]}))[0]["t"].tolist() == [
        2
    ]


@pytest.mark.parametrize(
    ("classes", "message"),
    [
        (
            {"t": []},
            r"classes for task 't' must be a non-empty 1-D list of labels; "
            r"got shape \(0,\)",
        ),
        ({"t": [["a"]]}, r"got shape \(1, 1\)"),
        (
            {"t": [1, 2]},
            r"classes for task 't' are 'i'-kind values \(\[1, 2\]\), "
            r"but its labels are \['b', 'a', 'b'\]",
        ),
        ({"n": ["x"]}, r"classes for task 'n' are 'U'-kind values"),
    ],
)
def test_declared_classes_must_match_the_labels(classes, message):
    y = pd.DataFrame({"t": ["b", "a", "b"], "n": [1, 2, 1]})
    with pytest.raises(ValueError, match=message):
        TargetEncoder().fit(y, classes=classes)


def test_unseen_labels_and_labels_for_scoring():
    y = pd.DataFrame(
        {"t": ["a", "b", "a", None], "n": [1, 2, 1, 2], "r": [1.0, np.nan, 3.0, 4.0]}
    )
    encoder = TargetEncoder().fit(y)
    assert encoder.unseen_labels(y) == {}
    other = pd.DataFrame(
        {"t": ["a", "z", "z", None], "n": [1, 2, 9, 9], "r": [0.0, 0.0, 0.0, 0.0]}
    )
    assert encoder.unseen_labels(other) == {"t": 2, "n": 2}
    labels = encoder.labels(y)
    assert list(labels) == ["t", "n", "r"]
    values, missing = labels["t"]
    assert missing.tolist() == [False, False, False, True]
    assert values[:3].tolist() == ["a", "b", "a"]
    values, missing = labels["r"]
    assert missing.tolist() == [False, True, False, False]
    np.testing.assert_array_equal(values[~missing], [1.0, 3.0, 4.0])
    with pytest.raises(ValueError):
        encoder.unseen_labels(y[["t", "n"]])  # not the fitted tasks
