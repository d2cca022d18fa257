"""The fit recipe's steps, each on its own (skmtl.estimator.recipe), and the
one parameter table they read (skmtl.estimator.parameters)."""

import inspect
import warnings

import numpy as np
import pytest

from skmtl import MultiTaskConvEstimator
from skmtl.datasets import make_sensor_tasks
from skmtl.estimator import recipe
from skmtl.estimator.parameters import (
    ARCHITECTURE,
    CONSTRAINTS,
    DEFAULTS,
    PARAMETERS,
    ROLES,
)
from skmtl.training.session import TrainingConfig

from .conftest import TINY


@pytest.fixture(scope="module")
def data():
    return make_sensor_tasks(80, n_steps=32, random_state=0)


def _settings(**params):
    est = MultiTaskConvEstimator(**{**TINY, "random_state": 0, **params})
    return est._settings()


# ------------------------------------------------------------ the table
def test_init_signature_is_the_table():
    signature = inspect.signature(MultiTaskConvEstimator.__init__).parameters
    names = [n for n in signature if n not in ("self", "kwargs")]
    assert names == [p.name for p in PARAMETERS]
    assert {n: signature[n].default for n in names} == dict(DEFAULTS)
    assert MultiTaskConvEstimator._parameter_constraints.keys() == CONSTRAINTS.keys()


def test_every_parameter_has_a_role_help_and_documentation():
    for p in PARAMETERS:
        assert p.role in ROLES, p.name
        assert p.help and p.doc and p.type, p.name
        assert f"    {p.name} : {p.type}, default=" in MultiTaskConvEstimator.__doc__


def test_architecture_parameters_are_those_a_warm_start_refuses(data):
    X, y = data
    est = MultiTaskConvEstimator(**TINY, random_state=0, warm_start=True).fit(X, y)
    assert set(est.fitted_state_.build_key) == set(ARCHITECTURE)
    with pytest.raises(ValueError, match=r"\['dropout'\] changed"):
        est.set_params(dropout=0.5).fit(X, y)


def test_training_config_reads_every_training_parameter():
    params = MultiTaskConvEstimator(
        learning_rate=0.05, fit__validation_split=0.2, loss_weights__density=3.0
    ).get_params()
    config = TrainingConfig.of(params)
    assert config.learning_rate == 0.05
    assert config.fit_params == {"validation_split": 0.2}
    assert config.loss_weights == {"density": 3.0}
    for p in PARAMETERS:
        if p.role == "training":
            assert hasattr(config, p.name), p.name


# ------------------------------------------------------------ the steps
def test_encode_step_learns_schema_and_tasks_on_a_first_fit(data):
    X, y = data
    settings = _settings()
    encoded = recipe.encode_data(settings.params, X, y, None, None, None)
    assert [t.name for t in encoded.tasks] == ["material", "density"]
    assert encoded.n_samples == 80
    assert set(encoded.inputs) == set(X.dtype.names)


def test_split_step_holds_out_the_same_rows_for_the_same_salt(data):
    X, y = data
    settings = _settings(early_stopping=True, validation_fraction=0.25)
    encoded = recipe.encode_data(settings.params, X, y, None, None, None)
    first = recipe.split_rows(settings, encoded, None, stream=False)
    again = recipe.split_rows(settings, encoded, None, stream=False)
    assert len(first.validation) == 20
    np.testing.assert_array_equal(first.validation, again.validation)
    assert not set(first.train) & set(first.validation)


def test_build_model_step_builds_the_default_network_from_the_parameters(data):
    X, y = data
    settings = _settings()
    encoded = recipe.encode_data(settings.params, X, y, None, None, None)
    model = recipe.build_model(settings.params, encoded.schema, encoded.tasks, 0)
    assert {"head_material", "head_density"} <= {layer.name for layer in model.layers}


def test_a_custom_builder_with_default_network_parameters_warns():
    def builder(schema, tasks):
        raise AssertionError("not reached")

    est = MultiTaskConvEstimator(model=builder, dropout=0.3)
    with pytest.warns(UserWarning, match="dropout=0.3 acts only with model=None") as w:
        est._settings()
    assert "model__" in str(w[0].message)
    assert w[0].filename == __file__


def test_a_fit_that_raises_leaves_no_state_and_a_closed_session(data):
    X, y = data
    est = MultiTaskConvEstimator(**TINY, random_state=0, epochs=1).fit(X, y)
    state, session = est.fitted_state_, est._session

    class Boom(Exception):
        pass

    import keras

    class Raise(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            raise Boom

    est.set_params(warm_start=True, callbacks=[Raise()])
    with pytest.raises(Boom):
        est.fit(X, y)
    assert est.fitted_state_ is state
    assert not est._session.fits(TrainingConfig.of(est.get_params()), state.model)
    assert session is est._session


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"dwa_temperature": 5.0}, "dwa_temperature=5.0 acts only with loss_weighting"),
        ({"n_iter_no_change": 2}, "n_iter_no_change=2 acts only with early_stopping"),
        ({"validation_fraction": 0.3}, "validation_fraction=0.3 acts only with"),
    ],
)
def test_a_parameter_whose_switch_is_off_warns_before_training(params, named):
    with pytest.warns(UserWarning, match=named) as caught:
        MultiTaskConvEstimator(**params)._settings()
    assert caught[0].filename == __file__


def test_a_parameter_whose_switch_is_on_is_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        MultiTaskConvEstimator(loss_weighting="dwa", dwa_temperature=5.0)._settings()
        MultiTaskConvEstimator(early_stopping=True, n_iter_no_change=2)._settings()
