"""Keras users' and time-series users' habits get what they meant, or the fix.

Issue 12: a Keras-style list of inputs, ``(n, 1)`` scalars, Keras ``fit``
keywords, target kinds guessed in silence, progress written to a log file,
aeon's ``(n, channels, steps)`` layout and ``.ts`` files, and smaller surprises
(predict's index, the collapse warning's label, the serving signature).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from skmtl import MultiTaskConvEstimator, from_aeon, to_structured
from skmtl.data.forms import check_input_list, to_named_arrays
from skmtl.data.inputs import infer_schema
from skmtl.datasets import make_sensor_tasks

TINY = {"filters": (84,), "dense_units": 8, "batch_size": 16, "random_state": 0}


@pytest.fixture(scope="module")
def data():
    """60 samples of 32 steps: structured X and a two-task DataFrame y."""
    return make_sensor_tasks(60, n_steps=32, random_state=0)


def keras_list(X):
    """X as a Keras user holds it: one array per input, signals (n, T, 1)."""
    return [
        X["ampl"][..., None],
        X["phase"][..., None],
        X["temp"],
        X["moist"],
        X["weight"],
    ]


# ------------------------------------------------------------- Keras: inputs
def test_keras_list_of_inputs_is_refused_with_the_naming_call(data):
    X, y = data
    est = MultiTaskConvEstimator(**TINY, epochs=1)
    with pytest.raises(TypeError) as info:
        est.fit(keras_list(X), y)
    message = str(info.value)
    assert "list of 5 arrays of 60 samples" in message
    assert "to_structured(X, names=" in message
    assert "ragged" not in message
    assert est.__dict__.get("_state") is None


@pytest.mark.parametrize(
    "inputs",
    [
        lambda X: [X["ampl"][..., None], X["phase"][..., None]],  # was "got 4-D"
        lambda X: (X["ampl"], X["temp"]),  # a tuple, mixed shapes
    ],
    ids=["two-3d-signals", "tuple"],
)
def test_other_input_lists_are_recognised(data, inputs):
    X, _ = data
    with pytest.raises(TypeError, match=r"the way keras\.Model\.fit takes"):
        to_named_arrays(inputs(X))


def test_a_list_of_same_shaped_signals_is_recognised_at_fit(data):
    """Two (n, T) arrays stack into a 3-D array; y's length tells them apart."""
    X, y = data
    est = MultiTaskConvEstimator(**TINY, epochs=1)
    with warnings.catch_warnings():
        # Read as one (2, 60, 32) array, the list would also warn "more
        # channels than steps ... from_aeon": refused before that.
        warnings.simplefilter("error")
        with pytest.raises(TypeError, match=r"names=\['x0', 'x1'\]"):
            est.fit([X["ampl"], X["phase"]], y)  # was "X has 2 samples but y has 60"


def test_a_list_of_samples_is_still_a_list_of_samples():
    rows = [np.arange(8.0) + i for i in range(3)]
    arrays, form = to_named_arrays(rows)
    assert form == "array2d" and arrays["signal"].shape == (3, 8)
    check_input_list(rows, n_samples=3)  # three samples: not refused


def test_at_predict_the_message_names_the_fitted_fields(data):
    X, y = data
    est = MultiTaskConvEstimator(**TINY, epochs=1).fit(X, y)
    with pytest.raises(TypeError) as info:
        est.predict(keras_list(X))
    assert "names=['ampl', 'phase', 'temp', 'moist', 'weight']" in str(info.value)


def test_to_structured_names_a_keras_list(data):
    X, _ = data
    named = to_structured(keras_list(X), names=["ampl", "phase", "temp", "moist", "w"])
    assert named.dtype.names == ("ampl", "phase", "temp", "moist", "w")
    np.testing.assert_array_equal(named["ampl"][..., 0], X["ampl"])
    np.testing.assert_array_equal(named["w"], X["weight"])
    with pytest.raises(ValueError, match="2 name"):
        to_structured(keras_list(X), names=["a", "b"])
    with pytest.raises(ValueError, match="repeats"):
        to_structured(keras_list(X)[:2], names=["a", "a"])
    with pytest.raises(TypeError, match="list or tuple"):
        to_structured({"a": X["ampl"]}, names=["b"])


def test_n_by_1_values_are_covariates_and_predict_takes_both_shapes(data):
    X, y = data
    fields = {
        "ampl": X["ampl"],
        "temp": X["temp"][:, None],  # keras.Input(shape=(1,))
        "weight": X["weight"][:, None],
    }
    schema = infer_schema(fields)
    assert [f.kind for f in schema.fields] == ["signal", "covariate", "covariate"]
    assert "covariate 'temp'" in schema["temp"].describe()
    est = MultiTaskConvEstimator(**TINY, epochs=1).fit(fields, y)
    flat = {**fields, "temp": X["temp"], "weight": X["weight"]}
    np.testing.assert_array_equal(
        est.predict(fields)["density"], est.predict(flat)["density"]
    )
    # A structured field of shape (1,) is a covariate too.
    structured = to_structured(fields)
    assert structured["temp"].shape == (60,)
    assert infer_schema(structured)["temp"].kind == "covariate"


def test_a_2d_array_x_of_one_column_stays_one_feature():
    """scikit-learn's (n, 1) X is one feature (its checks count on it)."""
    schema = infer_schema(np.zeros((5, 1)) + np.arange(5)[:, None])
    assert schema.form == "array2d" and schema.n_features_in == 1


# ----------------------------------------------------------- Keras: keywords
@pytest.mark.parametrize(
    ("keyword", "value", "expected"),
    [
        ("epochs", 3, "MultiTaskConvEstimator(epochs=...) or est.set_params"),
        ("validation_data", None, "early_stopping=True with validation_fraction"),
        ("batch_size", 8, "estimator parameter"),
    ],
)
def test_keras_fit_keywords_say_where_they_go(data, keyword, value, expected):
    X, y = data
    est = MultiTaskConvEstimator(**TINY, epochs=1)
    with pytest.raises(TypeError, match=r"fit__validation_split|set_params") as info:
        est.fit(X, y, **{keyword: value})
    assert expected in str(info.value)
    assert "__dict__" not in str(info.value)
    assert est.__dict__.get("_state") is None  # refused before training


def test_fit_documents_the_third_positional_argument():
    doc = MultiTaskConvEstimator.fit.__doc__
    assert "third positional" in doc and "sample_weight" in doc


# --------------------------------------------------------- smaller surprises
def test_predict_on_a_dataframe_keeps_its_index():
    pd = pytest.importorskip("pandas")
    from sklearn.model_selection import train_test_split

    X, y = make_sensor_tasks(60, n_steps=32, random_state=0)
    frame = pd.DataFrame(
        {
            "ampl": list(X["ampl"]),
            "temp": X["temp"],
        }
    )
    X_train, X_test, y_train, y_test = train_test_split(
        frame, y, test_size=0.25, random_state=0
    )
    est = MultiTaskConvEstimator(**TINY, epochs=1).fit(X_train, y_train)
    pred = est.predict(X_test)
    assert pred.index.equals(X_test.index)
    (pred["material"] == y_test["material"]).mean()  # pandas compares by label


def test_the_collapse_warning_prints_a_plain_label(data):
    from skmtl.data.inputs import encode
    from skmtl.training.fitted import warn_if_collapsed

    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        state = MultiTaskConvEstimator(**TINY, epochs=1).fit(X, y).fitted_state_
    inputs, n = encode(X, state.schema)
    one_sample = {k: v[:1].repeat(n, axis=0) for k, v in inputs.items()}
    targets, weights = state.target_encoder.transform(y)
    with pytest.warns(UserWarning, match="may have collapsed") as caught:
        warn_if_collapsed(state, one_sample, targets, weights, chunk=256)
    message = str(caught[0].message)
    label = message.split("single class ")[1].split(" for all")[0]
    assert label.startswith("'") and "np." not in message, message


# ------------------------------------------------------------------ aeon data
def test_from_aeon_transposes_numpy3d():
    X = np.arange(2 * 3 * 5, dtype=np.float64).reshape(2, 3, 5)  # (n, C, T)
    out = from_aeon(X)
    assert out.shape == (2, 5, 3) and out.flags.c_contiguous
    assert out[1, 4, 2] == X[1, 2, 4]
    two_d = np.zeros((4, 7))
    assert from_aeon(two_d) is two_d  # numpy2D is skmtl's own 2-D layout


def test_from_aeon_takes_aeons_list_of_equal_length_series():
    series = [np.full((2, 6), i, dtype=np.float64) for i in range(3)]
    out = from_aeon(series)
    assert out.shape == (3, 6, 2)
    assert (out[2] == 2).all()


def test_from_aeon_reads_unequal_lengths_as_a_variable_length_signal():
    series = [np.zeros((2, 6)), np.zeros((2, 9)), np.zeros((2, 4))]
    out = from_aeon(series)
    assert out.dtype.names == ("signal",)
    assert [cell.shape for cell in out["signal"]] == [(6, 2), (9, 2), (4, 2)]
    with pytest.raises(ValueError, match="channels"):
        from_aeon([np.zeros((2, 6)), np.zeros((3, 6))])
    with pytest.raises(TypeError, match="numpy3D"):
        from_aeon({"a": np.zeros((2, 3, 4))})


def test_a_3d_array_with_more_channels_than_steps_warns():
    with pytest.warns(UserWarning, match=r"6 steps x 100 channels.*from_aeon"):
        infer_schema(np.random.rand(8, 6, 100))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        infer_schema(from_aeon(np.random.rand(8, 6, 100)))  # (8, 100, 6): silent


def test_basic_motions_from_aeon_fits_as_six_channels():
    aeon = pytest.importorskip("aeon")
    import os

    from aeon.datasets import load_from_ts_file

    path = os.path.join(
        os.path.dirname(aeon.__file__),
        "datasets",
        "data",
        "BasicMotions",
        "BasicMotions_TRAIN.ts",
    )
    X, y = load_from_ts_file(path)
    assert X.shape == (40, 6, 100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one epoch may collapse the head
        est = MultiTaskConvEstimator(**TINY, epochs=1).fit(from_aeon(X), y)
    spec = est.schema_["signal"]
    assert (spec.n_steps, spec.n_channels) == (100, 6)


# --------------------------------------------------- target kinds in silence
def _guess_warnings(y, tasks=None) -> list[str]:
    from skmtl.data.targets import TargetEncoder

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        TargetEncoder(tasks).fit(y)
    return [str(w.message) for w in caught if w.category is UserWarning]


@pytest.fixture(scope="module")
def columns():
    rng = np.random.default_rng(0)
    n = 200
    return {
        "labels": rng.choice(["oak", "pine", "steel"], n),
        "density": rng.normal(5.0, 1.0, n),
        "codes": rng.integers(0, 5, n),
        "ids": np.array([f"sample-{i}" for i in range(n)]),
    }


def test_a_label_per_sample_warns_naming_tasks(columns):
    (message,) = _guess_warnings(columns["ids"])
    assert "200 classes for 200 labelled samples" in message
    assert "tasks={'y': 'regression'}" in message
    assert _guess_warnings(columns["labels"]) == []  # 3 classes: silent


def test_float_codes_warn_and_a_declaration_silences(columns):
    (message,) = _guess_warnings(columns["codes"].astype(float))
    assert "[0.0, 1.0, 2.0, 3.0, 4.0]" in message
    assert "tasks={'y': 'classification'}" in message
    assert _guess_warnings(columns["codes"].astype(float), tasks="regression") == []
    assert _guess_warnings(columns["density"]) == []  # real regression: silent


def test_column_stack_of_labels_and_numbers_warns(columns):
    y = np.column_stack([columns["labels"], columns["density"]])  # all strings
    (message,) = _guess_warnings(y)
    assert "Column 'y1' of y holds numbers stored as text" in message
    assert "tasks={'y1': 'regression'}" in message
    y = np.column_stack([columns["codes"], columns["density"]])  # all floats
    (message,) = _guess_warnings(y)
    assert "Task 'y0'" in message and "np.column_stack" in message
    assert "tasks={'y0': 'classification'}" in message
    assert _guess_warnings(y, tasks=["classification", "regression"]) == []


def test_one_hot_y_warns_once(columns):
    y = np.eye(5)[columns["codes"]]
    (message,) = _guess_warnings(y)
    assert "one-hot" in message and "5 regression tasks" in message
    assert "y.argmax(axis=1)" in message and "tasks=" in message
    (message,) = _guess_warnings(y.astype(int))
    assert "5 classification tasks" in message


def test_the_warning_points_at_the_call_of_fit(data, columns):
    X, _ = data
    y = columns["codes"][:60].astype(float)
    est = MultiTaskConvEstimator(**TINY, epochs=1)
    with pytest.warns(UserWarning, match="guessed a regression task") as caught:
        est.fit(X, y)
    hint = next(w for w in caught if "guessed" in str(w.message))
    assert hint.filename == __file__


# ------------------------------------------------------- progress in log files
def test_the_demo_writes_plain_lines_to_a_file(tmp_path):
    import os
    import subprocess
    import sys

    log = tmp_path / "demo.log"
    argv = ["--n-samples", "40", "--n-steps", "64", "--epochs", "3"]
    with open(log, "wb") as stdout:
        subprocess.run(
            [sys.executable, "-m", "skmtl", "demo", *argv, "--output", "m.skmtl"],
            stdout=stdout,
            stderr=subprocess.DEVNULL,
            cwd=tmp_path,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
            check=True,
        )
    text = log.read_bytes()
    assert b"\x1b" not in text and b"\b" not in text and b"\r" not in text
    assert text.count(b"Epoch ") == 3  # one line per epoch, with its metrics
    assert text.count(b"material_accuracy") == 3
    assert len(text) < 2000  # the progress bar wrote 3 KB for these 3 epochs


def test_keras_verbosity_keeps_the_bar_on_a_terminal(monkeypatch):
    import io

    from skmtl.training.session import keras_verbosity

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stdout", io.StringIO())
    assert [keras_verbosity(v) for v in (0, 1, 2, "auto")] == [0, 2, 2, 2]
    monkeypatch.setattr("sys.stdout", Terminal())
    assert [keras_verbosity(v) for v in (0, 1, 2, "auto")] == [0, 1, 2, "auto"]
    monkeypatch.setattr("sys.stdout", None)
    assert keras_verbosity(1) == 2


def test_demo_help_documents_every_option_and_refuses_verbose_3(capsys):
    from skmtl.cli.command import main
    from skmtl.cli.parser import build_parser

    parser = build_parser()
    demo = next(
        action.choices["demo"]
        for action in parser._actions
        if getattr(action, "choices", None) and "demo" in action.choices
    )
    options = [a for a in demo._actions if a.option_strings and a.dest != "help"]
    assert {a.dest for a in options} >= {"n_samples", "epochs", "verbose", "output"}
    assert all(a.help for a in options), [a.dest for a in options if not a.help]
    assert main(["demo", "--help"]) == 0
    help_text = capsys.readouterr().out
    assert "0 silent" in help_text and "2 one line per epoch" in help_text
    assert main(["demo", "--verbose", "3"]) == 2
    out, err = capsys.readouterr()
    assert "Synthetic sensor data" not in out  # refused before generating data
    assert "invalid choice: 3" in err


# ------------------------------------------------------------ .ts in the CLI
def _archive(name: str) -> str:
    import os

    aeon = pytest.importorskip("aeon")
    return os.path.join(os.path.dirname(aeon.__file__), "datasets", "data", name)


def test_ts_files_fit_and_predict_from_the_command_line(tmp_path, capsys):
    import csv
    import os

    from skmtl.cli.command import main

    folder = _archive("GunPoint")
    model = tmp_path / "m.skmtl"
    tiny = ["--epochs", "1", "--param", "filters=(84,)", "--param", "dense_units=8"]
    train = os.path.join(folder, "GunPoint_TRAIN.ts")
    assert main(["fit", train, "-o", str(model), *tiny, "-q"]) == 0  # no --target
    capsys.readouterr()
    test = os.path.join(folder, "GunPoint_TEST.ts")
    assert main(["predict", str(model), test]) == 0
    out, err = capsys.readouterr()
    rows = list(csv.reader(out.splitlines()))
    assert rows[0] == ["target"] and len(rows) == 151  # GunPoint: 150 test cases
    assert {r[0] for r in rows[1:]} <= {"1", "2"}
    assert "ignoring column(s) ['target']" in err


def test_reading_ts_files_in_skmtls_layout_or_naming_the_extra(monkeypatch):
    import os
    import sys

    from skmtl.data.tables import read_data
    from skmtl.utils.files import DataFileError

    vowels = os.path.join(_archive("JapaneseVowels"), "JapaneseVowels_TRAIN.ts")
    signal = read_data(vowels)["signal"]  # unequal lengths: one array per sample
    assert signal.shape == (270,) and signal[0].shape == (20, 12)
    assert len({cell.shape[0] for cell in signal}) > 1
    data = read_data(os.path.join(_archive("BasicMotions"), "BasicMotions_TRAIN.ts"))
    assert data["signal"].shape == (40, 100, 6) and data["target"].shape == (40,)
    monkeypatch.setitem(sys.modules, "aeon.datasets", None)
    with pytest.raises(DataFileError, match=r"skmtl\[aeon\]"):
        read_data(vowels)


# ------------------------------------------------------------------ plotting
def test_plot_history_says_standardised_units_and_keeps_legends_off_curves(data):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skmtl.plotting import plot_history

    X, y = data
    est = MultiTaskConvEstimator(
        **TINY, epochs=3, early_stopping=True, validation_fraction=0.25
    ).fit(X, y)
    fig = plot_history(est)
    try:
        labels = {ax.get_title(): ax.get_ylabel() for ax in fig.axes}
        assert "standardised units" in labels["density: MAE"]
        assert "standardised" not in labels["material: accuracy"]
        fig.canvas.draw()
        for ax in fig.axes:
            legend = ax.get_legend()
            assert legend is not None
            plot_area = ax.get_window_extent()
            assert not legend.get_window_extent().overlaps(plot_area), ax.get_title()
    finally:
        plt.close(fig)


# ------------------------------------------------------------------- serving
def test_the_serving_signature_of_n_t_1_signals_is_documented_at_export(data):
    pytest.importorskip("tensorflow")
    from skmtl.export import export, serving_specs

    X, y = data
    fields = {"ampl": X["ampl"][..., None], "temp": X["temp"]}  # (n, T, 1)
    est = MultiTaskConvEstimator(**TINY, epochs=1).fit(fields, y)
    inputs, _ = serving_specs(est)
    shape = tuple(inputs["ampl"].shape)
    assert shape == (None, 32)  # served as (batch, n_steps)...
    doc = " ".join(export.__doc__.split())
    assert "(batch, n_steps)`` (also when fit got ``(n, n_steps, 1)``" in doc
    assert "x[..., 0]" in doc  # ...and the export call says how to feed it
