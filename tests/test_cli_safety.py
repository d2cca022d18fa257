"""The ``skmtl`` command never destroys a file: inputs as outputs, failed writes.

The catalogue (``tests/test_bad_inputs.py``) holds one row per refused
command; these tests cover what a row cannot: hard links, a write that fails
half-way, the mode of a replaced file. No model is trained here: each refusal
comes before the model file is read.
"""

import contextlib
import io
import os
import stat
import zipfile

import numpy as np
import pytest

from skmtl.cli.command import main
from skmtl.data import tables as datafiles
from skmtl.data.tables import write_table
from skmtl.utils.files import DataFileError, atomic_path, check_output


def _run(*argv) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        status = main([str(a) for a in argv])
    return status, err.getvalue()


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "data.npz"
    np.savez(
        path, ampl=np.zeros((4, 8)), temp=np.ones(4), material=np.array(list("abab"))
    )
    return path


def test_a_hard_link_to_the_data_is_refused_as_output(data, tmp_path):
    link = tmp_path / "predictions.npz"
    os.link(data, link)
    model = tmp_path / "model.skmtl"
    model.write_text("never read: the output is checked first")
    before = data.read_bytes()
    status, err = _run("predict", model, data, "-o", link)
    assert (status, err.count("skmtl: error: ")) == (2, 1)
    assert "is the data file" in err and data.read_bytes() == before


def test_fit_refuses_to_write_the_model_over_its_data(data):
    before = data.read_bytes()
    status, err = _run("fit", data, "--target", "material", "-o", data)
    assert status == 2 and "is the data file" in err
    assert data.read_bytes() == before


def test_another_spelling_of_the_same_path_is_caught(data, tmp_path):
    other = tmp_path / "sub" / ".." / "data.npz"
    (tmp_path / "sub").mkdir()
    with pytest.raises(DataFileError, match="is the data file"):
        check_output(str(other), (".npz",), [("data file", str(data))])


def test_a_new_output_file_is_not_refused(data, tmp_path):
    check_output(str(tmp_path / "new.npz"), (".npz",), [("data file", str(data))])


@pytest.mark.parametrize("name", ["predictions.csv", "predictions.npz"])
def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(
    tmp_path, monkeypatch, name
):
    path = tmp_path / name
    write_table({"material": np.array(["a", "b"])}, str(path))
    before = path.read_bytes()

    def fail_half_way(columns, stream):
        stream.write("material\nhalf")
        raise OSError(28, "No space left on device")

    def npz_fail(columns, tmp):
        with open(tmp, "wb") as stream:
            stream.write(b"PK\x03\x04half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(datafiles, "_write_csv", fail_half_way)
    monkeypatch.setattr(datafiles, "_write_npz", npz_fail)
    with pytest.raises(OSError, match="No space left"):
        write_table({"material": np.array(["c", "d"])}, str(path))
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == [name]


def test_a_replaced_file_keeps_its_mode_and_a_new_one_gets_the_umask(tmp_path):
    old = tmp_path / "old.csv"
    old.write_text("x\n")
    old.chmod(0o640)
    with atomic_path(str(old)) as tmp:
        open(tmp, "w").write("y\n")
    assert stat.S_IMODE(old.stat().st_mode) == 0o640 and old.read_text() == "y\n"

    mask = os.umask(0o022)
    try:
        with atomic_path(str(tmp_path / "new.csv")) as tmp:
            open(tmp, "w").write("z\n")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "new.csv").stat().st_mode) == 0o644


def test_an_upper_case_npz_extension_is_written_in_place(tmp_path):
    path = tmp_path / "P.NPZ"
    write_table({"density": np.array([1.5, 2.5])}, str(path))
    assert sorted(os.listdir(tmp_path)) == ["P.NPZ"]
    np.testing.assert_array_equal(np.load(path)["density"], [1.5, 2.5])


def test_writing_through_a_symbolic_link_keeps_the_link(tmp_path):
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    write_table({"material": np.array(["a"])}, str(link))
    assert link.is_symlink() and real.read_text() == "material\na\n"


def test_duplicate_parquet_columns_are_named(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    columns = [pa.array([1.0, 2.0]), pa.array([3.0, 4.0])]
    pq.write_table(
        pa.Table.from_arrays(columns, names=["temp", "temp"]), tmp_path / "d.parquet"
    )
    with pytest.raises(DataFileError, match=r"duplicate column names \['temp'\]"):
        datafiles.read_data(str(tmp_path / "d.parquet"))


def test_an_npz_declaring_more_than_the_memory_is_refused_before_reading(tmp_path):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**14,)}
    )
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ampl.npy", header.getvalue() + bytes(1000))
    status, err = _run("fit", path, "--target", "ampl", "-o", tmp_path / "m.skmtl")
    assert status == 2 and "Traceback" not in err
    assert "declares arrays of 800000.0 GB in all, more than this machine's" in err


def test_a_saved_model_gets_a_new_file_s_mode_not_a_private_one(tmp_path):
    from skmtl import MultiTaskConvEstimator
    from skmtl.datasets import make_sensor_tasks

    X, y = make_sensor_tasks(20, n_steps=16, random_state=0)
    est = MultiTaskConvEstimator(filters=(84,), dense_units=4, epochs=1, random_state=0)
    mask = os.umask(0o022)
    try:
        est.fit(X, y).save(tmp_path / "m.skmtl")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "m.skmtl").stat().st_mode) == 0o644
    assert sorted(os.listdir(tmp_path)) == ["m.skmtl"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write a read-only file")
def test_a_read_only_output_is_not_replaced(tmp_path):
    path = tmp_path / "kept.csv"
    path.write_text("precious\n")
    path.chmod(0o444)
    with pytest.raises(PermissionError, match="read-only"):
        write_table({"material": np.array(["a"])}, str(path))
    assert path.read_text() == "precious\n"
