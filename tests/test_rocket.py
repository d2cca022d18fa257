"""The "rocket" trunk: MiniRocket's transform as a layer, and training only the
heads on its features (skmtl.nn.rocket, skmtl.nn.frozen). Shapes without training,
then one tiny fit for save/load and export."""

import keras
import numpy as np
import pytest

from skmtl import MultiTaskConvEstimator
from skmtl.data.inputs import encode, infer_schema
from skmtl.data.targets import TargetEncoder
from skmtl.nn.frozen import split_frozen_trunk, trunk_features
from skmtl.nn.network import build_network
from skmtl.nn.rocket import MiniRocketFeatures, adapt_rocket, rocket_dilations

from .conftest import network_kwargs, run_python


def _series(n=12, steps=40, channels=1, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, steps, channels)).astype("float32")


@pytest.mark.parametrize("n_steps", [1, 9, 24, 150, 3750])
def test_dilations_span_the_series_and_give_the_features_asked(n_steps):
    dilations, per = rocket_dilations(n_steps)
    assert dilations[0] == 1 and np.all(np.diff(dilations) > 0)
    # The widest kernel (9 taps) still fits in the series.
    assert 8 * dilations[-1] <= max(n_steps - 1, 8)
    assert 84 * per.sum() == 9996


def test_dilations_match_aeon_minirocket():
    aeon = pytest.importorskip("aeon")
    del aeon
    from aeon.transformations.collection.convolution_based._minirocket import (
        _fit_dilations,
    )

    for n_steps in (24, 100, 251, 1460):
        ours = rocket_dilations(n_steps)
        theirs = _fit_dilations(n_steps, 10_000, 32)
        np.testing.assert_array_equal(ours[0], theirs[0])
        np.testing.assert_array_equal(ours[1], theirs[1])


@pytest.mark.parametrize(("steps", "channels"), [(1, 1), (24, 2), (100, 6)])
def test_features_are_proportions_standardised_after_adapt(steps, channels):
    x = _series(16, steps, channels)
    layer = MiniRocketFeatures(steps, channels, n_features=840, seed=1)
    raw = np.asarray(layer(x))
    # Before adapt: biases 0, no scaling, so each feature is a proportion.
    assert raw.shape == (16, 840)
    assert raw.min() >= 0.0 and raw.max() <= 1.0
    layer.adapt(x)
    out = np.asarray(layer(x))
    varying = out.std(axis=0) > 0
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-4)
    # Unit variance, scaled by 1/sqrt(n_features): each sample's norm is ~1.
    np.testing.assert_allclose(out.std(axis=0)[varying], 840**-0.5, rtol=1e-3)
    # Biases from quantiles of the outputs: most features vary over samples.
    assert varying.mean() > 0.5 if steps > 1 else True


def _reference_ppv(layer, x):
    """The first formulation of the transform: one dilated ``Conv1D`` per
    dilation ("same" padding), then per kernel group the mean of the float32
    comparisons over its steps. Unstandardised proportions."""
    from keras import ops

    parts = []
    for i, dilation in enumerate(layer.dilations):
        kernel = ops.convert_to_tensor(layer._kernel_values[i])
        conv = ops.conv(x, kernel, padding="same", dilation_rate=int(dilation))
        conv = ops.transpose(conv, (0, 2, 1))
        for kernels, (start, stop) in layer._groups(i, 4 * int(dilation)):
            out = ops.take(conv, kernels, axis=1)[:, :, None, start:stop]
            biases = ops.take(layer.biases[i], kernels, axis=0)[None, :, :, None]
            ppv = ops.mean(ops.cast(out > biases, "float32"), axis=-1)
            parts.append(ops.reshape(ppv, (-1, len(kernels) * ppv.shape[-1])))
    return np.concatenate([np.asarray(p) for p in parts], axis=-1)


@pytest.mark.parametrize(
    ("steps", "channels"),
    # 1 and 9: every kernel reads the padded output; 300 and 700: counts in
    # two and three uint8 chunks, 700 with padded steps.
    [(1, 1), (9, 1), (24, 2), (150, 1), (300, 3), (700, 2)],
)
def test_features_match_the_conv1d_formulation(steps, channels):
    x = _series(24, steps, channels, seed=steps)
    layer = MiniRocketFeatures(steps, channels, seed=3)
    layer.adapt(x[:16])
    reference = _reference_ppv(layer, x)
    # The biases' own series (x[:16]) and unseen ones (x[16:]).
    raw = np.asarray(layer._raw_features(keras.ops.convert_to_tensor(x)))
    assert raw.shape == reference.shape == (24, layer.n_features)
    # Proportions of counts: a convolution output within round-off of a bias
    # may flip one count. Allow a handful, each off by exactly one count.
    steps_counted = np.concatenate(
        [
            np.repeat(plan[-1][:, 0], n)
            for plan, n in zip(layer._plans, layer.features_per_dilation, strict=True)
        ]
    )
    off = np.abs(raw - reference) * steps_counted
    flips = off > 1e-3
    assert flips.mean() <= 1e-4
    np.testing.assert_allclose(off[flips], 1.0, rtol=1e-3)
    np.testing.assert_allclose(raw[~flips], reference[~flips], rtol=1e-5, atol=1e-6)
    # Standardised as before: the outputs agree to float32 round-off.
    out = np.asarray(layer(x))
    expected = (reference - layer.feature_mean.numpy()) * layer.feature_scale.numpy()
    np.testing.assert_allclose(out[~flips], expected[~flips], rtol=1e-5, atol=1e-5)


def test_biases_come_from_the_training_data_and_the_seed():
    x = _series(20, 64)
    a = MiniRocketFeatures(64, 1, n_features=840, seed=0)
    b = MiniRocketFeatures(64, 1, n_features=840, seed=0)
    c = MiniRocketFeatures(64, 1, n_features=840, seed=1)
    for layer in (a, b, c):
        layer.adapt(x)
    np.testing.assert_array_equal(a.biases[0].numpy(), b.biases[0].numpy())
    assert not np.array_equal(a.biases[0].numpy(), c.biases[0].numpy())
    d = MiniRocketFeatures(64, 1, n_features=840, seed=0)
    d.adapt(10 * x)
    np.testing.assert_allclose(d.biases[0].numpy(), 10 * a.biases[0].numpy(), rtol=1e-4)


@pytest.mark.parametrize("ragged", [False, True])
def test_features_are_the_same_called_eagerly_and_traced(ragged):
    """adapt reads the features eagerly, predict through a traced function:
    TensorFlow's graph optimiser rewrites a division by a constant, so the
    PPV are written as products, and both give the same bits."""
    import tensorflow as tf

    x = _series(12, 100, 2)
    if ragged:
        mask = np.zeros((12, 100, 1), np.float32)
        for row, length in enumerate(np.linspace(40, 100, 12).astype(int)):
            mask[row, :length] = 1
        x = np.concatenate([x * mask, mask], axis=-1)
    layer = MiniRocketFeatures(
        100,
        2,
        n_features=840,
        difference=True,
        exact=True,
        grid="relative",
        ragged=ragged,
        seed=0,
    )
    layer.adapt(x)
    eager = np.asarray(layer(x))
    traced = tf.function(layer, autograph=False)(tf.constant(x)).numpy()
    np.testing.assert_array_equal(eager, traced)


def test_layer_is_not_trainable_and_round_trips_its_config():
    layer = MiniRocketFeatures(50, 3, n_features=168, seed=4, name="r")
    layer.build((None, 50, 3))
    assert layer.trainable_weights == []
    clone = MiniRocketFeatures.from_config(layer.get_config())
    assert clone.n_features == layer.n_features == 168
    for mine, theirs in zip(layer._kernel_values, clone._kernel_values, strict=True):
        np.testing.assert_array_equal(mine, theirs)


@pytest.mark.parametrize("channels", [1, 3])
def test_difference_series_are_the_unit_variance_first_differences(channels):
    x = _series(20, 64, channels, seed=channels)
    x += np.linspace(0, 5, 64)[None, :, None]  # a trend: differences differ
    layer = MiniRocketFeatures(64, channels, n_features=840, seed=2, difference=True)
    layer.adapt(x)
    steps = np.diff(x, axis=1)
    scale = layer.difference_scale.numpy()
    np.testing.assert_allclose((steps * scale).std(axis=(0, 1)), 1.0, rtol=1e-4)
    # The same transform as a plain layer reading the channels and their
    # scaled differences (first step 0) as 2 * channels channels: the same
    # channel draws, biases and features.
    extended = np.concatenate([x, np.pad(steps, ((0, 0), (1, 0), (0, 0))) * scale], -1)
    plain = MiniRocketFeatures(64, 2 * channels, n_features=840, seed=2)
    plain.adapt(extended)
    np.testing.assert_array_equal(layer.biases[3].numpy(), plain.biases[3].numpy())
    np.testing.assert_allclose(
        np.asarray(layer(x)), np.asarray(plain(extended)), rtol=1e-6, atol=1e-6
    )


def test_networks_read_differences_and_old_configs_do_not():
    _, schema, tasks = _schema_and_tasks()
    model = build_network(
        schema, tasks, **network_kwargs(trunk="rocket", filters=(168,)), random_state=0
    )
    (layer,) = [w for w in model.layers if isinstance(w, MiniRocketFeatures)]
    assert layer.difference and layer.n_series == 4  # ampl, phase, two differences
    config = layer.get_config()
    assert MiniRocketFeatures.from_config(config).difference
    # A layer saved before the differences existed has no such key.
    del config["difference"]
    assert not MiniRocketFeatures.from_config(config).difference
    # trunk="minirocket": the same trunk without them, fixed and split as well.
    plain = build_network(
        schema,
        tasks,
        **network_kwargs(trunk="minirocket", filters=(168,)),
        random_state=0,
    )
    (layer,) = [w for w in plain.layers if isinstance(w, MiniRocketFeatures)]
    assert not layer.difference and layer.n_series == 2
    assert split_frozen_trunk(plain) is not None


def _schema_and_tasks(n=12):
    X = {
        "ampl": _series(n, 40)[..., 0],
        "phase": _series(n, 40, seed=1)[..., 0],
        "temp": np.linspace(0, 1, n),
    }
    y = np.array(["a", "b", "c"] * n)[:n]
    return X, infer_schema(X), TargetEncoder().fit(y).tasks_


def test_rocket_network_shapes_and_frozen_split():
    X, schema, tasks = _schema_and_tasks()
    kwargs = network_kwargs(trunk="rocket", filters=(168,), dense_units=0)
    model = build_network(schema, tasks, **kwargs, random_state=0)
    assert adapt_rocket(model, encode(X, schema)[0]) == 1
    out = model(encode(X, schema)[0])
    assert tuple(out["y"].shape) == (12, 3)
    trunk, heads = split_frozen_trunk(model)
    features = trunk_features(trunk, encode(X, schema)[0])["features"]
    # 168 rocket features of the two stacked signals, then the covariate.
    assert features.shape == (12, 169)
    np.testing.assert_allclose(
        np.asarray(heads({"features": features})["y"]), np.asarray(out["y"]), atol=1e-6
    )
    # The heads share the network's layers: training one trains the other.
    assert heads.get_layer("head_y") is model.get_layer("head_y")


@pytest.mark.parametrize("trunk", ["conv", "fcn"])
def test_trainable_trunks_are_not_split(trunk):
    _, schema, tasks = _schema_and_tasks()
    kwargs = network_kwargs(trunk=trunk, filters=(4,))
    model = build_network(schema, tasks, **kwargs, random_state=0)
    assert split_frozen_trunk(model) is None


def test_dropout_before_the_heads_is_trained_with_them():
    _, schema, tasks = _schema_and_tasks()
    kwargs = network_kwargs(trunk="rocket", filters=(84,), dense_units=0, dropout=0.5)
    model = build_network(schema, tasks, **kwargs, random_state=0)
    trunk, heads = split_frozen_trunk(model)
    assert any(isinstance(layer, keras.layers.Dropout) for layer in heads.layers)
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in trunk.layers)


@pytest.fixture(scope="module")
def rocket_fit():
    from skmtl.datasets import make_sensor_tasks

    X, y = make_sensor_tasks(60, n_steps=48, random_state=0)
    est = MultiTaskConvEstimator(
        trunk="rocket", filters=(168,), epochs=3, random_state=0
    )
    return est.fit(X, y), X, y


def test_fit_trains_heads_and_keeps_the_trunk(rocket_fit):
    est, X, y = rocket_fit
    layer = next(
        layer for layer in est.model_.layers if isinstance(layer, MiniRocketFeatures)
    )
    # Adapted at fit: the biases are no longer their zero initial values.
    assert np.abs(layer.biases[0].numpy()).sum() > 0
    assert len(est.history_["loss"]) == 3
    assert est.predict(X).shape == y.shape


def test_predict_passes_cache_sized_chunks_with_the_same_outputs(
    rocket_fit, monkeypatch
):
    from skmtl.nn import rocket

    est, X, _ = rocket_fit
    expected = est.predict_proba(X)
    state = est.fitted_state_
    traced = state.predict_function()
    sizes = []

    def recording(batch):
        sizes.append(len(next(iter(batch.values()))))
        return traced(batch)

    # A pass budget this small gives the floor of 8 rows a pass.
    monkeypatch.setattr(rocket, "PASS_BYTES", 1)
    monkeypatch.setitem(state.__dict__, "_predict_fn", recording)
    layer = next(rocket.rocket_layers(est.model_))
    assert layer.rows_per_pass == 8
    assert rocket.rows_per_pass(est.model_, 256) == 8
    assert rocket.rows_per_pass(est.model_, 5) == 5
    got = est.predict_proba(X)
    assert sizes == [8] * 7 + [4]  # 60 rows
    for task in expected:
        np.testing.assert_array_equal(got[task], expected[task])
    # On a GPU the comparisons stay in its memory: the passes keep their size.
    import tensorflow as tf

    monkeypatch.setattr(tf.config, "list_logical_devices", lambda kind=None: ["gpu"])
    assert layer.rows_per_pass == float("inf")
    assert rocket.rows_per_pass(est.model_, 256) == 256


def test_save_load_and_export_keep_predictions(rocket_fit, tmp_path):
    from skmtl import load

    est, X, _ = rocket_fit
    path = tmp_path / "rocket.skmtl"
    est.save(path)
    again = load(path)
    np.testing.assert_array_equal(
        again.predict_proba(X)["material"], est.predict_proba(X)["material"]
    )
    est.export(tmp_path / "served")
    rows = {
        name: np.asarray(X[name][:5], np.float32).tolist() for name in X.dtype.names
    }
    code = f"""
    import json, numpy as np, tensorflow as tf
    fn = tf.saved_model.load({str(tmp_path / "served")!r}).signatures["serving_default"]
    rows = json.loads({__import__("json").dumps(rows)!r})
    out = fn(**{{k: tf.constant(np.asarray(v, np.float32)) for k, v in rows.items()}})
    print(json.dumps(out["material_proba"].numpy().tolist()))
    """
    served = np.asarray(__import__("json").loads(run_python(code)))
    np.testing.assert_allclose(
        served, est.predict_proba(X[:5])["material"], rtol=1e-5, atol=1e-6
    )


def test_long_signals_are_averaged_down_before_the_transform():
    from skmtl.nn.rocket import MAX_STEPS

    schema = infer_schema({"ampl": np.zeros((2, 3750))})
    tasks = TargetEncoder().fit(np.array([0, 1])).tasks_
    kwargs = network_kwargs(trunk="rocket", filters=(84,))
    model = build_network(schema, tasks, **kwargs, random_state=0)
    (layer,) = [la for la in model.layers if isinstance(la, MiniRocketFeatures)]
    factor = -(-3750 // MAX_STEPS)
    assert layer.n_steps == 3750 // factor <= MAX_STEPS
    assert any(la.name.endswith("_downsample") for la in model.layers)


def test_every_weighting_trains_the_default_network():
    from skmtl.datasets import make_sensor_tasks

    X, y = make_sensor_tasks(40, n_steps=32, random_state=0)
    for strategy in ("gradnorm", "uncertainty", "dwa"):
        est = MultiTaskConvEstimator(
            filters=(84,), epochs=2, loss_weighting=strategy, random_state=0
        ).fit(X, y)
        assert set(est.task_weights_) == {"material", "density"}
        assert np.isfinite(list(est.task_weights_.values())).all()


def test_gradnorm_without_a_shared_trainable_layer_is_refused_before_training():
    import keras

    from skmtl.datasets import make_sensor_tasks
    from skmtl.nn.network import build_inputs

    def separate_heads(schema, tasks):
        inputs = build_inputs(schema)
        x = keras.layers.Flatten()(inputs["ampl"])
        return keras.Model(
            inputs,
            {
                t.name: keras.layers.Dense(
                    t.units, activation="softmax" if t.units > 1 else None
                )(x)
                for t in tasks
            },
        )

    X, y = make_sensor_tasks(40, n_steps=32, random_state=0)
    est = MultiTaskConvEstimator(
        separate_heads, epochs=1, loss_weighting="gradnorm", random_state=0
    )
    with pytest.raises(ValueError, match="share no weight"):
        est.fit(X, y)


def test_the_features_a_fit_trains_on_are_those_the_network_gives(monkeypatch):
    """The adapt rows' features are computed once (identity scales, then the
    layer's own float32 scaling in NumPy): they must equal, bit for bit, what
    the fitted trunk gives for the same rows, and the scales must equal those
    of adapting the layer on its own."""
    from skmtl import session as session_module
    from skmtl.datasets import make_sensor_tasks
    from skmtl.nn.frozen import FEATURES_INPUT
    from skmtl.nn.rocket import rocket_layers

    seen = {}
    fit = session_module.TrainingSession.fit

    def spy(self, *args, features=None, **kwargs):
        seen["features"] = features
        return fit(self, *args, features=features, **kwargs)

    monkeypatch.setattr(session_module.TrainingSession, "fit", spy)
    X, y = make_sensor_tasks(80, n_steps=64, random_state=0)
    est = MultiTaskConvEstimator(filters=(840,), epochs=1, random_state=0).fit(X, y)
    assert seen["features"] is not None  # computed once, by the estimator
    inputs = encode(X, est.schema_)[0]
    inputs = {k: inputs[k] for k in est.fitted_state_.input_names}
    trunk, _ = split_frozen_trunk(est.model_)
    again = trunk_features(trunk, inputs)[FEATURES_INPUT]
    np.testing.assert_array_equal(seen["features"], again)
    (layer,) = rocket_layers(est.model_)
    mean, scale = layer.feature_mean.numpy(), layer.feature_scale.numpy()
    upstream = keras.Model(est.model_.input, layer.input)
    layer.adapt(np.asarray(upstream(inputs)))
    np.testing.assert_allclose(layer.feature_mean.numpy(), mean, rtol=1e-5)
    np.testing.assert_allclose(layer.feature_scale.numpy(), scale, rtol=1e-5)
