"""Encoders round-trip: tasks, label encoding, scaling, missing labels, decoding.

No network is built here: fake network outputs stand in for predictions.
"""

import json

import numpy as np
import pandas as pd
import pytest

from skmtl.data.targets import CLASSIFICATION, REGRESSION, TargetEncoder, TaskSpec


def perfect_outputs(encoder, targets):
    """The network outputs that decode exactly to the encoded targets."""
    outputs = {}
    for task in encoder.tasks_:
        target = targets[task.name]
        if task.kind == CLASSIFICATION and not task.is_binary:
            one_hot = np.zeros((len(target), task.n_classes), dtype=np.float32)
            one_hot[np.arange(len(target)), target] = 1.0
            outputs[task.name] = one_hot
        else:  # binary: probability of classes[1]; regression: standardised value
            outputs[task.name] = target.astype(np.float32)
    return outputs


def round_trip(y, tasks=None):
    encoder = TargetEncoder(tasks).fit(y)
    targets, _ = encoder.transform(y)
    return encoder, encoder.inverse_transform(perfect_outputs(encoder, targets))


def kinds(encoder):
    return {t.name: t.kind for t in encoder.tasks_}


@pytest.fixture
def y_frame():
    """One column per supported dtype, no missing labels."""
    return pd.DataFrame(
        {
            "material": ["wood", "steel", "glass", "wood", "steel", "glass"],
            "material_obj": pd.Series(["b", "a", "b", "a", "b", "a"], dtype=object),
            "grade": [3, 1, 2, 3, 1, 2],
            "defect": [True, False, False, True, True, False],
            "shape": pd.Categorical(["round", "flat", "flat", "round", "flat", "ring"]),
            "density": [0.5, 7.8, 2.5, 0.6, 7.9, 2.4],
            "count": pd.array([1, 2, 1, 2, 3, 3], dtype="Int64"),
            "weight": pd.array([1.5, 2.0, 2.5, 3.0, 3.5, 4.0], dtype="Float64"),
        }
    )


# ------------------------------------------------------------------ kinds
@pytest.mark.parametrize(
    ("values", "kind"),
    [
        pytest.param(np.array([0.5, 1.5, 2.5]), REGRESSION, id="float"),
        pytest.param(np.array([0.5, 1.5, 2.5], dtype=np.float32), REGRESSION, id="f4"),
        pytest.param(np.array([1, 2, 1]), CLASSIFICATION, id="int"),
        pytest.param(np.array([1, 2, 1], dtype=np.uint8), CLASSIFICATION, id="uint8"),
        pytest.param(np.array([True, False, True]), CLASSIFICATION, id="bool"),
        pytest.param(np.array(["a", "b", "a"]), CLASSIFICATION, id="str"),
        pytest.param(np.array(["a", "b", "a"], dtype=object), CLASSIFICATION, id="obj"),
        pytest.param(pd.Series(["a", "b", "a"]), CLASSIFICATION, id="pandas-str"),
        pytest.param(pd.Categorical([1.5, 2.5, 1.5]), CLASSIFICATION, id="category"),
        pytest.param(pd.array([1, None, 2], dtype="Int64"), CLASSIFICATION, id="Int64"),
        pytest.param(
            pd.array([True, None, False], dtype="boolean"), CLASSIFICATION, id="b?"
        ),
        pytest.param(
            pd.array([1.5, None, 2], dtype="Float64"), REGRESSION, id="Float64"
        ),
    ],
)
def test_kind_inferred_from_dtype(values, kind):
    y = pd.DataFrame({"t": values})
    assert kinds(TargetEncoder().fit(y)) == {"t": kind}
    series = pd.Series(values, name="t")
    assert kinds(TargetEncoder().fit(series)) == {"t": kind}


def test_tasks_dict_overrides_inference_by_name():
    y = pd.DataFrame({"a": [0.0, 1.0, 0.0, 1.0], "b": [1, 2, 4, 5], "c": [1, 2, 1, 2]})
    encoder = TargetEncoder({"a": "classification", "b": "regression"}).fit(y)
    assert kinds(encoder) == {
        "a": CLASSIFICATION,
        "b": REGRESSION,
        "c": CLASSIFICATION,  # not named: inferred
    }
    a, b, _ = encoder.tasks_
    np.testing.assert_array_equal(a.classes, [0.0, 1.0])
    assert b.mean == pytest.approx(3.0)
    assert b.std == pytest.approx(np.std([1, 2, 4, 5]))


def test_tasks_list_overrides_inference_by_position():
    y = np.array([[0.0, 1.0], [1.0, 2.0], [0.0, 4.0]])
    encoder = TargetEncoder(["classification", "regression"]).fit(y)
    assert kinds(encoder) == {"y0": CLASSIFICATION, "y1": REGRESSION}
    y = np.array([1, 2, 4])
    assert kinds(TargetEncoder(["regression"]).fit(y)) == {"y": REGRESSION}
    assert kinds(TargetEncoder("regression").fit(y)) == {"y": REGRESSION}


def test_tasks_with_unknown_name():
    y = pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]})
    with pytest.raises(ValueError, match=r"\['zz'\], which are not columns of y"):
        TargetEncoder({"zz": "regression"}).fit(y)


def test_tasks_list_of_wrong_length():
    y = np.array([[1, 2], [3, 4]])
    with pytest.raises(ValueError, match=r"3 kind\(s\) by position.* 2 column"):
        TargetEncoder(["regression"] * 3).fit(y)


@pytest.mark.parametrize("tasks", [["regresion"], {"y": "Classification"}])
def test_tasks_with_invalid_kind(tasks):
    bad = tasks[0] if isinstance(tasks, list) else tasks["y"]
    with pytest.raises(ValueError, match=rf"tasks\['y'\] is '{bad}'; expected"):
        TargetEncoder(tasks).fit(np.array([1, 2, 1]))


# ------------------------------------------------------------------ forms
@pytest.mark.parametrize(
    ("y", "names", "form"),
    [
        pytest.param(np.array([1, 2, 1]), ["y"], "1d", id="ndarray"),
        pytest.param(["a", "b", "a"], ["y"], "1d", id="list"),
        pytest.param(pd.Series([1.0, 2.0], name="dens"), ["dens"], "1d", id="series"),
        pytest.param(pd.Series([1.0, 2.0]), ["y"], "1d", id="unnamed-series"),
        pytest.param(np.array([[1, 0.5], [2, 1.5]]), ["y0", "y1"], "2d", id="2d"),
        pytest.param(
            pd.DataFrame({"m": ["a", "b"], "d": [1.0, 2.0]}),
            ["m", "d"],
            "frame",
            id="frame",
        ),
        pytest.param(
            np.array([("a", 1.0), ("b", 2.0)], dtype=[("m", "U4"), ("d", "f8")]),
            ["m", "d"],
            "structured",
            id="structured",
        ),
    ],
)
def test_forms_name_the_tasks(y, names, form):
    encoder = TargetEncoder().fit(y)
    assert encoder.task_names_ == names
    assert encoder.form_ == form
    assert encoder.n_samples_of(y) == len(y)


def test_3d_y_is_refused():
    with pytest.raises(ValueError, match=r"1-D .* or 2-D .*; got 3-D with shape"):
        TargetEncoder().fit(np.zeros((4, 2, 2)))


def test_dict_y_is_refused():
    with pytest.raises(TypeError, match="y as a dict is not supported"):
        TargetEncoder().fit({"a": [1, 2]})


def test_non_string_column_names():
    with pytest.raises(TypeError, match=r"y column names must be strings .*; got 0"):
        TargetEncoder().fit(pd.DataFrame(np.zeros((3, 2))))


# -------------------------------------------------------------- transform
def test_multiclass_classes_sorted_and_codes():
    y = np.array(["b", "c", "a", "b"])
    encoder = TargetEncoder().fit(y)
    (task,) = encoder.tasks_
    np.testing.assert_array_equal(task.classes, ["a", "b", "c"])
    assert task.units == 3 and not task.is_binary
    targets, weights = encoder.transform(y)
    assert targets["y"].shape == (4,)
    assert targets["y"].dtype.kind == "i"
    np.testing.assert_array_equal(targets["y"], [1, 2, 0, 1])
    np.testing.assert_array_equal(weights["y"], np.ones(4, dtype=np.float32))


def test_binary_target_is_float_column_of_0_and_1():
    y = np.array(["yes", "no", "no", "yes"])
    encoder = TargetEncoder().fit(y)
    (task,) = encoder.tasks_
    np.testing.assert_array_equal(task.classes, ["no", "yes"])
    assert task.is_binary and task.units == 1
    targets, _ = encoder.transform(y)
    assert targets["y"].dtype == np.float32
    np.testing.assert_array_equal(targets["y"], [[1.0], [0.0], [0.0], [1.0]])


def test_regression_standardised_with_fit_statistics():
    y_fit = np.array([1.0, 2.0, 4.0, 9.0])
    encoder = TargetEncoder().fit(y_fit)
    (task,) = encoder.tasks_
    assert task.mean == pytest.approx(y_fit.mean())
    assert task.std == pytest.approx(y_fit.std())
    assert task.units == 1
    y_new = np.array([0.0, 4.0, 20.0])
    targets, _ = encoder.transform(y_new)  # fit statistics, not y_new's
    assert targets["y"].dtype == np.float32
    np.testing.assert_allclose(
        targets["y"][:, 0], (y_new - y_fit.mean()) / y_fit.std(), rtol=1e-6
    )


def test_constant_regression_target_gets_std_one():
    (task,) = TargetEncoder().fit(np.array([3.0, 3.0, np.nan])).tasks_
    assert (task.mean, task.std) == (3.0, 1.0)


def test_transform_matches_columns_by_name(y_frame):
    encoder = TargetEncoder().fit(y_frame)
    expected, _ = encoder.transform(y_frame)
    shuffled, _ = encoder.transform(y_frame[y_frame.columns[::-1]])
    assert list(shuffled) == list(y_frame.columns)
    for name in expected:
        np.testing.assert_array_equal(shuffled[name], expected[name])


@pytest.mark.parametrize(
    ("values", "tasks"),
    [
        pytest.param([1.5, np.nan, 2.5, 4.0, np.nan], None, id="float-NaN"),
        pytest.param(["a", None, "b", "c", None], None, id="str-None"),
        pytest.param(
            pd.Series(["a", None, "b", "a", None], dtype=object), None, id="obj-None"
        ),
        pytest.param(pd.array([1, None, 2, 3, pd.NA], dtype="Int64"), None, id="Int64"),
        pytest.param(
            pd.array([1.5, None, 2.5, 3, pd.NA], dtype="Float64"), None, id="Float64"
        ),
        pytest.param(
            pd.array([True, None, False, True, pd.NA], dtype="boolean"),
            None,
            id="boolean",
        ),
        pytest.param(
            pd.array(["a", None, "b", "c", pd.NA], dtype="string"), None, id="string"
        ),
        pytest.param(pd.Categorical(["a", None, "b", "c", None]), None, id="category"),
        pytest.param(
            [0.0, np.nan, 1.0, 2.0, np.nan], ["classification"], id="float-as-cls"
        ),
    ],
)
def test_missing_labels_get_weight_zero_and_a_finite_target(values, tasks):
    y = pd.DataFrame({"t": values})
    encoder = TargetEncoder(tasks and {"t": tasks[0]}).fit(y)
    targets, weights = encoder.transform(y)
    missing = np.array([False, True, False, False, True])
    assert np.isfinite(targets["t"].astype(np.float64)).all()
    assert weights["t"].dtype == np.float32
    np.testing.assert_array_equal(weights["t"][missing], 0.0)
    # labelled rows: n / n_labelled, so Keras' mean over the batch averages
    # over the labelled rows only
    np.testing.assert_allclose(weights["t"][~missing], 5 / 3, rtol=1e-6)


def test_missing_labels_in_a_2d_array():
    y = np.array([[0.0, 1.5], [1.0, np.nan], [0.0, 2.5], [1.0, 3.5]])
    encoder = TargetEncoder(["classification", "regression"]).fit(y)
    targets, weights = encoder.transform(y)
    np.testing.assert_array_equal(weights["y0"], np.ones(4))
    np.testing.assert_allclose(weights["y1"], [4 / 3, 0.0, 4 / 3, 4 / 3])
    assert np.isfinite(targets["y1"]).all()


def test_nullable_and_categorical_classes_keep_the_labels_type():
    y = pd.DataFrame(
        {
            "count": pd.array([3, None, 1, 3], dtype="Int64"),
            "flag": pd.array([True, None, False, True], dtype="boolean"),
            "level": pd.Categorical([10, None, 20, 10]),
        }
    )
    encoder = TargetEncoder().fit(y)
    classes = {t.name: t.classes for t in encoder.tasks_}
    assert classes["count"].dtype == np.int64
    assert classes["flag"].dtype == np.bool_
    assert classes["level"].dtype == np.int64
    np.testing.assert_array_equal(classes["count"], [1, 3])
    np.testing.assert_array_equal(classes["level"], [10, 20])


# ------------------------------------------------------- inverse_transform
@pytest.mark.filterwarnings("error")  # e.g. pandas' deprecations of astype(copy=)
def test_dataframe_round_trip_keeps_columns_dtypes_and_values(y_frame):
    encoder, y_pred = round_trip(y_frame)
    assert kinds(encoder) == {
        "material": CLASSIFICATION,
        "material_obj": CLASSIFICATION,
        "grade": CLASSIFICATION,
        "defect": CLASSIFICATION,
        "shape": CLASSIFICATION,
        "density": REGRESSION,
        "count": CLASSIFICATION,
        "weight": REGRESSION,
    }
    assert isinstance(y_pred, pd.DataFrame)
    assert list(y_pred.columns) == list(y_frame.columns)
    assert y_pred.dtypes.to_dict() == y_frame.dtypes.to_dict()
    pd.testing.assert_frame_equal(y_pred, y_frame, check_exact=False, rtol=1e-6)


def test_dataframe_round_trip_with_missing_labels():
    y = pd.DataFrame(
        {
            "m": ["a", None, "b", "c"],
            "d": [1.0, 2.0, np.nan, 4.0],
            "k": pd.array([2, 1, pd.NA, 2], dtype="Int64"),
            "s": pd.Categorical([7, 8, None, 7]),
        }
    )
    _, y_pred = round_trip(y)
    assert y_pred.dtypes.to_dict() == y.dtypes.to_dict()
    assert list(y_pred["s"].cat.categories) == [7, 8]
    for name in y:
        labelled = y[name].notna().to_numpy()
        expected = y[name].to_numpy()[labelled]
        got = y_pred[name].to_numpy()[labelled]
        if name == "d":
            np.testing.assert_allclose(got, expected, rtol=1e-6)
        else:
            np.testing.assert_array_equal(got, expected)
    assert not y_pred.isna().any().any()  # every sample gets a prediction


@pytest.mark.parametrize(
    "y",
    [
        pytest.param(np.array([3, 1, 2, 3, 1]), id="int"),
        pytest.param(np.array([3, 1, 2, 3, 1], dtype=np.int16), id="int16"),
        pytest.param(np.array([True, False, False, True, True]), id="bool"),
        pytest.param(np.array(["wood", "steel", "glass", "wood", "x"]), id="str"),
        pytest.param(np.array(["b", "a", "b", "a", "b"], dtype=object), id="object"),
        pytest.param(np.array([0.5, 1.5, 2.5, -3.0, 10.0]), id="float"),
        pytest.param(np.array([0.5, 1.5, 2.5, -3.0, 1.0], dtype="f4"), id="f4"),
    ],
)
def test_1d_array_round_trip_keeps_dtype(y):
    _, y_pred = round_trip(y)
    assert isinstance(y_pred, np.ndarray)
    assert y_pred.shape == y.shape
    assert y_pred.dtype == y.dtype
    if y.dtype.kind == "f":
        np.testing.assert_allclose(y_pred, y, rtol=1e-5)
    else:
        np.testing.assert_array_equal(y_pred, y)


def test_list_round_trip():
    _, y_pred = round_trip(["b", "a", "c", "a"])
    assert isinstance(y_pred, np.ndarray)
    np.testing.assert_array_equal(y_pred, ["b", "a", "c", "a"])


@pytest.mark.parametrize(
    ("values", "expected_dtype"),
    [
        pytest.param(["b", "a", "b"], None, id="str"),
        pytest.param(pd.Categorical(["b", "a", "b"]), None, id="category"),
        pytest.param(pd.array([2, 1, 3], dtype="Int64"), np.int64, id="Int64"),
        pytest.param(pd.array([True, False, True], dtype="boolean"), np.bool_, id="b?"),
        pytest.param(pd.array([1.5, 0.5, 2.0], dtype="Float64"), np.float64, id="F64"),
        pytest.param(pd.array(["b", "a", "b"], dtype="string"), None, id="string"),
    ],
)
def test_series_round_trip_gives_a_numpy_array(values, expected_dtype):
    y = pd.Series(values, name="t")
    _, y_pred = round_trip(y)
    assert isinstance(y_pred, np.ndarray)
    if expected_dtype is not None:
        assert y_pred.dtype == expected_dtype
    if expected_dtype is np.float64:
        np.testing.assert_allclose(y_pred, y.to_numpy(float), rtol=1e-6)
    else:
        np.testing.assert_array_equal(y_pred, y.to_numpy())


@pytest.mark.parametrize(
    "y",
    [
        pytest.param(np.array([[1, 0], [2, 1], [3, 1], [1, 0]]), id="int"),
        pytest.param(np.array([[0.5, 1.5], [2.5, 0.5], [1.0, 2.0]]), id="float"),
        pytest.param(np.array([["a", "x"], ["b", "y"], ["a", "y"]]), id="str"),
    ],
)
def test_2d_array_round_trip(y):
    _, y_pred = round_trip(y)
    assert y_pred.shape == y.shape
    assert y_pred.dtype == y.dtype
    if y.dtype.kind == "f":
        np.testing.assert_allclose(y_pred, y, rtol=1e-6)
    else:
        np.testing.assert_array_equal(y_pred, y)


def test_structured_round_trip_keeps_dtype():
    y = np.array(
        [("wood", 0.5, 3, True), ("steel", 7.8, 1, False), ("glass", 2.5, 3, True)],
        dtype=[("m", "U8"), ("d", "f8"), ("k", "i4"), ("b", "?")],
    )
    _, y_pred = round_trip(y)
    assert y_pred.dtype == y.dtype
    for name in ("m", "k", "b"):
        np.testing.assert_array_equal(y_pred[name], y[name])
    np.testing.assert_allclose(y_pred["d"], y["d"], rtol=1e-6)


def test_int_column_declared_regression_is_not_truncated():
    fake = np.array([[0.25], [-1.3], [0.9]], dtype=np.float32)
    # DataFrame
    y = pd.DataFrame({"n": [1, 2, 4], "n64": pd.array([1, 2, 4], dtype="Int64")})
    encoder = TargetEncoder({"n": "regression", "n64": "regression"}).fit(y)
    y_pred = encoder.inverse_transform({"n": fake, "n64": fake})
    expected = fake[:, 0].astype(np.float64) * np.std([1, 2, 4]) + np.mean([1, 2, 4])
    for name in ("n", "n64"):
        assert y_pred[name].dtype.kind == "f"
        np.testing.assert_allclose(y_pred[name].to_numpy(float), expected, rtol=1e-6)
    # 1-D, 2-D and structured arrays
    y1 = np.array([1, 2, 4])
    y_pred = TargetEncoder(["regression"]).fit(y1).inverse_transform({"y": fake})
    assert y_pred.dtype == np.float64
    np.testing.assert_allclose(y_pred, expected, rtol=1e-6)
    y2 = np.column_stack([y1, [0, 1, 0]])
    encoder = TargetEncoder(["regression", "classification"]).fit(y2)
    y_pred = encoder.inverse_transform({"y0": fake, "y1": np.array([[0.9], [0], [1]])})
    assert y_pred.dtype == np.float64
    np.testing.assert_allclose(y_pred[:, 0], expected, rtol=1e-6)
    np.testing.assert_array_equal(y_pred[:, 1], [1, 0, 1])
    ys = np.array([(1, 0), (2, 1), (4, 0)], dtype=[("r", "i8"), ("c", "i8")])
    encoder = TargetEncoder({"r": "regression"}).fit(ys)
    y_pred = encoder.inverse_transform({"r": fake, "c": np.array([[0.9], [0], [1]])})
    assert y_pred.dtype == np.dtype([("r", "f8"), ("c", "i8")])
    np.testing.assert_allclose(y_pred["r"], expected, rtol=1e-6)


def test_decode_picks_the_most_probable_class():
    encoder = TargetEncoder().fit(pd.DataFrame({"m": ["c", "a", "b"], "b": [0, 1, 1]}))
    probas = np.array([[0.2, 0.5, 0.3], [0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    decoded = encoder.decode({"m": probas, "b": np.array([[0.51], [0.49], [0.9]])})
    np.testing.assert_array_equal(decoded["m"], ["b", "a", "c"])
    np.testing.assert_array_equal(decoded["b"], [1, 0, 1])


# ---------------------------------------------------------- probabilities
def test_probabilities_binary_columns_follow_classes():
    y = pd.DataFrame({"ok": ["yes", "no", "yes"], "d": [1.0, 2.0, 3.0]})
    encoder = TargetEncoder().fit(y)
    out = np.array([[0.9], [0.2], [0.5]], dtype=np.float32)
    probas = encoder.probabilities({"ok": out, "d": np.zeros((3, 1))})
    assert list(probas) == ["ok"]  # regression tasks have no probabilities
    assert probas["ok"].shape == (3, 2)
    np.testing.assert_allclose(probas["ok"].sum(axis=1), 1.0)
    # column j is the probability of classes[j]; the sigmoid is P(classes[1])
    np.testing.assert_array_equal(encoder.tasks_[0].classes, ["no", "yes"])
    np.testing.assert_allclose(probas["ok"][:, 1], out[:, 0], rtol=1e-7)


def test_probabilities_multiclass_pass_through():
    encoder = TargetEncoder().fit(np.array([2, 0, 1]))
    softmax = np.array([[0.2, 0.5, 0.3], [0.7, 0.2, 0.1]], dtype=np.float32)
    probas = encoder.probabilities({"y": softmax})
    assert probas["y"].shape == (2, 3)
    np.testing.assert_allclose(probas["y"], softmax)


# ------------------------------------------------------------------ errors
def test_single_class_task():
    with pytest.raises(ValueError, match=r"task 'y' has only 1 class, \[1\]"):
        TargetEncoder().fit(np.array([1, 1, 1]))


@pytest.mark.parametrize(
    "values",
    [[np.nan, np.nan, np.nan], [None, None, None], pd.array([pd.NA] * 3, "Int64")],
)
def test_all_missing_task(values):
    y = pd.DataFrame({"ok": [1.0, 2.0, 3.0], "t": values})
    with pytest.raises(ValueError, match=r"Task 't' has no labels: all 3 values"):
        TargetEncoder().fit(y)


@pytest.mark.parametrize(
    "y",
    [
        pytest.param(np.array(["a", "b", "c"]), id="str"),
        pytest.param(np.array(["a", None, "c"], dtype=object), id="object"),
        pytest.param(pd.Series(["a", "b", "c"]), id="series"),
    ],
)
def test_regression_of_strings(y):
    with pytest.raises(ValueError, match=r"Regression task '\w+' must hold numbers"):
        TargetEncoder(["regression"]).fit(y)


def test_regression_with_infinity():
    with pytest.raises(ValueError, match=r"task 'y' contains infinite values"):
        TargetEncoder().fit(np.array([1.0, np.inf, 2.0]))


@pytest.mark.parametrize(
    ("y_fit", "y_new", "message"),
    [
        (["a", "b"], ["a", "zz"], r"label\(s\) \['zz'\] not seen at fit; known "),
        ([1, 2, 3], [1, 5], r"label\(s\) \[5\] not seen at fit; known .*\[1, 2, 3\]"),
        (["a", "b"], [1, 2], r"label\(s\) \[1, 2\] not seen at fit"),
    ],
)
def test_unseen_label_at_transform(y_fit, y_new, message):
    encoder = TargetEncoder().fit(np.array(y_fit))
    with pytest.raises(ValueError, match=rf"Task 'y' has {message}"):
        encoder.transform(np.array(y_new))


def test_unseen_label_in_a_dataframe_lists_known_classes():
    encoder = TargetEncoder().fit(pd.DataFrame({"m": ["wood", "steel"]}))
    with pytest.raises(
        ValueError,
        match=r"'m' has label\(s\) \['glass'\] .*known classes are \['steel', 'wood'\]",
    ):
        encoder.transform(pd.DataFrame({"m": ["wood", "glass"]}))


def test_mixed_unsortable_labels():
    y = np.array(["a", 1, 2.5], dtype=object)
    with pytest.raises(ValueError, match=r"Task 'y' mixes label types"):
        TargetEncoder().fit(y)


def test_y_columns_renamed_at_transform():
    encoder = TargetEncoder().fit(pd.DataFrame({"m": ["a", "b"], "d": [1.0, 2.0]}))
    with pytest.raises(
        ValueError,
        match=r"fitted on tasks \['m', 'd'\] \(missing \['d'\], "
        r"unexpected \['density'\]\)",
    ):
        encoder.transform(pd.DataFrame({"m": ["a", "b"], "density": [1.0, 2.0]}))


# ------------------------------------------------------------- persistence
@pytest.mark.parametrize(
    "spec",
    [
        TaskSpec("m", CLASSIFICATION, "int64", classes=np.array([1, 2, 5])),
        TaskSpec("m", CLASSIFICATION, "str", classes=np.array(["glass", "wood"])),
        TaskSpec("m", CLASSIFICATION, "bool", classes=np.array([False, True])),
        TaskSpec("m", CLASSIFICATION, "float64", classes=np.array([0.5, 1.5])),
        TaskSpec("d", REGRESSION, "float64", mean=2.5, std=0.75),
    ],
    ids=["int64", "str", "bool", "float", "regression"],
)
def test_task_spec_to_dict_from_dict_round_trip(spec):
    data = json.loads(json.dumps(spec.to_dict()))  # as a saved model stores it
    restored = TaskSpec.from_dict(data)
    for attr in ("name", "kind", "dtype", "mean", "std", "n_classes", "units"):
        assert getattr(restored, attr) == getattr(spec, attr)
    if spec.classes is None:
        assert restored.classes is None
    else:
        assert restored.classes.dtype == spec.classes.dtype
        np.testing.assert_array_equal(restored.classes, spec.classes)


def test_fitted_task_specs_round_trip(y_frame):
    encoder = TargetEncoder().fit(y_frame)
    for spec in encoder.tasks_:
        restored = TaskSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
        assert (restored.name, restored.kind, restored.dtype) == (
            spec.name,
            spec.kind,
            spec.dtype,
        )
        if spec.classes is not None:
            assert restored.classes.dtype == spec.classes.dtype
            np.testing.assert_array_equal(restored.classes, spec.classes)
