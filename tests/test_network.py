"""Network builders: shapes and structure, without training."""

import inspect
import warnings

import keras
import numpy as np
import pytest

from skmtl import MultiTaskConvEstimator
from skmtl.data.inputs import infer_schema
from skmtl.data.targets import TargetEncoder
from skmtl.nn.network import (
    NETWORK_PARAMETERS,
    build_inputs,
    build_network,
    check_heads,
    conv_trunk,
    inapplicable_parameters,
    layer_seeds,
    model_input_names,
    task_heads,
    warn_inapplicable,
    with_task_outputs,
)
from skmtl.nn.rocket import MiniRocketFeatures

from .conftest import network_kwargs


def _tasks(n=16):
    labels = np.array(["a", "b", "c"] * n)[:n]
    binary = np.array([0, 1] * n)[:n]
    y = np.column_stack([labels, binary, np.linspace(0, 1, n)]).astype(object)
    y[:, 2] = y[:, 2].astype(float)
    return TargetEncoder(["classification", "classification", "regression"]).fit(y)


@pytest.mark.parametrize("n_steps", [1, 8, 100, 1500, 100_000])
def test_any_signal_length_gives_a_feature_vector(n_steps):
    schema = infer_schema({"ampl": np.random.rand(2, n_steps).astype("float32")})
    tasks = _tasks().tasks_
    model = build_network(
        schema, tasks, **network_kwargs(trunk="conv", filters=(4,) * 6), random_state=0
    )
    out = model.predict_on_batch({"ampl": np.random.rand(2, n_steps, 1)})
    assert out["y0"].shape == (2, 3)
    assert np.all(np.isfinite(out["y2"]))


def test_heads_fit_task_kinds():
    schema = infer_schema({"s": np.random.rand(4, 32), "t": np.random.rand(4)})
    model = build_network(
        schema,
        _tasks().tasks_,
        **network_kwargs(trunk="conv", filters=(4,)),
        random_state=0,
    )
    shapes = {name: tuple(t.shape) for name, t in model.output.items()}
    assert shapes == {"y0": (None, 3), "y1": (None, 1), "y2": (None, 1)}
    assert model.get_layer("head_y0").activation is keras.activations.softmax
    assert model.get_layer("head_y1").activation is keras.activations.sigmoid
    assert model.get_layer("head_y2").activation is keras.activations.linear
    out = model.predict_on_batch({"s": np.random.rand(4, 32, 1), "t": np.ones((4, 1))})
    np.testing.assert_allclose(out["y0"].sum(axis=1), 1.0, rtol=1e-5)
    assert np.all((out["y1"] > 0) & (out["y1"] < 1))


def test_inputs_named_after_fields_and_signals_grouped_by_length():
    X = {
        "ampl": np.random.rand(4, 64),
        "phase": np.random.rand(4, 64),
        "accel": np.random.rand(4, 16, 3),
        "temp": np.random.rand(4),
        "weight": np.random.rand(4),
    }
    schema = infer_schema(X)
    kwargs = network_kwargs(trunk="conv", filters=(4, 8))
    model = build_network(schema, _tasks().tasks_, **kwargs, random_state=0)
    assert sorted(t.name for t in model.inputs) == sorted(X)
    names = {layer.name for layer in model.layers}
    # ampl and phase (64 steps) share one branch; accel (16 steps) has its own.
    assert {"branch64_stack", "branch64_conv0", "branch16_conv0"} <= names
    assert "branch16_stack" not in names
    assert model.get_layer("accel").output.shape == (None, 16, 3)


def test_normalisation_uses_fit_statistics():
    X = {"ampl": 100 + 5 * np.random.rand(50, 32), "temp": 0.1 * np.random.rand(50)}
    schema = infer_schema(X)
    model = build_network(
        schema,
        _tasks().tasks_,
        **network_kwargs(trunk="conv", filters=(4,)),
        random_state=0,
    )
    norm = keras.Model(model.input, model.get_layer("ampl_norm").output)
    out = norm.predict_on_batch(
        {"ampl": X["ampl"][..., None], "temp": X["temp"][:, None]}
    )
    assert abs(out.mean()) < 1e-3
    assert abs(out.std() - 1) < 1e-2


def test_pooling_stops_before_the_signal_collapses():
    schema = infer_schema({"s": np.random.rand(2, 10)})
    kwargs = network_kwargs(trunk="conv", filters=(4, 4, 4), pool_size=4)
    model = build_network(schema, _tasks().tasks_, **kwargs, random_state=0)
    pools = [layer for layer in model.layers if "pool" in layer.name]
    assert len(pools) == 1  # 10 -> 2 steps; a second pool would reach 0


def test_same_seed_same_weights_and_none_differs():
    schema = infer_schema({"s": np.random.rand(4, 16)})
    tasks = _tasks().tasks_

    def weights(seed):
        kwargs = network_kwargs(trunk="conv", filters=(4,))
        return build_network(schema, tasks, **kwargs, random_state=seed).get_weights()

    for a, b in zip(weights(3), weights(3), strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(
        not np.array_equal(a, b) for a, b in zip(weights(3), weights(4), strict=True)
    )
    assert next(layer_seeds(None)) is None


def test_covariates_only_network():
    schema = infer_schema({"t": np.random.rand(8), "m": np.random.rand(8)})
    model = build_network(schema, _tasks().tasks_, **network_kwargs(), random_state=0)
    out = model.predict_on_batch({"t": np.ones((8, 1)), "m": np.ones((8, 1))})
    assert out["y0"].shape == (8, 3)


def _user_model(head_units, activation="softmax", input_name="s"):
    inp = keras.Input((16, 1), name=input_name)
    x = keras.layers.GlobalAveragePooling1D()(inp)
    return keras.Model(inp, keras.layers.Dense(head_units, activation=activation)(x))


def _one_task(n_classes):
    return TargetEncoder().fit(np.arange(12) % n_classes).tasks_


def test_dense1_softmax_head_is_refused_with_the_fix():
    schema = infer_schema({"s": np.random.rand(12, 16)})
    model = with_task_outputs(_user_model(1), _one_task(5))
    with pytest.raises(ValueError, match=r"Dense\(1, activation='softmax'\).*Dense\(5"):
        check_heads(model, _one_task(5), {"s": np.random.rand(4, 16, 1)})
    binary = with_task_outputs(_user_model(1), _one_task(2))
    with pytest.raises(ValueError, match=r"always outputs 1\.0"):
        check_heads(binary, _one_task(2), {"s": np.random.rand(4, 16, 1)})
    assert schema.names == ["s"]


def test_wrong_width_and_non_probability_heads_are_refused():
    sample = {"s": np.random.rand(4, 16, 1)}
    with pytest.raises(ValueError, match="has 3 classes but its head has 4 units"):
        check_heads(
            with_task_outputs(_user_model(4), _one_task(3)), _one_task(3), sample
        )
    linear = with_task_outputs(_user_model(3, activation="linear"), _one_task(3))
    with pytest.raises(ValueError, match="must output class probabilities"):
        check_heads(linear, _one_task(3), sample)
    ok = with_task_outputs(_user_model(3), _one_task(3))
    check_heads(ok, _one_task(3), sample)  # a correct head passes


def test_input_not_in_schema_and_unmatched_outputs_are_refused():
    schema = infer_schema({"ampl": np.random.rand(12, 16)})
    with pytest.raises(
        ValueError, match=r"input\(s\) \['amplitude'\].*fields are \['ampl'\]"
    ):
        model_input_names(_user_model(3, input_name="amplitude"), schema)
    inp = keras.Input((16, 1), name="ampl")
    x = keras.layers.GlobalAveragePooling1D()(inp)
    two = keras.Model(
        inp, {"a": keras.layers.Dense(3, "softmax")(x), "b": keras.layers.Dense(1)(x)}
    )
    tasks = (
        TargetEncoder()
        .fit(np.column_stack([np.arange(12) % 3, np.arange(12.0)]))
        .tasks_
    )
    with pytest.raises(ValueError, match=r"no output for \['y0', 'y1'\]"):
        with_task_outputs(two, tasks)


def test_binary_task_needs_one_sigmoid_unit():
    sample = {"s": np.random.rand(4, 16, 1)}
    two = with_task_outputs(_user_model(2), _one_task(2))
    with pytest.raises(
        ValueError, match=r"head has 2 units; use Dense\(1, activation="
    ):
        check_heads(two, _one_task(2), sample)


@pytest.mark.parametrize(
    ("trunk", "convs", "widths"),
    [("fcn", 3, [128, 256, 128]), ("resnet", 12, [64, 64, 64, 64, 128])],
)
def test_published_trunks_have_their_published_shape(trunk, convs, widths):
    schema = infer_schema({"s": np.random.rand(2, 64)})
    model = build_network(
        schema, _tasks().tasks_, **network_kwargs(trunk=trunk), random_state=0
    )
    conv_layers = [
        layer for layer in model.layers if isinstance(layer, keras.layers.Conv1D)
    ]
    assert len(conv_layers) == convs  # resnet: 3 blocks x (3 convs + shortcut)
    assert [layer.filters for layer in conv_layers][: len(widths)] == widths
    kernels = {layer.kernel_size[0] for layer in conv_layers}
    assert kernels <= {1, 8, 5, 3} and {8, 5, 3} <= kernels
    assert not any("pool" in layer.name for layer in model.layers)
    out = model.predict_on_batch({"s": np.random.rand(2, 64, 1)})
    assert out["y0"].shape == (2, 3)


# ------------------------------------------------ parameters and their trunks
def test_builders_take_every_parameter_from_the_estimator():
    """No builder restates an estimator default: each value must be passed."""
    builders = {
        build_network: set(NETWORK_PARAMETERS) | {"random_state"},
        conv_trunk: {"trunk", "filters", "kernel_size", "pool_size"},
        task_heads: {"dense_units", "dropout"},
    }
    for builder, names in builders.items():
        parameters = inspect.signature(builder).parameters
        for name in names:
            assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY, name
            assert parameters[name].default is inspect.Parameter.empty, (
                builder.__name__,
                name,
            )
    # Exactly the estimator's parameters: none missing, none of the builder's own.
    keyword = {
        name
        for name, p in inspect.signature(build_network).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }
    assert keyword == set(NETWORK_PARAMETERS) | {"random_state"}
    assert set(NETWORK_PARAMETERS) <= set(MultiTaskConvEstimator().get_params())


def _rocket_layer(model):
    (layer,) = [la for la in model.layers if isinstance(la, MiniRocketFeatures)]
    return layer


@pytest.mark.parametrize("trunk", ["rocket", "minirocket"])
def test_rocket_trunks_warn_about_the_filters_they_drop(trunk):
    schema = infer_schema({"s": np.random.rand(4, 32)})
    kwargs = network_kwargs(trunk=trunk, filters=(168, 8, 16))
    with pytest.warns(UserWarning, match=r"filters=\(168, 8, 16\)") as record:
        model = build_network(schema, _tasks().tasks_, **kwargs, random_state=0)
    (warning,) = record
    message = str(warning.message)
    assert f"the {trunk!r} trunk reads one number" in message
    assert "uses 168 and drops (8, 16)" in message
    assert _rocket_layer(model).n_features == 168  # the first value, as said


@pytest.mark.parametrize("trunk", ["rocket", "minirocket"])
def test_rocket_trunks_warn_when_asked_for_fewer_features_than_kernels(trunk):
    schema = infer_schema({"s": np.random.rand(4, 32)})
    kwargs = network_kwargs(trunk=trunk, filters=(4,))
    with pytest.warns(UserWarning, match=r"filters=\(4,\)") as record:
        model = build_network(schema, _tasks().tasks_, **kwargs, random_state=0)
    (warning,) = record
    assert "at least 84 features (one per kernel), so it uses 84" in str(
        warning.message
    )
    assert _rocket_layer(model).n_features == 84  # as said


def test_the_filters_warning_points_at_the_users_call():
    schema = infer_schema({"s": np.random.rand(4, 32)})
    with pytest.warns(UserWarning, match="drops") as record:
        conv_trunk(
            build_inputs(schema),
            schema,
            trunk="rocket",
            filters=(84, 8),
            kernel_size=7,
            pool_size=4,
        )
    assert record[0].filename == __file__


@pytest.mark.parametrize(
    ("trunk", "filters"),
    [("rocket", (168,)), ("rocket", None), ("conv", (4, 8)), ("fcn", (4, 4))],
)
def test_filters_each_trunk_reads_whole_build_without_a_warning(trunk, filters):
    schema = infer_schema({"s": np.random.rand(4, 32)})
    kwargs = network_kwargs(trunk=trunk, filters=filters)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        build_network(schema, _tasks().tasks_, **kwargs, random_state=0)


_DEFAULTS = MultiTaskConvEstimator().get_params()
_CHANGED = {**_DEFAULTS, "kernel_size": 3, "pool_size": 2}


@pytest.mark.parametrize("trunk", ["rocket", "minirocket", "fcn", "resnet"])
def test_kernel_and_pool_sizes_are_inapplicable_but_to_conv(trunk):
    assert inapplicable_parameters(trunk, _CHANGED, _DEFAULTS) == [
        "kernel_size",
        "pool_size",
    ]
    # At their defaults they say nothing, and "conv" reads them.
    assert inapplicable_parameters(trunk, _DEFAULTS, _DEFAULTS) == []
    assert inapplicable_parameters("conv", _CHANGED, _DEFAULTS) == []
    only_pool = {**_DEFAULTS, "pool_size": 2}
    assert inapplicable_parameters(trunk, only_pool, _DEFAULTS) == ["pool_size"]


def test_a_parameter_without_a_default_counts_as_changed():
    assert inapplicable_parameters("rocket", {"kernel_size": 7}, {}) == ["kernel_size"]
    with pytest.raises(ValueError, match="trunk='lstm'; expected one of"):
        inapplicable_parameters("lstm", _CHANGED, _DEFAULTS)


def test_one_warning_names_each_inapplicable_parameter_and_the_trunk():
    with pytest.warns(UserWarning) as record:
        warn_inapplicable("rocket", _CHANGED, _DEFAULTS)
    (warning,) = record
    message = str(warning.message)
    assert message.startswith(
        "kernel_size=3 and pool_size=2 have no effect with trunk='rocket'"
    )
    assert "MiniRocket's kernels are 9 steps long" in message
    with pytest.warns(UserWarning, match=r"^pool_size=2 has no effect .*'resnet'"):
        warn_inapplicable("resnet", {**_DEFAULTS, "pool_size": 2}, _DEFAULTS)


@pytest.mark.parametrize(
    ("trunk", "given"), [("conv", _CHANGED), ("rocket", _DEFAULTS)]
)
def test_applicable_or_default_parameters_do_not_warn(trunk, given):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warn_inapplicable(trunk, given, _DEFAULTS)
