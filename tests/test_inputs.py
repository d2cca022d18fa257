"""Encoders round-trip: every accepted form of X, its schema, encoding and errors.

No network is built here: ``skmtl.data.inputs`` is pure NumPy (and pandas).
"""

import json
import re

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.model_selection import train_test_split

from skmtl.data.inputs import (
    InputEncoder,
    InputSchema,
    encode,
    infer_schema,
    to_named_arrays,
    to_structured,
)

N = 6


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def X_dict(rng):
    """Two signals of different lengths and channel counts, two covariates."""
    return {
        "ampl": rng.normal(100.0, 5.0, size=(N, 16)).astype(np.float32),
        "phase": rng.normal(size=(N, 8, 2)),
        "temp": rng.normal(20.0, 2.0, size=N),
        "count": np.arange(N, dtype=np.int32),
    }


def _structure(fields):
    """Field name -> (kind, n_steps, n_channels) of a schema."""
    return {f.name: (f.kind, f.n_steps, f.n_channels) for f in fields}


EXPECTED = {
    "ampl": ("signal", 16, 1),
    "phase": ("signal", 8, 2),
    "temp": ("covariate", 1, 1),
    "count": ("covariate", 1, 1),
}


def _check_encoded(encoded, X_dict):
    """``encoded`` holds float32 arrays of the network's shapes and X's values."""
    assert list(encoded) == list(X_dict)
    assert {k: v.shape for k, v in encoded.items()} == {
        "ampl": (N, 16, 1),
        "phase": (N, 8, 2),
        "temp": (N, 1),
        "count": (N, 1),
    }
    assert all(v.dtype == np.float32 for v in encoded.values())
    np.testing.assert_array_equal(encoded["ampl"][..., 0], X_dict["ampl"])
    np.testing.assert_array_equal(encoded["phase"], X_dict["phase"].astype(np.float32))
    np.testing.assert_array_equal(
        encoded["temp"][:, 0], X_dict["temp"].astype(np.float32)
    )
    np.testing.assert_array_equal(encoded["count"][:, 0], np.arange(N))


# --------------------------------------------------------------------- forms
def test_dict_schema_and_encode(X_dict):
    schema = infer_schema(X_dict)
    assert schema.form == "dict"
    assert schema.names == ["ampl", "phase", "temp", "count"]
    assert _structure(schema.fields) == EXPECTED
    assert [f.dtype for f in schema.fields] == [
        "float32",
        "float64",
        "float64",
        "int32",
    ]
    assert [f.name for f in schema.signals] == ["ampl", "phase"]
    assert [f.name for f in schema.covariates] == ["temp", "count"]
    assert schema["phase"].shape == (8, 2)
    assert schema["temp"].shape == (1,)
    assert schema.n_features_in == 4
    encoded, n = encode(X_dict, schema)
    assert n == N
    _check_encoded(encoded, X_dict)


def test_structured_array_with_subarray_fields(X_dict):
    X = np.empty(
        N,
        dtype=[
            ("ampl", "f4", (16,)),
            ("phase", "f8", (8, 2)),
            ("temp", "f8"),
            ("count", "i4"),
        ],
    )
    for name, values in X_dict.items():
        X[name] = values
    schema = infer_schema(X)
    assert schema.form == "structured"
    assert schema.names == list(X_dict)
    assert _structure(schema.fields) == EXPECTED
    encoded, n = encode(X, schema)
    assert n == N
    _check_encoded(encoded, X_dict)


def test_dataframe_with_scalar_and_array_columns(X_dict):
    X = pd.DataFrame(
        {
            "ampl": list(X_dict["ampl"]),  # object column of 1-D arrays
            "phase": list(X_dict["phase"]),  # object column of 2-D arrays
            "temp": X_dict["temp"],
            "count": X_dict["count"],
        }
    )
    assert X["ampl"].dtype == object
    schema = infer_schema(X)
    assert schema.form == "frame"
    assert schema.names == list(X_dict)
    assert _structure(schema.fields) == EXPECTED
    encoded, n = encode(X, schema)
    assert n == N
    _check_encoded(encoded, X_dict)


def test_dataframe_cells_may_be_lists_and_covariates_bool():
    X = pd.DataFrame({"sig": [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], "flag": [True, False]})
    schema = infer_schema(X)
    assert _structure(schema.fields) == {
        "sig": ("signal", 3, 1),
        "flag": ("covariate", 1, 1),
    }
    encoded, _ = encode(X, schema)
    np.testing.assert_array_equal(encoded["sig"][:, :, 0], [[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(encoded["flag"], [[1.0], [0.0]])


@pytest.mark.parametrize("as_list", [False, True])
def test_2d_array_is_one_univariate_signal(rng, as_list):
    X = rng.normal(size=(N, 4))
    schema = infer_schema(X.tolist() if as_list else X)
    assert schema.form == "array2d"
    assert schema.names == ["signal"]
    assert _structure(schema.fields) == {"signal": ("signal", 4, 1)}
    assert schema.n_features_in == 4  # scikit-learn's n_features_in_: columns
    encoded, n = encode(X, schema)
    assert n == N
    assert list(encoded) == ["signal"]
    assert encoded["signal"].shape == (N, 4, 1)
    assert encoded["signal"].dtype == np.float32
    np.testing.assert_array_equal(encoded["signal"][..., 0], X.astype(np.float32))


class _ArrayLike:
    """An array-like that only offers ``__array__`` (as scikit-learn's NotAnArray)."""

    def __init__(self, data):
        self.data = data

    def __array__(self, dtype=None, copy=None):
        return self.data

    def __array_function__(self, func, types, args, kwargs):
        raise TypeError(f"no {func.__name__}")


def test_array_like_with_only_dunder_array(rng):
    X = rng.normal(size=(N, 4))
    schema = infer_schema(_ArrayLike(X))
    assert schema.form == "array2d"
    encoded, _ = encode(_ArrayLike(X), schema)
    np.testing.assert_array_equal(encoded["signal"][..., 0], X.astype(np.float32))


def test_3d_array_is_one_multichannel_signal(rng):
    X = rng.normal(size=(N, 5, 3)).astype(np.float32)
    schema = infer_schema(X)
    assert schema.form == "array3d"
    assert _structure(schema.fields) == {"signal": ("signal", 5, 3)}
    assert schema.n_features_in == 1
    encoded, _ = encode(X, schema)
    assert encoded["signal"].shape == (N, 5, 3)
    np.testing.assert_array_equal(encoded["signal"], X)


def test_to_named_arrays_reports_the_form(X_dict, rng):
    assert to_named_arrays(X_dict)[1] == "dict"
    assert to_named_arrays(to_structured(X_dict))[1] == "structured"
    assert to_named_arrays(pd.DataFrame({"t": [1.0, 2.0]}))[1] == "frame"
    assert to_named_arrays(rng.normal(size=(2, 3)))[1] == "array2d"
    assert to_named_arrays(rng.normal(size=(2, 3, 1)))[1] == "array3d"


def test_signals_of_different_lengths_and_channels_coexist(rng):
    X = {
        "short": rng.normal(size=(N, 7)),
        "long": rng.normal(size=(N, 300, 1)),
        "wide": rng.normal(size=(N, 20, 5)),
        "t": rng.normal(size=N),
    }
    schema = infer_schema(X)
    assert _structure(schema.fields) == {
        "short": ("signal", 7, 1),
        "long": ("signal", 300, 1),
        "wide": ("signal", 20, 5),
        "t": ("covariate", 1, 1),
    }
    assert [len(f.mean) for f in schema.fields] == [1, 1, 5, 1]
    encoded, _ = encode(X, schema)
    assert {k: v.shape for k, v in encoded.items()} == {
        "short": (N, 7, 1),
        "long": (N, 300, 1),
        "wide": (N, 20, 5),
        "t": (N, 1),
    }


def test_input_encoder_fit_transform(X_dict):
    enc = InputEncoder().fit(X_dict)
    assert enc.schema_ == infer_schema(X_dict)
    _check_encoded(enc.transform(X_dict), X_dict)
    _check_encoded(InputEncoder().fit_transform(X_dict), X_dict)


# ------------------------------------------------------------ copies, dtypes
@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda a: {"s": a}, id="dict-signal-2d"),
        pytest.param(lambda a: {"s": a.reshape(N, 4, 2)}, id="dict-signal-3d"),
        pytest.param(lambda a: {"c": a[:, 0].copy()}, id="dict-covariate"),
        pytest.param(lambda a: a, id="array2d"),
        pytest.param(lambda a: a.reshape(N, 4, 2), id="array3d"),
    ],
)
def test_float32_c_contiguous_input_is_not_copied(rng, make):
    base = rng.normal(size=(N, 8)).astype(np.float32)
    X = make(base)
    schema = infer_schema(X)
    encoded, _ = encode(X, schema)
    (name,) = encoded
    source = X[name] if isinstance(X, dict) else X
    assert source.dtype == np.float32 and source.flags.c_contiguous
    assert encoded[name].dtype == np.float32
    assert np.shares_memory(encoded[name], source)


def test_float64_input_is_converted(rng):
    X = {"s": rng.normal(size=(N, 8)), "c": rng.normal(size=N)}
    encoded, _ = encode(X, infer_schema(X))
    for name, a in encoded.items():
        assert a.dtype == np.float32
        assert not np.shares_memory(a, X[name])
        np.testing.assert_allclose(a.reshape(X[name].shape), X[name], rtol=1e-6)


def test_float64_at_predict_after_float32_at_fit(rng):
    X32 = {"s": rng.normal(size=(N, 8)).astype(np.float32), "c": np.ones(N, "f4")}
    schema = infer_schema(X32)
    X64 = {k: v.astype(np.float64) for k, v in X32.items()}
    encoded, _ = encode(X64, schema)
    assert all(v.dtype == np.float32 for v in encoded.values())
    np.testing.assert_array_equal(encoded["s"][..., 0], X32["s"])


# ------------------------------------------------------------ normalisation
def test_normalisation_stats_equal_numpy(X_dict):
    schema = infer_schema(X_dict)
    for name, a in X_dict.items():
        spec = schema[name]
        # Of the values themselves, in float64 (not of their float32 cast).
        flat = a.astype(np.float64).reshape(N, -1, spec.n_channels)
        np.testing.assert_allclose(spec.mean, flat.mean(axis=(0, 1)), rtol=1e-12)
        np.testing.assert_allclose(spec.std, flat.std(axis=(0, 1)), rtol=1e-10)


def test_normalisation_stats_over_many_chunks_and_with_an_offset(rng):
    # More rows than one scanning chunk (1024), and a large offset with small
    # noise: the sum-of-squares formula cancels catastrophically on such data.
    n = 2500
    X = {
        "s": (1e4 + 1e-2 * rng.normal(size=(n, 6, 2))).astype(np.float32),
        "c": (1e3 + 1e-3 * rng.normal(size=n)).astype(np.float32),
    }
    schema = infer_schema(X)
    s = X["s"].astype(np.float64)
    np.testing.assert_allclose(schema["s"].mean, s.mean(axis=(0, 1)), rtol=1e-12)
    np.testing.assert_allclose(schema["s"].std, s.std(axis=(0, 1)), rtol=1e-8)
    c = X["c"].astype(np.float64)
    np.testing.assert_allclose(schema["c"].std, [c.std()], rtol=1e-8)


@pytest.mark.parametrize("value", [0.0, 0.3, 7.0, 12345.678])
def test_constant_channel_gets_std_one(rng, value):
    n = 3000  # several chunks: rounding must not turn 0 into a tiny std
    signal = rng.normal(size=(n, 5, 2))
    signal[:, :, 1] = value
    X = {"s": signal, "c": np.full(n, value)}
    schema = infer_schema(X)
    assert schema["s"].std[1] == 1.0
    assert schema["s"].mean[1] == pytest.approx(np.float32(value), rel=1e-12)
    assert schema["s"].std[0] != 1.0
    assert schema["c"].std == (1.0,)


# --------------------------------------------------------- to_structured, split
def test_to_structured_round_trips_and_splits(X_dict):
    X = to_structured(X_dict)
    assert X.shape == (N,)
    assert X.dtype.names == tuple(X_dict)
    for name, values in X_dict.items():
        assert X[name].dtype == values.dtype
        np.testing.assert_array_equal(X[name], values)
    assert infer_schema(X).fields == infer_schema(X_dict).fields

    X_train, X_test = train_test_split(X, test_size=2, random_state=0)
    assert X_train.dtype == X.dtype and X_test.shape == (2,)
    schema = infer_schema(X_train)
    encoded, n = encode(X_test, schema)
    assert n == 2
    assert encoded["phase"].shape == (2, 8, 2)


def test_to_structured_of_a_dataframe_with_array_columns(X_dict):
    frame = pd.DataFrame({"ampl": list(X_dict["ampl"]), "temp": X_dict["temp"]})
    X = to_structured(frame)
    np.testing.assert_array_equal(X["ampl"], X_dict["ampl"])
    np.testing.assert_array_equal(X["temp"], X_dict["temp"])


# ------------------------------------------------------------- schema persistence
def test_schema_to_dict_from_dict_round_trip(X_dict):
    schema = infer_schema(X_dict)
    data = schema.to_dict()
    assert InputSchema.from_dict(data) == schema
    # and through JSON, as a saved model stores it
    restored = InputSchema.from_dict(json.loads(json.dumps(data)))
    assert restored == schema
    assert restored["phase"].std == schema["phase"].std
    assert restored.names == schema.names


# ---------------------------------------------------------- matching by name
def test_dataframe_columns_in_another_order_just_work(X_dict):
    frame = pd.DataFrame(
        {
            "ampl": list(X_dict["ampl"]),
            "temp": X_dict["temp"],
            "count": X_dict["count"],
        }
    )
    schema = infer_schema(frame)
    expected, _ = encode(frame, schema)
    shuffled, _ = encode(frame[["count", "temp", "ampl"]], schema)
    assert list(shuffled) == ["ampl", "temp", "count"]
    for name in expected:
        np.testing.assert_array_equal(shuffled[name], expected[name])


def test_fields_match_by_name_across_forms(X_dict):
    schema = infer_schema(X_dict)
    encoded, _ = encode(to_structured(X_dict), schema)
    _check_encoded(encoded, X_dict)


# -------------------------------------------------------------------- errors
@pytest.mark.parametrize("X", [{1, 2, 3}, "abc", 3.0, None], ids=repr)
def test_unsupported_type(X):
    with pytest.raises(TypeError, match=r"X of type \w+ is not supported"):
        infer_schema(X)


@pytest.mark.parametrize("make", [sp.csr_matrix, sp.csr_array, sp.coo_matrix])
def test_sparse_matrix_is_refused(make):
    with pytest.raises(TypeError, match=r"sparse.*toarray\(\)"):
        infer_schema(make(np.eye(3)))


@pytest.mark.parametrize(
    "X",
    [
        pytest.param(np.zeros((0, 4)), id="array2d"),
        pytest.param(np.zeros((0, 4, 2)), id="array3d"),
        pytest.param({"s": np.zeros((0, 4)), "t": np.zeros(0)}, id="dict"),
        pytest.param(pd.DataFrame({"t": np.zeros(0)}), id="frame"),
    ],
)
def test_empty_X(X):
    with pytest.raises(ValueError, match="X has 0 samples; at least 1 is required"):
        infer_schema(X)


def test_X_without_fields():
    with pytest.raises(ValueError, match="X has no fields"):
        infer_schema({})


@pytest.mark.parametrize("shape", [(4,), (2, 3, 4, 5)])
def test_plain_array_must_be_2d_or_3d(shape):
    with pytest.raises(
        ValueError, match=rf"2-D .* or 3-D .*; got {len(shape)}-D. Reshape your data"
    ):
        infer_schema(np.zeros(shape))


@pytest.mark.parametrize("shape", [(5, 0), (5, 0, 2), (5, 3, 0)])
def test_signal_without_steps_or_channels(shape):
    # scikit-learn's wording, which its estimator checks look for
    message = rf"0 feature\(s\) \(shape={re.escape(str(shape))}\) while a minimum of 1"
    with pytest.raises(ValueError, match=rf"Field 'signal' .*{message}"):
        infer_schema(np.zeros(shape))


def test_dict_fields_of_different_lengths():
    X = {"a": np.zeros((3, 4)), "b": np.zeros(2)}
    with pytest.raises(
        ValueError, match=r"different numbers of samples.*'a': 3, 'b': 2"
    ):
        infer_schema(X)


def test_missing_field(X_dict):
    schema = infer_schema(X_dict)
    del X_dict["temp"]
    with pytest.raises(ValueError, match=r"missing covariate 'temp'.*seen at fit"):
        encode(X_dict, schema)


def test_missing_signal_names_its_shape(X_dict):
    schema = infer_schema(X_dict)
    del X_dict["phase"]
    with pytest.raises(ValueError, match=r"missing signal 'phase' of 8 steps x 2"):
        encode(X_dict, schema)


def test_extra_field(X_dict):
    schema = infer_schema(X_dict)
    X_dict["moist"] = np.ones(N)
    with pytest.raises(ValueError, match=r"\['moist'\] not seen at fit"):
        encode(X_dict, schema)


def test_renamed_field_names_both(X_dict):
    schema = infer_schema(X_dict)
    X_dict["temperature"] = X_dict.pop("temp")
    with pytest.raises(
        ValueError, match=r"missing covariate 'temp'.*\['temperature'\] not seen"
    ):
        encode(X_dict, schema)


def test_renamed_dataframe_column(X_dict):
    frame = pd.DataFrame({"temp": X_dict["temp"], "count": X_dict["count"]})
    schema = infer_schema(frame)
    with pytest.raises(ValueError, match=r"'temp'.*\['Temp'\]"):
        encode(frame.rename(columns={"temp": "Temp"}), schema)


def test_wrong_signal_length(X_dict):
    schema = infer_schema(X_dict)
    X_dict["ampl"] = X_dict["ampl"][:, :12]
    with pytest.raises(
        ValueError, match=r"Field 'ampl' has 12 steps x 1 .* of 16 steps x 1"
    ):
        encode(X_dict, schema)


def test_wrong_channel_count(rng):
    schema = infer_schema(rng.normal(size=(N, 5, 3)))
    with pytest.raises(
        ValueError,
        match=r"Field 'signal' has 5 steps x 2 channel\(s\).* 5 steps x 3 channel",
    ):
        encode(rng.normal(size=(N, 5, 2)), schema)


def test_covariate_that_became_an_array(X_dict):
    schema = infer_schema(X_dict)
    X_dict["temp"] = np.zeros((N, 3))
    with pytest.raises(
        ValueError, match=r"Field 'temp' was a covariate .* now holds a signal"
    ):
        encode(X_dict, schema)


def test_signal_that_became_a_covariate(X_dict):
    schema = infer_schema(X_dict)
    X_dict["ampl"] = np.zeros(N)
    with pytest.raises(
        ValueError, match=r"Field 'ampl' was a signal .* now holds one value"
    ):
        encode(X_dict, schema)


def test_2d_array_with_wrong_columns_uses_sklearn_wording(rng):
    schema = infer_schema(rng.normal(size=(N, 4)))
    message = (
        "X has 3 features, but MultiTaskConvEstimator is expecting 4 features as input"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        encode(rng.normal(size=(N, 3)), schema)


@pytest.mark.parametrize(
    "values",
    [
        pytest.param(np.array(list("abcdef")), id="str"),
        pytest.param(np.array(list("abcdef"), dtype=object), id="object"),
        pytest.param(np.array(["2020-01-01"] * N, dtype="datetime64[D]"), id="date"),
    ],
)
def test_non_numeric_dtype(X_dict, values):
    schema = infer_schema(X_dict)
    with pytest.raises(ValueError, match=r"Field 'label' has dtype .*numeric"):
        infer_schema({**X_dict, "label": values})
    X_dict["temp"] = values  # and at predict
    with pytest.raises(ValueError, match=r"Field 'temp' has dtype .*numeric"):
        encode(X_dict, schema)


def test_complex_data(X_dict):
    schema = infer_schema(X_dict)
    X_dict["phase"] = X_dict["phase"] * 1j
    # scikit-learn's wording, which its estimator checks look for
    with pytest.raises(ValueError, match=r"Complex data not supported: field 'phase'"):
        infer_schema(X_dict)
    with pytest.raises(ValueError, match=r"Complex data not supported: field 'phase'"):
        encode(X_dict, schema)


def test_non_numeric_dataframe_column():
    frame = pd.DataFrame({"t": [1.0, 2.0], "material": ["wood", "steel"]})
    with pytest.raises(ValueError, match=r"Field 'material' has dtype .*numeric"):
        infer_schema(frame)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize(
    ("field", "index"),
    [("phase", (3, 2, 1)), ("ampl", (4, 0)), ("temp", (2,))],
)
def test_nan_and_inf_name_field_and_sample(X_dict, bad, field, index):
    schema = infer_schema(X_dict)
    X_dict[field] = X_dict[field].copy()
    X_dict[field][index] = bad
    message = (
        rf"Field '{field}' contains NaN or infinity \(first in sample {index[0]}\)"
    )
    with pytest.raises(ValueError, match=message):
        infer_schema(X_dict)
    with pytest.raises(ValueError, match=message):
        encode(X_dict, schema)


def test_nan_beyond_the_first_chunk_names_the_right_sample(rng):
    X = rng.normal(size=(2500, 3))
    X[2100, 1] = np.nan
    with pytest.raises(ValueError, match=r"'signal' .*first in sample 2100\)"):
        infer_schema(X)


def test_nan_in_dataframe_covariate():
    frame = pd.DataFrame({"t": [1.0, None, 3.0]})
    with pytest.raises(ValueError, match=r"Field 't' contains NaN .*sample 1\)"):
        infer_schema(frame)


def test_ragged_object_column_is_a_variable_length_signal():
    # Recordings of different lengths (tests/test_ragged.py has the rest).
    frame = pd.DataFrame({"sig": [np.zeros(3), np.zeros(3), np.zeros(4)]})
    spec = infer_schema(frame)["sig"]
    assert (spec.kind, spec.ragged, spec.min_steps, spec.n_steps) == (
        "signal",
        True,
        3,
        4,
    )


@pytest.mark.parametrize("row", [0, 1])
def test_none_cell_in_signal_column(row):
    cells = [np.zeros(3), np.zeros(3), np.zeros(3)]
    cells[row] = None
    frame = pd.DataFrame({"sig": cells})
    with pytest.raises(
        ValueError,
        match=rf"Field 'sig': sample {row} is missing \(None\); a signal needs an "
        "array",
    ):
        infer_schema(frame)


def test_none_cell_in_object_covariate_column():
    frame = pd.DataFrame({"t": pd.Series([1, None, 3], dtype=object)})
    with pytest.raises(
        ValueError,
        match=r"Field 't': sample 1 is missing \(None\); a covariate needs a number",
    ):
        infer_schema(frame)


def test_unnamed_dataframe_columns_become_string_fields():
    schema = infer_schema(pd.DataFrame(np.zeros((3, 2))))
    assert schema.names == ["0", "1"]
    assert encode(pd.DataFrame(np.ones((2, 2))), schema)[0]["1"].shape == (2, 1)


def test_mixed_dataframe_column_names():
    frame = pd.DataFrame(np.zeros((3, 2)), columns=["a", 0])
    with pytest.raises(TypeError, match=r"column names must all be strings"):
        infer_schema(frame)


def test_object_array_of_numbers_is_accepted_and_other_objects_refused():
    X = np.random.rand(4, 8).astype(object)
    assert infer_schema(X)["signal"].n_steps == 8
    X[0, 0] = {"foo": "bar"}
    with pytest.raises(TypeError, match=r"argument must be a string.* number"):
        infer_schema(X)


def test_non_string_dict_keys():
    with pytest.raises(TypeError, match=r"field names must be strings; got 1"):
        infer_schema({1: np.zeros(3)})


@pytest.mark.parametrize(
    "X",
    [
        pytest.param({"ampl/raw": np.zeros((3, 4))}, id="dict"),
        pytest.param(pd.DataFrame({"a/b": [1.0, 2.0]}), id="frame"),
    ],
)
def test_slash_in_field_name(X):
    with pytest.raises(ValueError, match=r"Field name '\w+/\w+' contains '/'"):
        infer_schema(X)


# ------------------------------------------------- names and float32 overflow
ODD_NAMES = ["température", "振幅", "ампл", "amp l", "ampl:raw", "_x", "-y", "a" * 300]


def test_keras_stem_keeps_plain_names_and_makes_any_other_valid():
    from skmtl.utils.names import keras_stem

    for plain in ["ampl", "temp_2", "x.y", "A-b", "0ampl"]:
        assert keras_stem(plain) == plain
    valid = re.compile(r"[A-Za-z0-9.][A-Za-z0-9_.-]{0,64}")
    for name in ODD_NAMES:
        assert valid.fullmatch(keras_stem(name)), name
    assert keras_stem("température") == "temperature"


def test_layer_namer_never_hands_out_a_name_twice_nor_under_a_prefix():
    from skmtl.utils.names import LayerNamer

    namer = LayerNamer(["ampl", "branch32_conv0", "covariates"])
    prefix = namer.prefix("branch32")
    assert prefix == "branch32_2"  # "branch32_conv0" is an input's name
    names = [namer.name(s) for s in ["ampl", "ampl", "covariates", f"{prefix}_x"]]
    names += [namer.name(s) for s in ODD_NAMES + ODD_NAMES]
    assert len(set(names)) == len(names)
    assert not any(n.startswith(prefix + "_") for n in names)
    assert {"ampl", "covariates"}.isdisjoint(names)


@pytest.mark.parametrize(
    ("X", "message"),
    [
        ({"": np.ones(N)}, r"X field name '' is empty"),
        ({"  ": np.ones(N)}, r"X field name '  ' is empty"),
        ({"temp": 21.5}, r"X field 'temp' is a single value \(21\.5\)"),
        (
            pd.DataFrame(np.ones((N, 3)), columns=["temp", "moist", "temp"]),
            r"X has duplicate column names \['temp'\]",
        ),
    ],
)
def test_names_and_scalars_refused_before_anything_is_read(X, message):
    with pytest.raises(ValueError, match=message):
        infer_schema(X)


def test_float32_overflow_is_named_at_fit_and_at_predict(tmp_path):
    good = {"ampl": np.zeros((N, 4)), "temp": np.arange(N, dtype=np.float64)}
    schema = infer_schema(good)
    big = {**good, "temp": good["temp"].copy()}
    big["temp"][3] = 1e39
    for call in (lambda: infer_schema(big), lambda: encode(big, schema)):
        with pytest.raises(ValueError, match=r"'temp' overflows float32 \(first in "):
            call()
    # A float64 memory map is cast batch by batch later: it is checked as well.
    mapped = np.lib.format.open_memmap(tmp_path / "a.npy", "w+", np.float64, (N, 4))
    mapped[4, 2] = -4e38
    with pytest.raises(
        ValueError, match=r"'ampl' overflows float32 \(first in sample 4"
    ):
        encode({**good, "ampl": mapped}, schema)
    # NaN stays NaN's message; the largest float32 itself passes.
    big["temp"][3] = np.nan
    with pytest.raises(ValueError, match="'temp' contains NaN or infinity"):
        encode(big, schema)
    big["temp"][3] = float(np.finfo(np.float32).max)
    assert np.isfinite(encode(big, schema)[0]["temp"]).all()
