"""Tasks: their kinds, label encoding, regression scaling, missing labels, decoding.

Every column of y is a *task*. A classification task's labels are encoded as
indices into its sorted ``classes``; a regression task's values are standardised
with the mean and standard deviation seen at fit (so that no task's loss swamps
another's merely because of its units) and decoded at predict. A missing label
(``NaN``, ``None``, ``pd.NA``) gets weight 0 in that task's loss and a finite
placeholder target, since ``NaN * 0`` is still ``NaN``.
"""

from __future__ import annotations

import json
import numbers as _numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from ..utils.names import check_known, check_unique_columns
from .kind_hints import warn_guessed_kinds

__all__ = [
    "CLASSIFICATION",
    "REGRESSION",
    "TaskSpec",
    "TargetEncoder",
    "ArrayOps",
    "NUMPY_OPS",
    "decode_output",
]

CLASSIFICATION = "classification"
REGRESSION = "regression"
_KINDS = (CLASSIFICATION, REGRESSION)


@dataclass(frozen=True, eq=False)
class TaskSpec:
    """One task, as learned at fit.

    Attributes
    ----------
    name : str
        Column name (``"y"`` for a 1-D y, ``"y0"``, ``"y1"``... for a 2-D array).
    kind : {"classification", "regression"}
    dtype : str
        The column's dtype at fit; predictions are returned in it.
    classes : ndarray or None
        Sorted labels of a classification task.
    mean, std : float, list of float or None
        Standardisation of a regression task (one value per output).
    n_outputs : int
        Outputs of a regression task: 1, or k for a 2-D target block (a
        structured-array field of shape (k,) or a DataFrame column of arrays).
    categories : ndarray or None
        Every category of a pandas categorical y, used or not, in its order
        (predictions come back with the same categorical dtype).
    ordered : bool
        Whether that categorical dtype is ordered.
    """

    name: str
    kind: str
    dtype: str
    classes: np.ndarray | None = None
    mean: float | list[float] | None = None
    std: float | list[float] | None = None
    n_outputs: int = 1
    categories: np.ndarray | None = None
    ordered: bool = False

    @property
    def n_classes(self) -> int:
        return 0 if self.classes is None else len(self.classes)

    @property
    def is_binary(self) -> bool:
        return self.kind == CLASSIFICATION and self.n_classes == 2

    @property
    def units(self) -> int:
        """Width of the network's head: one sigmoid unit for two classes."""
        if self.kind == REGRESSION:
            return self.n_outputs
        return 1 if self.is_binary else self.n_classes

    def to_dict(self) -> dict:
        classes = None if self.classes is None else self.classes.tolist()
        return {
            "name": self.name,
            "kind": self.kind,
            "dtype": self.dtype,
            "classes": classes,
            "classes_dtype": None if self.classes is None else str(self.classes.dtype),
            "mean": self.mean,
            "std": self.std,
            "n_outputs": self.n_outputs,
            "categories": None if self.categories is None else self.categories.tolist(),
            "categories_dtype": None
            if self.categories is None
            else str(self.categories.dtype),
            "ordered": self.ordered,
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> TaskSpec:
        classes = data.get("classes")
        if classes is not None:
            classes = np.asarray(classes, dtype=data["classes_dtype"])
        categories = data.get("categories")
        if categories is not None:
            categories = np.asarray(categories, dtype=data["categories_dtype"])
        return cls(
            name=data["name"],
            kind=data["kind"],
            dtype=data["dtype"],
            classes=classes,
            mean=data.get("mean"),
            std=data.get("std"),
            n_outputs=int(data.get("n_outputs", 1)),
            categories=categories,
            ordered=bool(data.get("ordered", False)),
        )


@dataclass(frozen=True)
class ArrayOps:
    """The few array operations decoding needs, for one array library.

    :func:`decode_output` is written once against these; NumPy's are
    :data:`NUMPY_OPS`, and :mod:`skmtl.export` supplies TensorFlow's, so the
    served graph decodes exactly as ``predict`` does.
    """

    as_float: object  # x -> float64 array
    above: object  # (x, threshold) -> int indices of x > threshold
    argmax: object  # x -> int indices of the row maxima
    take: object  # (table, indices) -> table[indices]
    binary_proba: object  # p (n, 1) -> (n, 2) of [1 - p, p]


NUMPY_OPS = ArrayOps(
    as_float=lambda x: np.asarray(x, dtype=np.float64),
    above=lambda x, t: (x > t).astype(int),
    argmax=lambda x: np.asarray(x).argmax(axis=1),
    take=lambda table, idx: np.asarray(table)[idx],
    binary_proba=lambda p: np.hstack([1 - p, p]),
)

#: A binary head is one sigmoid unit: class 1 above this probability.
BINARY_THRESHOLD = 0.5


def decode_output(task: TaskSpec, out, ops: ArrayOps = NUMPY_OPS, classes=None):
    """One task's network output decoded: ``(predictions, probabilities)``.

    Classification gives the labels (``classes``, default ``task.classes``,
    taken at the predicted indices) and the class probabilities; regression
    the values in the target's units and None. This is the one definition of
    decoding: ``predict`` uses it with NumPy, the exported graph with
    TensorFlow.
    """
    if task.kind == CLASSIFICATION:
        table = task.classes if classes is None else classes
        if task.is_binary:
            proba = ops.binary_proba(out)
            idx = ops.above(out[:, 0], BINARY_THRESHOLD)
        else:
            proba = out
            idx = ops.argmax(out)
        return ops.take(table, idx), proba
    values = ops.as_float(out) * np.asarray(task.std, dtype=np.float64) + np.asarray(
        task.mean, dtype=np.float64
    )
    return (values[:, 0] if task.n_outputs == 1 else values), None


def _is_dataframe(y) -> bool:
    return type(y).__name__ == "DataFrame" and hasattr(y, "columns")


def _is_series(y) -> bool:
    return type(y).__name__ == "Series" and hasattr(y, "to_numpy")


def target_columns(y) -> tuple[str, dict[str, object]]:
    """Split y into its form and ``{task name: column values}``."""
    if _is_dataframe(y):
        for col in y.columns:
            if not isinstance(col, str):
                raise TypeError(
                    f"y column names must be strings (they name the tasks); got "
                    f"{col!r}. Rename them, e.g. y.columns = y.columns.astype(str)."
                )
        check_unique_columns(y, "y", "task")
        return "frame", {col: y[col] for col in y.columns}
    if _is_series(y):
        name = y.name if isinstance(y.name, str) else "y"
        return "1d", {name: y}
    if isinstance(y, np.ndarray) and y.dtype.names is not None:
        return "structured", {name: y[name] for name in y.dtype.names}
    if isinstance(y, Mapping):
        raise TypeError(
            "y as a dict is not supported (scikit-learn cannot split it); pass a "
            "pandas DataFrame or a NumPy structured array with one column per task."
        )
    arr = np.asarray(y)
    if arr.ndim == 1:
        return "1d", {"y": arr}
    if arr.ndim == 2 and arr.shape[1] == 0:
        raise ValueError("y has no columns: it needs at least one task.")
    if arr.ndim == 2:
        return "2d", {f"y{j}": arr[:, j] for j in range(arr.shape[1])}
    raise ValueError(
        f"y must be 1-D (one task) or 2-D (one column per task); got {arr.ndim}-D "
        f"with shape {arr.shape}."
    )


def column_values(column) -> np.ndarray:
    """A column as an array; a column of per-sample arrays as a 2-D float block."""
    values = column.to_numpy() if hasattr(column, "to_numpy") else np.asarray(column)
    if values.dtype == object and values.ndim == 1 and len(values):
        cells = [v for v in values if v is not None and np.ndim(v) > 0]
        if cells:
            width = len(cells[0])
            block = np.full((len(values), width), np.nan)
            for i, v in enumerate(values):
                if v is not None and np.ndim(v) > 0:
                    if len(v) != width:
                        raise ValueError(
                            f"A target block is ragged: row {i} has {len(v)} values, "
                            f"row 0 has {width}."
                        )
                    block[i] = v
            return block
    return values


# Tasks whose history_ keys skmtl's own logs would overwrite: the trainer
# logs the unweighted total as "base_loss" (and "val_base_loss").
_RESERVED_TASK_NAMES = {"base"}


def _check_task_names(names: Sequence[str]) -> None:
    """Refuse task names that are empty or whose history keys would collide."""
    for name in names:
        if not name.strip():
            raise ValueError(
                f"Task name {name!r} is empty; name every column of y (or the Series)."
            )
        if name in _RESERVED_TASK_NAMES:
            raise ValueError(
                f"Task name {name!r} is reserved: skmtl logs its unweighted total "
                f"loss as '{name}_loss' in history_. Rename the column of y."
            )
        if name.startswith("val_") and name[4:] in names:
            raise ValueError(
                f"Tasks {name!r} and {name[4:]!r} would share history_ keys "
                f"('{name}_loss' is also the validation loss of {name[4:]!r}); "
                "rename one."
            )


def _dtype_name(column) -> str:
    dtype = getattr(column, "dtype", None)
    return str(dtype) if dtype is not None else str(np.asarray(column).dtype)


def missing_mask(values: np.ndarray) -> np.ndarray:
    """True where a label is missing: NaN, None, pandas NA or NaT."""
    if values.dtype.kind == "f":
        missing = np.isnan(values)
        # A row of a target block is missing if any of its values is.
        return missing.any(axis=1) if missing.ndim == 2 else missing
    if values.dtype.kind in "biuSU":
        return np.zeros(values.shape, dtype=bool)
    try:
        import pandas as pd

        return np.asarray(pd.isna(values), dtype=bool)
    except ImportError:  # pragma: no cover - pandas is an optional extra
        return np.array(
            [v is None or (isinstance(v, float) and v != v) for v in values],
            dtype=bool,
        )


def _is_fractional_number(value) -> bool:
    """A real number that is not an integer type: float, Decimal, Fraction..."""
    return isinstance(value, _numbers.Real | Decimal) and not isinstance(
        value, _numbers.Integral | bool | np.bool_
    )


def _holds_numbers(values: np.ndarray) -> bool:
    """Whether an object column holds numbers (not all of an integer type).

    Numbers in an object column are numbers: ``Decimal`` values, or floats
    next to None, are a regression target as the same values as floats are.
    Integers alone stay labels, as in an int column.
    """
    if values.dtype != object or values.ndim != 1:
        return False
    present = values[~missing_mask(values)]
    if not len(present):
        return False
    numeric = all(isinstance(v, _numbers.Real | Decimal) for v in present)
    return numeric and any(map(_is_fractional_number, present))


def _infer_kind(column) -> str:
    dtype = getattr(column, "dtype", None)
    if str(dtype) == "category":
        return CLASSIFICATION
    values = column_values(column)
    if values.ndim == 2:
        return REGRESSION  # a block of outputs per sample
    if _holds_numbers(values):
        return REGRESSION
    # pandas' nullable dtypes ("Float64", "Int64") expose a NumPy-style kind.
    kind = getattr(dtype, "kind", None) or np.asarray(values).dtype.kind
    return REGRESSION if kind == "f" else CLASSIFICATION


def resolve_kinds(tasks, names: Sequence[str]) -> dict[str, str | None]:
    """Map each task name to its declared kind (None: infer from the dtype)."""
    if tasks is None:
        return dict.fromkeys(names)
    if isinstance(tasks, str):
        tasks = [tasks]
    if isinstance(tasks, Mapping):
        check_known("tasks", tasks, names, kind="columns of y")
        declared = {name: tasks.get(name) for name in names}
    else:
        tasks = list(tasks)
        if len(tasks) != len(names):
            raise ValueError(
                f"tasks lists {len(tasks)} kind(s) by position, but y has "
                f"{len(names)} column(s) {list(names)}."
            )
        declared = dict(zip(names, tasks, strict=True))
    for name, kind in declared.items():
        if kind is not None and kind not in _KINDS:
            raise ValueError(
                f"tasks[{name!r}] is {kind!r}; expected 'classification' or "
                "'regression'."
            )
    return declared


def _observed(column, values: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """The labelled values, in the column's own dtype where pandas can give it.

    ``to_numpy()`` turns a nullable "Int64" or "boolean" column, or an integer
    category, that has missing entries into floats or objects; the labelled rows
    alone convert to int64 or bool, so the classes keep the labels' type.
    """
    if missing.any() and hasattr(column, "iloc"):
        return column.iloc[np.flatnonzero(~missing)].to_numpy()
    return values[~missing]


def _merge_declared(name: str, observed: np.ndarray, declared) -> np.ndarray:
    """The labels seen, widened by the classes declared up front (partial_fit).

    Declared classes must be of the labels' kind: integers for a string task
    would become the strings ``'1'``, ``'2'`` in silence.
    """
    declared = np.asarray(declared)
    if declared.ndim != 1 or len(declared) == 0:
        raise ValueError(
            f"classes for task {name!r} must be a non-empty 1-D list of labels; "
            f"got shape {declared.shape}."
        )
    seen, new = observed.dtype.kind, declared.dtype.kind
    if seen == "O" and len(observed):
        seen = "U" if all(isinstance(v, str) for v in observed) else "O"
    text = {"U", "S"}
    if (seen in text) != (new in text) and "O" not in (seen, new):
        raise ValueError(
            f"classes for task {name!r} are {declared.dtype.kind!r}-kind values "
            f"({declared[:3].tolist()}), but its labels are {observed[:3].tolist()}: "
            "declare classes of the same type as the labels."
        )
    if seen in text and new in text:
        observed = observed.astype(str)
        declared = declared.astype(str)
    return np.concatenate([observed, declared])


def _classification_spec(name: str, column, values, missing, declared=None):
    if np.ndim(values) == 2:
        raise ValueError(
            f"Task {name!r} holds {values.shape[1]} values per sample (a target "
            "block); a block can only be a regression task."
        )
    observed = _observed(column, values, missing)
    if declared is not None:
        observed = _merge_declared(name, observed, declared)
    try:
        classes = np.unique(observed)
    except TypeError as exc:
        raise ValueError(
            f"Task {name!r} mixes label types that cannot be sorted ({exc})."
        ) from None
    if classes.dtype == object:
        types = {type(c) for c in classes}
        if len(types) == 1 and types <= {str}:
            classes = classes.astype(str)
    continuous = classes.dtype.kind == "f" and not np.array_equal(
        classes, np.round(classes)
    )
    if continuous and _dtype_name(column) != "category":
        raise ValueError(
            f"Unknown label type: continuous. Classification task {name!r} has "
            f"non-integer float labels such as {classes[:3].tolist()}; declare it "
            "'regression' in tasks, or map the labels to integers or strings."
        )
    if len(classes) < 2:
        raise ValueError(
            f"Classification task {name!r} has only 1 class, {classes.tolist()}; "
            "a classifier needs at least 2 classes. Drop the task or declare it "
            "'regression' in tasks."
        )
    categories, ordered = None, False
    cat = getattr(column, "cat", None)
    if _dtype_name(column) == "category" and cat is not None:
        categories = np.asarray(cat.categories)
        ordered = bool(cat.ordered)
    spec = TaskSpec(
        name,
        CLASSIFICATION,
        _dtype_name(column),
        classes=classes,
        categories=categories,
        ordered=ordered,
    )
    _check_savable(spec)
    return spec


def _check_savable(spec: TaskSpec) -> None:
    """Refuse labels that a saved model could not give back exactly.

    ``save`` writes the classes (and a categorical's categories) as JSON, the
    way :meth:`TaskSpec.to_dict` gives them; bytes, dates or pandas Periods
    have no JSON form, and would train only to fail at ``save``. Checked
    here, at fit, by the same round trip ``load`` makes.
    """
    for values in (spec.classes, spec.categories):
        if values is None or _round_trips(values):
            continue
        example = next(
            (v for v in values.tolist() if not isinstance(v, str | int | float)),
            values.tolist()[0],
        )
        fix = (
            f"y[{spec.name!r}].str.decode('utf-8')"
            if isinstance(example, bytes)
            else f"y[{spec.name!r}].astype(str)"
        )
        raise ValueError(
            f"Task {spec.name!r} has labels of type {type(example).__name__} "
            f"(e.g. {example!r}), which a saved model cannot hold exactly (its "
            f"labels are stored as JSON text and numbers). Convert them to str or "
            f"int first, e.g. {fix}."
        )


def _round_trips(values: np.ndarray) -> bool:
    """Whether ``values`` come back equal, in type too, through JSON."""
    # NumPy scalars in an object array are written as Python ones (persistence).
    plain = [v.item() if isinstance(v, np.generic) else v for v in values.tolist()]
    try:
        text = json.dumps(plain, allow_nan=False)
        back = np.asarray(json.loads(text), dtype=values.dtype).tolist()
    except (TypeError, ValueError, OverflowError):
        return False
    return back == plain and list(map(type, back)) == list(map(type, plain))


def _regression_values(name: str, values: np.ndarray, missing: np.ndarray):
    if values.dtype.kind in "biuf":
        return values.astype(np.float64)
    try:
        out = np.zeros(values.shape, dtype=np.float64)
        out[~missing] = values[~missing].astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"Regression task {name!r} must hold numbers; got dtype {values.dtype} "
            f"with values such as {values[~missing][:3].tolist()}. Declare it "
            "'classification' in tasks if these are labels."
        ) from None
    return out


# Largest regression target accepted: squares (and sums of them) stay finite.
_MAX_REGRESSION_VALUE = 1e150


def _regression_spec(name: str, column, values, missing) -> TaskSpec:
    numbers = _regression_values(name, values, missing)[~missing]
    if not np.isfinite(numbers).all():
        raise ValueError(f"Regression task {name!r} contains infinite values.")
    largest = float(np.abs(numbers).max()) if numbers.size else 0.0
    if largest > _MAX_REGRESSION_VALUE or 0 < largest < 1 / _MAX_REGRESSION_VALUE:
        where = (
            f"beyond {_MAX_REGRESSION_VALUE:.0e} their squares overflow"
            if largest > 1
            else f"below {1 / _MAX_REGRESSION_VALUE:.0e} their squares underflow"
        )
        raise ValueError(
            f"Regression task {name!r} has values up to {largest:.3g}; {where} "
            "float64, which the losses, scores and intervals need. Rescale the "
            "target first (other units)."
        )
    # Scaled by the largest magnitude: a tiny target's squared deviations would
    # underflow to a zero std (and every prediction be its mean).
    scale = largest or 1.0
    mean = (numbers / scale).mean(axis=0) * scale
    std = (numbers / scale).std(axis=0) * scale
    std = np.where(std > 0, std, 1.0)
    if numbers.ndim == 2:
        return TaskSpec(
            name,
            REGRESSION,
            _dtype_name(column),
            mean=mean.tolist(),
            std=std.tolist(),
            n_outputs=numbers.shape[1],
        )
    return TaskSpec(
        name, REGRESSION, _dtype_name(column), mean=float(mean), std=float(std)
    )


def _declared_classes(classes, columns: Mapping, declared: Mapping) -> dict:
    """``classes=`` of partial_fit as ``{task: classes}``, names checked."""
    if classes is None:
        return {}
    if isinstance(classes, Mapping):
        check_known("classes", classes, columns, kind="columns of y")
        return dict(classes)
    candidates = [
        name
        for name, column in columns.items()
        if (declared[name] or _infer_kind(column)) == CLASSIFICATION
    ]
    if len(candidates) != 1:
        raise ValueError(
            f"classes as an array needs exactly one classification task; y has "
            f"{len(candidates)} ({candidates}). Pass {{task: classes}} instead."
        )
    return {candidates[0]: classes}


class TargetEncoder:
    """Stand-alone encoder of y into per-task network targets and loss weights.

    Parameters
    ----------
    tasks : dict, sequence or None
        Task kinds by column name (dict) or by position (sequence); a task not
        named is inferred from its dtype: float is regression; int, bool, str,
        object and category are classification.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([[0.0, 1.5], [1.0, np.nan], [0.0, 2.5]])
    >>> enc = TargetEncoder(tasks=["classification", "regression"]).fit(y)
    >>> [(t.name, t.kind) for t in enc.tasks_]
    [('y0', 'classification'), ('y1', 'regression')]
    >>> targets, weights = enc.transform(y)
    >>> weights["y1"].tolist()  # the missing label has no weight
    [1.5, 0.0, 1.5]
    """

    def __init__(self, tasks=None):
        self.tasks = tasks

    def fit(self, y, classes=None) -> TargetEncoder:
        """Learn the tasks of y.

        Parameters
        ----------
        y : array-like or DataFrame
        classes : array-like or dict, default=None
            Classes a classification task will see beyond those in y (for
            ``partial_fit``): an array for a single classification task, or
            ``{task: classes}``.
        """
        form, columns = target_columns(y)
        _check_task_names(list(columns))
        declared = resolve_kinds(self.tasks, list(columns))
        extra = _declared_classes(classes, columns, declared)
        specs = []
        guessed = {}  # the labelled values of each task whose kind is inferred
        for name, column in columns.items():
            try:
                values = column_values(column)
            except ValueError as exc:  # a ragged target block
                raise ValueError(f"Task {name!r}: {exc}") from None
            if values.dtype.kind == "c":
                raise ValueError(
                    f"Task {name!r} holds complex numbers, which are neither labels "
                    "nor a regression target skmtl can fit; split it into two real "
                    "tasks (real and imaginary part, or magnitude and phase)."
                )
            missing = missing_mask(values)
            if missing.all():
                raise ValueError(
                    f"Task {name!r} has no labels: all {len(values)} values are "
                    "missing."
                )
            kind = declared[name] or _infer_kind(column)
            if declared[name] is None:
                guessed[name] = values[~missing]
            if kind == CLASSIFICATION:
                spec = _classification_spec(
                    name, column, values, missing, extra.get(name)
                )
            elif name in extra:
                raise ValueError(
                    f"classes were declared for task {name!r}, which is a "
                    "regression task; declare classes for classification tasks "
                    "only."
                )
            else:
                spec = _regression_spec(name, column, values, missing)
            specs.append(spec)
        warn_guessed_kinds(y, form, guessed, specs)
        self.tasks_ = specs
        self.form_ = form
        self.y_dtype_ = y.dtype if isinstance(y, np.ndarray) else None
        return self

    def n_samples_of(self, y) -> int:
        """Number of samples in y (any accepted form)."""
        _, columns = target_columns(y)
        return len(next(iter(columns.values())))

    @property
    def task_names_(self) -> list[str]:
        return [t.name for t in self.tasks_]

    def _matching_columns(self, y) -> dict[str, object]:
        form, columns = target_columns(y)
        if self.form_ == "1d" and form == "1d":
            # A single task fitted on 1-D y: any 1-D y (a Series of any name,
            # an array) is that task's column.
            return {self.task_names_[0]: next(iter(columns.values()))}
        if list(columns) != self.task_names_:
            missing = [n for n in self.task_names_ if n not in columns]
            extra = [n for n in columns if n not in self.task_names_]
            if missing or extra:
                raise ValueError(
                    f"y has columns {list(columns)}, but the estimator was fitted "
                    f"on tasks {self.task_names_} (missing {missing}, unexpected "
                    f"{extra})."
                )
            columns = {n: columns[n] for n in self.task_names_}
        return columns

    def encode_labels(self, task: TaskSpec, values: np.ndarray, missing: np.ndarray):
        """Indices into ``task.classes``; unseen labels raise a ValueError."""
        observed = values[~missing]
        if task.classes.dtype.kind in "US" and observed.dtype == object:
            observed = observed.astype(task.classes.dtype)
        idx = np.searchsorted(task.classes, observed)
        idx = np.clip(idx, 0, len(task.classes) - 1)
        unseen = task.classes[idx] != observed
        if np.any(unseen):
            labels = np.unique(observed[unseen].astype(object)).tolist()[:5]
            raise ValueError(
                f"Task {task.name!r} has label(s) {labels} not seen at fit; known "
                f"classes are {task.classes.tolist()}."
            )
        codes = np.zeros(values.shape, dtype=np.int32)
        codes[~missing] = idx
        return codes

    def transform(self, y) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Return ``(targets, weights)``, both keyed by task name.

        A missing label gets weight 0. The others get ``n / n_labelled`` so that
        Keras' mean over the batch (which divides by the batch size, not by the
        sum of weights) still averages over the labelled rows only.
        """
        targets, weights = {}, {}
        for task, column in zip(
            self.tasks_, self._matching_columns(y).values(), strict=True
        ):
            values = column_values(column)
            missing = missing_mask(values)
            if task.kind == CLASSIFICATION:
                codes = self.encode_labels(task, values, missing)
                target = codes.astype(np.float32)[:, None] if task.is_binary else codes
            else:
                numbers = _regression_values(task.name, values, missing)
                numbers = numbers.reshape(len(values), -1)
                mean, std = np.asarray(task.mean), np.asarray(task.std)
                numbers = np.where(missing[:, None], mean, numbers)
                target = ((numbers - mean) / std).astype(np.float32)
            n_labelled = int((~missing).sum())
            scale = len(values) / n_labelled if n_labelled else 0.0
            targets[task.name] = target
            weights[task.name] = np.where(missing, 0.0, scale).astype(np.float32)
        return targets, weights

    def labels(self, y) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``{task: (values, missing mask)}`` of y, for scoring."""
        out = {}
        for task, column in zip(
            self.tasks_, self._matching_columns(y).values(), strict=True
        ):
            values = column_values(column)
            missing = missing_mask(values)
            if task.kind == REGRESSION:
                values = _regression_values(task.name, values, missing)
            out[task.name] = (values, missing)
        return out

    def decode(self, outputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Network outputs to ``{task: predictions}`` in each task's own units."""
        return {
            task.name: decode_output(task, np.asarray(outputs[task.name]))[0]
            for task in self.tasks_
        }

    def probabilities(self, outputs: Mapping[str, np.ndarray]) -> dict:
        """``{task: (n_samples, n_classes)}`` for each classification task."""
        return {
            task.name: decode_output(
                task, np.asarray(outputs[task.name], dtype=np.float64)
            )[1]
            for task in self.tasks_
            if task.kind == CLASSIFICATION
        }

    def check_columns(self, y) -> None:
        """Raise if y's columns are not the tasks seen at fit."""
        self._matching_columns(y)

    def check_scorable(self, y) -> None:
        """Refuse a regression task that y labels on exactly one sample.

        R² compares the errors with the spread of the true values, which one
        value does not have: scikit-learn returns NaN for it, and a combined
        score would leave the task out without a word. A task with no label
        at all is left out by design (it says nothing about the model).
        """
        for name, (_, missing) in self.labels(y).items():
            if self._kind_of(name) == REGRESSION and int((~missing).sum()) == 1:
                raise ValueError(
                    f"y labels regression task {name!r} on 1 sample; its R² needs "
                    "at least 2 (it compares the errors with the spread of the "
                    "true values). Score on more samples, or score the other "
                    "tasks alone with skmtl.metrics.task_scorer."
                )

    def unseen_labels(self, y) -> dict[str, int]:
        """``{task: count}`` of labelled rows whose class was not seen at fit."""
        counts = {}
        for task, column in zip(
            self.tasks_, self._matching_columns(y).values(), strict=True
        ):
            if task.kind != CLASSIFICATION:
                continue
            values = column_values(column)
            observed = values[~missing_mask(values)]
            if task.classes.dtype.kind in "US" and observed.dtype == object:
                observed = observed.astype(task.classes.dtype)
            try:
                unseen = int((~np.isin(observed, task.classes)).sum())
            except TypeError:
                unseen = len(observed)
            if unseen:
                counts[task.name] = unseen
        return counts

    def inverse_transform(self, outputs: Mapping[str, np.ndarray], index=None):
        """Network outputs to predictions in the form y had at fit.

        ``index`` (a DataFrame X's index) labels the rows of a DataFrame or
        Series result, so that predictions line up with X's rows.
        """
        decoded = self.decode(outputs)
        if self.form_ == "frame":
            import pandas as pd

            frame = {}
            for task in self.tasks_:
                values = decoded[task.name]
                if task.dtype == "category":
                    categories = (
                        task.classes if task.categories is None else task.categories
                    )
                    frame[task.name] = pd.Categorical(
                        values, categories=categories, ordered=task.ordered
                    )
                elif values.ndim == 2:
                    frame[task.name] = pd.Series(list(values), dtype=object)
                else:
                    frame[task.name] = pd.Series(values).astype(_output_dtype(task))
            result = pd.DataFrame(frame)
            if index is not None:
                result.index = index
            return result
        if self.form_ == "structured":
            # A regression task's field keeps y's dtype unless it cannot hold
            # the predictions (an int field declared regression becomes float64).
            dtype = np.dtype(
                [
                    (
                        name,
                        _regression_dtype(self.y_dtype_[name])
                        if self._kind_of(name) == REGRESSION
                        else self.y_dtype_[name],
                    )
                    for name in self.y_dtype_.names
                ]
            )
            out = np.empty(len(next(iter(decoded.values()))), dtype=dtype)
            for task in self.tasks_:
                out[task.name] = decoded[task.name]
            return out
        if self.form_ == "1d":
            task = self.tasks_[0]
            values = np.asarray(decoded[task.name])
            dtype = _output_dtype(task)
            if isinstance(dtype, str) and not _is_numpy_dtype(dtype):
                # A Series of a pandas extension dtype ("category", "Int64",
                # "boolean", "string", "Float64"): an ndarray of the classes'
                # own dtype (float64 for regression), as for any 1-D y.
                return values
            return values.astype(dtype, copy=False)
        columns = [np.asarray(decoded[t.name], dtype=object) for t in self.tasks_]
        stacked = np.column_stack(columns)
        dtype = self.y_dtype_
        if any(t.kind == REGRESSION for t in self.tasks_):
            dtype = _regression_dtype(dtype)
        return stacked.astype(dtype, copy=False)

    def _kind_of(self, name: str) -> str | None:
        return next((t.kind for t in self.tasks_ if t.name == name), None)


def _is_numpy_dtype(name: str) -> bool:
    try:
        np.dtype(name)
    except TypeError:
        return False
    return True


def _regression_dtype(dtype: np.dtype) -> np.dtype:
    """y's dtype if it can hold regression predictions (float, object); else float64."""
    return np.dtype(np.float64) if dtype.kind in "biu" else dtype


def _output_dtype(task: TaskSpec):
    """The dtype to return predictions in: the fit-time dtype where it can hold them."""
    if task.kind == REGRESSION:
        # Predictions are floats: an int, bool or "Int64" column cannot hold them.
        return task.dtype if _dtype_kind(task.dtype) == "f" else np.float64
    if task.dtype in ("object", "str", "string") or task.dtype.startswith("<U"):
        return object if task.dtype == "object" else task.dtype
    try:
        dtype = np.dtype(task.dtype)
    except TypeError:
        return task.dtype  # a pandas extension dtype such as "Int64" or "boolean"
    return dtype


def _dtype_kind(name: str) -> str:
    """NumPy-style kind of a dtype name, pandas extension dtypes included."""
    try:
        return np.dtype(name).kind
    except TypeError:
        pass
    try:
        import pandas as pd

        return pd.api.types.pandas_dtype(name).kind
    except (ImportError, TypeError):
        return "O"
