"""est.explain and skmtl.inspect.explain: shapes, targets, batching, every trunk, and
the sanity checks of Adebayo et al. (2018) on a planted informative window."""

import keras
import numpy as np
import pytest

from skmtl import MultiTaskConvEstimator
from skmtl.datasets import make_sensor_tasks
from skmtl.estimator.recipe import build_model
from skmtl.inspect.explain import METHODS, occlusion_windows
from skmtl.nn.heads import with_task_outputs

from .conftest import TINY_CONV

N_STEPS, WINDOW = 256, (100, 150)


def planted(n, seed):
    """The class (3) lives only in steps 100-150 of 256: a sine burst of a
    class-specific frequency; unit noise elsewhere, and a class-free burst
    outside the window in half of the samples (benchmarks/explain_uncertainty)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, N_STEPS))
    y = np.arange(n) % 3
    length = WINDOW[1] - WINDOW[0]
    envelope = 2.0 * np.hanning(length)
    t = np.arange(length)
    for i in range(n):
        phase = rng.random()
        burst = np.sin(2 * np.pi * (0.05, 0.1, 0.2)[y[i]] * t + phase)
        x[i, WINDOW[0] : WINDOW[1]] += envelope * burst
        if rng.random() < 0.5:
            start = rng.choice(
                [
                    rng.integers(0, WINDOW[0] - length + 1),
                    rng.integers(WINDOW[1], N_STEPS - length + 1),
                ]
            )
            x[i, start : start + length] += envelope * np.sin(2 * np.pi * 0.3 * t)
    return {"x": x.astype(np.float32)}, y


def share_inside(relevance):
    inside = relevance[:, WINDOW[0] : WINDOW[1]].sum(axis=1)
    return float(np.mean(inside / relevance.sum(axis=1)))


@pytest.fixture(scope="module")
def window_model():
    """The default conv network on 600 samples (the one slow fit here, ~30 s)."""
    X, y = planted(600, 0)
    est = MultiTaskConvEstimator(trunk="conv", epochs=20, random_state=0)
    return est.fit(X, y), planted(90, 1)


def test_relevance_falls_in_the_planted_window(window_model):
    est, (X, y) = window_model
    assert est.score(X, y) > 0.9  # the map explains a model that works
    share = share_inside(est.explain(X)["x"])
    random = (WINDOW[1] - WINDOW[0]) / N_STEPS
    assert share > 0.5, (share, random)


def test_relevance_changes_when_the_weights_are_randomised(window_model):
    est, (X, _) = window_model
    trained = est.explain(X)["x"]
    # A fresh network of the same architecture and normalisation (initial
    # weights of another seed): the model randomisation of Adebayo et al.
    built = build_model(est.get_params(), est.schema_, est.tasks_, 1)
    model = with_task_outputs(built, est.tasks_)
    randomised = MultiTaskConvEstimator(**est.get_params())
    randomised._state = est.fitted_state_.evolve(model=model)
    shuffled = randomised.explain(X)["x"]
    rho = np.corrcoef(trained.ravel(), shuffled.ravel())[0, 1]
    assert rho < 0.5
    assert share_inside(shuffled) < share_inside(trained) - 0.15


@pytest.fixture(scope="module")
def sensor():
    X, y = make_sensor_tasks(40, n_steps=32, random_state=0)
    est = MultiTaskConvEstimator(**TINY_CONV, epochs=2, random_state=0)
    return est.fit(X, y), X, y


@pytest.mark.parametrize("method", METHODS)
def test_every_method_gives_non_negative_maps_of_every_field(sensor, method):
    est, X, _ = sensor
    relevance = est.explain(X[:7], task="density", method=method)
    assert list(relevance) == est.input_names_
    for name in ("ampl", "phase"):
        assert relevance[name].shape == (7, 32)
    for name in ("temp", "moist", "weight"):
        assert relevance[name].shape == (7,)
    for values in relevance.values():
        assert np.isfinite(values).all() and (values >= 0).all()
    assert relevance["ampl"].sum() > 0


def test_task_and_target_choose_the_output_explained(sensor):
    est, X, _ = sensor
    default = est.explain(X[:5])  # the first task: material, predicted class
    assert np.allclose(default["ampl"], est.explain(X[:5], task="material")["ampl"])
    classes = est.classes_["material"]
    first = est.explain(X[:5], target=classes[0])["ampl"]
    second = est.explain(X[:5], target=classes[1])["ampl"]
    assert not np.allclose(first, second)
    with pytest.raises(ValueError, match="not a class of task 'material'"):
        est.explain(X[:5], target="no such class")
    with pytest.raises(ValueError, match="task='colour' is not a task"):
        est.explain(X[:5], task="colour")
    with pytest.raises(ValueError, match="method='lime'"):
        est.explain(X[:5], method="lime")


def test_occlusion_is_batched_not_a_loop_over_samples(sensor, monkeypatch):
    est, X, _ = sensor
    state = est.fitted_state_
    calls = []
    forward = type(state).forward

    def counting(self, inputs, n_samples, chunk):
        calls.append(n_samples)
        return forward(self, inputs, n_samples, chunk)

    monkeypatch.setattr(type(state), "forward", counting)
    est.explain(X[:3])
    few = len(calls)
    calls.clear()
    est.explain(X[:30])
    # The outputs explained, one pass per signal and one for the covariates
    # (30 rows x 31 windows of 2 steps each, or 30 rows x 3 covariates).
    assert len(calls) == few == 4
    assert calls[1:] == [30 * 31, 30 * 31, 30 * 3]


def test_occlusion_windows_cover_every_step():
    for n_steps, window in [(128, None), (100, 7), (5, 16), (1, None)]:
        masks = occlusion_windows(n_steps, window)
        assert masks.shape[1] == n_steps and masks.any(axis=0).all()


@pytest.mark.parametrize("trunk", ["fcn", "resnet"])
def test_published_trunks_explain(trunk):
    X, y = make_sensor_tasks(30, n_steps=32, random_state=0)
    est = MultiTaskConvEstimator(
        trunk=trunk, filters=(4, 4, 4), dense_units=8, epochs=1, random_state=0
    ).fit(X, y)
    for method in ("occlusion", "integrated_gradients"):
        assert est.explain(X[:4], method=method)["ampl"].shape == (4, 32)


def test_rocket_trunk_explains_by_occlusion_and_refuses_gradients():
    X, y = make_sensor_tasks(30, n_steps=32, random_state=0)
    est = MultiTaskConvEstimator(
        trunk="rocket", filters=(168,), dense_units=0, epochs=1, random_state=0
    ).fit(X, y)
    relevance = est.explain(X[:4])["ampl"]
    assert relevance.shape == (4, 32) and relevance.sum() > 0
    with pytest.raises(ValueError, match="step functions"):
        est.explain(X[:4], method="gradient")


def test_custom_model_explains():
    def small(schema, tasks):
        inputs = {f.name: keras.Input(f.shape, name=f.name) for f in schema.fields}
        pooled = [
            keras.layers.GlobalAveragePooling1D()(
                keras.layers.Conv1D(4, 3, activation="relu")(inputs[f.name])
            )
            for f in schema.signals
        ]
        hidden = keras.layers.Concatenate()(
            pooled + [inputs[f.name] for f in schema.covariates]
        )
        heads = {
            t.name: keras.layers.Dense(
                t.units, activation="softmax" if t.kind == "classification" else None
            )(hidden)
            for t in tasks
        }
        return keras.Model(inputs, heads)

    X, y = make_sensor_tasks(30, n_steps=32, random_state=0)
    est = MultiTaskConvEstimator(model=small, epochs=1, random_state=0).fit(X, y)
    relevance = est.explain(X[:4], task="density")
    assert relevance["phase"].shape == (4, 32) and relevance["temp"].shape == (4,)


def test_plot_explanation_draws_each_signal_and_the_covariates(sensor):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from skmtl.plotting import plot_explanation

    est, X, _ = sensor
    fig, axes = plot_explanation(est, X[:1], "density")
    assert sorted(axes) == ["ampl", "covariates", "phase"]
    assert "density: predicted" in fig._suptitle.get_text()
    assert len(axes["ampl"].images) == 1  # the relevance band
    matplotlib.pyplot.close(fig)


def test_explain_needs_a_fitted_estimator():
    from sklearn.exceptions import NotFittedError

    X, _ = make_sensor_tasks(5, n_steps=32, random_state=0)
    with pytest.raises(NotFittedError):
        MultiTaskConvEstimator().explain(X)


@pytest.mark.parametrize("method", ["occlusion", "integrated_gradients"])
def test_variable_length_signals_get_no_relevance_past_their_end(method):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    lengths = rng.integers(20, 40, 30)
    X = pd.DataFrame(
        {
            "x": [rng.standard_normal(n).astype("float32") for n in lengths],
            "temp": rng.standard_normal(30),
        }
    )
    y = np.arange(30) % 2
    est = MultiTaskConvEstimator(**TINY_CONV, epochs=1, random_state=0)
    relevance = est.fit(X, y).explain(X.iloc[:5], method=method)
    assert relevance["x"].shape == (5, lengths[:5].max())
    assert relevance["temp"].shape == (5,)
    for row, n in zip(relevance["x"], lengths[:5], strict=True):
        assert row[:n].sum() > 0
        assert np.allclose(row[n:], 0.0, atol=1e-6)
