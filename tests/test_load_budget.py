"""Loading costs memory in proportion to a file's real content.

Each crafted file is a few kilobytes that declare gigabytes (a weight of 300 M
fill values, a head of 30 M units, 200 M rocket features, a ``<U500000000``
dtype). ``load`` must refuse each with :class:`SkmtlFileError` naming the
entry, before allocating what it declares: the refusals are checked here, and
the peak memory of loading them all in a fresh process is compared with that
of loading the good file they came from.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

from skmtl import load
from skmtl.persistence import SkmtlFileError

from .conftest import run_python

# ------------------------------------------------------------ crafting files


def _rewrite(source: Path, target: Path, member: str, change: Callable) -> Path:
    """Copy a model file with one member changed: ``skmtl.json`` or a member of
    ``model.keras`` (``config.json``, ``model.weights.h5``); ``change`` maps its
    bytes to new bytes."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename == member:
                data = change(data)
            elif item.filename == "model.keras" and member != "skmtl.json":
                data = _rewrite_bytes(data, member, change)
            zout.writestr(item.filename, data, compress_type=zipfile.ZIP_DEFLATED)
    return target


def _rewrite_bytes(archive: bytes, member: str, change: Callable) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(archive)) as zin,
        zipfile.ZipFile(out, "w") as zout,
    ):
        for item in zin.infolist():
            data = zin.read(item)
            zout.writestr(item, change(data) if item.filename == member else data)
    return out.getvalue()


def _json_edit(edit: Callable[[dict], None]) -> Callable[[bytes], bytes]:
    def change(data: bytes) -> bytes:
        doc = json.loads(data)
        edit(doc)
        return json.dumps(doc).encode()

    return change


def _layer_config(doc: dict, name: str) -> dict:
    return next(lay for lay in doc["config"]["layers"] if lay["name"] == name)["config"]


def _set_layer(name: str, **values) -> Callable[[bytes], bytes]:
    """config.json with a layer's config entries changed."""
    return _json_edit(lambda doc: _layer_config(doc, name).update(values))


def _rocket_features(n_features: int) -> Callable[[bytes], bytes]:
    """config.json asking for ``n_features`` rocket features, the layer after
    it left to build from them (its saved input width removed)."""

    def edit(doc: dict) -> None:
        _layer_config(doc, "branch32_rocket")["n_features"] = n_features
        for layer in doc["config"]["layers"]:
            layer.pop("build_config", None)

    return _json_edit(edit)


def _fill_value_weight(n_values: int) -> Callable[[bytes], bytes]:
    """model.weights.h5 whose first weight declares ``n_values`` float32 values
    and stores none (HDF5 would return its fill value for all of them)."""

    def change(data: bytes) -> bytes:
        buffer = io.BytesIO(data)
        with h5py.File(buffer, "r+") as h5:
            names = []
            h5.visititems(
                lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None
            )
            del h5[names[0]]
            h5.create_dataset(names[0], shape=(n_values,), dtype="float32")
        return buffer.getvalue()

    return change


def _class_dtype(dtype: str) -> Callable[[bytes], bytes]:
    def edit(meta: dict) -> None:
        task = next(t for t in meta["targets"]["tasks"] if t["classes"])
        task["classes_dtype"] = dtype

    return _json_edit(edit)


def _array_param(dtype: str) -> Callable[[bytes], bytes]:
    """skmtl.json with a parameter saved as a two-string array of ``dtype``."""

    def edit(meta: dict) -> None:
        meta["params"]["random_state"] = {
            "__ndarray__": dtype,
            "shape": [2],
            "data": ["a", "b"],
        }

    return _json_edit(edit)


def _huge_integer(meta_bytes: bytes) -> bytes:
    """skmtl.json with a 5,000-digit integer, past Python's int-string limit."""
    return meta_bytes.replace(
        b'"format_version": 1', b'"format_version": ' + b"9" * 5000
    )


#: name: (member, change, regex of the refusal)
CRAFTED = {
    "fill-value-weight": (
        "model.weights.h5",
        _fill_value_weight(300_000_000),
        r"model\.weights\.h5 weight '.*' declares shape \(300000000,\), 1\.2 GB, "
        r"but the file stores 0 bytes for it",
    ),
    "dense-units": (
        "config.json",
        _set_layer("head_material", units=30_000_000),
        r"its network's layers declare .* GB of weights, the largest "
        r"'head_material/kernel' of shape \(8, 30000000\)",
    ),
    "rocket-features": (
        "config.json",
        _rocket_features(200_000_000),
        r"its network's layers declare .* GB of weights, the largest "
        r"'shared_dense/kernel' of shape \(199999971, 8\)",
    ),
    "rocket-steps": (
        "config.json",
        _set_layer("branch32_rocket", n_steps=1_000_000_000),
        r"MiniRocketFeatures\(n_steps=1000000000, n_channels=2\) would take "
        r".* GiB for its kernels and plans",
    ),
    "calibration-negative-rows": (
        "skmtl.json",
        _json_edit(lambda meta: meta["fitted"]["calibration"].update(n_rows=-5)),
        r"calibration n_rows=-5; expected a count",
    ),
    "calibration-nan-residual": (
        "skmtl.json",
        _json_edit(
            lambda meta: meta["fitted"]["calibration"]["residuals"].update(
                density=[[float("nan")]]
            )
        ),
        r"calibration residuals\['density'\] holds values outside",
    ),
    "class-dtype": (
        "skmtl.json",
        _class_dtype("<U500000000"),
        r"the dtype of the classes of task 'material' is '<U500000000', whose "
        r"items take 2\.0 GB, more than the .* kB of metadata",
    ),
    "parameter-dtype": (
        "skmtl.json",
        _array_param("<U500000000"),
        r"the dtype of parameter 'random_state' is '<U500000000'",
    ),
    "huge-integer": (
        "skmtl.json",
        _huge_integer,
        r"has unreadable metadata: Exceeds the limit \(4300 digits\)",
    ),
}


def craft(good: Path, name: str, folder: Path) -> Path:
    """The crafted file ``name`` of :data:`CRAFTED`, made from a good model file."""
    member, change, _ = CRAFTED[name]
    return _rewrite(good, folder / f"{name}.skmtl", member, change)


# --------------------------------------------------------------------- tests


@pytest.fixture(scope="module")
def good_file(tmp_path_factory):
    from skmtl import MultiTaskConvEstimator
    from skmtl.datasets import make_sensor_tasks

    X, y = make_sensor_tasks(60, n_steps=32, random_state=0)
    est = MultiTaskConvEstimator(
        filters=(84,),
        dense_units=8,
        epochs=1,
        calibration_fraction=0.2,  # a calibration to craft
        random_state=0,
    ).fit(X, y)
    path = tmp_path_factory.mktemp("budget") / "model.skmtl"
    est.save(path)
    return path


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_crafted_file_is_refused_naming_the_entry(good_file, name, tmp_path):
    path = craft(good_file, name, tmp_path)
    assert path.stat().st_size < 100_000
    with pytest.raises(SkmtlFileError, match=CRAFTED[name][2]):
        load(path)


def test_crafted_files_cost_no_more_memory_than_a_good_one(good_file, tmp_path):
    paths = [craft(good_file, name, tmp_path) for name in sorted(CRAFTED)]
    out = run_python(f"""
        import resource
        from skmtl import load

        def peak_mb():
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        load({str(good_file)!r})
        load({str(good_file)!r})  # a second load: first-call costs are paid
        base = peak_mb()
        for path in {[str(p) for p in paths]!r}:
            try:
                load(path)
            except ValueError:
                pass
            print(path.rsplit("/", 1)[-1], round(peak_mb() - base))
    """)
    growth = {line.split()[0]: int(line.split()[1]) for line in out.splitlines()}
    assert len(growth) == len(CRAFTED)
    assert max(growth.values()) < 100, growth  # megabytes; it was 1,600 to 4,300


def test_good_file_still_loads_and_predicts(good_file):
    from skmtl.datasets import make_sensor_tasks

    X, _ = make_sensor_tasks(10, n_steps=32, random_state=1)
    est = load(good_file)
    assert est.predict(X).shape == (10, 2)
    assert np.isfinite(est.predict(X)["density"]).all()
