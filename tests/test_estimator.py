"""MultiTaskConvEstimator behaviour: forms in and out, tasks, routing, sklearn use."""

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skmtl import MultiTaskConvEstimator, to_structured
from skmtl.data.inputs import encode
from skmtl.estimator.recipe import build_model

from .conftest import TINY

# These tests train tiny networks for one epoch, whose heads often still predict
# one class: skmtl rightly warns, which says nothing about what is tested here
# (the warning has its own test in test_multitask.py).
pytestmark = pytest.mark.filterwarnings(
    "ignore:Task .* predicts the single class:UserWarning"
)


def _est(**params):
    return MultiTaskConvEstimator(**{**TINY, "epochs": 1, "random_state": 0, **params})


# ---------------------------------------------------------------- forms of y
def test_dataframe_y_gives_dataframe_predictions(fitted, sensor_data):
    X, y = sensor_data
    pred = fitted.predict(X)
    assert isinstance(pred, pd.DataFrame)
    assert list(pred.columns) == ["material", "density"]
    assert pred["material"].dtype == y["material"].dtype
    assert pred["density"].dtype == np.float64
    assert set(pred["material"]) <= set(y["material"])
    assert fitted.task_kinds_ == {"material": "classification", "density": "regression"}


def test_predict_proba_columns_follow_classes(fitted, sensor_data):
    X, _ = sensor_data
    proba = fitted.predict_proba(X)
    assert list(proba) == ["material"]
    assert proba["material"].shape == (len(X), 5)
    np.testing.assert_allclose(proba["material"].sum(axis=1), 1.0, rtol=1e-5)
    labels = fitted.classes_["material"][proba["material"].argmax(axis=1)]
    np.testing.assert_array_equal(labels, fitted.predict(X)["material"])


@pytest.mark.parametrize(
    ("labels", "dtype"),
    [(np.array(["b", "a", "c"] * 20), "<U1"), (np.arange(60) % 3 + 10, "int64")],
)
def test_1d_y_behaves_like_a_classifier(labels, dtype):
    X = np.random.rand(60, 16).astype("float32")
    est = _est().fit(X, labels)
    pred = est.predict(X)
    assert pred.shape == (60,) and pred.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(est.classes_, np.unique(labels))
    assert est.predict_proba(X).shape == (60, 3)


def test_binary_task_uses_one_sigmoid_unit():
    X = np.random.rand(40, 16)
    y = np.array([True, False] * 20)
    est = _est().fit(X, y)
    assert est.model_.get_layer("head_y").units == 1
    assert est.predict(X).dtype == bool
    proba = est.predict_proba(X)
    assert proba.shape == (40, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_2d_array_y_and_declared_tasks():
    X = np.random.rand(40, 16)
    y = np.column_stack([np.arange(40) % 2, np.linspace(0, 5, 40)])
    est = _est(tasks=["classification", "regression"]).fit(X, y)
    pred = est.predict(X)
    assert pred.shape == (40, 2) and pred.dtype == y.dtype
    assert set(np.unique(pred[:, 0])) <= {0.0, 1.0}
    assert est.task_kinds_ == {"y0": "classification", "y1": "regression"}


def test_structured_y_round_trips_its_dtype(sensor_data):
    X, y = sensor_data
    y_struct = np.empty(len(y), dtype=[("material", object), ("density", "f8")])
    y_struct["material"] = y["material"].to_numpy()
    y_struct["density"] = y["density"].to_numpy()
    pred = _est().fit(X, y_struct).predict(X)
    assert pred.dtype == y_struct.dtype


# ---------------------------------------------------------------- forms of X
def _forms_of_x(X):
    n = len(X)
    frame = pd.DataFrame({"temp": X["temp"], "moist": X["moist"]})
    frame["ampl"] = list(X["ampl"])
    as_dict = {name: X[name] for name in X.dtype.names}
    return {
        "structured": X,
        "dict": as_dict,
        "frame": frame,
        "array2d": X["ampl"],
        "array3d": np.stack([X["ampl"], X["phase"]], axis=-1),
        "to_structured": to_structured(as_dict),
    }, n


@pytest.mark.parametrize(
    "form", ["structured", "dict", "frame", "array2d", "array3d", "to_structured"]
)
def test_every_form_of_x_fits_and_predicts(sensor_data, form):
    X, y = sensor_data
    forms, n = _forms_of_x(X)
    Xf = forms[form]
    est = _est().fit(Xf, y)
    assert est.predict(Xf).shape == (n, 2)
    assert est.schema_.form == ("structured" if form == "to_structured" else form)


def test_dataframe_columns_matched_by_name_and_feature_names(sensor_data):
    X, y = sensor_data
    frame = _forms_of_x(X)[0]["frame"]
    est = _est().fit(frame, y)
    np.testing.assert_array_equal(est.feature_names_in_, ["temp", "moist", "ampl"])
    assert est.n_features_in_ == 3
    reordered = frame[["ampl", "moist", "temp"]]
    pd.testing.assert_frame_equal(est.predict(reordered), est.predict(frame))


def test_float64_at_predict_after_float32_at_fit(fitted, sensor_data):
    X, _ = sensor_data
    X64 = X.astype([(n, "f8", X.dtype[n].shape) for n in X.dtype.names])
    np.testing.assert_allclose(
        fitted.predict(X64)["density"], fitted.predict(X)["density"], rtol=1e-5
    )


@pytest.mark.parametrize("form", ["structured", "frame", "array3d"])
def test_splittable_forms_pass_through_train_test_split(sensor_data, form):
    X, y = sensor_data
    Xf = _forms_of_x(X)[0][form]
    X_tr, X_te, y_tr, y_te = train_test_split(Xf, y, test_size=0.25, random_state=0)
    score = _est().fit(X_tr, y_tr).score(X_te, y_te)
    assert np.isfinite(score)


# ---------------------------------------------------------------- missing labels
def test_missing_labels_are_masked_and_ignored_by_score():
    from skmtl.datasets import make_sensor_tasks

    X, y = make_sensor_tasks(80, n_steps=32, missing_rate=0.3, random_state=1)
    assert y["material"].isna().any() and y["density"].isna().any()
    est = _est(epochs=2).fit(X, y)
    assert all(np.isfinite(v).all() for v in est.history_.values())
    assert np.isfinite(est.score(X, y))
    assert not est.predict(X).isna().any().any()


# ---------------------------------------------------------------- parameters
def test_loss_weight_zero_leaves_that_head_untrained(sensor_data):
    X, y = sensor_data
    trained = _est(loss_weights={"density": 0.0}, epochs=2).fit(X, y)
    # The same seed builds the same initial network: compare it, untrained.
    initial = build_model(
        _est(loss_weights={"density": 0.0}).get_params(),
        trained.schema_,
        trained.tasks_,
        seed=0,
    )
    start = initial.get_layer("head_density").get_weights()
    end = trained.model_.get_layer("head_density").get_weights()
    for a, b in zip(start, end, strict=True):
        np.testing.assert_array_equal(a, b)
    moved = trained.model_.get_layer("head_material").get_weights()[0]
    assert not np.array_equal(
        moved, initial.get_layer("head_material").get_weights()[0]
    )


def test_routed_optimizer_parameters_reach_the_optimizer(sensor_data):
    X, y = sensor_data
    est = _est(optimizer="sgd", optimizer__learning_rate=0.123, optimizer__momentum=0.5)
    est.fit(X, y)
    assert isinstance(est._session.trainer.optimizer, keras.optimizers.SGD)
    assert est._session.trainer.optimizer.learning_rate.numpy() == pytest.approx(0.123)
    assert est._session.trainer.optimizer.momentum == 0.5
    assert est.get_params()["optimizer__learning_rate"] == 0.123
    assert clone(est).get_params()["optimizer__momentum"] == 0.5


def test_flat_learning_rate_is_used_without_routing(sensor_data):
    X, y = sensor_data
    est = _est(learning_rate=0.02).fit(X, y)
    assert est._session.trainer.optimizer.learning_rate.numpy() == pytest.approx(0.02)


def test_unknown_keyword_is_refused_at_fit_naming_it(sensor_data):
    X, y = sensor_data
    est = MultiTaskConvEstimator(loss_weight={"density": 1})
    with pytest.raises(ValueError, match="Unknown parameter 'loss_weight'"):
        est.fit(X, y)


@pytest.mark.parametrize(
    ("param", "value", "match"),
    [
        ("epochs", 0, "'epochs' parameter"),
        ("batch_size", -1, "'batch_size' parameter"),
        ("dropout", 1.5, "'dropout' parameter"),
        ("filters", (4, 0), "'filters' parameter"),
        ("loss_weights", {"densty": 1.0}, r"loss_weights names \['densty'\]"),
        ("loss_weights", {"density": -1.0}, "must be a finite number >= 0"),
        ("loss_weights", {"density": float("nan")}, "must be a finite number >= 0"),
        ("tasks", {"colour": "classification"}, r"tasks names \['colour'\]"),
    ],
)
def test_bad_parameters_name_themselves(sensor_data, param, value, match):
    X, y = sensor_data
    with pytest.raises(ValueError, match=match):
        _est(**{param: value}).fit(X, y)


def test_fit_validation_split_is_routed(sensor_data):
    X, y = sensor_data
    est = _est(fit__validation_split=0.25, epochs=2).fit(X, y)
    assert len(est.history_["val_loss"]) == 2
    assert len(est.history_["loss"]) == 2


def test_x_and_y_lengths_must_match(sensor_data):
    X, y = sensor_data
    with pytest.raises(ValueError, match="X has 119 samples but y has 120"):
        _est().fit(X[:-1], y)


def test_unseen_class_in_score_counts_as_an_error(fitted, sensor_data):
    X, y = sensor_data
    y = y.copy()
    y.loc[0, "material"] = "titanium"
    with pytest.warns(UserWarning, match=r"labels not seen at fit \({'material': 1}"):
        with_unseen = fitted.score(X, y)
    y_pred = fitted.predict(X)
    accuracy = (y_pred["material"] == y["material"]).mean()
    r2 = (
        1
        - ((y["density"] - y_pred["density"]) ** 2).sum()
        / ((y["density"] - y["density"].mean()) ** 2).sum()
    )
    assert with_unseen == pytest.approx((accuracy + r2) / 2)


def test_sample_weight_changes_the_fit(sensor_data):
    X, y = sensor_data
    weights = np.where(np.arange(len(X)) < 60, 1.0, 0.0)
    a = _est().fit(X, y).predict(X)["density"]
    b = _est().fit(X, y, sample_weight=weights).predict(X)["density"]
    assert not np.allclose(a, b)
    with pytest.raises(ValueError, match="sample_weight must have shape"):
        _est().fit(X, y, sample_weight=np.ones(3))


def test_warm_start_and_partial_fit_continue_training(sensor_data):
    X, y = sensor_data
    est = _est(warm_start=True).fit(X, y)
    model = est.model_
    est.fit(X, y)
    assert est.model_ is model and len(est.history_["loss"]) == 2
    est.partial_fit(X, y)
    assert len(est.history_["loss"]) == 3


# ---------------------------------------------------------------- custom model
def _builder(schema, tasks, units=None):
    inputs = {"ampl": keras.Input(schema["ampl"].shape, name="ampl")}
    x = keras.layers.GlobalAveragePooling1D()(inputs["ampl"])
    outputs = {}
    for task in tasks:
        width = units if units is not None else task.units
        activation = "softmax" if task.kind == "classification" else None
        outputs[task.name] = keras.layers.Dense(width, activation=activation)(x)
    return keras.Model(inputs, outputs)


def test_custom_model_builder_with_routed_parameters(sensor_data):
    X, y = sensor_data
    est = MultiTaskConvEstimator(model=_builder, epochs=1, random_state=0).fit(X, y)
    assert est.input_names_ == ["ampl"]
    assert est.predict(X).shape == (len(X), 2)
    # A routed value the builder's own default would not give reaches it: a
    # regression head of 3 units is refused by the head check.
    routed = MultiTaskConvEstimator(
        model=_builder, model__units=3, epochs=1, random_state=0
    )
    with pytest.raises(ValueError, match="density"):
        routed.fit(X, y[["density"]])


def test_custom_dense1_softmax_head_is_refused(sensor_data):
    X, y = sensor_data

    def stuck(schema, tasks):
        return _builder(schema, tasks, units=1)

    with pytest.raises(ValueError, match=r"Dense\(1, activation='softmax'\)"):
        MultiTaskConvEstimator(model=stuck, epochs=1).fit(X, y)


# ---------------------------------------------------------------- scikit-learn
def test_not_fitted_error_and_tags():
    est = MultiTaskConvEstimator()
    with pytest.raises(NotFittedError):
        est.predict(np.zeros((2, 8)))
    assert not is_classifier(est) and not is_regressor(est)
    assert is_classifier(MultiTaskConvEstimator(tasks=["classification"]))
    assert is_regressor(MultiTaskConvEstimator(tasks={"density": "regression"}))
    assert not hasattr(MultiTaskConvEstimator(tasks=["regression"]), "predict_proba")


def test_clone_get_set_params():
    est = MultiTaskConvEstimator(
        loss_weights={"density": 2.0}, fit__validation_split=0.1
    )
    twin = clone(est)
    assert twin.get_params() == est.get_params()
    twin.set_params(loss_weights={"density": 0.5}, optimizer__learning_rate=0.01)
    assert twin.loss_weights == {"density": 0.5}
    assert est.loss_weights == {"density": 2.0}
    assert twin.get_params()["optimizer__learning_rate"] == 0.01


def test_pipeline_and_cross_val_score_on_two_tasks(sensor_data):
    X, y = sensor_data
    pipe = make_pipeline(FunctionTransformer(lambda a: a["ampl"] / 100.0), _est())
    scores = cross_val_score(pipe, X, y, cv=2)
    assert scores.shape == (2,) and np.isfinite(scores).all()


def test_grid_search_over_loss_weights_in_parallel(sensor_data):
    X, y = sensor_data
    grid = {"loss_weights": [{"density": 0.1}, {"density": 10.0}]}
    search = GridSearchCV(_est(), grid, cv=2, n_jobs=2).fit(X, y)
    serial = GridSearchCV(_est(), grid, cv=2, n_jobs=1).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    # Seeded fits: two worker processes give the serial search's scores.
    np.testing.assert_allclose(scores, serial.cv_results_["mean_test_score"])
    assert search.best_index_ == int(np.argmax(scores))


# ---------------------------------------------------------------- fast predict
def test_predict_never_calls_model_predict_and_matches_it(sensor_data, monkeypatch):
    X, y = sensor_data
    est = _est().fit(X, y)
    inputs = encode(X, est.schema_)[0]
    slow = est.model_.predict(inputs, verbose=0)

    def forbidden(*args, **kwargs):
        raise AssertionError("model.predict was called")

    monkeypatch.setattr(est.model_, "predict", forbidden)
    fast = est._outputs(X)
    for name in slow:
        np.testing.assert_allclose(fast[name], slow[name], rtol=1e-6, atol=1e-7)
    assert est.predict(X[:1]).shape == (1, 2)


def test_named_series_y_scores_and_cross_validates(sensor_data):
    X, y = sensor_data
    est = _est().fit(X, y["material"])
    assert est.predict(X).shape == (len(X),)
    assert 0.0 <= est.score(X, y["material"]) <= 1.0
    assert np.isfinite(cross_val_score(_est(), X, y["material"], cv=2)).all()


def test_float64_memory_map_trains_in_float32_batches_without_loading(tmp_path):
    """A float64 np.load(mmap_mode="r") file is cast per batch, not loaded whole,
    and trains exactly as the same values given as float32 in memory."""
    from skmtl.data.inputs import infer_schema, is_memory_mapped

    rng = np.random.default_rng(0)
    signal = rng.normal(size=(60, 48)).astype(np.float32)
    np.save(tmp_path / "ampl.npy", signal.astype(np.float64))
    mapped = np.load(tmp_path / "ampl.npy", mmap_mode="r")
    y = np.arange(60) % 3

    encoded, _ = encode({"ampl": mapped}, infer_schema({"ampl": mapped}))
    assert is_memory_mapped(encoded["ampl"]) and encoded["ampl"].dtype == np.float64

    params = dict(TINY, epochs=2, random_state=0)
    from_file = MultiTaskConvEstimator(**params).fit({"ampl": mapped}, y)
    in_memory = MultiTaskConvEstimator(**params).fit({"ampl": signal}, y)
    np.testing.assert_array_equal(
        from_file.predict_proba({"ampl": mapped}),
        in_memory.predict_proba({"ampl": signal}),
    )


def test_history_keeps_one_value_per_epoch_across_warm_starts(sensor_data):
    X, y = sensor_data
    est = _est(epochs=2, warm_start=True).fit(X, y)
    est.set_params(early_stopping=True, validation_fraction=0.25, n_iter_no_change=5)
    est.fit(X, y)
    est.set_params(early_stopping=False).partial_fit(X, y)
    lengths = {key: len(values) for key, values in est.history_.items()}
    assert set(lengths.values()) == {5}, lengths
    assert np.isnan(est.history_["val_loss"][:2]).all()
    assert np.isfinite(est.history_["val_loss"][2:4]).all()
    assert np.isnan(est.history_["val_loss"][4])
