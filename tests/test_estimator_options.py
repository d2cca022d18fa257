"""Documented estimator options that change what fit builds or how it seeds.

Custom ``model=`` builders (their ``model__*`` parameters and their errors),
``partial_fit(classes=)``, ``random_state`` as a ``RandomState``, the
``non_deterministic`` tag, ``dense_units=0`` (chained heads), fitting the ``fcn`` and
``resnet`` trunks, ``tasks="classification"`` and stratified ``cv=int``, and
the persistence edges: ``save`` before ``fit``, refitting a loaded estimator,
a file without its network. Every fit is a tiny one.
"""

from __future__ import annotations

import zipfile

import keras
import numpy as np
import pytest
from sklearn.base import is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import KFold, StratifiedKFold, check_cv
from sklearn.utils import get_tags

from skmtl import MultiTaskConvEstimator, load
from skmtl.persistence import SkmtlFileError

from .conftest import TINY_CONV

pytestmark = pytest.mark.filterwarnings(
    "ignore:Task .* predicts the single class:UserWarning"
)


def _est(**params) -> MultiTaskConvEstimator:
    # The conv trunk, which reads every one of TINY_CONV's parameters; a
    # custom builder reads none of them (they would warn).
    network = {} if "model" in params else TINY_CONV
    settings = {**network, "batch_size": TINY_CONV["batch_size"], "epochs": 1}
    return MultiTaskConvEstimator(**{**settings, "random_state": 0, **params})


def _heads(tasks, x, widths=None) -> dict:
    """One correct head per task (``widths`` overrides a task's width)."""
    widths = widths or {}
    out = {}
    for t in tasks:
        if t.kind == "regression":
            activation = None
        else:
            activation = "sigmoid" if t.is_binary else "softmax"
        out[t.name] = keras.layers.Dense(
            widths.get(t.name, t.units), activation=activation
        )(x)
    return out


def _inputs(schema) -> tuple[dict, object]:
    inputs = {f.name: keras.Input(f.shape, name=f.name) for f in schema.fields}
    flat = [keras.layers.Flatten()(inputs[f.name]) for f in schema.fields]
    return inputs, keras.layers.Concatenate()(flat)


def hidden_layer_builder(schema, tasks, width=2, activation="relu"):
    """A dense network whose hidden layer's width and activation are parameters."""
    inputs, x = _inputs(schema)
    x = keras.layers.Dense(width, activation=activation, name="hidden")(x)
    return keras.Model(inputs, _heads(tasks, x))


# ---------------------------------------------------------- custom builders
def test_model_parameters_reach_the_builder(sensor_data):
    X, y = sensor_data
    est = _est(
        model=hidden_layer_builder, model__width=5, model__activation="tanh"
    ).fit(X, y)
    hidden = est.model_.get_layer("hidden")
    assert (hidden.units, hidden.activation.__name__) == (5, "tanh")
    assert est.get_params()["model__width"] == 5
    # set_params of a routed name reaches the next fit's builder.
    est.set_params(model__width=3).fit(X, y)
    assert est.model_.get_layer("hidden").units == 3


def _not_a_model(schema, tasks):
    _, x = _inputs(schema)
    return _heads(tasks, x)  # a dict of tensors, not a keras.Model


def _wide_regression_head(schema, tasks):
    inputs, x = _inputs(schema)
    return keras.Model(inputs, _heads(tasks, x, widths={"density": 2}))


def _outputs_by_position(schema, tasks):
    inputs, x = _inputs(schema)
    heads = _heads(tasks, x)
    return keras.Model(inputs, {"out0": heads["material"], "out1": heads["density"]})


@pytest.mark.parametrize(
    ("builder", "error", "message"),
    [
        (_not_a_model, TypeError, "The model builder returned dict; it must return"),
        (
            _wide_regression_head,
            ValueError,
            r"Regression task 'density' needs a head of 1 unit\(s\); the model's has 2",
        ),
        (
            _outputs_by_position,
            ValueError,
            r"outputs are named \['out0', 'out1'\], but the tasks are "
            r"\['material', 'density'\]: no output for \['material', 'density'\]",
        ),
    ],
    ids=["not-a-model", "regression-head-width", "outputs-not-named-after-tasks"],
)
def test_custom_builder_errors(sensor_data, builder, error, message):
    X, y = sensor_data
    with pytest.raises(error, match=message):
        _est(model=builder).fit(X, y)


# ------------------------------------------------------------- partial_fit
def test_partial_fit_classes_declares_labels_the_first_batch_lacks(sensor_data):
    X, y = sensor_data
    classes = sorted(set(y["material"]))
    first = (y["material"] != classes[-1]).to_numpy()
    est = _est()
    est.partial_fit(X[first], y[first], classes={"material": classes})
    assert est.classes_["material"].tolist() == classes
    assert est.predict_proba(X)["material"].shape == (len(X), len(classes))
    # The second batch holds the missing class: no error, one more epoch.
    est.partial_fit(X, y)
    assert len(est.history_["loss"]) == 2
    # Without classes=, the network only knows the classes it saw first.
    seen_only = _est().partial_fit(X[first], y[first])
    assert seen_only.classes_["material"].tolist() == classes[:-1]


# ------------------------------------------------------------ random_state
def test_random_state_instance_gives_a_new_network_at_each_refit(sensor_data):
    X, y = sensor_data

    def two_fits(random_state):
        est = _est(random_state=random_state)
        first = est.fit(X, y).predict_proba(X)["material"]
        second = est.fit(X, y).predict_proba(X)["material"]
        return first, second

    first, second = two_fits(np.random.RandomState(0))
    assert not np.array_equal(first, second)  # the instance moved on
    again, _ = two_fits(np.random.RandomState(0))
    np.testing.assert_array_equal(again, first)  # the same sequence of networks


def test_non_deterministic_tag_follows_random_state():
    assert get_tags(MultiTaskConvEstimator()).non_deterministic is True
    assert get_tags(MultiTaskConvEstimator(random_state=0)).non_deterministic is False


# --------------------------------------------------------------- networks
def test_dense_units_0_chains_the_heads(sensor_data):
    X, y = sensor_data
    names = [layer.name for layer in _est(dense_units=0).fit(X, y).model_.layers]
    # One shared layer of every task's logits; heads read all task outputs.
    assert {"shared_dense", "task_outputs", "task_chain"} <= set(names)
    with_dense = [layer.name for layer in _est().fit(X, y).model_.layers]
    assert "shared_dense" in with_dense and "task_chain" not in with_dense
    # GradNorm balances the gradients on the shared layer.
    est = _est(dense_units=0, loss_weighting="gradnorm", epochs=2).fit(X, y)
    assert np.isfinite(est.history_["gradnorm_material"]).all()
    assert sum(est.task_weights_.values()) == pytest.approx(2.0, rel=1e-5)


# The two 32-step signals share one branch: FCN has one conv per block, ResNet
# three per block and a 1x1 shortcut.
@pytest.mark.parametrize(("trunk", "n_convs"), [("fcn", 2), ("resnet", 8)])
def test_published_trunks_train_and_predict(trunk, n_convs):
    from skmtl.datasets import make_sensor_tasks

    X, y = make_sensor_tasks(48, n_steps=32, random_state=0)
    # One block per entry of filters: two small blocks.
    est = MultiTaskConvEstimator(
        trunk=trunk, filters=(4, 4), dense_units=4, epochs=2, random_state=0
    ).fit(X, y)
    convs = [la for la in est.model_.layers if isinstance(la, keras.layers.Conv1D)]
    assert len(convs) == n_convs
    assert {c.filters for c in convs} == {4}
    assert len(est.history_["loss"]) == 2
    assert np.isfinite(est.history_["loss"]).all()
    pred = est.predict(X)
    assert set(pred["material"]) <= set(y["material"])
    assert np.isfinite(pred["density"]).all()


# ------------------------------------------------------- tasks and splitting
def test_tasks_classification_makes_cv_int_stratify():
    labels = np.array(["a", "b", "c"] * 10)
    single = MultiTaskConvEstimator(tasks="classification")
    assert is_classifier(single)
    assert isinstance(
        check_cv(3, labels, classifier=is_classifier(single)), StratifiedKFold
    )
    multi = MultiTaskConvEstimator()
    assert not is_classifier(multi)
    assert isinstance(check_cv(3, labels, classifier=is_classifier(multi)), KFold)


# ------------------------------------------------------------- persistence
def test_save_before_fit_is_refused_and_writes_nothing(tmp_path):
    with pytest.raises(NotFittedError):
        MultiTaskConvEstimator().save(tmp_path / "model.skmtl")
    assert list(tmp_path.iterdir()) == []


def test_a_loaded_estimator_refits(fitted, sensor_data, tmp_path):
    X, y = sensor_data
    fitted.save(tmp_path / "model.skmtl")
    loaded = load(tmp_path / "model.skmtl")
    before = loaded.predict_proba(X)["material"]
    loaded.set_params(epochs=3).fit(X, y)
    assert loaded.n_epochs_ == 3 and len(loaded.history_["loss"]) == 3
    assert not np.array_equal(loaded.predict_proba(X)["material"], before)
    # A fresh fit from the same parameters as the saved estimator's.
    np.testing.assert_array_equal(
        loaded.predict_proba(X)["material"],
        MultiTaskConvEstimator(**loaded.get_params())
        .fit(X, y)
        .predict_proba(X)["material"],
    )


def test_a_file_without_its_network_names_it(fitted, tmp_path):
    fitted.save(tmp_path / "model.skmtl")
    with (
        zipfile.ZipFile(tmp_path / "model.skmtl") as full,
        zipfile.ZipFile(tmp_path / "no_network.skmtl", "w") as cut,
    ):
        for name in full.namelist():
            if name != "model.keras":
                cut.writestr(name, full.read(name))
    with pytest.raises(SkmtlFileError, match=r"model\.keras"):
        load(tmp_path / "no_network.skmtl")


# ------------------------------------------------------------ forms of X
def test_every_form_of_the_same_data_gives_the_same_predictions(sensor_data):
    import pandas as pd
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y = sensor_data
    as_dict = {name: X[name] for name in X.dtype.names}
    as_frame = pd.DataFrame(
        {n: list(v) if v.ndim > 1 else v for n, v in as_dict.items()}
    )
    reference = _est().fit(X, y)
    expected = reference.predict_proba(X)["material"]
    for form in (as_dict, as_frame):
        est = _est().fit(form, y)
        np.testing.assert_array_equal(est.predict_proba(form)["material"], expected)
        # And a network fitted on one form predicts any other form the same.
        np.testing.assert_array_equal(
            reference.predict_proba(form)["material"], expected
        )
    # A pass-through step in a Pipeline changes nothing either.
    pipe = make_pipeline(FunctionTransformer(), _est()).fit(X, y)
    np.testing.assert_array_equal(pipe.predict_proba(X)["material"], expected)
    assert pipe.score(X, y) == pytest.approx(reference.score(X, y))
