"""The estimator's life cycle: one fitted state, correct after any path.

An estimator that is fresh, pickled, deep-copied, cloned-and-refitted or
saved-and-loaded must predict, score, export, save and keep training alike;
a fit that raises must leave it as it was. Each confirmed defect of the life
cycle issue has a regression test here.
"""

from __future__ import annotations

import copy
import os
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import KFold, cross_val_score

from skmtl import MultiTaskConvEstimator, load
from skmtl.datasets import make_sensor_tasks
from skmtl.metrics import task_scorer

TINY = {"filters": (84,), "dense_units": 8, "epochs": 1, "random_state": 0}


def _est(**params):
    # A custom builder reads none of the default network's parameters (they
    # would warn): only the others of TINY.
    network = ("filters", "dense_units") if "model" in params else ()
    settings = {k: v for k, v in TINY.items() if k not in network}
    return MultiTaskConvEstimator(**{**settings, **params})


@pytest.fixture(scope="module")
def data():
    return make_sensor_tasks(60, n_steps=32, random_state=0)


@pytest.fixture(scope="module")
def fresh(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # collapse on a 1-epoch fit
        return _est().fit(X, y)


def _copies(est, tmp_path):
    path = os.path.join(tmp_path, "model.skmtl")
    est.save(path)
    return {
        "pickled": pickle.loads(pickle.dumps(est)),
        "deep-copied": copy.deepcopy(est),
        "saved-and-loaded": load(path),
    }


# ------------------------------------------------------------ the matrix
@pytest.mark.parametrize("path", ["pickled", "deep-copied", "saved-and-loaded"])
def test_every_path_predicts_scores_exports_and_saves_like_the_fresh_one(
    fresh, data, tmp_path, path
):
    X, y = data
    other = _copies(fresh, tmp_path)[path]
    pd.testing.assert_frame_equal(other.predict(X), fresh.predict(X))
    np.testing.assert_array_equal(
        other.predict_proba(X)["material"], fresh.predict_proba(X)["material"]
    )
    assert other.score(X, y) == fresh.score(X, y)
    assert other.get_params() == fresh.get_params()
    assert other.history_ == fresh.history_
    assert (other.n_epochs_, other.best_epoch_) == (fresh.n_epochs_, fresh.best_epoch_)
    other.export(tmp_path / "export")
    assert (tmp_path / "export" / "saved_model.pb").is_file()
    other.save(tmp_path / "again.skmtl")
    pd.testing.assert_frame_equal(
        load(tmp_path / "again.skmtl").predict(X), fresh.predict(X)
    )


def test_warm_fits_after_pickle_copy_and_load_agree(fresh, data, tmp_path):
    """Each copy starts a new training session from the same fitted state, so
    their warm fits (and partial fits) give identical networks."""
    X, y = data
    results = {}
    for name, other in _copies(fresh, tmp_path).items():
        other.set_params(warm_start=True).fit(X, y)
        other.partial_fit(X, y)
        assert len(other.history_["loss"]) == len(fresh.history_["loss"]) + 2
        results[name] = other.predict_proba(X)["material"]
    first = results.pop("pickled")
    for name, proba in results.items():
        np.testing.assert_allclose(proba, first, rtol=1e-5, atol=1e-6, err_msg=name)


def test_clone_refits_from_scratch_like_the_fresh_path(fresh, data):
    X, y = data
    refitted = clone(fresh).fit(X, y)
    pd.testing.assert_frame_equal(refitted.predict(X), fresh.predict(X))
    assert not hasattr(clone(fresh), "model_")


# ------------------------------------------------------------ defect 2
def test_partial_fit_declared_classes_widen_a_one_class_first_batch(data):
    X, _ = data
    first = np.zeros(len(X), dtype=int)
    est = _est().partial_fit(X, first, classes=[0, 1, 2])
    np.testing.assert_array_equal(est.classes_, [0, 1, 2])
    est.partial_fit(X, np.arange(len(X)) % 3)  # a later batch with every class
    assert est.predict_proba(X).shape == (len(X), 3)


def test_partial_fit_declared_longer_string_classes_are_kept_whole(data):
    X, _ = data
    labels = np.array(["a", "b"] * (len(X) // 2))  # dtype <U1
    est = _est().partial_fit(X, labels, classes=["a", "b", "ccc"])
    assert est.classes_.tolist() == ["a", "b", "ccc"]
    est.partial_fit(X, np.where(labels == "a", "ccc", "b"))  # "ccc" is known


def test_partial_fit_refuses_classes_of_an_unknown_task_or_of_another_type(data):
    X, y = data
    with pytest.raises(ValueError, match=r"classes names \['colour'\]"):
        _est().partial_fit(X, y, classes={"colour": ["red"]})
    with pytest.raises(ValueError, match="declare classes of the same type"):
        _est().partial_fit(X, y, classes={"material": [1, 2]})


# ------------------------------------------------------------ defect 3
def test_parameters_round_trip_with_their_types(data, tmp_path):
    X, y = data
    params = {
        "class_weight": {"material": "balanced"},
        "epochs": np.int64(1),
        "filters": np.array([84]),
        "learning_rate": np.float32(0.002),
        "loss_weights": {"material": 1.0, "density": 0.5},
    }
    est = _est(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        est.fit(X, y)
    est.save(tmp_path / "m.skmtl")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing dropped
        loaded = load(tmp_path / "m.skmtl")
    got = loaded.get_params()
    assert type(got["epochs"]) is np.int64 and got["epochs"] == 1
    assert type(got["learning_rate"]) is np.float32
    np.testing.assert_array_equal(got["filters"], [84])
    assert got["class_weight"] == params["class_weight"]
    assert got["filters"].dtype == params["filters"].dtype


def test_int_keyed_class_weight_survives_save_and_refit(tmp_path):
    X, _ = make_sensor_tasks(60, n_steps=32, random_state=0)
    y = np.arange(len(X)) % 2
    est = _est(class_weight={0: 1.0, 1: 5.0})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        est.fit(X, y)
    est.save(tmp_path / "m.skmtl")
    loaded = load(tmp_path / "m.skmtl")
    assert loaded.class_weight == {0: 1.0, 1: 5.0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        loaded.fit(X, y)  # refits with the int-keyed weights


# ------------------------------------------------------------ defect 4
def test_a_single_task_fitted_on_a_named_series_takes_any_1d_y(data):
    X, _ = data
    labels = pd.Series(np.arange(len(X)) % 2, name="label")
    est = _est(warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        est.fit(X, labels)
        a = est.score(X, labels.to_numpy())
        assert a == est.score(X, labels.rename("other"))
        est.fit(X, labels.to_numpy())  # a warm fit from a Series to an array
    assert len(est.history_["loss"]) == 2


# ------------------------------------------------------------ defect 5
def test_a_refit_that_raises_leaves_the_estimator_as_it_was(data):
    X, _ = data
    est = _est()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        est.fit(X, np.array(list("abcd") * 15))
    before = est.predict(X)
    state = est.fitted_state_
    with pytest.raises(ValueError, match="X has 60 samples but y has 59"):
        est.fit(X, np.array(list("wxyz") * 15)[:-1])
    assert est.fitted_state_ is state
    np.testing.assert_array_equal(est.predict(X), before)
    assert set(est.predict(X)) <= set("abcd")


def test_a_warm_fit_that_diverges_restores_the_weights(data):
    X, y = data
    est = _est(warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        est.fit(X, y)
    before = est.predict_proba(X)["material"]
    est.set_params(learning_rate=1e30)
    with pytest.raises(FloatingPointError, match="Training diverged"):
        est.fit(X, y)
    np.testing.assert_array_equal(est.predict_proba(X)["material"], before)
    assert len(est.history_["loss"]) == 1


# ------------------------------------------------------------ defect 6
def test_labels_unseen_at_fit_count_as_errors_in_cross_validation():
    X, y = make_sensor_tasks(60, n_steps=32, random_state=0)
    labels = y["material"].to_numpy().copy()
    labels[-3:] = "rare"  # only in the last fold's test part
    est = _est(tasks="classification")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        scores = cross_val_score(est, X, labels, cv=KFold(4), error_score="raise")
        frame_scores = cross_val_score(
            _est(),
            X,
            y.assign(material=labels),
            cv=KFold(4),
            scoring=task_scorer("material"),
            error_score="raise",
        )
    assert np.isfinite(scores).all() and np.isfinite(frame_scores).all()


# ------------------------------------------------------------ defect 7
def test_gradnorm_trains_when_a_task_has_no_label_in_the_first_batch(data):
    X, y = data
    y = y.copy()
    y.loc[:40, "density"] = np.nan  # the first batches hold no density label
    est = _est(loss_weighting="gradnorm", shuffle=False, batch_size=16, epochs=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        est.fit(X, y)
    assert all(np.isfinite(list(est.task_weights_.values())))


# ------------------------------------------------------------ defect 8
def test_a_warm_fit_honours_changed_training_parameters(data):
    X, y = data
    est = _est(warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        est.fit(X, y)
        first = est._session.trainer
        est.fit(X, y)
        assert est._session.trainer is first  # nothing changed: the session goes on
        est.set_params(learning_rate=1e-9, loss_weights={"density": 3.0})
        est.fit(X, y)
    assert est._session.trainer.optimizer.learning_rate.numpy() == pytest.approx(1e-9)
    assert est.task_weights_["density"] == pytest.approx(3.0)
    est.set_params(loss_weighting="uncertainty", loss_weights=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        est.fit(X, y)
    assert est._session.trainer.strategy == "uncertainty"


def test_a_warm_fit_refuses_changed_network_parameters(data):
    X, y = data
    est = _est(warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        est.fit(X, y)
    est.set_params(filters=(168,))
    with pytest.raises(ValueError, match=r"\['filters'\] changed since it was built"):
        est.fit(X, y)


# ------------------------------------------------------------ defect 9
def test_predictions_keep_an_ordered_categorical_and_the_index_of_x(data):
    X, y = data
    frame = pd.DataFrame(
        {name: list(X[name]) if X[name].ndim > 1 else X[name] for name in X.dtype.names}
    )
    frame.index = np.arange(100, 100 + len(frame))[::-1]
    cut = pd.Categorical(
        np.where(y["density"] > y["density"].median(), "hi", "lo"),
        categories=["lo", "mid", "hi"],
        ordered=True,
    )
    target = pd.DataFrame(
        {"level": cut, "density": y["density"].to_numpy()}, index=frame.index
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        pred = _est().fit(frame, target).predict(frame)
    assert pred["level"].dtype == target["level"].dtype  # categories and order
    assert list(pred["level"].cat.categories) == ["lo", "mid", "hi"]
    pd.testing.assert_index_equal(pred.index, frame.index)


# ------------------------------------------------------------ defect 10
@pytest.mark.parametrize(
    "name",
    ["initialized_", "current_epoch", "target_encoder", "feature_encoder", "scorer"],
)
def test_scikeras_members_say_what_to_use_instead(fresh, name):
    with pytest.raises(AttributeError, match=r"skmtl replaces\); use"):
        getattr(fresh, name)


def test_initialize_says_to_fit(fresh):
    with pytest.raises(NotImplementedError, match="use fit or partial_fit"):
        fresh.initialize()


@pytest.mark.parametrize(
    "params, match",
    [
        (
            {"predict__verbose": 0},
            r"Unknown routed parameter\(s\) \['predict__verbose'\]",
        ),
        ({"predict__batch_size": 0}, "predict__batch_size must be a positive integer"),
    ],
)
def test_bad_predict_parameters_are_refused_before_training(data, params, match):
    X, y = data
    est = _est(epochs=10_000, **params)  # would train for minutes
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)


def test_a_custom_builder_is_reproducible_under_random_state(data):
    import keras

    def builder(schema, tasks):
        inputs = {f.name: keras.Input(f.shape, name=f.name) for f in schema.fields}
        flat = keras.layers.Concatenate()(
            [keras.layers.Flatten()(x) for x in inputs.values()]
        )
        hidden = keras.layers.Dropout(0.2)(
            keras.layers.Dense(8, activation="relu")(flat)
        )
        outputs = {
            t.name: keras.layers.Dense(
                t.units,
                activation="softmax" if t.kind == "classification" else None,
                name=t.name,
            )(hidden)
            for t in tasks
        }
        return keras.Model(inputs, outputs)

    X, y = data
    y = y.assign(material=(y["material"] == y["material"].iloc[0]).astype(int) + 0)
    y = y[["density"]]
    state = __import__("random").getstate()
    a = _est(model=builder, epochs=2).fit(X, y).predict(X)
    b = _est(model=builder, epochs=2).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, b)
    assert __import__("random").getstate() == state  # no global seed leaked


def test_an_offset_signal_keeps_its_variation(tmp_path):
    """1e6 + 0.01 * noise: statistics in float64, centred before the cast."""
    rng = np.random.default_rng(0)
    n, steps = 60, 32
    labels = np.arange(n) % 2
    shape = np.sin(np.linspace(0, 3, steps))[None, :] * (2 * labels[:, None] - 1)
    X = {"s": 1e6 + 0.01 * (shape + 0.1 * rng.standard_normal((n, steps)))}
    est = _est(epochs=30, learning_rate=1e-2, filters=(84,))
    est.fit(X, labels)
    spec = est.schema_["s"]
    assert spec.std[0] == pytest.approx(np.std(X["s"]), rel=1e-6)
    assert spec.offset == pytest.approx((1e6,))
    assert est.score(X, labels) > 0.9  # float32 alone keeps ~2 distinct values
    est.save(tmp_path / "m.skmtl")
    assert load(tmp_path / "m.skmtl").score(X, labels) == est.score(X, labels)
