"""Module paths of releases before the layer folders still import
(skmtl._moved): the same module objects, so patches and pickles agree."""

import importlib
import pickle

import pytest

from skmtl._moved import MOVED


@pytest.mark.parametrize(("old", "new"), sorted(MOVED.items()))
def test_an_old_path_is_the_module_at_its_new_one(old, new):
    assert importlib.import_module(f"skmtl.{old}") is importlib.import_module(
        f"skmtl.{new}"
    )


def test_from_import_and_attribute_access_of_an_old_path():
    from skmtl import budget
    from skmtl.training import budget as moved

    assert budget is moved
    assert budget.__spec__.name == "skmtl.training.budget"  # its own spec kept


def test_a_patch_through_the_old_path_reaches_the_code(monkeypatch):
    import skmtl.budget
    from skmtl.training.budget import auto_budget

    before = auto_budget(1000, 32).epochs
    monkeypatch.setattr("skmtl.budget.MIN_STEPS", 10 * skmtl.budget.MIN_STEPS)
    assert auto_budget(1000, 32).epochs > before


def test_an_object_pickles_and_loads_under_its_new_path():
    from skmtl.data.inputs import FieldSpec

    spec = FieldSpec("ampl", "signal", 8, 1, "float32")
    assert pickle.loads(pickle.dumps(spec)) == spec


def test_an_unknown_old_name_is_still_an_import_error():
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("skmtl.no_such_module")


def test_a_pickle_written_under_an_old_path_loads():
    from skmtl.data.inputs import FieldSpec

    spec = FieldSpec("ampl", "signal", 8, 1, "float32")
    # Protocol 0 names the class's module as text, as an old release wrote it.
    old = pickle.dumps(spec, protocol=0).replace(b"skmtl.data.inputs", b"skmtl.inputs")
    assert b"skmtl.inputs" in old
    assert pickle.loads(old) == spec
