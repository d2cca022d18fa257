"""Multi-task training features: masks, class and sample weights, early stopping,
per-task scoring, many tasks."""

import copy
import os
import tempfile
import warnings

import keras
import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.metrics import accuracy_score, mean_absolute_error, r2_score
from sklearn.model_selection import GridSearchCV, KFold

from skmtl import MultiTaskConvEstimator
from skmtl.data.sample_weights import apply_class_weight, apply_sample_weight
from skmtl.data.targets import TargetEncoder
from skmtl.metrics import task_scorer

from .conftest import TINY, TINY_CONV


def _est(**params):
    # A custom builder reads none of the default network's parameters (they
    # would warn): only the training ones of TINY.
    network = {} if "model" in params else TINY
    base = {**network, "batch_size": TINY["batch_size"], "epochs": 2}
    return MultiTaskConvEstimator(**{**base, "random_state": 0, **params})


def test_zero_weight_labels_have_no_influence(sensor_data):
    X, y = sensor_data
    hidden = np.flatnonzero(np.arange(len(y)) % 2 == 0)
    mask = np.ones(len(y))
    mask[hidden] = 0.0
    weights = {"density": mask, "material": mask}
    changed = y.copy()
    # Permuted among the hidden rows: classes and the density scaler stay the same.
    shuffled = np.random.permutation(hidden)
    changed.loc[hidden, ["material", "density"]] = y.loc[
        shuffled, ["material", "density"]
    ].to_numpy()
    assert not changed.equals(y)
    a = _est().fit(X, y, sample_weight=weights).predict(X)
    b = _est().fit(X, changed, sample_weight=weights).predict(X)
    pd.testing.assert_frame_equal(a, b)


def test_placeholder_targets_of_missing_labels_have_no_influence(monkeypatch):
    from skmtl.datasets import make_sensor_tasks

    X, y = make_sensor_tasks(80, n_steps=32, missing_rate=0.4, random_state=0)
    baseline = _est().fit(X, y).predict(X)
    transform = TargetEncoder.transform

    def perturbed(self, y):
        targets, weights = transform(self, y)
        for name, target in targets.items():
            masked = weights[name] == 0
            noise = np.random.randint(0, 2, size=target.shape).astype(target.dtype)
            targets[name] = np.where(
                masked.reshape(-1, *[1] * (target.ndim - 1)),
                noise * 1e3 if target.dtype.kind == "f" else noise,
                target,
            )
        return targets, weights

    monkeypatch.setattr(TargetEncoder, "transform", perturbed)
    pd.testing.assert_frame_equal(_est().fit(X, y).predict(X), baseline)


def test_disjoint_missing_labels_train_both_heads():
    from skmtl.datasets import make_sensor_tasks

    X, y = make_sensor_tasks(300, n_steps=64, random_state=0)
    half = np.arange(300) < 150
    y.loc[half, "material"] = None
    y.loc[~half, "density"] = np.nan
    est = _est(epochs=8, learning_rate=0.01).fit(X[:240], y[:240])
    X_test, y_test = make_sensor_tasks(100, n_steps=64, random_state=1)
    pred = est.predict(X_test)
    assert (pred["material"] == y_test["material"]).mean() > 0.6
    assert np.corrcoef(pred["density"], y_test["density"])[0, 1] > 0.6


def test_apply_sample_weight_keeps_each_task_mean_and_checks_names():
    weights = {"a": np.array([2.0, 2.0, 0.0, 2.0]), "b": np.ones(4)}
    out = apply_sample_weight(weights, {"a": [1.0, 3.0, 5.0, 0.0]}, 4)
    np.testing.assert_allclose(out["a"], [1.5, 4.5, 0.0, 0.0])
    assert out["a"].sum() == pytest.approx(weights["a"].sum())
    np.testing.assert_array_equal(out["b"], weights["b"])
    with pytest.raises(ValueError, match=r"sample_weight names \['c'\]"):
        apply_sample_weight(weights, {"c": np.ones(4)}, 4)
    with pytest.raises(ValueError, match="finite and non-negative"):
        apply_sample_weight(weights, [1.0, -1.0, 1.0, 1.0], 4)


def test_balanced_class_weight_matches_scikit_learn():
    from sklearn.utils.class_weight import compute_class_weight

    labels = np.array(["a"] * 6 + ["b"] * 2 + ["c"] * 1 + [None])
    enc = TargetEncoder().fit(pd.DataFrame({"t": labels}))
    targets, weights = enc.transform(pd.DataFrame({"t": labels}))
    out = apply_class_weight(weights, targets, enc.tasks_, "balanced")["t"]
    expected = compute_class_weight(
        "balanced", classes=np.array(["a", "b", "c"]), y=labels[:-1]
    )
    scale = weights["t"][0]  # n / n_labelled from the missing-label mask
    np.testing.assert_allclose(out[[0, 6, 8]] / scale, expected, rtol=1e-6)
    assert out[-1] == 0.0
    manual = apply_class_weight(weights, targets, enc.tasks_, {"t": {"c": 5.0}})["t"]
    assert manual[8] == pytest.approx(5 * scale) and manual[0] == pytest.approx(scale)
    with pytest.raises(ValueError, match=r"\['z'\], which are not classes of the task"):
        apply_class_weight(weights, targets, enc.tasks_, {"t": {"z": 1.0}})


def test_class_weight_on_the_estimator(sensor_data):
    X, y = sensor_data
    plain = _est(learning_rate=0.03).fit(X, y)
    # Only 'steel' counts for the material head: it learns to answer steel.
    only_steel = {c: 0.0 for c in plain.classes_["material"] if c != "steel"}
    weighted = _est(learning_rate=0.03, class_weight={"material": only_steel})
    weighted.fit(X, y)
    steel = list(plain.classes_["material"]).index("steel")
    p_plain = plain.predict_proba(X)["material"][:, steel]
    p_weighted = weighted.predict_proba(X)["material"][:, steel]
    assert p_weighted.mean() > p_plain.mean() + 0.1
    assert (weighted.predict(X)["material"] == "steel").mean() > 0.9
    with pytest.raises(ValueError, match="regression task"):
        _est(class_weight={"density": "balanced"}).fit(X, y)
    with pytest.raises(ValueError, match=r"\['colour'\] are not tasks"):
        _est(class_weight={"colour": {"x": 1}}).fit(X, y)


def test_sample_weight_routed_through_grid_search(sensor_data):
    X, y = sensor_data
    weights = np.linspace(0.5, 1.5, len(X))
    cv = KFold(2, shuffle=True, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        est = _est(epochs=1).set_fit_request(sample_weight=True)
        est.set_score_request(sample_weight=False)
        search = GridSearchCV(est, {"loss_weights__density": [2.0]}, cv=cv)
        search.fit(X, y, sample_weight=weights)
    # The first split's score is that of a fit given that split's weights.
    train, test = next(cv.split(X))
    by_hand = _est(epochs=1, loss_weights__density=2.0)
    by_hand.fit(X[train], y.iloc[train], sample_weight=weights[train])
    expected = by_hand.score(X[test], y.iloc[test])
    assert search.cv_results_["split0_test_score"][0] == pytest.approx(expected)
    unweighted = _est(epochs=1, loss_weights__density=2.0).fit(X[train], y.iloc[train])
    assert unweighted.score(X[test], y.iloc[test]) != pytest.approx(expected)


def test_early_stopping_restores_best_and_writes_no_file(
    sensor_data, tmp_path, monkeypatch
):
    X, y = sensor_data
    monkeypatch.chdir(tmp_path)
    est = _est(epochs=40, early_stopping=True, n_iter_no_change=2, learning_rate=0.05)
    est.fit(X, y)
    assert est.n_epochs_ < 40
    assert 1 <= est.best_epoch_ <= est.n_epochs_ - 2
    val = est.history_["val_loss"]
    assert val[est.best_epoch_ - 1] == min(val)
    assert list(tmp_path.iterdir()) == []


def test_early_stopping_inside_grid_search_folds(sensor_data):
    X, y = sensor_data
    est = _est(epochs=5, early_stopping=True, validation_fraction=0.2)
    search = GridSearchCV(est, {"dropout": [0.2]}, cv=2).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    best = search.best_estimator_
    # The refit held out its own validation rows: val_* logged every epoch.
    assert len(best.history_["val_loss"]) == best.n_epochs_ >= best.best_epoch_ >= 1
    assert best.history_["val_loss"][best.best_epoch_ - 1] == min(
        best.history_["val_loss"]
    )


def test_score_weights_and_task_scorers(fitted, sensor_data):
    X, y = sensor_data
    accuracy = task_scorer("material", "accuracy")(fitted, X, y)
    r2 = task_scorer("density")(fitted, X, y)
    assert fitted.score(X, y) == pytest.approx((accuracy + r2) / 2)
    # score_weights are read when scoring: no refit needed.
    only_material = copy.deepcopy(fitted).set_params(score_weights={"density": 0.0})
    assert only_material.score(X, y) == pytest.approx(accuracy)
    mae = task_scorer("density", "neg_mean_absolute_error")(fitted, X, y)
    assert mae < 0
    assert mae == pytest.approx(
        -mean_absolute_error(y["density"], fitted.predict(X)["density"])
    )
    with pytest.raises(ValueError, match="Unknown metric"):
        task_scorer("density", "median")


def test_multi_metric_grid_search_with_refit(sensor_data):
    X, y = sensor_data
    scoring = {
        "acc": task_scorer("material", "accuracy"),
        "f1": task_scorer("material", "f1_macro"),
        "r2": task_scorer("density", "r2"),
    }
    search = GridSearchCV(
        _est(epochs=1),
        {"loss_weights__density": [0.1, 10.0]},
        cv=2,
        scoring=scoring,
        refit="r2",
    ).fit(X, y)
    results = search.cv_results_
    assert set(results) >= {"mean_test_acc", "mean_test_f1", "mean_test_r2"}
    # refit="r2" picks the best mean R^2, not the first or the best accuracy.
    assert search.best_index_ == np.argmax(results["mean_test_r2"])
    assert search.best_params_ == results["params"][search.best_index_]
    assert results["mean_test_r2"][0] != results["mean_test_r2"][1]
    # Each metric is that task's own score on the fold.
    np.testing.assert_array_less(results["mean_test_f1"], 1.0 + 1e-12)
    assert not np.allclose(results["mean_test_acc"], results["mean_test_r2"])


def test_four_tasks_two_of_each_kind(sensor_data):
    X, y = sensor_data
    y4 = pd.DataFrame(
        {
            "material": y["material"],
            "heavy": y["density"] > 3,
            "density": y["density"],
            "log_density": np.log(y["density"].clip(0.1)),
        }
    )
    est = _est().fit(X, y4)
    assert est.task_kinds_ == {
        "material": "classification",
        "heavy": "classification",
        "density": "regression",
        "log_density": "regression",
    }
    assert est.model_.get_layer("head_heavy").units == 1
    pred = est.predict(X)
    assert list(pred.columns) == list(y4.columns) and pred["heavy"].dtype == bool
    assert set(est.predict_proba(X)) == {"material", "heavy"}


def test_multi_output_regression_block(sensor_data):
    from skmtl import load

    X, y = sensor_data
    block = np.column_stack([y["density"], 2 * y["density"] + 1])
    block[5] = np.nan  # a missing row of the block
    y_frame = pd.DataFrame({"material": y["material"], "pos": list(block)})
    est = _est(epochs=3, learning_rate=0.01).fit(X, y_frame)
    task = est.tasks_[1]
    assert (task.kind, task.n_outputs, est.model_.get_layer("head_pos").units) == (
        "regression",
        2,
        2,
    )
    np.testing.assert_allclose(task.mean, np.nanmean(block, axis=0), rtol=1e-6)
    pred = est.predict(X)
    assert np.stack(pred["pos"]).shape == (len(X), 2)
    assert np.isfinite(est.score(X, y_frame))
    structured = np.empty(len(X), dtype=[("material", object), ("pos", "f8", (2,))])
    structured["material"], structured["pos"] = y["material"], block
    est2 = _est().fit(X, structured)
    assert est2.predict(X).dtype == structured.dtype
    path = os.path.join(tempfile.mkdtemp(), "block.skmtl")
    est2.save(path)
    np.testing.assert_array_equal(load(path).predict(X)["pos"], est2.predict(X)["pos"])


def test_diverging_training_names_the_task(sensor_data):
    X, y = sensor_data
    est = _est(optimizer="sgd", learning_rate=1e6, epochs=3)
    with pytest.raises(
        FloatingPointError, match=r"loss of task\(s\) \[.*\] became NaN"
    ):
        est.fit(X, y)


def test_collapsed_head_is_reported_with_a_warning(sensor_data):
    X, y = sensor_data
    # A zero learning rate and a constant-output head: one class for everyone.
    import keras

    def constant(schema, tasks):
        inputs = {"temp": keras.Input((1,), name="temp")}
        zero = keras.layers.Dense(1, kernel_initializer="zeros", trainable=False)
        x = zero(inputs["temp"])
        outputs = {
            t.name: keras.layers.Dense(
                t.units,
                activation="softmax" if t.kind == "classification" else None,
                kernel_initializer="zeros",
                bias_initializer="zeros",
            )(x)
            for t in tasks
        }
        return keras.Model(inputs, outputs)

    with pytest.warns(UserWarning, match="'material' predicts the single class"):
        MultiTaskConvEstimator(model=constant, epochs=1, learning_rate=1e-12).fit(X, y)


@pytest.mark.parametrize("strategy", ["uncertainty", "dwa", "gradnorm"])
def test_early_stopping_with_learned_weights_keeps_the_best_base_loss(
    signal_and_noise, strategy
):
    X, y = signal_and_noise
    # Patience as long as the fit: every epoch runs, the best one is restored.
    # The conv trunk (with dropout) on this data has val_loss and val_base_loss
    # minimal at different epochs for each strategy.
    est = _est(
        **TINY_CONV,
        dropout=0.1,
        epochs=12,
        early_stopping=True,
        n_iter_no_change=12,
        validation_fraction=0.3,
        learning_rate=0.05,
        loss_weighting=strategy,
        random_state=3,
    ).fit(X, y)
    base, weighted = est.history_["val_base_loss"], est.history_["val_loss"]
    assert est.n_epochs_ == 12
    # Learned weights move the weighted loss: it would pick another epoch.
    assert np.argmin(weighted) != np.argmin(base), "the case no longer tells them apart"
    assert est.best_epoch_ == np.argmin(base) + 1


def test_uncertainty_weighting_warns_that_loss_weights_are_unused(sensor_data):
    X, y = sensor_data
    unused = "loss_weighting='uncertainty' learns every task's weight"
    with pytest.warns(UserWarning, match=unused):
        _est(epochs=1, loss_weighting="uncertainty", loss_weights={"density": 2.0}).fit(
            X, y
        )
    with pytest.warns(UserWarning, match=unused):
        _est(epochs=1, loss_weighting="uncertainty", loss_weights__density=2.0).fit(
            X, y
        )
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=unused)
        _est(epochs=1, loss_weighting="uncertainty").fit(X, y)


def test_score_uses_sample_weight(fitted, sensor_data):
    X, y = sensor_data
    pred = fitted.predict(X)
    right = (pred["material"] == y["material"]).to_numpy()
    assert 0 < right.mean() < 1
    # Weight 0 on every misclassified row: the accuracy term becomes 1.
    weights = np.where(right, 1.0, 0.0) * np.linspace(1.0, 3.0, len(y))
    expected = (
        accuracy_score(y["material"], pred["material"], sample_weight=weights)
        + r2_score(y["density"], pred["density"], sample_weight=weights)
    ) / 2
    assert fitted.score(X, y, sample_weight=weights) == pytest.approx(expected)
    assert fitted.score(X, y, sample_weight=weights) != pytest.approx(
        fitted.score(X, y)
    )
    assert task_scorer("material")(fitted, X, y) == pytest.approx(right.mean())


class _CountCalls(keras.layers.Layer):
    """Passes its input through; counts inference calls and the largest batch."""

    def build(self, input_shape):
        self.calls = self.add_weight(
            shape=(), initializer="zeros", trainable=False, name="calls"
        )
        self.largest = self.add_weight(
            shape=(), initializer="zeros", trainable=False, name="largest"
        )

    def call(self, x, training=None):
        if not training:
            rows = keras.ops.cast(keras.ops.shape(x)[0], "float32")
            self.calls.assign_add(1.0)
            self.largest.assign(keras.ops.maximum(self.largest, rows))
        return x


def _counting_builder(schema, tasks):
    """A small dense network whose first layer counts forward passes."""
    inputs = {f.name: keras.Input(f.shape, name=f.name) for f in schema.fields}
    flat = [keras.layers.Flatten()(inputs[f.name]) for f in schema.fields]
    x = _CountCalls(name="count")(keras.layers.Concatenate()(flat))
    x = keras.layers.Dense(4, activation="relu")(x)
    outputs = {
        t.name: keras.layers.Dense(
            t.units,
            activation=None
            if t.kind == "regression"
            else ("sigmoid" if t.is_binary else "softmax"),
        )(x)
        for t in tasks
    }
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize(("batch", "calls", "largest"), [(None, 1, 120), (16, 8, 16)])
def test_predict_batch_size_sets_the_rows_per_forward_pass(
    sensor_data, batch, calls, largest
):
    X, y = sensor_data
    routed = {} if batch is None else {"predict__batch_size": batch}
    est = _est(model=_counting_builder, epochs=1, **routed).fit(X, y)
    layer = est.model_.get_layer("count")
    for method in (est.predict, est.predict_proba):
        before = float(layer.calls.numpy())
        method(X)
        assert float(layer.calls.numpy()) - before == calls  # ceil(120 / batch)
        assert float(layer.largest.numpy()) == largest


class _LastTrainingRow(keras.layers.Layer):
    """Passes its input through; keeps the first row of the last training batch."""

    def build(self, input_shape):
        self.row = self.add_weight(
            shape=(), initializer="zeros", trainable=False, name="row"
        )

    def call(self, x, training=None):
        if training:
            self.row.assign(x[0, 0])
        return x


def _row_id_builder(schema, tasks):
    """Reads covariate 'row' (the sample's index) through _LastTrainingRow."""
    inputs = {f.name: keras.Input(f.shape, name=f.name) for f in schema.fields}
    x = _LastTrainingRow(name="last_row")(inputs["row"])
    x = keras.layers.Dense(4)(x)
    outputs = {
        t.name: keras.layers.Dense(
            t.units, activation=None if t.kind == "regression" else "softmax"
        )(x)
        for t in tasks
    }
    return keras.Model(inputs, outputs)


def _last_rows(est, X, y, epochs) -> list[float]:
    """The first row of the last batch after each of ``epochs`` partial fits."""
    rows = []
    for _ in range(epochs):
        est.partial_fit(X, y)
        rows.append(float(est.model_.get_layer("last_row").row.numpy()))
    return rows


def test_shuffle_false_keeps_the_row_order_and_true_reshuffles(sensor_data):
    _, y = sensor_data
    X = {"row": np.arange(len(y), dtype="float32")}
    # 120 rows in batches of 16: the last batch starts at row 112.
    fixed = _est(model=_row_id_builder, shuffle=False, learning_rate=1e-9)
    assert _last_rows(fixed, X, y, 3) == [112.0, 112.0, 112.0]
    shuffled = _est(model=_row_id_builder, shuffle=True, learning_rate=1e-9)
    rows = _last_rows(shuffled, X, y, 3)
    assert len(set(rows)) > 1 and rows != [112.0] * 3


def _constant_builder(schema, tasks):
    """Outputs that ignore X: a fixed bias favouring the first class."""
    inputs = {f.name: keras.Input(f.shape, name=f.name) for f in schema.fields}
    zero = keras.layers.Dense(1, kernel_initializer="zeros", trainable=False)
    x = zero(inputs["temp"])
    outputs = {}
    for t in tasks:
        bias = [1.0] + [0.0] * (t.units - 1)
        outputs[t.name] = keras.layers.Dense(
            t.units,
            activation="softmax" if t.kind == "classification" else None,
            kernel_initializer="zeros",
            bias_initializer=keras.initializers.Constant(bias),
            trainable=False,
        )(x)
    return keras.Model(inputs, outputs)


@pytest.mark.filterwarnings("ignore:Task .* predicts the single class:UserWarning")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_early_stopping_split_is_stratified_on_the_first_classification_task(
    sensor_data, seed
):
    X, y = sensor_data
    # 96 'a', 12 'b', 12 'c'; the network always answers 'a'. A stratified
    # quarter holds 24 'a' in 30 rows: validation accuracy exactly 0.8.
    labels = np.array(["a"] * 96 + ["b"] * 12 + ["c"] * 12, dtype=object)
    labels = labels[np.random.default_rng(seed).permutation(len(labels))]
    y_skewed = pd.DataFrame({"material": labels, "density": y["density"]})
    est = _est(
        model=_constant_builder,
        epochs=1,
        early_stopping=True,
        validation_fraction=0.25,
        random_state=seed,
    ).fit(X, y_skewed)
    assert est.history_["val_material_accuracy"] == [pytest.approx(0.8)]


def test_early_stopping_and_validation_split_exclude_each_other(sensor_data):
    X, y = sensor_data
    with pytest.raises(ValueError, match="do not also set fit__validation_split"):
        _est(early_stopping=True, fit__validation_split=0.2).fit(X, y)
