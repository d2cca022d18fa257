"""predict_interval, calibration_fraction and temperature scaling: the
conformal arithmetic, the hold-out at fit, missing labels, save/load."""

import json
import zipfile

import numpy as np
import pandas as pd
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from skmtl import MultiTaskConvEstimator, load
from skmtl import session as session_module
from skmtl.datasets import make_sensor_tasks
from skmtl.training.conformal import (
    Calibration,
    conformal_quantile,
    expected_calibration_error,
    fit_temperature,
    scale_probabilities,
)

from .conftest import TINY, TINY_CONV


def test_split_conformal_covers_at_least_one_minus_alpha():
    # 4,000 draws of (19 calibration residuals, 1 new one), exchangeable: the
    # new one falls at or below the conformal quantile with probability
    # ceil(20 * 0.9) / 20 = 0.9 exactly.
    rng = np.random.default_rng(0)
    errors = np.abs(rng.standard_normal((4000, 20)))
    q = np.array([conformal_quantile(np.sort(e[:19])[:, None], 0.1)[0] for e in errors])
    covered = np.mean(errors[:, 19] <= q)
    assert 0.88 < covered < 0.92
    # One residual too few for alpha=0.05: no finite interval can promise it.
    assert np.isinf(conformal_quantile(np.arange(18.0)[:, None], 0.05)).all()


def test_temperature_scaling_lowers_the_error_of_overconfident_probabilities():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 2000)
    right = rng.random(2000) < 0.6
    pred = np.where(right, labels, (labels + 1) % 3)
    proba = np.full((2000, 3), 0.02)
    proba[np.arange(2000), pred] = 0.96
    temperature = fit_temperature(proba, labels)
    scaled = scale_probabilities(proba, temperature)
    assert temperature > 1
    assert expected_calibration_error(scaled, labels) < 0.05
    assert expected_calibration_error(proba, labels) > 0.3
    assert (scaled.argmax(1) == proba.argmax(1)).all()


@pytest.fixture(scope="module")
def data():
    X, y = make_sensor_tasks(300, n_steps=32, random_state=0)
    return X, y


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return MultiTaskConvEstimator(**TINY, epochs=3, random_state=0).fit(X, y)


def test_default_fit_holds_out_ten_percent_and_gives_intervals(fitted, data):
    X, _ = data
    calibration = fitted.calibration_
    assert (calibration.n_rows, calibration.source) == (30, "holdout")
    assert calibration.residuals["density"].shape == (30, 1)
    bands = fitted.predict_interval(X, alpha=0.1)
    assert list(bands) == ["density"]
    band = bands["density"]
    pred = fitted.predict(X)["density"].to_numpy()
    assert band.shape == (300, 2)
    assert np.allclose(band.mean(axis=1), pred)
    narrower = fitted.predict_interval(X, alpha=0.5)["density"]
    assert (np.diff(narrower, axis=1) < np.diff(band, axis=1)).all()


def test_held_out_rows_are_not_trained_on(data, monkeypatch):
    X, y = data
    seen = {}
    from skmtl.estimator import recipe as estimator_module

    split, batches = estimator_module.plan_rows, session_module.TaskBatches

    def spy_split(*args, **kwargs):
        seen["split"] = split(*args, **kwargs)
        return seen["split"]

    def spy_batches(*args, rows=None, **kwargs):
        seen.setdefault("rows", []).append(rows)
        return batches(*args, rows=rows, **kwargs)

    monkeypatch.setattr(estimator_module, "plan_rows", spy_split)
    monkeypatch.setattr(session_module, "TaskBatches", spy_batches)
    est = MultiTaskConvEstimator(
        **TINY, epochs=1, calibration_fraction=0.2, random_state=0
    )
    est.fit(X, y)
    plan = seen["split"]
    train, cal, source = plan.train, plan.calibration, plan.source
    (trained,) = seen["rows"]
    assert source == "holdout" and len(cal) == 60 == est.calibration_.n_rows
    assert set(trained) == set(train) and not set(trained) & set(cal)
    assert len(set(train) | set(cal)) == 300


def test_auto_reuses_the_early_stopping_rows(data, monkeypatch):
    X, y = data
    seen = []
    batches = session_module.TaskBatches

    def spy_batches(*args, rows=None, **kwargs):
        seen.append(rows)
        return batches(*args, rows=rows, **kwargs)

    monkeypatch.setattr(session_module, "TaskBatches", spy_batches)
    est = MultiTaskConvEstimator(
        **TINY, epochs=2, early_stopping=True, validation_fraction=0.2, random_state=0
    ).fit(X, y)
    validation, train = seen  # the validation batches are built first
    assert est.calibration_.source == "validation"
    assert est.calibration_.n_rows == len(validation) == 60
    assert len(train) == 240  # no row held out beyond early stopping's


@pytest.mark.parametrize(
    ("n_samples", "fraction", "expected"),
    [(100, "auto", None), (300, None, None), (300, 0.0, None), (100, 0.3, 30)],
)
def test_how_many_rows_are_held_out(n_samples, fraction, expected):
    X, y = make_sensor_tasks(n_samples, n_steps=32, random_state=0)
    est = MultiTaskConvEstimator(
        **TINY, epochs=1, calibration_fraction=fraction, random_state=0
    ).fit(X, y)
    if expected is None:
        with pytest.raises(AttributeError, match="no rows were held out"):
            est.predict_interval(X)
    else:
        assert est.calibration_.n_rows == expected


@pytest.mark.parametrize("fraction", [1.0, -0.1, "half", 2])
def test_bad_calibration_fraction_is_refused_before_training(fraction, data):
    X, y = data
    est = MultiTaskConvEstimator(calibration_fraction=fraction)
    with pytest.raises(InvalidParameterError, match="calibration_fraction"):
        est.fit(X, y)


def test_bad_alpha_is_refused(fitted, data):
    X, _ = data
    for alpha in (0, 1, 1.5, "0.1"):
        with pytest.raises(ValueError, match="alpha="):
            fitted.predict_interval(X, alpha=alpha)


def test_missing_labels_do_not_count_and_too_few_rows_warn(data):
    X, y = data
    y = y.copy()
    y.loc[y.index[::2], "density"] = np.nan
    est = MultiTaskConvEstimator(
        **TINY, epochs=1, calibration_fraction=0.1, random_state=0
    ).fit(X, y)
    n_residuals = len(est.calibration_.residuals["density"])
    assert 5 < n_residuals < 25  # about half of the 30 held-out rows
    with pytest.warns(UserWarning, match="calibration rows cannot give coverage"):
        band = est.predict_interval(X, alpha=0.01)["density"]
    assert np.isinf(band).all()


def test_one_dimensional_y_gives_the_array(data):
    X, y = data
    est = MultiTaskConvEstimator(**TINY, epochs=1, random_state=0)
    band = est.fit(X, y["density"]).predict_interval(X)
    assert isinstance(band, np.ndarray) and band.shape == (300, 2)


def test_classification_only_has_no_predict_interval(data):
    X, y = data
    est = MultiTaskConvEstimator(**TINY, epochs=1, random_state=0)
    est.fit(X, y["material"])
    assert not hasattr(est, "predict_interval")
    assert est.calibration_.temperatures["material"] > 0


def test_calibrated_probabilities_keep_the_predicted_class(fitted, data):
    X, _ = data
    plain = fitted.predict_proba(X)["material"]
    scaled = fitted.predict_proba(X, calibrated=True)["material"]
    assert (plain.argmax(1) == scaled.argmax(1)).all()
    before, after = fitted.calibration_.ece["material"]
    assert after <= before
    if fitted.calibration_.temperatures["material"] != 1.0:
        assert not np.allclose(plain, scaled)


def test_partial_fit_holds_nothing_out(data):
    X, y = data
    est = MultiTaskConvEstimator(**TINY, random_state=0).partial_fit(X, y)
    assert est.fitted_state_.calibration is None
    with pytest.raises(AttributeError, match="partial_fit none"):
        est.predict_interval(X)


def test_intervals_and_temperatures_survive_save_and_load(fitted, data, tmp_path):
    X, _ = data
    path = tmp_path / "model.skmtl"
    fitted.save(path)
    loaded = load(path)
    assert np.array_equal(
        loaded.predict_interval(X)["density"], fitted.predict_interval(X)["density"]
    )
    assert loaded.calibration_.temperatures == fitted.calibration_.temperatures
    assert loaded.calibration_.ece == fitted.calibration_.ece


def test_a_file_without_calibration_loads(fitted, data, tmp_path):
    X, _ = data
    path, old = tmp_path / "model.skmtl", tmp_path / "old.skmtl"
    fitted.save(path)
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(old, "w") as dst:
        for item in src.infolist():
            payload = src.read(item)
            if item.filename == "skmtl.json":
                meta = json.loads(payload)
                del meta["fitted"]["calibration"]  # as files before issue 13
                payload = json.dumps(meta).encode()
            dst.writestr(item, payload)
    loaded = load(old)
    assert loaded.fitted_state_.calibration is None
    pd.testing.assert_frame_equal(loaded.predict(X), fitted.predict(X))
    with pytest.raises(AttributeError, match="no rows were held out"):
        loaded.predict_interval(X)


def test_calibration_round_trips_through_its_dict():
    cal = Calibration(
        n_rows=4,
        source="validation",
        residuals={"a": np.array([[0.1, 1.0], [0.2, 2.0]])},
        temperatures={"c": 1.5},
        ece={"c": (0.2, 0.1)},
    )
    back = Calibration.from_dict(json.loads(json.dumps(cal.to_dict())))
    assert np.array_equal(back.residuals["a"], cal.residuals["a"])
    assert (back.n_rows, back.source, back.temperatures, back.ece) == (
        4,
        "validation",
        {"c": 1.5},
        {"c": (0.2, 0.1)},
    )


def test_prediction_sets_cover_the_true_class(fitted, data):
    X, y = data
    sets = fitted.predict_set(X, alpha=0.2)["material"]
    classes = fitted.classes_["material"]
    assert sets.shape == (300, len(classes)) and sets.dtype == bool
    truth = np.searchsorted(classes, y["material"].to_numpy())
    covered = sets[np.arange(300), truth].mean()
    assert covered > 0.65  # 0.8 in expectation over draws of 30 held-out rows
    wider = fitted.predict_set(X, alpha=0.05)["material"]
    assert (wider | ~sets).all()  # a smaller alpha only adds classes
    path_scores = fitted.calibration_.class_scores["material"]
    assert len(path_scores) == 30 and (np.diff(path_scores) >= 0).all()


def test_prediction_sets_survive_save_and_load(fitted, data, tmp_path):
    X, _ = data
    fitted.save(tmp_path / "model.skmtl")
    loaded = load(tmp_path / "model.skmtl")
    assert np.array_equal(
        loaded.predict_set(X)["material"], fitted.predict_set(X)["material"]
    )


def test_intervals_with_a_variable_length_signal():
    rng = np.random.default_rng(0)
    lengths = rng.integers(20, 40, 40)
    X = pd.DataFrame({"x": [rng.standard_normal(n) for n in lengths]})
    y = pd.Series(lengths * 0.1, name="v")
    est = MultiTaskConvEstimator(
        **TINY_CONV, epochs=1, calibration_fraction=0.5, random_state=0
    )
    band = est.fit(X, y).predict_interval(X, alpha=0.2)
    assert band.shape == (40, 2) and np.isfinite(band).all()
    assert est.calibration_.n_rows == 20


@pytest.mark.parametrize("method", ["predict_interval", "predict_set"])
def test_an_unfitted_estimator_raises_not_fitted(method):
    from sklearn.exceptions import NotFittedError

    X, _ = make_sensor_tasks(20, n_steps=16, random_state=0)
    with pytest.raises(NotFittedError):
        getattr(MultiTaskConvEstimator(), method)(X)
