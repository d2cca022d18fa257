"""The default trunk reads variable-length recordings itself (MiniRocket's
variable-length variant): each recording over its own steps, never its batch's
padding, never cropped, features computed once per fit."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from skmtl import MultiTaskConvEstimator
from skmtl.data.inputs import encode
from skmtl.data.ragged import RaggedSignal
from skmtl.nn.frozen import split_frozen_trunk, trunk_features
from skmtl.nn.masking import MaskedDownsample
from skmtl.nn.rocket import MiniRocketFeatures, rocket_layers


def _cells(n=40, low=12, high=90, channels=2, seed=0):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(low, high, n)
    labels = np.arange(n) % 2
    cells = [
        np.sin(np.linspace(0, 2 + 6 * lab, t))[:, None] * np.ones((1, channels))
        + 0.2 * rng.standard_normal((t, channels))
        + 3.0  # an offset: the background is the field's level, not zero
        for t, lab in zip(lengths, labels, strict=True)
    ]
    return cells, lengths, labels


def _layer(cells, n_features=168, difference=True):
    ragged = RaggedSignal.from_list(cells, "s")
    layer = MiniRocketFeatures(
        int(ragged.lengths.max()),
        ragged.n_channels,
        n_features=n_features,
        seed=0,
        difference=difference,
        exact=True,
        grid="relative",
        ragged=True,
    )
    layer.adapt(ragged.padded())
    return layer, ragged


def _features(layer, ragged, rows, extra=0):
    batch = ragged.padded(rows)
    batch = np.pad(batch, ((0, 0), (0, extra), (0, 0)))
    return np.asarray(layer(tf.constant(batch)))


@pytest.mark.parametrize("difference", [True, False])
def test_a_recording_gets_the_same_features_alone_and_in_any_batch(difference):
    cells, lengths, _ = _cells()
    layer, ragged = _layer(cells, difference=difference)
    short, long = int(np.argmin(lengths)), int(np.argmax(lengths))
    alone = _features(layer, ragged, [short])
    np.testing.assert_array_equal(alone, _features(layer, ragged, [short, long])[:1])
    np.testing.assert_array_equal(alone, _features(layer, ragged, [short], extra=300))
    assert alone.shape == (1, layer.n_features + ragged.n_channels + 1)


def test_the_padding_is_never_read():
    cells, lengths, _ = _cells()
    layer, ragged = _layer(cells)
    short = int(np.argmin(lengths))
    batch = ragged.padded([short, int(np.argmax(lengths))])
    garbage = batch.copy()
    garbage[0, lengths[short] :, :-1] = 1e3  # values where the mask is 0
    np.testing.assert_array_equal(
        np.asarray(layer(tf.constant(batch))), np.asarray(layer(tf.constant(garbage)))
    )


def test_a_recording_longer_than_any_at_fit_is_read_whole():
    cells, _, _ = _cells()
    layer, _ = _layer(cells)
    long = np.random.default_rng(1).normal(size=(400, 2))
    changed = long.copy()
    changed[-40:] += 5.0  # only its last steps, far past the longest at fit
    features = [
        _features(layer, RaggedSignal.from_list([c], "s"), [0]) for c in (long, changed)
    ]
    assert not np.array_equal(*features)


def test_a_ragged_layer_has_the_fixed_layers_dilations_and_kernels():
    cells, _, _ = _cells(low=50, high=51)
    ragged_layer, _ = _layer(cells)
    fixed = MiniRocketFeatures(
        50, 2, n_features=168, seed=0, difference=True, exact=True, grid="relative"
    )
    fixed.build((None, 50, 2))
    # Same kernels and dilations: the configuration, not the data, sets them.
    assert ragged_layer.dilations.tolist() == fixed.dilations.tolist()
    for a, b in zip(ragged_layer._kernels(), fixed._kernels(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_summary_is_each_recordings_level_and_log_length():
    cells, lengths, _ = _cells()
    layer, ragged = _layer(cells)
    values, mask = layer._recordings(tf.constant(ragged.padded()))
    summary = np.asarray(layer._summary(values, tf.reduce_sum(mask, 1, keepdims=True)))
    background = np.asarray(layer.background)
    expected = [c.mean(axis=0) - background for c in cells]
    np.testing.assert_allclose(summary[:, :2], expected, atol=1e-5)
    np.testing.assert_allclose(summary[:, 2], np.log(lengths), atol=1e-6)


def test_relative_grid_keeps_a_recording_far_below_the_fields_spread():
    rng = np.random.default_rng(0)
    big = [rng.normal(size=60) * 100 for _ in range(10)]
    tiny = rng.normal(size=60) * 1e-5
    layer, _ = _layer([*big, tiny])
    series = np.asarray(
        layer._series(tf.constant(tiny[None, :, None], tf.float32), ragged=True)
    )
    # Its values keep their shape on the grid (a fixed one rounds them to 0).
    assert np.corrcoef(series[0, :60, 0], tiny)[0, 1] > 0.999


def test_config_round_trips_the_ragged_layer():
    cells, _, _ = _cells()
    layer, ragged = _layer(cells)
    clone = MiniRocketFeatures.from_config(layer.get_config())
    clone.build((None, None, 3))
    clone.set_weights(layer.get_weights())
    batch = tf.constant(ragged.padded([0, 1, 2]))
    np.testing.assert_array_equal(np.asarray(clone(batch)), np.asarray(layer(batch)))
    assert clone.ragged and clone.grid == "relative"


def test_masked_downsample_averages_true_steps_and_keeps_the_last_window():
    values = np.arange(10, dtype=np.float32).reshape(1, 10, 1)
    mask = np.r_[np.ones(7), np.zeros(3)].astype(np.float32).reshape(1, 10, 1)
    out = np.asarray(MaskedDownsample(3)(values, mask))
    np.testing.assert_allclose(out[0, :, 0], [1.0, 4.0, 6.0, 0.0])  # (6,) alone
    np.testing.assert_array_equal(out[0, :, 1], [1, 1, 1, 0])


# ------------------------------------------------------------ estimator
@pytest.fixture(scope="module")
def data():
    cells, lengths, labels = _cells(n=60)
    X = pd.DataFrame({"s": cells, "temp": np.linspace(0, 1, 60)})
    y = pd.DataFrame({"cls": np.where(labels, "a", "b"), "val": lengths / 10.0})
    return X, y


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return MultiTaskConvEstimator(
            filters=(168,), calibration_fraction=0.25, random_state=0
        ).fit(X, y)


def test_the_default_trunk_reads_ragged_fields_with_minirocket(fitted, data):
    X, y = data
    (layer,) = rocket_layers(fitted.model_)
    assert layer.ragged and layer.n_steps == max(len(c) for c in X["s"])
    # Fixed trunk: its features are computed once per fit.
    trunk, _ = split_frozen_trunk(fitted.model_)
    features = trunk_features(trunk, encode(X, fitted.fitted_state_.schema)[0])
    assert features["features"].shape[0] == len(X)
    assert fitted.score(X, y) > 0.9


def test_long_recordings_are_averaged_down_over_true_steps():
    rng = np.random.default_rng(0)
    cells = [rng.normal(size=t) for t in rng.integers(300, 1500, 30)]
    X = pd.DataFrame({"s": cells})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        est = MultiTaskConvEstimator(filters=(84,), random_state=0).fit(
            X, np.arange(30) % 2
        )
    (layer,) = rocket_layers(est.model_)
    assert layer.n_steps <= 512
    assert isinstance(est.model_.get_layer("ragged_s_downsample"), MaskedDownsample)
    alone = est.predict_proba(X.iloc[[0]])
    np.testing.assert_array_equal(alone, est.predict_proba(X.iloc[[0, 1, 2]])[:1])


def test_explain_and_intervals_work_on_ragged_rocket(fitted, data):
    X, _ = data
    relevance = fitted.explain(X.iloc[:3])["s"]
    assert len(relevance) == 3
    low, high = fitted.predict_interval(X.iloc[:5])["val"].T
    assert np.all(low <= high)
