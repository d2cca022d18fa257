"""The defects of issue 25's review, one test each, on the paths a careful
user takes: intervals after early stopping, warm refits and ``partial_fit``,
training orders, tasks with few held-out labels, one-row first batches.

Coverage is measured on fresh rows from the same generator: nominal within
sampling error (80-100 calibration rows: a standard error of about 0.03).
"""

import numpy as np
import pytest
from sklearn.metrics import r2_score

from skmtl import MultiTaskConvEstimator, budget, shrinkage
from skmtl import session as session_module
from skmtl.data.holdout import plan_rows, row_keys
from skmtl.data.inputs import encode, infer_schema
from skmtl.data.targets import TargetEncoder, TaskSpec
from skmtl.datasets import make_sensor_tasks
from skmtl.estimator import recipe as estimator_module
from skmtl.nn.rocket import rocket_layers
from skmtl.training.batching import TaskBatches
from skmtl.training.conformal import Calibration, calibrate, intervals, prediction_sets

from .conftest import TINY, TINY_CONV

# A small default (rocket) network: its regression head is refitted by ridge.
SMALL = {"filters": (840,), "epochs": 4, "batch_size": 32}


# One draw of the generator (its hidden constants depend on the seed): rows
# 0-1,999 to fit on, 2,000-3,999 fresh.
POOL = make_sensor_tasks(4000, n_steps=64, noise=1.0, random_state=5)


def _data(n, start=0):
    X, y = POOL
    return X[start : start + n], y.iloc[start : start + n].reset_index(drop=True)


@pytest.fixture(scope="module")
def fresh():
    return _data(2000, start=2000)


def _coverage(est, X, y, alpha=0.1) -> float:
    band = est.predict_interval(X, alpha=alpha)["density"]
    truth = y["density"].to_numpy()
    return float(np.mean((band[:, 0] <= truth) & (truth <= band[:, 1])))


def _spy_trained_rows(monkeypatch) -> list:
    """Record the rows every training TaskBatches steps on."""
    seen = []
    batches = session_module.TaskBatches

    def spy(*args, rows=None, shuffle=True, **kwargs):
        if shuffle:  # the training batches (validation ones are in order)
            seen.append(None if rows is None else np.asarray(rows))
        return batches(*args, rows=rows, shuffle=shuffle, **kwargs)

    monkeypatch.setattr(session_module, "TaskBatches", spy)
    return seen


# --- 1. intervals after early stopping ---------------------------------------
def test_the_ridge_refit_does_not_learn_from_early_stoppings_calibration_rows(
    monkeypatch, fresh
):
    refits = []
    ridge = shrinkage.ridge_heads

    def spy(model, tasks, inputs, targets, weights, rows=None, features=None):
        refits.append(rows)
        return ridge(model, tasks, inputs, targets, weights, rows, features)

    monkeypatch.setattr(estimator_module, "ridge_heads", spy)
    X, y = _data(500)
    est = MultiTaskConvEstimator(
        **SMALL, early_stopping=True, validation_fraction=0.2, random_state=0
    ).fit(X, y)
    (rows,) = refits
    assert est.calibration_.source == "validation"
    assert est.calibration_.n_rows == 100
    assert rows is not None and len(rows) == 400
    # Fresh rows: the coverage promised (it was 0.74 with the refit on them).
    assert _coverage(est, *fresh) >= 0.83


# --- 2. shuffle=False with several passes an epoch ---------------------------
def test_passes_in_order_repeat_the_rows_in_order_not_each_row_in_turn():
    x = {"s": np.arange(5.0)[:, None]}
    batches = TaskBatches(x, None, None, batch_size=2, shuffle=False, passes=3)
    assert batches.epoch_rows().tolist() == [0, 1, 2, 3, 4] * 3
    assert len(batches) == 8
    shuffled = TaskBatches(x, None, None, batch_size=2, seed=0, passes=3)
    assert np.bincount(shuffled.epoch_rows()).tolist() == [3] * 5


def test_shuffle_false_with_auto_epochs_trains_on_mixed_batches(monkeypatch):
    monkeypatch.setattr(budget, "MIN_STEPS", 60)  # a short "auto" budget
    X, y = make_sensor_tasks(40, n_steps=32, random_state=0)
    made = []
    batches = session_module.TaskBatches

    def spy(*args, **kwargs):
        made.append(batches(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(session_module, "TaskBatches", spy)
    MultiTaskConvEstimator(
        **TINY_CONV, epochs="auto", shuffle=False, random_state=0
    ).fit(X, y)
    (training,) = made
    assert training.passes > 1  # epochs of several passes: the defect's case
    rows = training.epoch_rows()
    assert rows[:40].tolist() == list(range(40)) == rows[40:80].tolist()


# --- 3 and 4. no held-out row labels a task ----------------------------------
def test_a_task_without_labelled_held_out_rows_fits_warns_and_round_trips():
    task = TaskSpec("v", "regression", "float64", mean=0.0, std=1.0)
    cal = calibrate(
        [task],
        {"v": np.zeros((3, 1))},
        {},
        {"v": np.zeros((3, 1))},
        {"v": np.zeros(3)},  # no held-out row carries a label
        source="holdout",
    )
    assert cal.residuals["v"].shape == (0, 1)
    again = Calibration.from_dict(cal.to_dict())
    assert again.residuals["v"].shape == (0, 1)
    with pytest.warns(UserWarning, match="0 labelled calibration rows"):
        band = intervals({"v": np.array([1.0, 2.0])}, again, 0.1)["v"]
    assert np.isinf(band).all()


def test_fit_when_no_held_out_row_labels_a_regression_task():
    X, y = make_sensor_tasks(300, n_steps=32, random_state=0)
    # The rows a default fit with random_state=0 holds out, as it plans them
    # (the plan reads the class labels, not the density).
    encoder = TargetEncoder().fit(y)
    targets, weights = encoder.transform(y)
    keys = row_keys(encode(X, infer_schema(X))[0], salt=0)
    plan = plan_rows("auto", keys, targets, encoder.tasks_, weights, salt=0, seed=0)
    y = y.copy()
    y.loc[y.index[plan.calibration], "density"] = np.nan
    est = MultiTaskConvEstimator(**TINY, epochs=1, random_state=0).fit(X, y)
    cal = est.calibration_
    assert cal.n_rows == 30 and cal.residuals["density"].shape == (0, 1)
    with pytest.warns(UserWarning, match="'density': 0 labelled calibration rows"):
        assert np.isinf(est.predict_interval(X[:5])["density"]).all()


def test_prediction_sets_without_labelled_held_out_rows_hold_every_class():
    cal = Calibration(n_rows=3, source="holdout")  # no row labelled 'material'
    proba = {"material": np.array([[0.9, 0.1], [0.2, 0.8]])}
    with pytest.warns(UserWarning, match="'material': 0 labelled calibration rows"):
        sets = prediction_sets(proba, cal, 0.1)["material"]
    assert sets.all()  # nothing can promise less


def test_predict_set_warns_when_too_few_rows_were_held_out():
    X, y = make_sensor_tasks(300, n_steps=32, random_state=0)
    est = MultiTaskConvEstimator(**TINY, epochs=1, random_state=0).fit(X, y)
    with pytest.warns(UserWarning, match="calibration rows cannot give coverage"):
        sets = est.predict_set(X[:5], alpha=0.01)["material"]
    assert sets.all()


# --- 5. a warm start ends with the closed-form heads --------------------------
def test_a_warm_start_refits_the_heads_in_closed_form():
    X, y = _data(300)
    rng = np.random.default_rng(0)
    y = y.assign(density=rng.normal(size=len(y)))  # no signal at all
    est = MultiTaskConvEstimator(
        **SMALL, warm_start=True, calibration_fraction=None, random_state=0
    )
    est.fit(X, y)
    est.fit(X, y)  # warm: trains the heads by gradient, then refits them
    head = est.model_.get_layer("head_density")
    before = [w.copy() for w in head.get_weights()]
    encoded, _ = encode(X, est.fitted_state_.schema)
    encoded = {k: encoded[k] for k in est.fitted_state_.input_names}
    targets, weights = est.target_encoder_.transform(y)
    shrinkage.ridge_heads(est.model_, est.tasks_, encoded, targets, weights)
    for a, b in zip(before, head.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    X_new, _ = _data(500, start=2000)
    noise = np.random.default_rng(1).normal(size=500)
    assert r2_score(noise, est.predict(X_new)["density"]) > -0.1


# --- 7. warm refits calibrate only on rows never trained on ------------------
@pytest.mark.parametrize("grown", [False, True])
def test_warm_refits_never_calibrate_on_rows_trained_before(monkeypatch, grown):
    X, y = _data(600)
    trained = _spy_trained_rows(monkeypatch)
    calibrated = []
    calibrate_rows = estimator_module.calibrate_rows

    def spy(state, inputs, targets, weights, plan, *args):
        calibrated.append(plan.calibration)
        return calibrate_rows(state, inputs, targets, weights, plan, *args)

    monkeypatch.setattr(estimator_module, "calibrate_rows", spy)
    est = MultiTaskConvEstimator(**TINY, epochs=1, warm_start=True, random_state=0)
    first = est.fit(X[:300], y[:300]).calibration_
    assert first.n_rows == 30
    order = np.random.default_rng(0).permutation(600 if grown else 300)
    X2, y2 = X[order], y.iloc[order].reset_index(drop=True)
    # Another seed (as random_state=None draws), reordered (and grown) data.
    est.set_params(random_state=1).fit(X2, y2)
    # Rows as content: the ones trained on in either fit.
    seen = {X[i].tobytes() for i in trained[0]}
    seen |= {X2[i].tobytes() for i in trained[1]}
    held = calibrated[-1]
    assert len(held) == est.calibration_.n_rows >= (40 if grown else 20)
    assert not {X2[i].tobytes() for i in held} & seen


def test_coverage_holds_after_a_warm_refit_on_grown_data(fresh):
    X, y = _data(1000)
    est = MultiTaskConvEstimator(**SMALL, warm_start=True, random_state=0)
    est.fit(X[:500], y[:500])
    # Another seed (as random_state=None draws), more rows: the rows held out
    # stay clean.
    est.set_params(random_state=1).fit(X, y)
    assert est.calibration_.n_rows >= 40
    assert _coverage(est, *fresh) >= 0.83


def test_coverage_holds_after_partial_fit(fresh):
    X, y = _data(1000, start=1000)
    est = MultiTaskConvEstimator(**SMALL, calibration_fraction=0.1, random_state=0)
    for _ in range(3):
        est.partial_fit(X, y)
    assert 70 <= est.calibration_.n_rows <= 130
    assert _coverage(est, *fresh) >= 0.83


def test_a_fit_after_partial_fit_cannot_calibrate_on_rows_it_trained_on():
    X, y = make_sensor_tasks(300, n_steps=32, random_state=0)
    est = MultiTaskConvEstimator(**TINY, epochs=1, warm_start=True, random_state=0)
    est.partial_fit(X, y)  # "auto" holds nothing out of a stream
    est.fit(X, y)
    with pytest.raises(AttributeError, match="no rows were held out"):
        est.predict_interval(X)


# --- 8. a one-row first partial_fit -------------------------------------------
def test_a_first_partial_fit_of_too_few_rows_is_refused_before_training():
    X, y = make_sensor_tasks(40, n_steps=32, random_state=0)
    est = MultiTaskConvEstimator(random_state=0)
    with pytest.raises(ValueError, match=r"1 sample.*at least 4"):
        est.partial_fit(X[:1], y[:1], classes={"material": np.unique(y["material"])})
    assert not hasattr(est, "model_")
    est.partial_fit(X[:4], y[:4], classes={"material": np.unique(y["material"])})
    (layer,) = rocket_layers(est.model_)
    assert np.mean(layer.feature_scale.numpy() > 0) > 0.5


# --- the hangs -----------------------------------------------------------------
def test_a_batch_larger_than_the_data_is_the_data(monkeypatch):
    monkeypatch.setattr(budget, "MIN_STEPS", 60)  # a short "auto" budget
    X, y = make_sensor_tasks(60, n_steps=32, random_state=0)
    fits = [
        MultiTaskConvEstimator(
            **{**TINY_CONV, "batch_size": size}, epochs="auto", random_state=0
        ).fit(X, y)
        for size in (60, 4096)
    ]
    # The same budget: 4,096 did not repeat the 60 rows into giant batches.
    assert fits[0].n_epochs_ == fits[1].n_epochs_
    assert fits[1].history_["loss"] == pytest.approx(fits[0].history_["loss"])
