"""Variable-length recordings, end to end: forms, masking, batching, files."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

from skmtl import MultiTaskConvEstimator, load, to_structured
from skmtl.data.inputs import encode, infer_schema
from skmtl.data.ragged import RaggedSignal
from skmtl.training.batching import TaskBatches

# The default (rocket) trunk's fewest features; the conv fits pass their own.
TINY = {"filters": (84,), "dense_units": 8, "epochs": 3, "random_state": 0}


def _recordings(n=48, low=10, high=40, channels=2, seed=0):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(low, high, n)
    labels = np.arange(n) % 2
    cells = [
        np.sin(np.linspace(0, 3 + 6 * lab, t))[:, None] * np.ones((1, channels))
        + 0.1 * rng.standard_normal((t, channels))
        for t, lab in zip(lengths, labels, strict=True)
    ]
    return cells, lengths, labels


def _frame(cells, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"ampl": cells, "temp": rng.normal(size=len(cells))})


def _fit(X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # collapse on tiny fits
        return MultiTaskConvEstimator(**{**TINY, **params}).fit(X, y)


@pytest.fixture(scope="module")
def ragged():
    cells, lengths, labels = _recordings()
    X = _frame(cells)
    y = pd.DataFrame({"cls": np.where(labels, "a", "b"), "val": lengths / 10.0})
    return X, y, lengths


@pytest.fixture(scope="module")
def fitted(ragged):
    X, y, _ = ragged
    return _fit(X, y, trunk="conv", filters=(4, 4))


# ------------------------------------------------------------ forms
def test_every_form_reads_the_same_ragged_field(ragged):
    X, _, lengths = ragged
    cells = list(X["ampl"])
    forms = {
        "frame": X,
        "dict": {"ampl": cells, "temp": X["temp"].to_numpy()},
        "structured": to_structured({"ampl": cells, "temp": X["temp"].to_numpy()}),
    }
    for name, form in forms.items():
        spec = infer_schema(form)["ampl"]
        assert spec.ragged, name
        assert (spec.min_steps, spec.n_steps) == (lengths.min(), lengths.max())
        # Statistics over the true steps only (no padding).
        flat = np.concatenate(cells)
        np.testing.assert_allclose(spec.mean, flat.mean(axis=0), rtol=1e-5)
        np.testing.assert_allclose(spec.std, flat.std(axis=0), rtol=1e-5)


@pytest.mark.parametrize("form", ["frame", "structured"])
def test_fit_predict_score_on_each_splittable_form(ragged, form):
    X, y, _ = ragged
    if form == "structured":
        X = to_structured({"ampl": list(X["ampl"]), "temp": X["temp"].to_numpy()})
    est = _fit(X, y)
    pred = est.predict(X)
    assert list(pred.columns) == ["cls", "val"]
    assert est.predict_proba(X)["cls"].shape == (len(y), 2)
    assert np.isfinite(est.score(X, y))


def test_cross_validation_and_search_split_ragged_frames(ragged):
    X, y, _ = ragged
    est = MultiTaskConvEstimator(**{**TINY, "epochs": 1})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        scores = cross_val_score(est, X, y, cv=KFold(3), error_score="raise")
        search = GridSearchCV(est, {"loss_weights__val": [0.5, 1.0]}, cv=2).fit(X, y)
    assert np.isfinite(scores).all() and len(scores) == 3
    assert search.best_estimator_.schema_["ampl"].ragged


# ------------------------------------------------------------ padding
@pytest.mark.parametrize("trunk", ["conv", "fcn", "resnet", "rocket"])
def test_a_prediction_does_not_depend_on_its_batch(ragged, trunk):
    """Alone, or padded beside a much longer recording: the same output."""
    X, y, lengths = ragged
    filters = (4,) if trunk != "rocket" else None
    est = _fit(X, y, trunk=trunk, filters=filters, epochs=2)
    short, long = int(np.argmin(lengths)), int(np.argmax(lengths))
    alone = est.predict_proba(X.iloc[[short]])["cls"]
    beside = est.predict_proba(X.iloc[[short, long]])["cls"][:1]
    np.testing.assert_allclose(alone, beside, atol=1e-5)
    values = est._outputs(X.iloc[[short]])["val"]
    np.testing.assert_allclose(
        values, est._outputs(X.iloc[[short, long]])["val"][:1], atol=1e-5
    )


def test_lengths_never_seen_at_fit_are_predicted(fitted, ragged):
    _X, _, _ = ragged
    new = _frame([np.ones((3, 2)), np.ones((200, 2))])
    pred = fitted.predict(new)
    assert len(pred) == 2 and not pred.isna().any().any()


def test_equal_length_data_predict_through_a_ragged_model(fitted):
    new = pd.DataFrame({"ampl": [np.zeros((25, 2))] * 3, "temp": [0.0, 1.0, 2.0]})
    assert len(fitted.predict(new)) == 3


# ------------------------------------------------------------ batching
def test_batches_pad_to_their_own_longest_member_in_length_buckets():
    cells, lengths, labels = _recordings(n=256, low=10, high=400)
    inputs = {"ampl": RaggedSignal.from_list(cells, "ampl")}
    targets = {"t": labels}
    weights = {"t": np.ones(len(cells), dtype=np.float32)}
    batches = TaskBatches(inputs, targets, weights, batch_size=16, seed=0)
    seen, padded = [], 0
    for i in range(len(batches)):
        x, _, _ = batches[i]
        mask = x["ampl"][..., -1]
        seen.extend(mask.sum(axis=1).astype(int))
        padded += x["ampl"].shape[0] * x["ampl"].shape[1]
    assert sorted(seen) == sorted(lengths.tolist())  # every recording, whole
    # Bucketing keeps padding small: far below padding everything to the max.
    assert padded < 0.6 * len(cells) * lengths.max()


def test_encode_keeps_no_padded_copy(ragged):
    X, _, lengths = ragged
    schema = infer_schema(X)
    inputs, _n = encode(X, schema)
    assert isinstance(inputs["ampl"], RaggedSignal)
    assert inputs["ampl"].values.shape == (lengths.sum(), 2)


# ------------------------------------------------------------ files
@pytest.fixture(scope="module")
def rocket_fitted(ragged):
    X, y, _ = ragged
    return _fit(X, y, trunk="rocket", filters=(168,), dense_units=0)


@pytest.mark.parametrize("model", ["fitted", "rocket_fitted"])
def test_save_load_and_export_keep_ragged_predictions(model, ragged, tmp_path, request):
    fitted = request.getfixturevalue(model)
    X, _, _ = ragged
    fitted.save(tmp_path / "m.skmtl")
    loaded = load(tmp_path / "m.skmtl")
    np.testing.assert_array_equal(
        loaded.predict_proba(X)["cls"], fitted.predict_proba(X)["cls"]
    )
    fitted.export(tmp_path / "served")
    serve = tf.saved_model.load(str(tmp_path / "served")).signatures["serving_default"]
    padded = RaggedSignal.from_list(list(X["ampl"]), "ampl").padded()
    out = serve(
        ampl=tf.constant(padded), temp=tf.constant(X["temp"].to_numpy(np.float32))
    )
    np.testing.assert_allclose(
        out["cls_proba"].numpy(), fitted.predict_proba(X)["cls"], atol=1e-5
    )


# ------------------------------------------------------------ errors
@pytest.mark.parametrize(
    "cells, match",
    [
        ([np.ones(5), np.ones(0)], r"Field 'ampl': sample 1 is an empty recording"),
        ([np.ones((5, 2)), np.ones((7, 3))], r"sample 1 has 3 channel\(s\), sample 0"),
        (
            [np.ones(5), np.array(["a", "b"])],
            r"Field 'ampl' \(sample 1\) has dtype <U1, but signals",
        ),
        ([np.ones(5), np.array([1.0, np.nan, 2.0])], r"sample 1 contains NaN"),
    ],
)
def test_bad_recordings_name_the_field_and_the_sample(cells, match):
    with pytest.raises(ValueError, match=match):
        infer_schema(pd.DataFrame({"ampl": cells}))


def test_a_ragged_field_at_predict_of_a_fixed_length_model_is_refused():
    X = pd.DataFrame({"ampl": [np.ones(8)] * 10, "temp": np.arange(10.0)})
    est = _fit(X, np.arange(10) % 2, epochs=1)
    ragged = pd.DataFrame({"ampl": [np.ones(8), np.ones(5)], "temp": [0.0, 1.0]})
    with pytest.raises(ValueError, match="holds recordings of different lengths"):
        est.predict(ragged)


def test_channels_at_predict_must_match_fit(fitted):
    wrong = pd.DataFrame(
        {"ampl": [np.ones((9, 3)), np.ones((4, 3))], "temp": [0.0, 1.0]}
    )
    with pytest.raises(ValueError, match=r"has 3 channel\(s\) per step"):
        fitted.predict(wrong)


def test_recordings_mostly_of_one_length_train():
    """Keras reads the batch shape off the first two batches: two of one padded
    length must not fix it for the batches after them."""
    cells = [np.ones((30, 2))] * 32 + [np.ones((12, 2))] * 16  # batches 30, 30, 12
    X = _frame(cells)
    est = _fit(X, np.arange(48) % 2, shuffle=False, batch_size=16, epochs=1)
    assert est.n_epochs_ == 1


def test_one_long_recording_among_short_ones_is_not_their_padding(
    rocket_fitted, monkeypatch
):
    from skmtl import fitted as fitted_module

    widths = []
    batch = fitted_module._batch

    def spy(field, rows):
        out = batch(field, rows)
        widths.append((len(out), out.shape[1]) if out.ndim == 3 else None)
        return out

    monkeypatch.setattr(fitted_module, "_batch", spy)
    cells = [np.ones((16, 2))] * 255 + [np.ones((20_000, 2))]
    pred = rocket_fitted.predict(_frame(cells))
    assert len(pred) == 256 and not pred.isna().any().any()
    padded = sum(n * width for n, width in filter(None, widths))
    # 255 rows of 32 steps and one of 20,000 (a chunk of 256 x 20,000 before).
    assert padded <= 255 * 32 + 20_032
