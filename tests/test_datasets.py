"""Tests for skmtl.datasets.make_sensor_tasks."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmtl.datasets import make_sensor_tasks

pd = pytest.importorskip("pandas")

X_FIELDS = ("ampl", "phase", "temp", "moist", "weight")
MATERIALS = ["aluminium", "steel", "copper", "wood", "polymer"]


def _assert_same(a, b):
    for name in a.dtype.names:
        np.testing.assert_array_equal(a[name], b[name])


@pytest.mark.parametrize("n_samples, n_steps", [(1, 8), (37, 64), (200, 300)])
def test_x_layout(n_samples, n_steps):
    X, _ = make_sensor_tasks(n_samples, n_steps=n_steps, random_state=0)
    assert X.shape == (n_samples,)
    assert X.dtype.names == X_FIELDS
    for name in X_FIELDS:
        assert X.dtype[name].base == np.float32
        assert np.isfinite(X[name]).all()
    assert X["ampl"].shape == X["phase"].shape == (n_samples, n_steps)
    for name in ("temp", "moist", "weight"):
        assert X[name].shape == (n_samples,)


def test_y_frame():
    _, y = make_sensor_tasks(103, n_steps=16, random_state=0)
    assert isinstance(y, pd.DataFrame)
    assert list(y.columns) == ["material", "density"]
    assert y["material"].dtype == object
    assert y["density"].dtype == np.float64
    assert all(isinstance(v, str) for v in y["material"])
    counts = y["material"].value_counts()
    assert sorted(counts.index) == sorted(MATERIALS)
    assert counts.max() - counts.min() <= 1


def test_y_structured_matches_frame():
    _, frame = make_sensor_tasks(50, n_steps=16, random_state=3)
    _, y = make_sensor_tasks(50, n_steps=16, random_state=3, as_frame=False)
    assert isinstance(y, np.ndarray) and y.shape == (50,)
    assert y.dtype.names == ("material", "density")
    assert y.dtype["material"] == np.dtype("O")
    assert y.dtype["density"] == np.float64
    assert list(y["material"]) == list(frame["material"])
    np.testing.assert_array_equal(y["density"], frame["density"].to_numpy())


def test_extra_class_names_and_balance():
    _, y = make_sensor_tasks(71, n_steps=8, n_classes=7, random_state=0)
    counts = y["material"].value_counts()
    assert set(counts.index) == {*MATERIALS, "material_5", "material_6"}
    assert counts.max() - counts.min() <= 1
    _, y = make_sensor_tasks(40, n_steps=8, n_classes=2, random_state=0)
    assert set(y["material"]) == {"aluminium", "steel"}


def test_reproducible():
    X1, y1 = make_sensor_tasks(30, n_steps=32, random_state=7)
    X2, y2 = make_sensor_tasks(30, n_steps=32, random_state=np.random.RandomState(7))
    _assert_same(X1, X2)
    pd.testing.assert_frame_equal(y1, y2)
    X3, y3 = make_sensor_tasks(30, n_steps=32, random_state=8)
    assert not np.array_equal(X1["ampl"], X3["ampl"])
    assert not np.array_equal(y1["density"], y3["density"])


def test_generator_random_state():
    Xa, ya = make_sensor_tasks(30, n_steps=32, random_state=np.random.default_rng(1))
    Xb, yb = make_sensor_tasks(30, n_steps=32, random_state=np.random.default_rng(1))
    _assert_same(Xa, Xb)
    pd.testing.assert_frame_equal(ya, yb)
    rng = np.random.default_rng(1)
    Xc, _ = make_sensor_tasks(30, n_steps=32, random_state=rng)
    Xd, _ = make_sensor_tasks(30, n_steps=32, random_state=rng)
    assert not np.array_equal(Xc["ampl"], Xd["ampl"])


def test_missing_rate():
    n = 4000
    _, y = make_sensor_tasks(n, n_steps=8, missing_rate=0.3, random_state=0)
    no_material = y["material"].isna().to_numpy()
    no_density = y["density"].isna().to_numpy()
    assert all(v is None for v in y["material"][no_material])
    assert abs(no_material.mean() - 0.3) < 0.04
    assert abs(no_density.mean() - 0.3) < 0.04
    # Independent per task: both missing about 0.3 * 0.3 of the time.
    assert abs((no_material & no_density).mean() - 0.09) < 0.03
    _, y = make_sensor_tasks(n, n_steps=8, random_state=0)
    assert y.notna().all().all()


def test_scales_and_densities():
    X, y = make_sensor_tasks(1000, n_steps=128, random_state=0)
    assert 50 <= np.abs(X["ampl"]).max() <= 300
    assert np.abs(X["phase"]).max() < 5
    assert abs(X["temp"].mean() - 20) < 1 and 3 < X["temp"].std() < 7
    assert X["moist"].min() >= 0.05 and X["moist"].max() <= 0.3
    assert X["weight"].min() > 0 and 1 < np.median(X["weight"]) < 20
    medians = y.groupby("material")["density"].median()
    ordered = ["wood", "polymer", "aluminium", "steel", "copper"]
    assert list(medians.sort_values().index) == ordered


def test_noise_zero_is_noise_free_signal():
    X, y = make_sensor_tasks(50, n_steps=64, noise=0.0, random_state=0)
    # Without noise the trace is a decaying sinusoid bounded by its envelope.
    assert np.abs(X["ampl"]).max() <= 100.0 + 1e-3
    # ... and every recording of a material starts at that material's offset.
    start = pd.Series(X["phase"][:, 0]).groupby(y["material"]).nunique()
    assert (start == 1).all() and len(start) == 5


@pytest.mark.parametrize(
    "name, value",
    [
        ("n_samples", 0),
        ("n_samples", 2.5),
        ("n_samples", True),
        ("n_steps", 7),
        ("n_steps", "64"),
        ("n_classes", 1),
        ("noise", -0.1),
        ("noise", float("nan")),
        ("noise", float("inf")),
        ("missing_rate", -0.1),
        ("missing_rate", 1.0),
        ("missing_rate", float("nan")),
    ],
)
def test_invalid_arguments(name, value):
    kwargs = {"n_steps": 16, name: value}
    with pytest.raises(ValueError, match=name):
        make_sensor_tasks(**kwargs)


def test_as_frame_without_pandas(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"skmtl\[pandas\]"):
        make_sensor_tasks(5, n_steps=8)
    _, y = make_sensor_tasks(5, n_steps=8, as_frame=False)
    assert y.dtype.names == ("material", "density")


def test_module_does_not_import_tensorflow():
    path = Path(__file__).parents[1] / "skmtl" / "data" / "synthetic.py"
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('ds', {str(path)!r})\n"
        "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "assert not {'tensorflow', 'keras'} & set(sys.modules), 'imported TF'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _split_score(features, labels):
    f_tr, f_te, l_tr, l_te = train_test_split(
        features, labels, test_size=0.3, random_state=0, stratify=labels
    )
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    return clf.fit(f_tr, l_tr).score(f_te, l_te)


def test_class_needs_signal_not_covariates():
    X, y = make_sensor_tasks(1000, n_steps=256, random_state=0)
    labels = y["material"].to_numpy()
    covariates = np.c_[X["temp"], X["moist"], X["weight"]]
    assert _split_score(covariates, labels) < 0.7
    spectrum = np.abs(np.fft.rfft(X["ampl"], axis=1))[:, 1:20]
    assert _split_score(spectrum, labels) > 0.9
