"""The chained task heads of the default network (skmtl.nn.chain): shapes and
start without training, a save round trip, and that the tasks share them."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pandas as pd
import pytest

from skmtl import MultiTaskConvEstimator, load
from skmtl.data.targets import TargetEncoder
from skmtl.datasets import make_sensor_tasks
from skmtl.nn.chain import TaskOutputs
from skmtl.nn.heads import task_heads

Y = pd.DataFrame(
    {
        "material": ["a", "b", "c", "a", "b", "c"],
        "flag": [0, 1, 0, 1, 0, 1],
        "density": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    }
)


def _chained_model(n_features=16):
    tasks = TargetEncoder().fit(Y).tasks_
    features = keras.Input((n_features,), name="features")
    heads = task_heads(features, tasks, dense_units=0, dropout=0.0)
    return keras.Model(features, heads), tasks


def test_task_outputs_applies_each_block_its_activation():
    layer = TaskOutputs(["softmax", "sigmoid", "linear"], [3, 1, 1])
    logits = np.array([[1.0, 1.0, 1.0, 0.0, -2.5]], np.float32)
    out = np.asarray(layer(logits))
    np.testing.assert_allclose(out, [[1 / 3, 1 / 3, 1 / 3, 0.5, -2.5]], rtol=1e-6)
    with pytest.raises(ValueError, match="one activation per block"):
        TaskOutputs(["softmax"], [3, 1])


def test_heads_start_as_independent_linear_heads():
    model, _ = _chained_model()
    shared = model.get_layer("shared_dense")
    assert shared.units == 3 + 1 + 1  # softmax, one sigmoid unit, one value
    x = np.random.default_rng(0).normal(size=(7, 16)).astype(np.float32)
    out = model(x)
    kernel, bias = shared.get_weights()
    logits = x @ kernel + bias
    np.testing.assert_allclose(
        out["material"], keras.ops.softmax(logits[:, :3]), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        out["flag"], keras.ops.sigmoid(logits[:, 3:4]), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(out["density"], logits[:, 4:], rtol=1e-5, atol=1e-5)
    # Each head reads the logits and the outputs of every task.
    assert model.get_layer("head_density").get_weights()[0].shape == (10, 1)


def test_every_task_loss_reaches_every_block():
    model, _ = _chained_model()
    head = model.get_layer("head_density")
    kernel, bias = head.get_weights()
    kernel[5:8, 0] = [1.0, 2.0, 3.0]  # density reads material's probabilities
    head.set_weights([kernel, bias])
    x = np.random.default_rng(0).normal(size=(4, 16)).astype(np.float32)
    import tensorflow as tf

    with tf.GradientTape() as tape:
        loss = keras.ops.sum(model(x)["density"])
    grad = tape.gradient(loss, model.get_layer("shared_dense").kernel).numpy()
    assert np.abs(grad[:, :3]).sum() > 0  # material's block
    assert np.abs(grad[:, 3]).sum() == 0  # flag's: not read


@pytest.fixture(scope="module")
def sensor():
    X, y = make_sensor_tasks(120, n_steps=64, noise=1.0, random_state=0)
    return X, y


def test_chained_network_saves_and_loads(sensor, tmp_path):
    X, y = sensor
    est = MultiTaskConvEstimator(filters=(84,), epochs=2, random_state=0).fit(X, y)
    est.save(tmp_path / "chain.skmtl")
    pd.testing.assert_frame_equal(
        load(tmp_path / "chain.skmtl").predict(X), est.predict(X)
    )


def test_opposite_loss_weights_give_different_models_each_task_favoured(sensor):
    X, y = sensor
    fits = {
        name: MultiTaskConvEstimator(
            filters=(84,), epochs=30, loss_weights=weights, random_state=0
        ).fit(X, y)
        for name, weights in {
            "material": {"material": 1.0, "density": 0.01},
            "density": {"material": 0.01, "density": 1.0},
        }.items()
    }
    a, b = (fits[n].predict_proba(X)["material"] for n in ("material", "density"))
    assert not np.allclose(a, b)
    assert not np.allclose(
        fits["material"].predict(X)["density"], fits["density"].predict(X)["density"]
    )
    # On the rows it trained on, each task fits best under its own high weight.
    truth = y["material"].map(
        {c: i for i, c in enumerate(fits["material"].classes_["material"])}
    )
    nll = {
        n: -np.mean(
            np.log(fits[n].predict_proba(X)["material"][np.arange(len(y)), truth])
        )
        for n in fits
    }
    assert nll["material"] < nll["density"]
