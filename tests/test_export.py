"""export(): a SavedModel with raw named inputs and decoded outputs.

The exported models are loaded and called in one fresh interpreter that never
imports skmtl, as a server would; its outputs are compared with ``predict`` and
``predict_proba`` here.
"""

import copy
import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from skmtl import MultiTaskConvEstimator
from skmtl.datasets import make_sensor_tasks
from skmtl.export import export, serving_specs

from .conftest import TINY, run_python

N_LARGE = 2000  # rows in one call: well past predict's 256-row chunks


def _multi_data(n_samples, random_state):
    """A 1-channel and a 2-channel signal, two covariates; str, float and block y."""
    Xs, y0 = make_sensor_tasks(n_samples, n_steps=64, random_state=random_state)
    X = {
        "ampl": Xs["ampl"],
        "phase": np.stack([Xs["phase"], Xs["phase"] ** 2], axis=-1),
        "temp": Xs["temp"],
        "moist": Xs["moist"],
    }
    spectrum = np.stack([2 * y0["density"], Xs["temp"]], axis=1)
    y = pd.DataFrame(
        {
            "material": y0["material"],
            "density": y0["density"],
            "spectrum": list(spectrum),
        }
    )
    return X, y


def _binary_data(n_samples, rng):
    """A 3-D array X (one 1-channel signal) and a 1-D y of int labels -2 / 7."""
    sign = rng.choice([-1.0, 1.0], size=n_samples)
    X = sign[:, None, None] + rng.normal(size=(n_samples, 32, 1))
    return X.astype(np.float32), np.where(sign > 0, 7, -2)


@pytest.fixture(scope="module")
def multi():
    X, y = _multi_data(120, random_state=0)
    return MultiTaskConvEstimator(**TINY, epochs=2, random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def binary_int():
    X, y = _binary_data(80, np.random.default_rng(0))
    est = MultiTaskConvEstimator(**TINY, epochs=3, learning_rate=1e-2, random_state=0)
    return est.fit(X, y)


def _as_feed(X) -> dict:
    """Raw fields as a server would send them: float32, named as at fit."""
    if isinstance(X, np.ndarray):
        return {"signal": X.astype(np.float32)}
    return {name: np.asarray(a, dtype=np.float32) for name, a in X.items()}


SERVE = """
    import json, sys
    import numpy as np
    import tensorflow as tf

    assert "skmtl" not in sys.modules
    root = {root!r}
    report = {{"models": {{}}, "errors": {{}}}}
    outputs = {{}}
    feeds = np.load(root + "/feeds.npz")

    def call(fn, feed):
        out = fn(**{{k: tf.constant(v) for k, v in feed.items()}})
        return {{
            k: v.numpy().astype(str) if v.dtype == tf.string else v.numpy()
            for k, v in out.items()
        }}

    def error_of(fn, feed):
        try:
            call(fn, feed)
        except Exception as exc:
            return [type(exc).__name__, str(exc)]
        return None

    for model in ("multi", "binary"):
        fn = tf.saved_model.load(root + "/" + model).signatures["serving_default"]
        inputs = fn.structured_input_signature[1]
        report["models"][model] = {{
            "inputs": {{
                k: [s.shape.as_list(), s.dtype.name] for k, s in inputs.items()
            }},
            "outputs": {{
                k: [s.shape.as_list(), s.dtype.name]
                for k, s in fn.structured_outputs.items()
            }},
        }}
        for batch in ("one", "all", "large"):
            prefix = model + "__" + batch + "__"
            feed = {{
                k[len(prefix):]: v for k, v in feeds.items() if k.startswith(prefix)
            }}
            for name, value in call(fn, feed).items():
                outputs[prefix + name] = value
            if model == "multi" and batch == "all":
                errors = report["errors"]
                errors["float64"] = error_of(
                    fn, {{k: v.astype(np.float64) for k, v in feed.items()}}
                )
                errors["missing"] = error_of(
                    fn, {{k: v for k, v in feed.items() if k != "temp"}}
                )
                ampl = feed["ampl"]
                errors["length"] = error_of(fn, {{**feed, "ampl": ampl[:, :32]}})
                errors["rank"] = error_of(fn, {{**feed, "ampl": ampl[..., None]}})
                errors["batch"] = error_of(fn, {{**feed, "temp": feed["temp"][:3]}})
                errors["empty"] = error_of(fn, {{k: v[:0] for k, v in feed.items()}})
                nan = {{k: v.copy() for k, v in feed.items()}}
                nan["temp"][0] = np.nan
                nan["ampl"][1, 5] = np.nan
                errors["nan"] = error_of(fn, nan)
                for name, value in call(fn, nan).items():
                    outputs["nan__" + name] = value
    np.savez(root + "/served.npz", **outputs)
    # After loading and calling every model: none of it imported skmtl.
    report["skmtl_modules"] = sorted(m for m in sys.modules if m.startswith("skmtl"))
    print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def served(multi, binary_int, tmp_path_factory):
    """Export both estimators, serve three batches of each in a fresh process.

    Returns ``(report, served outputs, expected outputs)``.
    """
    root = tmp_path_factory.mktemp("served")
    multi.export(root / "multi")
    export(binary_int, root / "binary")
    X_multi, _ = _multi_data(N_LARGE, random_state=1)
    X_bin, _ = _binary_data(N_LARGE, np.random.default_rng(1))
    batches = {
        "multi": {
            "one": {k: v[:1] for k, v in X_multi.items()},
            "all": {k: v[:120] for k, v in X_multi.items()},
            "large": X_multi,
        },
        "binary": {"one": X_bin[:1], "all": X_bin[:120], "large": X_bin},
    }
    feeds, expected = {}, {}
    for model, est in (("multi", multi), ("binary", binary_int)):
        for batch, X in batches[model].items():
            prefix = f"{model}__{batch}__"
            feeds.update({prefix + k: v for k, v in _as_feed(X).items()})
            expected[prefix] = (est.predict(X), est.predict_proba(X))
    np.savez(root / "feeds.npz", **feeds)
    report = json.loads(run_python(SERVE.format(root=str(root))).splitlines()[-1])
    with np.load(root / "served.npz") as data:
        got = dict(data)
    return report, got, expected


@pytest.mark.parametrize("batch", ["one", "all", "large"])
def test_served_multi_task_matches_predict(served, batch):
    _, got, expected = served
    prefix = f"multi__{batch}__"
    pred, proba = expected[prefix]
    labels = got[prefix + "material"]
    assert labels.dtype.kind == "U" and labels.shape == (len(pred),)
    np.testing.assert_array_equal(labels, pred["material"].to_numpy().astype(str))
    assert got[prefix + "material_proba"].dtype == np.float32
    assert np.allclose(got[prefix + "material_proba"], proba["material"], atol=1e-5)
    assert got[prefix + "density"].dtype == np.float64
    assert np.allclose(got[prefix + "density"], pred["density"], atol=1e-5)
    spectrum = np.stack(pred["spectrum"].to_numpy())
    assert got[prefix + "spectrum"].shape == (len(pred), 2)
    assert np.allclose(got[prefix + "spectrum"], spectrum, atol=1e-5)


@pytest.mark.parametrize("batch", ["one", "all", "large"])
def test_served_integer_labels_round_trip_as_ints(served, binary_int, batch):
    _, got, expected = served
    prefix = f"binary__{batch}__"
    pred, proba = expected[prefix]
    labels = got[prefix + "y"]
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels, pred)
    assert set(np.unique(labels)) <= {-2, 7}
    assert np.allclose(got[prefix + "y_proba"], proba, atol=1e-5)
    if batch == "large":  # the head learned something, so labels are not all one
        assert len(np.unique(labels)) == 2


def test_signature_names_shapes_and_dtypes(served, multi, binary_int):
    report, _, _ = served
    assert report["models"]["multi"] == {
        "inputs": {
            "ampl": [[None, 64], "float32"],
            "phase": [[None, 64, 2], "float32"],
            "temp": [[None], "float32"],
            "moist": [[None], "float32"],
        },
        "outputs": {
            "material": [[None], "string"],
            "material_proba": [[None, 5], "float32"],
            "density": [[None], "float64"],
            "spectrum": [[None, 2], "float64"],
        },
    }
    # A 3-D array X keeps its channel axis; a 1-D y's task is named "y".
    assert report["models"]["binary"] == {
        "inputs": {"signal": [[None, 32, 1], "float32"]},
        "outputs": {"y": [[None], "int64"], "y_proba": [[None, 2], "float32"]},
    }
    for est, model in ((multi, "multi"), (binary_int, "binary")):
        inputs, outputs = serving_specs(est)
        described = {
            "inputs": {k: [s.shape.as_list(), s.dtype.name] for k, s in inputs.items()},
            "outputs": {
                k: [s.shape.as_list(), s.dtype.name] for k, s in outputs.items()
            },
        }
        assert described == report["models"][model]


def test_served_graph_rejects_bad_calls(served):
    errors = served[0]["errors"]
    assert errors["float64"] is not None  # the signature takes float32 only
    assert errors["missing"][0] == "TypeError" and "temp" in errors["missing"][1]
    for case in ("length", "rank"):
        kind, message = errors[case]
        assert kind == "InvalidArgumentError"
        assert "Shape of tensor ampl" in message and "[?,64]" in message
    assert "Inputs ampl and temp have different batch sizes" in errors["batch"][1]
    assert "The batch is empty" in errors["empty"][1]


def test_nan_inputs_are_not_checked_in_the_graph(served):
    """Documented: no error; other rows are unaffected."""
    errors = served[0]["errors"]
    assert errors["nan"] is None
    _, got, expected = served
    pred, proba = expected["multi__all__"]
    assert np.allclose(got["nan__material_proba"][2:], proba["material"][2:], atol=1e-5)
    assert np.allclose(got["nan__density"][2:], pred["density"][2:], atol=1e-5)


def test_served_process_imports_no_skmtl(served):
    # Read in the serving process after every model was loaded and called.
    assert served[0]["skmtl_modules"] == []
    assert set(served[0]["models"]) == {"multi", "binary"}


def test_export_needs_a_fitted_estimator(tmp_path):
    with pytest.raises(NotFittedError):
        MultiTaskConvEstimator().export(tmp_path / "model")
    with pytest.raises(NotFittedError):
        export(MultiTaskConvEstimator(), tmp_path / "model")
    assert not (tmp_path / "model").exists()


def test_existing_paths_and_overwrite(multi, tmp_path):
    path = tmp_path / "model"
    path.mkdir()  # an empty directory is fine
    multi.export(path)
    assert (path / "saved_model.pb").is_file()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        multi.export(path)
    multi.export(path, overwrite=True)  # an earlier export is replaced
    assert (path / "saved_model.pb").is_file()
    # A file an export does not write is never deleted: the export is refused.
    (path / "stale.txt").write_text("the user's")
    with pytest.raises(FileExistsError, match="holds files an export does not write"):
        multi.export(path, overwrite=True)
    assert (path / "stale.txt").read_text() == "the user's"
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("not a model")
    with pytest.raises(FileExistsError, match="holds no SavedModel"):
        multi.export(other, overwrite=True)
    assert (other / "keep.txt").read_text() == "not a model"
    with pytest.raises(FileExistsError, match="is a file"):
        multi.export(other / "keep.txt", overwrite=True)
    # No staging directories are left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "notes"]


def test_output_name_clash_is_refused(multi, tmp_path):
    est = copy.copy(multi)
    est.tasks_ = [
        dataclasses.replace(t, name="material_proba") if t.name == "density" else t
        for t in multi.tasks_
    ]
    with pytest.raises(ValueError, match=r"\['material_proba'\] would be used twice"):
        est.export(tmp_path / "model")


@pytest.mark.parametrize(
    ("classes", "dtype", "exported"),
    [
        (np.array(["a", "b"]), "string", ["a", "b"]),
        (np.array([b"a", b"b"]), "string", ["a", "b"]),
        (np.array([-2, 7], dtype=np.int8), "int64", [-2, 7]),
        (np.array([0, 3], dtype=np.uint16), "int64", [0, 3]),
        (np.array([False, True]), "bool", [False, True]),
        (np.array([1.0, 2.0]), "float64", [1.0, 2.0]),
    ],
)
def test_label_dtypes(classes, dtype, exported):
    from skmtl.export import _label_dtype

    tf_dtype, values = _label_dtype(classes, warn=True)
    assert tf_dtype.name == dtype
    assert values.tolist() == exported


def test_labels_without_a_tensorflow_dtype_become_strings():
    from decimal import Decimal

    from skmtl.export import _label_dtype

    classes = np.array([Decimal("0.5"), Decimal("1.5")], dtype=object)
    with pytest.warns(UserWarning, match="exported as strings"):
        tf_dtype, values = _label_dtype(classes, warn=True)
    assert tf_dtype.name == "string" and values.tolist() == ["0.5", "1.5"]


def test_overwrite_keeps_a_user_file_among_the_variables(multi, tmp_path):
    path = tmp_path / "model"
    multi.export(path)
    notes = path / "variables" / "variables.notes"
    notes.write_text("the user's")
    with pytest.raises(FileExistsError, match=r"variables\.notes"):
        multi.export(path, overwrite=True)
    assert notes.read_text() == "the user's"


def test_served_covariate_of_unix_seconds_matches_predict(tmp_path):
    import tensorflow as tf

    X, y = make_sensor_tasks(120, n_steps=32, random_state=0)
    rng = np.random.default_rng(0)
    X = {name: X[name] for name in X.dtype.names}
    # Unix seconds: float32 keeps steps of 128 s at 1.7e9.
    X["time"] = 1.7e9 + rng.uniform(0, 100, size=120)
    y["density"] = y["density"] + (X["time"] - 1.7e9) / 10
    est = MultiTaskConvEstimator(**TINY, epochs=2, random_state=0).fit(X, y)
    assert est.schema_["time"].offset
    est.export(tmp_path / "served")
    serve = tf.saved_model.load(str(tmp_path / "served")).signatures["serving_default"]
    assert serve.structured_input_signature[1]["time"].dtype == tf.float64
    feed = {
        k: tf.constant(v, tf.float64 if k == "time" else tf.float32)
        for k, v in X.items()
    }
    served = serve(**feed)["density"].numpy()
    np.testing.assert_allclose(served, est.predict(X)["density"], atol=1e-4)
