"""Values given to public methods that once gave a silent wrong answer (issue 25).

Each case that is refused with an error is a row of the catalogue in
``tests/test_bad_inputs.py``; the cases here trained, predicted or scored
without a word, and now give the right answer.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from skmtl import MultiTaskConvEstimator, load
from skmtl.datasets import make_sensor_tasks

from .conftest import TINY, TINY_CONV

N, STEPS = 60, 32


def _est(**params) -> MultiTaskConvEstimator:
    return MultiTaskConvEstimator(**{**TINY, "epochs": 2, "random_state": 0, **params})


@pytest.fixture(scope="module")
def data():
    return make_sensor_tasks(N, n_steps=STEPS, random_state=0)


def _in_units(X, factor: float) -> dict[str, np.ndarray]:
    """Every field of X multiplied by ``factor`` (a change of units)."""
    return {name: X[name] * factor for name in X.dtype.names}


@pytest.mark.parametrize("factor", [1e-15, 1e20])
@pytest.mark.parametrize("trunk", ["rocket", "conv"])
def test_units_of_the_inputs_do_not_change_the_model(data, factor, trunk):
    """Signals and covariates in tiny or huge SI units train as in units of 1.

    An absolute floor once took a field of spread 1e-14 for a constant, and
    float32 normalisation (Keras divides by max(std, 1e-7)) could not divide
    out such spreads: the fields were ignored (probabilities 0.65 apart).
    """
    X, y = data
    network = TINY_CONV if trunk == "conv" else {"trunk": trunk}
    reference = _est(**network).fit(_in_units(X, 1.0), y)
    scaled = _est(**network).fit(_in_units(X, factor), y)
    np.testing.assert_allclose(
        scaled.predict_proba(_in_units(X, factor))["material"],
        reference.predict_proba(_in_units(X, 1.0))["material"],
        atol=1e-5,
    )


def test_a_variable_length_signal_in_tiny_units_trains_as_in_units_of_one(data):
    X, y = data
    lengths = STEPS - np.arange(N) % 8

    def ragged(factor):
        return {"ampl": [X["ampl"][i, : lengths[i]] * factor for i in range(N)]}

    reference = _est().fit(ragged(1.0), y).predict_proba(ragged(1.0))["material"]
    scaled = _est().fit(ragged(1e-15), y).predict_proba(ragged(1e-15))["material"]
    np.testing.assert_allclose(scaled, reference, atol=1e-5)


def test_a_field_in_tiny_units_survives_save_load_and_export(data, tmp_path):
    X, y = data
    X_tiny = _in_units(X, 1e-15)
    est = _est(epochs=1).fit(X_tiny, y)
    assert est.schema_["ampl"].scale  # rescaled before the float32 cast
    est.save(tmp_path / "model.skmtl")
    loaded = load(tmp_path / "model.skmtl")
    assert loaded.schema_ == est.schema_
    expected = est.predict(X_tiny)
    assert (loaded.predict(X_tiny) == expected).all().all()
    est.export(tmp_path / "served")
    serve = tf.saved_model.load(str(tmp_path / "served")).signatures["serving_default"]
    out = serve(**{name: tf.constant(v, tf.float32) for name, v in X_tiny.items()})
    np.testing.assert_allclose(
        out["density"].numpy(), expected["density"].to_numpy(), rtol=1e-4
    )


def test_a_huge_uniform_sample_weight_trains_like_a_uniform_weight_of_one(data):
    """Weights are relative: their sum once overflowed to infinity, every
    weight became 0 and the model stayed untrained (loss 0.0)."""
    X, y = data
    ones = _est().fit(X, y, sample_weight=np.ones(N))
    huge = _est().fit(X, y, sample_weight=np.full(N, 1e307))
    np.testing.assert_allclose(huge.history_["loss"], ones.history_["loss"])
    np.testing.assert_allclose(
        huge.predict_proba(X)["material"], ones.predict_proba(X)["material"]
    )


def test_score_checks_sample_weight_as_fit_does(data):
    """One check for fit and score: relative, so scaling them changes nothing."""
    X, y = data
    est = _est(epochs=1).fit(X, y)
    weights = np.linspace(0.5, 2.0, N)
    assert est.score(X, y, sample_weight=weights * 1e307) == pytest.approx(
        est.score(X, y, sample_weight=weights)
    )
