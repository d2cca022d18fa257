"""Data files for the command line: ``.npz`` and Parquet in, CSV/``.npz``/Parquet out.

Arrays keep samples on axis 0: a 2-D ``(n, steps)`` or 3-D ``(n, steps,
channels)`` array is a signal, a 1-D array a covariate or a target. Parquet
needs pyarrow (``pip install "skmtl[parquet]"``). Every failure is a
:class:`DataFileError` whose message names the file or field and the fix.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from ..utils.files import DataFileError, atomic_path, check_extension, existing_file
from ..utils.names import repeated
from .convert import load_ts

__all__ = ["DATA_EXTENSIONS", "read_data", "write_table"]

DATA_EXTENSIONS = (".npz", ".parquet", ".pq", ".ts")
#: Field names of a ``.ts`` file (the UCR/UEA archive format): its series and
#: its class label or regression target.
TS_SIGNAL, TS_TARGET = "signal", "target"


def read_data(path: str) -> dict[str, np.ndarray]:
    """Read a data file into ``{field: array with samples on axis 0}``.

    ``.npz``: one array per field. Parquet: one column per field; a list-valued
    column (lists of numbers, or lists of lists for several channels) becomes a
    2-D or 3-D signal array. ``.ts`` (the UCR/UEA archive format, read with
    aeon's loader): the series as field ``"signal"`` ``(n, steps, channels)``
    and the label or target, if the file has one, as field ``"target"``.

    Parameters
    ----------
    path : str
        An existing ``.npz``, ``.parquet``, ``.pq`` or ``.ts`` file. Parquet
        needs pyarrow, ``.ts`` aeon (``pip install "skmtl[aeon]"``).

    Returns
    -------
    dict of str to ndarray
        One array per field, in the file's order, with samples on axis 0.

    Raises
    ------
    DataFileError
        If the file does not exist, has another extension, cannot be read,
        holds no fields, holds pickled objects (``.npz``), or has a missing
        or ragged signal (Parquet).

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "data.npz")
    >>> np.savez(path, ampl=np.zeros((3, 8)), temp=np.ones(3))
    >>> {k: v.shape for k, v in read_data(path).items()}
    {'ampl': (3, 8), 'temp': (3,)}
    """
    existing_file(path, "data file")
    suffix = check_extension(path, DATA_EXTENSIONS, "data file")
    if suffix == ".ts":
        data = _read_ts(path)
    else:
        data = _read_npz(path) if suffix == ".npz" else _read_parquet(path)
    if not data:
        raise DataFileError(f"data file {path} holds no fields")
    return data


def _read_ts(path: str) -> dict[str, np.ndarray]:
    """A ``.ts`` file through aeon's loader, its series in skmtl's layout."""
    signal, y = load_ts(path)
    if signal.dtype.names:  # unequal lengths: one (T_i, C) array per sample
        signal = signal[signal.dtype.names[0]]
    data = {TS_SIGNAL: signal}
    if y is not None:
        data[TS_TARGET] = y
    return data


def _read_npz(path: str) -> dict[str, np.ndarray]:
    import zipfile

    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataFileError(f"cannot read {path} as an .npz file: {exc}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataFileError(
            f"{path} holds a single array (.npy), not named fields; save them with "
            "np.savez(path, name=array, ...)"
        )
    data = {}
    with archive:
        _check_npz_sizes(path, archive)
        for name in archive.files:
            try:
                data[name] = archive[name]
            except ValueError as exc:
                if "allow_pickle" in str(exc):
                    raise DataFileError(
                        f"field {name!r} of {path} holds Python objects, which skmtl "
                        "does not unpickle; save labels as a string or number array "
                        "(e.g. np.asarray(labels, dtype=str))"
                    ) from None
                raise DataFileError(
                    f"cannot read field {name!r} of {path}: {exc}"
                ) from None
            except (OSError, EOFError, zipfile.BadZipFile) as exc:
                raise DataFileError(
                    f"cannot read field {name!r} of {path}: {exc}"
                ) from None
            except MemoryError:
                raise DataFileError(
                    f"field {name!r} of {path} does not fit in memory"
                ) from None
    return data


def _memory_bytes() -> int | None:
    """The machine's physical memory, or None where the OS does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _check_npz_sizes(path: str, archive) -> None:
    """Refuse an .npz whose arrays would not fit in memory, before reading them.

    Each array's header declares its shape and dtype; a crafted (or
    mistaken) file may declare terabytes in a few bytes of compressed data.
    """
    memory = _memory_bytes()
    if memory is None:
        return
    total = 0
    for member in archive.zip.namelist():
        try:
            with archive.zip.open(member) as stream:
                version = np.lib.format.read_magic(stream)
                read_header = (
                    np.lib.format.read_array_header_1_0
                    if version == (1, 0)
                    else np.lib.format.read_array_header_2_0
                )
                shape, _, dtype = read_header(stream)
        except (ValueError, OSError, EOFError):
            continue  # not an array header: reading the field will say so
        total += int(np.prod(shape, dtype=object)) * dtype.itemsize
    if total > memory:
        raise DataFileError(
            f"{path} declares arrays of {total / 1e9:.1f} GB in all, more than "
            f"this machine's memory ({memory / 1e9:.1f} GB); it cannot be read"
        )


def need_pyarrow(action: str) -> None:
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise DataFileError(
            f"{action} Parquet files needs pyarrow; install it with "
            "pip install 'skmtl[parquet]'"
        ) from None


def _read_parquet(path: str) -> dict[str, np.ndarray]:
    need_pyarrow("reading")
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
        index = _pandas_index_columns(path, schema)
        names = [name for name in schema.names if name not in index]
        duplicated = repeated(names)
        if duplicated:
            raise DataFileError(
                f"data file {path} has duplicate column names {duplicated}; each "
                "field needs its own name: rename the columns"
            )
        _check_parquet_size(path, pq.read_metadata(path))
        table = pq.read_table(path, columns=names)
    except (OSError, pa.ArrowException) as exc:
        raise DataFileError(f"cannot read {path} as a Parquet file: {exc}") from None
    return {name: _arrow_column(name, table.column(name)) for name in names}


def _pandas_index_columns(path: str, schema) -> set[str]:
    """The columns in which pandas stored a DataFrame's index.

    ``df.to_parquet()`` writes any index but a plain RangeIndex as columns
    (``__index_level_0__`` when unnamed, e.g. after a split) and lists them in
    the file's pandas metadata. An index labels rows; it is not a
    measurement, so it must never become a model input. Only the metadata
    says which columns they are: a column of that name written by another
    tool (or by ``skmtl predict``) is an ordinary field.
    """
    try:
        metadata = schema.pandas_metadata
    except ValueError as exc:  # not JSON: a damaged or crafted file
        raise DataFileError(
            f"cannot read {path} as a Parquet file: its pandas metadata is not "
            f"valid JSON ({exc}); rewrite it with pandas or pyarrow"
        ) from None
    index = metadata.get("index_columns") if isinstance(metadata, dict) else None
    if not isinstance(index, list):
        return set()
    # RangeIndex entries are dicts (start, stop, step): no column holds them.
    return {name for name in index if isinstance(name, str)}


def _check_parquet_size(path: str, metadata) -> None:
    """Refuse a Parquet file whose data would not fit in memory, before reading."""
    memory = _memory_bytes()
    total = sum(
        metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups)
    )
    if memory is not None and total > memory:
        raise DataFileError(
            f"{path} holds {total / 1e9:.1f} GB of uncompressed data, more than "
            f"this machine's memory ({memory / 1e9:.1f} GB); it cannot be read"
        )


def _arrow_column(name: str, column) -> np.ndarray:
    """One Arrow column as an array: nested lists of equal length stack."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = column.combine_chunks()
    shape = [len(values)]
    while (
        pa.types.is_list(values.type)
        or pa.types.is_large_list(values.type)
        or pa.types.is_fixed_size_list(values.type)
    ):
        if values.null_count:
            row = values.is_null().to_numpy(zero_copy_only=False).argmax()
            raise DataFileError(
                f"field {name!r}: sample {row} is missing (null); skmtl does not "
                "impute signals, fill or drop those samples first"
            )
        lengths = pc.list_value_length(values).to_numpy(zero_copy_only=False)
        if len(lengths) and (lengths != lengths[0]).any():
            if len(shape) > 1:
                row = int(np.flatnonzero(lengths != lengths[0])[0])
                raise DataFileError(
                    f"field {name!r}: the steps of sample {row} hold different "
                    "numbers of channels; every step needs the same channels"
                )
            return _ragged_column(name, values, lengths)
        shape.append(int(lengths[0]) if len(lengths) else 0)
        values = values.flatten()
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    return values.to_numpy(zero_copy_only=False).reshape(shape)


def _ragged_column(name: str, values, lengths: np.ndarray):
    """A list column of recordings of different lengths: a variable-length signal.

    Each recording is a list of steps, a step a number or a list of channels.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from ..data.ragged import RaggedSignal

    steps = values.flatten()
    n_channels = 1
    if (
        pa.types.is_list(steps.type)
        or pa.types.is_large_list(steps.type)
        or (pa.types.is_fixed_size_list(steps.type))
    ):
        widths = pc.list_value_length(steps).to_numpy(zero_copy_only=False)
        if len(widths) and (widths != widths[0]).any():
            raise DataFileError(
                f"field {name!r}: its steps hold different numbers of channels; "
                "every step needs the same channels"
            )
        n_channels = int(widths[0]) if len(widths) else 1
        steps = steps.flatten()
    flat = steps.to_numpy(zero_copy_only=False).reshape(-1, n_channels)
    cells = np.split(flat, np.cumsum(lengths)[:-1])
    try:
        return RaggedSignal.from_list(cells, name)
    except ValueError as exc:
        raise DataFileError(str(exc)) from None


def _write_csv(columns: dict[str, np.ndarray], stream) -> None:
    import csv

    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(columns)
    cells = [c.astype(str) if c.dtype == np.float32 else c for c in columns.values()]
    writer.writerows(zip(*(c.tolist() for c in cells), strict=True))


def _plain(name: str, values: np.ndarray) -> np.ndarray:
    """An object column as a string or number array: .npz holds no pickles."""
    if values.dtype != object:
        return values
    plain = np.asarray(values.tolist())
    if plain.dtype == object:
        raise DataFileError(
            f"column {name!r} mixes types and cannot be written to .npz"
        )
    return plain


def _write_npz(columns: dict[str, np.ndarray], path: str) -> None:
    """One ``<name>.npy`` member per column, as ``np.savez`` lays them out.

    Not ``np.savez(path, **columns)``: its keyword arguments would take a
    column named ``file`` or ``allow_pickle`` for its own parameter (an
    error, or a column silently dropped). Written here, any name that a zip
    member can hold round-trips through ``np.load``.
    """
    import zipfile

    for name in columns:
        if "\0" in name:  # zip truncates a member's name at a NUL character
            raise DataFileError(
                f"column {name!r} holds a NUL character, which an .npz member "
                "name cannot hold: write .csv or .parquet instead"
            )
    # By path, not an open stream: a path ending in ".NPZ" gains no ".npz".
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, values in columns.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, values, allow_pickle=False)


def write_table(columns: dict[str, np.ndarray], path: str) -> None:
    """Write ``columns`` to ``path`` (.csv, .npz, .parquet) or as CSV to stdout.

    The format follows the extension of ``path``; any extension other than
    ``.csv`` and ``.npz`` is written as Parquet (which needs pyarrow). Call
    :func:`check_output` first to refuse other extensions before any work.
    The file is written atomically (see :func:`atomic_path`).

    Parameters
    ----------
    columns : dict of str to ndarray
        Equal-length 1-D columns by name, written in this order. float32
        values are written in CSV with their shortest representation.
    path : str
        The file to write, or ``"-"`` for CSV on stdout.

    Raises
    ------
    DataFileError
        If an object column mixes types and cannot be written to ``.npz``.

    Examples
    --------
    >>> import os, tempfile
    >>> columns = {
    ...     "material": np.array(["steel", "brass"]),
    ...     "material_proba_steel": np.array([0.75, 0.125], dtype=np.float32),
    ... }
    >>> write_table(columns, "-")
    material,material_proba_steel
    steel,0.75
    brass,0.125
    >>> path = os.path.join(tempfile.mkdtemp(), "predictions.npz")
    >>> write_table(columns, path)
    >>> read_data(path)["material"]
    array(['steel', 'brass'], dtype='<U5')
    """
    if path == "-":
        _write_csv(columns, sys.stdout)
        return
    suffix = Path(path).suffix.lower()
    if suffix == ".npz":
        # Converted before the file is opened: a mixed column writes nothing.
        columns = {k: _plain(k, v) for k, v in columns.items()}
    with atomic_path(path) as tmp:
        if suffix == ".csv":
            with open(tmp, "w", newline="", encoding="utf-8") as stream:
                _write_csv(columns, stream)
        elif suffix == ".npz":
            _write_npz(columns, tmp)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.table({k: pa.array(v) for k, v in columns.items()})
            pq.write_table(table, tmp)
