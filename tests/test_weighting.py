"""Loss-weighting strategies do what their papers say, on constructed cases."""

import numpy as np
import pandas as pd
import pytest

from skmtl import MultiTaskConvEstimator

from .conftest import TINY


def _fit(X, y, **params):
    settings = {**TINY, "epochs": 25, "learning_rate": 0.02, "random_state": 0}
    return MultiTaskConvEstimator(**{**settings, **params}).fit(X, y)


def test_fixed_weights_are_the_given_ones(signal_and_noise):
    X, y = signal_and_noise
    est = _fit(X, y, epochs=1, loss_weights={"noise": 0.25})
    assert est.task_weights_ == {"clean": 1.0, "noise": 0.25}
    assert est.history_["weight_noise"] == [0.25]


def test_uncertainty_weighting_down_weights_the_noise_task(signal_and_noise):
    X, y = signal_and_noise
    est = _fit(X, y, loss_weighting="uncertainty")
    w = est.task_weights_
    # Both start at 1/(2 sigma^2) = 0.5; the noisy task's learned variance grows.
    assert w["noise"] < w["clean"]
    assert w["clean"] > 0.5
    assert est.history_["weight_noise"][-1] < est.history_["weight_clean"][-1]


def test_uncertainty_classification_factor_is_twice_regression():
    X = np.random.rand(40, 16)
    y = pd.DataFrame({"c": np.arange(40) % 3, "r": np.random.rand(40)})
    est = MultiTaskConvEstimator(
        **TINY, epochs=1, loss_weighting="uncertainty", learning_rate=1e-9
    ).fit(X, y)
    assert est.history_["weight_c"][0] == pytest.approx(1.0, abs=1e-4)
    assert est.history_["weight_r"][0] == pytest.approx(0.5, abs=1e-4)


def test_dwa_gives_more_weight_to_the_task_that_learns_slower(signal_and_noise):
    X, y = signal_and_noise
    est = _fit(X, y, loss_weighting="dwa", dwa_temperature=0.5, epochs=8)
    h = est.history_
    # The first two epochs keep the initial weights (no loss ratio yet).
    assert h["weight_clean"][:2] == [1.0, 1.0]
    weights = np.array([h["weight_clean"][2:], h["weight_noise"][2:]])
    np.testing.assert_allclose(weights.sum(axis=0), 2.0, rtol=1e-5)

    # The paper's rule, epoch by epoch, from the logged epoch losses: the
    # weights of epoch k come from the loss ratio of epochs k-1 and k-2.
    losses = np.array([h["clean_loss"], h["noise_loss"]])
    for k in range(2, len(h["loss"])):
        rate = losses[:, k - 1] / losses[:, k - 2]
        expected = 2 * np.exp(rate / 0.5) / np.exp(rate / 0.5).sum()
        np.testing.assert_allclose(weights[:, k - 2], expected, rtol=1e-4)
    # The task whose loss fell less gets more weight.
    slower = np.argmax(rate)
    assert weights[slower, -1] > 1.0 > weights[1 - slower, -1]


def test_gradnorm_equalises_gradient_norms(signal_and_noise):
    X, y = signal_and_noise
    # Start 19:1 in favour of 'clean'; alpha=0 asks for equal gradient norms.
    unbalanced = {"clean": 1.9, "noise": 0.1}
    est = _fit(
        X, y, loss_weighting="gradnorm", gradnorm_alpha=0.0, loss_weights=unbalanced
    )
    h = est.history_
    log_ratio = np.log(np.array(h["gradnorm_clean"]) / np.array(h["gradnorm_noise"]))
    # The norms oscillate around equality instead of staying ~19x apart.
    assert abs(log_ratio[-10:].mean()) < 0.3 < np.log(19)
    assert est.task_weights_["noise"] > 0.1 * 3
    assert sum(est.task_weights_.values()) == pytest.approx(2.0, rel=1e-5)


def test_gradnorm_needs_two_tasks():
    with pytest.raises(ValueError, match="gradnorm' needs at least two tasks"):
        MultiTaskConvEstimator(**TINY, epochs=1, loss_weighting="gradnorm").fit(
            np.random.rand(20, 8), np.arange(20) % 2
        )


def test_gradnorm_floors_a_weight_pushed_below_zero():
    """A weight GradNorm would drive negative stops at its floor (then all are
    renormalised to sum to the number of tasks): a task is never switched off."""
    import keras
    import tensorflow as tf

    from skmtl.data.targets import REGRESSION, TaskSpec
    from skmtl.training.weighting import MultiTaskTrainer

    x = keras.Input((4,))
    shared = keras.layers.Dense(8, name="shared_dense")(x)
    heads = {n: keras.layers.Dense(1, name=n)(shared) for n in ("a", "b")}
    tasks = [TaskSpec(n, REGRESSION, "float64", mean=0.0, std=1.0) for n in "ab"]
    trainer = MultiTaskTrainer(
        keras.Model(x, heads),
        tasks,
        strategy="gradnorm",
        gradnorm_learning_rate=1e3,  # one step far past zero
    )
    data = tf.constant(np.random.default_rng(0).normal(size=(16, 4)), tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        pred = trainer(data, training=True)
        losses = [
            tf.reduce_mean(tf.square(pred["a"] - 1.0)),
            100.0 * tf.reduce_mean(tf.square(pred["b"] + 1.0)),
        ]
    trainer._gradnorm_step(tape, losses)
    weights = trainer.task_weights.numpy()
    assert weights.sum() == pytest.approx(2.0, rel=1e-5)
    assert 0 < weights.min() < 0.01  # floored at 1e-3, then renormalised
