"""Ridge regression heads on the fixed trunk (skmtl.training.shrinkage): the closed-form
leave-one-out against brute force, then the estimator's use of it with masked
labels, sample weights, several tasks, save/load, and where it must do nothing."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge

import skmtl.training.shrinkage
from skmtl import MultiTaskConvEstimator, load
from skmtl.datasets import make_sensor_tasks
from skmtl.training.shrinkage import _loo_residuals, ridge_loo


def _problem(n=30, p=50, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = X[:, :3].sum(axis=1) + 1.5 * rng.normal(size=n)
    return X, y, rng.uniform(0.2, 2.0, n)


def _scale(X, w):
    Xc = (X - w @ X / w.sum()) * np.sqrt(w)[:, None]
    return np.clip(np.linalg.eigvalsh(Xc @ Xc.T), 0, None).sum() / len(X)


def test_coefficients_are_weighted_ridge():
    X, y, w = _problem()
    fit = ridge_loo(X, y, w, alphas=np.array([0.3]), calibrate=False, min_gain_se=0)
    assert fit.alpha.tolist() == [0.3] and fit.factor.tolist() == [1.0]
    ridge = Ridge(alpha=0.3 * _scale(X, w)).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(fit.coef[:, 0], ridge.coef_, atol=1e-10)
    np.testing.assert_allclose(fit.intercept[0], ridge.intercept_, atol=1e-10)


def _brute_force_loo(X, y, w, alpha):
    """Leave-one-out predictions by refitting without each row."""
    guesses = []
    for i in range(len(X)):
        keep = np.arange(len(X)) != i
        if np.isinf(alpha):  # the weighted mean of the other rows
            guesses.append(np.average(y[keep], weights=w[keep]))
        else:
            model = Ridge(alpha=alpha).fit(X[keep], y[keep], sample_weight=w[keep])
            guesses.append(model.predict(X[i : i + 1])[0])
    return np.array(guesses)


def test_leave_one_out_residuals_match_refitting_without_each_row():
    X, y, w = _problem()
    scale = _scale(X, w)
    root = np.sqrt(w)[:, None]
    Xc = (X - w @ X / w.sum()) * root
    yc = (y - w @ y / w.sum())[:, None] * root
    eigenvalues, U = np.linalg.eigh(Xc @ Xc.T)
    eigenvalues = np.clip(eigenvalues, 0, None)
    for alpha in (np.inf, 0.05, 1.0):
        fast = _loo_residuals(eigenvalues, U, U.T @ yc, yc, w, alpha * scale)[:, 0]
        slow = np.sqrt(w) * (y - _brute_force_loo(X, y, w, alpha * scale))
        np.testing.assert_allclose(fast, slow, rtol=1e-8, atol=1e-10)


def test_the_factor_is_the_slope_on_leave_one_out_predictions():
    X, y, w = _problem(seed=1)
    plain = ridge_loo(X, y, w, calibrate=False, min_gain_se=0)
    fit = ridge_loo(X, y, w, min_gain_se=0)
    assert fit.alpha == plain.alpha and 0 < fit.factor[0] < 1
    mean = np.average(y, weights=w)
    loo = _brute_force_loo(X, y, w, plain.alpha[0] * _scale(X, w)) - mean
    slope = np.sum(w * loo * (y - mean)) / np.sum(w * loo**2)
    np.testing.assert_allclose(fit.factor[0], slope, rtol=1e-6)
    # The factor shrinks the ridge's predictions towards the weighted mean.
    np.testing.assert_allclose(
        X @ fit.coef[:, 0] + fit.intercept[0],
        mean + fit.factor[0] * (X @ plain.coef[:, 0] + plain.intercept[0] - mean),
        atol=1e-10,
    )


def test_each_target_chooses_its_own_shrinkage():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 200))
    signal = X[:, 0] + rng.normal(scale=0.1, size=60)
    noise = rng.normal(size=60)
    fit = ridge_loo(X, np.c_[signal, noise])
    assert fit.alpha[0] < 1e-2 and fit.alpha[1] >= 1
    assert fit.factor[0] > 0.95
    fresh = rng.normal(size=(200, 200))
    predicted = fresh @ fit.coef + fit.intercept
    # On new rows the noise target's predictions stay close to its mean...
    assert predicted[:, 1].std() < 0.2 * noise.std()
    # ... and the signal's follow it (as well as 60 rows of 200 features let
    # a ridge find one feature).
    assert np.corrcoef(predicted[:, 0], fresh[:, 0])[0, 1] > 0.5


def test_a_ridge_must_beat_the_mean_by_a_standard_error():
    # Targets without signal on many features: over 20 draws the least
    # leave-one-out error alone picks a ridge on many, the paired
    # one-standard-error test on almost none.
    rng = np.random.default_rng(3)
    picked = {0.0: 0, 1.0: 0}
    for _ in range(20):
        X, noise = rng.normal(size=(70, 300)), rng.normal(size=70)
        for n_se in picked:
            picked[n_se] += np.isfinite(ridge_loo(X, noise, min_gain_se=n_se).alpha[0])
    assert picked[0.0] >= 4 and picked[1.0] <= picked[0.0] // 3
    # A real but weak signal still gets its ridge.
    X = rng.normal(size=(70, 300))
    weak = X[:, :5].sum(axis=1) + 2.0 * rng.normal(size=70)
    assert np.isfinite(ridge_loo(X, weak).alpha[0])


def test_constant_features_give_the_mean():
    fit = ridge_loo(np.ones((10, 4)), np.arange(10.0))
    assert np.all(fit.coef == 0) and fit.intercept[0] == 4.5
    assert np.isinf(fit.alpha[0])


# ------------------------------------------------------------------ estimator
ROCKET = {"filters": (168,), "epochs": 1, "random_state": 0}


@pytest.fixture(scope="module")
def sensor():
    X, y = make_sensor_tasks(60, n_steps=48, random_state=0)
    return X, y


def _fit(X, y, enabled=True, **params):
    skmtl.training.shrinkage.ENABLED = enabled
    try:
        return MultiTaskConvEstimator(**{**ROCKET, **params}).fit(X, y)
    finally:
        skmtl.training.shrinkage.ENABLED = True


def _features(est, X):
    from skmtl.data.inputs import encode
    from skmtl.nn.frozen import split_frozen_trunk, trunk_features

    trunk, _ = split_frozen_trunk(est.model_)
    inputs = encode(X, est.schema_)[0]
    return trunk_features(trunk, {k: inputs[k] for k in est.input_names_})["features"]


def test_a_lone_regression_head_is_the_ridge(sensor):
    X, y = sensor
    est = _fit(X, y["density"])
    # The head is the closed-form ridge on the trunk's features, in the
    # standardised target's units.
    task = est.target_encoder_.tasks_[0]
    targets, _ = est.target_encoder_.transform(y["density"])
    features = _features(est, X)
    fit = ridge_loo(features, targets[task.name])
    standardised = (est.predict(X) - task.mean) / task.std
    expected = (features.astype(np.float64) @ fit.coef + fit.intercept)[:, 0]
    np.testing.assert_allclose(standardised, expected, rtol=1e-4, atol=1e-4)


def test_a_chained_regression_block_is_refitted_beside_its_partner(sensor):
    X, y = sensor
    est, plain = _fit(X, y), _fit(X, y, enabled=False)
    # The density block of the shared layer is the ridge: the density head
    # reads it through the identity, and the material head (which reads
    # every task's output) sees the refitted values.
    head = est.model_.get_layer("head_density").get_weights()[0]
    width = est.model_.get_layer("shared_dense").units
    tasks = est.target_encoder_.tasks_
    index = [t.name for t in tasks].index("density")
    block = sum(t.units for t in tasks[:index])
    own = np.zeros(2 * width, bool)
    own[block] = own[width + block] = True
    np.testing.assert_array_equal(head[own], [[1.0], [0.0]])
    assert not np.allclose(est.predict(X)["density"], plain.predict(X)["density"])


def test_missing_labels_and_zero_weights_are_left_out(sensor):
    X, y = sensor
    y = y.copy()
    y.loc[y.index[:15], "density"] = np.nan
    masked = _fit(X, y)
    weights = np.r_[np.zeros(15), np.ones(45)]
    est = MultiTaskConvEstimator(**ROCKET).fit(X, sensor[1], sample_weight=weights)
    # Weight 0 and a missing label both drop the row from the ridge (the
    # targets are standardised differently; the ridge does not mind).
    np.testing.assert_allclose(
        masked.predict(X)["density"], est.predict(X)["density"], rtol=1e-4, atol=1e-4
    )


def test_noise_target_is_shrunk_to_about_its_mean():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 40, 1)).astype(np.float32)
    y = pd.DataFrame({"noise": rng.normal(size=50), "cls": np.arange(50) % 2})
    est = MultiTaskConvEstimator(**ROCKET).fit(X, y)
    fresh = rng.normal(size=(50, 40, 1)).astype(np.float32)
    predicted = est.predict(fresh)["noise"]
    assert predicted.std() < 0.1 * y["noise"].std()
    assert abs(predicted.mean() - y["noise"].mean()) < 0.1 * y["noise"].std()


def test_save_load_keeps_the_ridge_predictions(sensor, tmp_path):
    X, y = sensor
    est = _fit(X, y)
    est.save(tmp_path / "ridge.skmtl")
    pd.testing.assert_frame_equal(
        load(tmp_path / "ridge.skmtl").predict(X), est.predict(X)
    )


@pytest.mark.parametrize(
    "params",
    [{"dense_units": 8}, {"trunk": "conv", "filters": (4,), "dense_units": 0}],
    ids=["dense_units", "conv_trunk"],
)
def test_nothing_changes_behind_a_trained_layer(sensor, params):
    X, y = sensor
    pd.testing.assert_frame_equal(
        _fit(X, y, **params).predict(X), _fit(X, y, enabled=False, **params).predict(X)
    )


# ------------------------------------------------------- classification blocks
def test_loo_predictions_are_refits_without_each_row():
    X, y, w = _problem()
    fit = ridge_loo(X, y, w, alphas=np.array([0.2]), calibrate=False, min_gain_se=0)
    slow = _brute_force_loo(X, y, w, 0.2 * _scale(X, w))
    np.testing.assert_allclose(fit.loo[:, 0], slow, rtol=1e-8, atol=1e-10)


def test_a_shared_penalty_is_one_for_all_targets():
    X, y, w = _problem()
    noise = np.random.default_rng(5).normal(size=len(y))
    alone = ridge_loo(X, np.c_[y, noise], w, calibrate=False, min_gain_se=0)
    shared = ridge_loo(
        X, np.c_[y, noise], w, calibrate=False, min_gain_se=0, shared_alpha=True
    )
    assert alone.alpha[0] != alone.alpha[1]
    assert shared.alpha[0] == shared.alpha[1]


def test_a_classification_block_decides_as_a_ridge_classifier(sensor):
    X, y = sensor
    est = _fit(X, y["material"])
    features = _features(est, X)
    classes = est.classes_
    signs = np.where(np.asarray(y["material"])[:, None] == classes[None], 1.0, -1.0)
    ridge = ridge_loo(features, signs, calibrate=False, shared_alpha=True)
    scores = features @ ridge.coef + ridge.intercept
    np.testing.assert_array_equal(est.predict(X), classes[scores.argmax(axis=1)])


def test_a_classification_block_beside_a_partner_is_left_as_trained(sensor):
    X, y = sensor
    est, plain = _fit(X, y), _fit(X, y, enabled=False)
    # Material's block of the shared layer (its first 5 units) as trained;
    # density's (the last unit) refitted.
    kernel, refitted = (
        np.asarray(e.model_.get_layer("shared_dense").kernel) for e in (plain, est)
    )
    np.testing.assert_array_equal(refitted[:, :5], kernel[:, :5])
    assert not np.allclose(refitted[:, 5], kernel[:, 5])


def test_separated_classes_keep_probabilities_off_their_limits(sensor):
    X, y = sensor
    est = _fit(X, y["material"])
    proba = est.predict_proba(X)
    # Platt's targets keep the scale finite: not the 1 - e**-100 of its bound.
    assert proba.max() < 0.99
    assert est.score(X, y["material"]) > 0.9


def test_a_classification_task_above_the_row_limit_keeps_its_trained_block(
    sensor, monkeypatch
):
    X, y = sensor
    monkeypatch.setattr(skmtl.training.shrinkage, "MAX_SAMPLES", 20)
    est, plain = _fit(X, y["material"]), _fit(X, y["material"], enabled=False)
    np.testing.assert_array_equal(est.predict_proba(X), plain.predict_proba(X))
