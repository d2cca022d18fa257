"""One resource budget for everything :func:`skmtl.load` reads.

A crafted model file of a few kilobytes can declare gigabytes: an HDF5 weight
of 300 M fill values, a ``Dense`` head of 30 M units, a dtype ``<U500000000``.
Loading must cost memory in proportion to what the file really holds, so every
size the file declares is checked against that content *before* anything is
allocated or built:

- the Keras archive inside the file holds only what Keras writes for skmtl
  (``config.json``, ``metadata.json``, ``model.weights.h5``), its texts no
  larger than skmtl's metadata may be;
- each HDF5 weight is a plain numeric dataset whose declared bytes are at most
  :data:`MAX_COMPRESSION_RATIO` times the bytes the file stores for it (no
  fill-value-only, external or virtual datasets, no soft or external links);
- the network is first built *symbolically* (Keras' ``StatelessScope``: its
  variables get shapes but no memory), and the bytes of its variables must not
  exceed the weights stored for them;
- each dtype named by the metadata has items no wider than the metadata itself,
  and the arrays decoded from it take at most :data:`MAX_EXPANSION` times its
  size, all together.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Sequence

import keras
import numpy as np

# Uncompressed over compressed size above which a member of at least
# _RATIO_FLOOR bytes is taken for a zip bomb: metadata and weights compress a
# few times; deflate's own limit is about 1000. The same bound applies to an
# HDF5 dataset's declared bytes over the bytes stored for it.
MAX_COMPRESSION_RATIO = 100
_RATIO_FLOOR = 2**20
# Bytes that arrays decoded from the metadata may take, per byte of metadata:
# a JSON number takes at least two characters ("0,") for at most 16 bytes.
MAX_EXPANSION = 16
# Variables a network may hold beyond the weights stored for it (Keras keeps
# no state outside its weights file; this leaves room for a seed's few bytes).
_VARIABLE_SLACK_BYTES = 4096
# What Keras writes in a ``.keras`` archive for a skmtl network; an archive
# with assets or an ``.npz`` weights file is not one skmtl wrote.
_CONFIG, _KERAS_METADATA, _WEIGHTS = "config.json", "metadata.json", "model.weights.h5"
_KERAS_MEMBERS = {_CONFIG, _KERAS_METADATA, _WEIGHTS}


class SkmtlFileError(ValueError):
    """The file is not a readable skmtl model.

    Raised by :func:`skmtl.load` for a file that is not an skmtl model (a
    joblib or pickle file, a truncated archive), one written in another file
    format version or with another Keras major version, one whose model would
    run code when loaded (a ``Lambda`` layer), or one that declares more than
    it holds (a weight, layer or dtype whose size the file's content does not
    back). A subclass of ``ValueError``, so ``except ValueError`` catches it
    too.

    See Also
    --------
    skmtl.load : Reads a file written by ``MultiTaskConvEstimator.save``.

    Examples
    --------
    >>> import os, tempfile
    >>> from skmtl import load
    >>> from skmtl.persistence import SkmtlFileError
    >>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
    >>> with open(path, "w") as f:
    ...     _ = f.write("not a model")
    >>> try:
    ...     load(path)
    ... except SkmtlFileError as exc:
    ...     print("refused:", str(exc).split(" (")[0].rsplit("/", 1)[-1])
    refused: notes.txt is not an skmtl model file
    """


def megabytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _size(n: int) -> str:
    """A byte count for a refusal: small metadata are kilobytes, not "0.0 MB"."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def check_declared(path, info: zipfile.ZipInfo, limit: int) -> None:
    """Refuse a zip member that declares more than ``limit``, or a bomb's ratio.

    zipfile never yields more than a member's declared size (a longer stream
    fails its CRC check), so checking the declaration bounds what is read.
    """
    name = info.filename
    too_large = info.file_size > limit
    bomb = (
        info.file_size >= _RATIO_FLOOR
        and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1)
    )
    if too_large or bomb:
        why = (
            f"more than the {megabytes(limit)} skmtl reads"
            if too_large
            else f"{info.file_size / max(info.compress_size, 1):.0f} times its "
            "compressed size, as in a zip bomb"
        )
        raise SkmtlFileError(
            f"{path} is not an skmtl model file ({name} would unpack to "
            f"{megabytes(info.file_size)}, {why}); refused before decompressing it."
        )


class LoadBudget:
    """What one load may allocate, derived from the bytes its file holds.

    Parameters
    ----------
    path : str or path-like
        The file, named in every refusal.
    metadata_bytes : int
        Size of its ``skmtl.json``: a dtype's items may be no wider, and the
        arrays decoded from it may take :data:`MAX_EXPANSION` times as much.

    Examples
    --------
    >>> budget = LoadBudget("m.skmtl", metadata_bytes=1000)
    >>> budget.array("classes of task 'y'", ["a", "bb"], "<U2").tolist()
    ['a', 'bb']
    >>> budget.dtype("dtype of task 'y'", "<U500000000")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    skmtl.io.load_budget.SkmtlFileError: m.skmtl is not ... (dtype of task 'y' is \
'<U500000000', whose items take 2.0 GB, more than the 1.0 kB of metadata ...
    """

    def __init__(self, path, metadata_bytes: int):
        self.path = path
        self.item_limit = max(int(metadata_bytes), 64)
        self.array_limit = MAX_EXPANSION * self.item_limit
        self.spent = 0

    def refuse(self, detail: str) -> SkmtlFileError:
        return SkmtlFileError(f"{self.path} is not an skmtl model file ({detail}).")

    def dtype(self, entry: str, spec) -> np.dtype:
        """The dtype named by ``spec`` (a string or a structured descr list).

        Refused if NumPy does not know it, or if one item would be wider than
        the metadata: nothing skmtl saves has an item wider than the text that
        describes it (a ``<U5`` label is five characters in the file).
        """
        try:
            if isinstance(spec, list):
                dtype = np.dtype([tuple(field) for field in spec])
            elif isinstance(spec, str):
                dtype = np.dtype(spec)
            else:
                raise TypeError(type(spec).__name__)
        except (TypeError, ValueError) as exc:
            raise self.refuse(
                f"{entry} is {spec!r}, which is not a NumPy dtype: {exc}"
            ) from None
        if dtype.itemsize > self.item_limit:
            raise SkmtlFileError(
                f"{self.path} is not an skmtl model file ({entry} is {spec!r}, whose "
                f"items take {_size(dtype.itemsize)}, more than the "
                f"{_size(self.item_limit)} of metadata that describe them); "
                "refused before allocating it."
            )
        return dtype

    def charge(self, entry: str, nbytes: int) -> None:
        """Count ``nbytes`` against the budget; refuse past its limit."""
        self.spent += int(nbytes)
        if self.spent > self.array_limit:
            raise SkmtlFileError(
                f"{self.path} is not an skmtl model file ({entry} would bring the "
                f"arrays decoded from its metadata to {_size(self.spent)}, more "
                f"than {MAX_EXPANSION} times the metadata's "
                f"{_size(self.item_limit)}); refused before allocating it."
            )

    def array(self, entry: str, values, dtype_spec) -> np.ndarray:
        """``np.asarray(values, dtype)``, its bytes checked before allocation."""
        dtype = self.dtype(f"the dtype of {entry}", dtype_spec)
        count = len(values) if isinstance(values, list) else 1
        self.charge(entry, count * dtype.itemsize)
        return np.asarray(values, dtype=dtype)


# ----------------------------------------------------------- the Keras archive
def read_keras_archive(path, model_bytes: bytes, text_limit: int) -> tuple[str, int]:
    """Check the ``.keras`` archive: ``(config.json text, bytes of its weights)``.

    Its members must be those Keras writes for skmtl, the texts no larger than
    ``text_limit``, and the weights (every HDF5 dataset) backed by the bytes
    stored for them.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(model_bytes)) as inner:
            names = set(inner.namelist())
            if not {_CONFIG, _WEIGHTS} <= names or names - _KERAS_MEMBERS:
                raise SkmtlFileError(
                    f"{path} is not an skmtl model file (model.keras holds "
                    f"{sorted(names)}; skmtl writes {sorted(_KERAS_MEMBERS)})."
                )
            for info in inner.infolist():
                limit = len(model_bytes) if info.filename == _WEIGHTS else text_limit
                check_declared(path, info, limit)
            config = inner.read(_CONFIG).decode()
            weights = inner.read(_WEIGHTS)
    except zipfile.BadZipFile:
        raise SkmtlFileError(
            f"{path} is not an skmtl model file (model.keras is not a Keras file)."
        ) from None
    return config, _stored_weight_bytes(path, weights)


def _stored_weight_bytes(path, weights: bytes) -> int:
    """Declared bytes of all weights, each checked against the bytes it stores."""
    import h5py

    total = 0
    with h5py.File(io.BytesIO(weights), "r") as h5:
        links = []
        h5.visititems_links(lambda name, link: links.append((name, link)))
        for name, link in links:
            if not isinstance(link, h5py.HardLink):
                raise SkmtlFileError(
                    f"{path} is not an skmtl model file (model.weights.h5 entry "
                    f"{name!r} is a {type(link).__name__}: it would read another "
                    "object or file; Keras writes plain groups and datasets)."
                )
            item = h5[name]
            if isinstance(item, h5py.Dataset):
                total += _checked_dataset(path, name, item)
    return total


def _checked_dataset(path, name: str, dataset) -> int:
    """A weight's declared bytes, refused unless the file stores them."""
    import h5py

    entry = f"model.weights.h5 weight {name!r}"
    plist = dataset.id.get_create_plist()
    if plist.get_layout() == h5py.h5d.VIRTUAL or plist.get_external_count():
        raise SkmtlFileError(
            f"{path} is not an skmtl model file ({entry} reads its values from "
            "other files; Keras stores every weight in the file itself)."
        )
    if dataset.dtype.kind not in "biuf":
        raise SkmtlFileError(
            f"{path} is not an skmtl model file ({entry} has dtype "
            f"{dataset.dtype}; weights are numbers)."
        )
    declared = int(np.prod(dataset.shape, dtype=object)) * dataset.dtype.itemsize
    stored = dataset.id.get_storage_size()
    if declared > MAX_COMPRESSION_RATIO * stored:
        raise SkmtlFileError(
            f"{path} is not an skmtl model file ({entry} declares shape "
            f"{dataset.shape}, {_size(declared)}, but the file stores "
            f"{_size(stored)} for it; at most {MAX_COMPRESSION_RATIO} times "
            "what is stored is read); refused before reading it."
        )
    return declared


def build_symbolically(
    path, config_text: str, weight_bytes: int, check: Callable[[object], None]
) -> None:
    """Build the network with no memory for its variables, and check it.

    Keras creates variables inside a ``StatelessScope`` with their shapes but
    no values, so a layer config edited to 30 M units costs nothing here; the
    variables' bytes are then compared with the weights the file stores, and
    ``check`` (the metadata against the network) runs on this model, all
    before the real load allocates anything.
    """
    from keras.src.backend.common import global_state

    config = json.loads(config_text)
    config["compile_config"] = None
    # Variables made in the scope are listed for a later initialisation: take
    # this build's out again, so that nothing ever allocates them.
    pending = list(global_state.get_global_attribute("uninitialized_variables", []))
    try:
        with keras.StatelessScope(initialize_variables=False):
            model = keras.saving.deserialize_keras_object(config, safe_mode=True)
    finally:
        global_state.set_global_attribute("uninitialized_variables", pending)
    if not isinstance(model, keras.Model):
        raise SkmtlFileError(
            f"{path} is not an skmtl model file (model.keras holds a "
            f"{type(model).__name__}, not a Keras model)."
        )
    _check_variables(path, model.variables, weight_bytes)
    check(model)


def _check_variables(path, variables: Sequence, weight_bytes: int) -> None:
    declared = sum(
        int(np.prod(v.shape, dtype=object)) * np.dtype(v.dtype).itemsize
        for v in variables
    )
    if declared > weight_bytes + _VARIABLE_SLACK_BYTES:
        largest = max(variables, key=lambda v: int(np.prod(v.shape, dtype=object)))
        raise SkmtlFileError(
            f"{path} is not an skmtl model file (its network's layers declare "
            f"{_size(declared)} of weights, the largest {largest.path!r} of "
            f"shape {tuple(largest.shape)}, but model.weights.h5 holds "
            f"{_size(weight_bytes)}: a layer's config was edited); refused "
            "before building it."
        )
