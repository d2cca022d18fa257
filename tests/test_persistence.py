"""save/load (no pickle) and joblib round-trips, in this and in a fresh process."""

import zipfile

import joblib
import numpy as np
import pandas as pd
import pytest

from skmtl import load
from skmtl.persistence import SkmtlFileError

from .conftest import run_python


def test_save_load_round_trip_in_a_fresh_process(fitted, sensor_data, tmp_path):
    X, _ = sensor_data
    path = tmp_path / "model.skmtl"
    fitted.save(path)
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["model.keras", "skmtl.json"]
    np.save(tmp_path / "ampl.npy", X["ampl"])
    expected = fitted.predict(X)
    expected.to_csv(tmp_path / "expected.csv", index=False)
    out = run_python(f"""
        import numpy as np, pandas as pd
        from skmtl import load
        from skmtl.datasets import make_sensor_tasks
        X, _ = make_sensor_tasks(120, n_steps=64, random_state=0)
        est = load({str(path)!r})
        pred = est.predict(X)
        pred.to_csv({str(tmp_path / "got.csv")!r}, index=False)
        print(est.classes_["material"].tolist(), est.schema_.names)
    """)
    assert "['aluminium', 'copper', 'polymer', 'steel', 'wood']" in out
    assert "['ampl', 'phase', 'temp', 'moist', 'weight']" in out
    got = pd.read_csv(tmp_path / "got.csv")
    pd.testing.assert_frame_equal(got, pd.read_csv(tmp_path / "expected.csv"))


def test_loaded_estimator_keeps_schema_tasks_and_scalers(fitted, tmp_path):
    fitted.save(tmp_path / "m.skmtl")
    loaded = load(tmp_path / "m.skmtl")
    assert loaded.schema_ == fitted.schema_
    for a, b in zip(loaded.tasks_, fitted.tasks_, strict=True):
        assert (a.name, a.kind, a.dtype, a.mean, a.std) == (
            b.name,
            b.kind,
            b.dtype,
            b.mean,
            b.std,
        )
        if a.classes is not None:
            np.testing.assert_array_equal(a.classes, b.classes)
    assert loaded.get_params() == fitted.get_params()
    assert loaded.history_ == fitted.history_


def test_joblib_round_trip_in_a_fresh_process(fitted, sensor_data, tmp_path):
    X, _ = sensor_data
    path = tmp_path / "model.joblib"
    joblib.dump(fitted, path)
    expected = fitted.predict(X)["density"].to_numpy()
    out = run_python(f"""
        import joblib, numpy as np
        from skmtl.datasets import make_sensor_tasks
        X, _ = make_sensor_tasks(120, n_steps=64, random_state=0)
        est = joblib.load({str(path)!r})
        print(repr(est.predict(X)["density"].to_numpy().tolist()))
    """)
    np.testing.assert_array_equal(np.array(eval(out)), expected)


def test_not_an_skmtl_file_gives_a_clear_error(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(SkmtlFileError, match="not an skmtl model file"):
        load(text)
    other_zip = tmp_path / "other.zip"
    with zipfile.ZipFile(other_zip, "w") as zf:
        zf.writestr("a.txt", "x")
    with pytest.raises(SkmtlFileError, match="not an skmtl model"):
        load(other_zip)


def test_truncated_file_gives_a_clear_error(fitted, tmp_path):
    path = tmp_path / "m.skmtl"
    fitted.save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SkmtlFileError):
        load(path)


def test_file_from_another_format_version_is_refused(fitted, tmp_path):
    import json

    path = tmp_path / "m.skmtl"
    fitted.save(path)
    with zipfile.ZipFile(path) as zf:
        meta = json.loads(zf.read("skmtl.json"))
        model = zf.read("model.keras")
    meta["format_version"] = 99
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("skmtl.json", json.dumps(meta))
        zf.writestr("model.keras", model)
    with pytest.raises(SkmtlFileError, match="format 99"):
        load(path)


def test_unsaveable_parameters_come_back_as_defaults_with_a_warning(
    sensor_data, tmp_path
):
    import keras

    from skmtl import MultiTaskConvEstimator

    X, y = sensor_data
    est = MultiTaskConvEstimator(
        filters=(84,), epochs=1, callbacks=[keras.callbacks.TerminateOnNaN()]
    ).fit(X, y)
    est.save(tmp_path / "m.skmtl")
    with pytest.warns(UserWarning, match=r"\['callbacks'\] could not be saved"):
        loaded = load(tmp_path / "m.skmtl")
    assert loaded.callbacks is None
    np.testing.assert_array_equal(
        loaded.predict(X)["density"], est.predict(X)["density"]
    )


def _rewrite_meta(path, change):
    import json

    with zipfile.ZipFile(path) as zf:
        meta = json.loads(zf.read("skmtl.json"))
        model = zf.read("model.keras")
    change(meta)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("skmtl.json", json.dumps(meta))
        zf.writestr("model.keras", model)


def test_file_from_another_keras_major_version_is_refused(fitted, tmp_path):
    path = tmp_path / "m.skmtl"
    fitted.save(path)
    _rewrite_meta(path, lambda meta: meta["versions"].update(keras="2.15.0"))
    with pytest.raises(SkmtlFileError, match=r"saved with Keras 2\.15\.0"):
        load(path)


def test_tampered_metadata_gives_a_clear_error(fitted, tmp_path):
    path = tmp_path / "m.skmtl"
    fitted.save(path)
    _rewrite_meta(path, lambda meta: meta["targets"].pop("tasks"))
    with pytest.raises(SkmtlFileError, match="could not be loaded"):
        load(path)


def test_a_lambda_layer_is_never_executed_on_load(sensor_data, tmp_path):
    import keras

    from skmtl import MultiTaskConvEstimator

    X, y = sensor_data

    def with_lambda(schema, tasks):
        inputs = {"temp": keras.Input((1,), name="temp")}
        x = keras.layers.Lambda(lambda t: t * 2.0)(inputs["temp"])
        outputs = {
            t.name: keras.layers.Dense(
                t.units, activation="softmax" if t.kind == "classification" else None
            )(x)
            for t in tasks
        }
        return keras.Model(inputs, outputs)

    est = MultiTaskConvEstimator(model=with_lambda, epochs=1).fit(X, y)
    est.save(tmp_path / "lambda.skmtl")
    with pytest.raises(SkmtlFileError, match="refuses to execute code"):
        load(tmp_path / "lambda.skmtl")


def test_loaded_estimator_keeps_the_training_summary(fitted, tmp_path):
    fitted.save(tmp_path / "m.skmtl")
    loaded = load(tmp_path / "m.skmtl")
    assert loaded.n_epochs_ == fitted.n_epochs_ == 2
    assert loaded.best_epoch_ == fitted.best_epoch_
    assert loaded.task_weights_ == fitted.task_weights_
    assert loaded.history_ == fitted.history_


def test_saving_into_a_missing_folder_names_the_path_asked_for(fitted, tmp_path):
    path = tmp_path / "no such folder" / "m.skmtl"
    with pytest.raises(
        FileNotFoundError,
        match=r"Cannot save to .*m\.skmtl: folder "
        r".*no such folder does not exist; create it first",
    ) as info:
        fitted.save(path)
    assert info.value.filename == str(path)
    assert not path.parent.exists()
