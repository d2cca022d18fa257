"""Which rows of a fit train, which validate and which calibrate: one rule.

Conformal intervals promise coverage only over rows the network never trained
on. A row's position cannot say that across fits: a warm refit, a grown data
set, another ``random_state`` or a stream of ``partial_fit`` batches put the
same recording at another index. So each row gets a *key* in ``[0, 1)``, a
keyed hash of its encoded inputs (its content), and the network remembers one
number, ``clean_below``: no row whose key is below it was ever trained on.

* A fit holds out the rows of lowest key, as many as the fraction asks,
  shared among the classes of the first classification task in proportion
  (a random subset: the keys do not depend on the labels). Every other row is
  learned from, so ``clean_below`` is the lowest key among them.
* A later fit of the same network (warm start, ``partial_fit``) holds out
  only those of its chosen rows whose key is below the network's
  ``clean_below``, and lowers ``clean_below`` to the lowest key it learns
  from: a row once trained on is never a calibration row again, whatever the
  order, size or seed of later data. A ``partial_fit`` batch holds out the
  rows whose key is below the fraction itself, the same rows in every pass.
* Early stopping under ``calibration_fraction="auto"`` validates on the
  calibration rows; nothing else ever learns from them (the closed-form refit
  of the heads included: :attr:`RowPlan.refit`).

NumPy and scikit-learn only: the estimator plans the rows once and every
step (training, validation, refit, calibration) reads the same plan.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from .targets import CLASSIFICATION, TaskSpec

__all__ = [
    "AUTO_FRACTION",
    "MIN_CALIBRATION_ROWS",
    "RowPlan",
    "plan_rows",
    "row_keys",
    "validation_rows",
]

#: ``calibration_fraction="auto"`` holds out rows only when it yields at least
#: this many: the fewest that give a finite interval at ``alpha=0.05``
#: (``ceil((m + 1) * 0.95) <= m`` needs ``m >= 19``).
MIN_CALIBRATION_ROWS = 20
#: The share held out by ``calibration_fraction="auto"`` without early stopping.
AUTO_FRACTION = 0.1
# Rows hashed per block: bounded memory on memory-mapped inputs.
_HASH_BLOCK = 4096


def row_keys(inputs: Mapping[str, object], salt: int) -> np.ndarray:
    """One key in ``[0, 1)`` per row, from a keyed hash of its encoded inputs.

    Equal rows get equal keys, whatever their position; the ``salt`` (a fit's
    seed, kept by the network) makes another estimator hold out other rows.

    Parameters
    ----------
    inputs : dict of str to ndarray or RaggedSignal
        The encoded fields, samples on axis 0.
    salt : int
        Keys the hash.

    Returns
    -------
    ndarray of shape (n_samples,), float64

    Examples
    --------
    >>> import numpy as np
    >>> x = {"s": np.array([[1.0, 2.0], [3.0, 4.0], [1.0, 2.0]])}
    >>> keys = row_keys(x, salt=0)
    >>> bool(keys[0] == keys[2]), bool(keys[0] != keys[1])
    (True, True)
    >>> bool((row_keys({"s": x["s"][::-1]}, salt=0) == keys[::-1]).all())
    True
    """
    names = sorted(inputs)
    n = len(inputs[names[0]]) if names else 0
    key = int(salt).to_bytes(8, "little", signed=True)
    keys = np.empty(n, dtype=np.float64)
    # Block by block: one block of every field in memory, one hasher a row.
    for start in range(0, n, _HASH_BLOCK):
        stop = min(start + _HASH_BLOCK, n)
        fields = [list(_row_bytes(inputs[name], start, stop)) for name in names]
        for i, rows in enumerate(zip(*fields, strict=True)):
            hasher = hashlib.blake2b(digest_size=8, key=key)
            for row in rows:
                hasher.update(row)
            keys[start + i] = int.from_bytes(hasher.digest(), "little") >> 11
    return keys / 2.0**53


def _row_bytes(a, start: int, stop: int):
    """The bytes of rows ``start:stop`` of one field, one ``bytes`` a row."""
    if hasattr(a, "offsets"):  # a variable-length signal: its length counts too
        for i in range(start, stop):
            cell = a.values[a.offsets[i] : a.offsets[i + 1]]
            yield len(cell).to_bytes(8, "little") + np.ascontiguousarray(cell).tobytes()
        return
    block = np.ascontiguousarray(a[start:stop])
    for row in block.reshape(len(block), -1):
        yield row.tobytes()


@dataclass(frozen=True)
class RowPlan:
    """The rows of one fit, by role.

    Parameters
    ----------
    n_samples : int
        Rows of the fit's data.
    train : ndarray of int or None
        Rows the optimizer steps on (None: all).
    validation : ndarray of int or None
        Early stopping's (or ``fit__validation_split``'s) rows.
    calibration : ndarray of int or None
        Rows nothing learns from, read for conformal intervals.
    source : {"holdout", "validation"} or None
        Calibration rows held out for it alone, or the validation rows reused.
    salt : int
        The key's salt (:func:`row_keys`), kept by the network.
    clean_below : float
        No row whose key is below it has been trained on by the network, this
        fit included; 0.0 when that holds for no row.
    """

    n_samples: int
    train: np.ndarray | None
    validation: np.ndarray | None
    calibration: np.ndarray | None
    source: str | None
    salt: int
    clean_below: float

    @property
    def refit(self) -> np.ndarray | None:
        """Rows a closed-form refit may learn from: all but the calibration
        rows (None: all)."""
        if self.calibration is None:
            return None
        return np.setdiff1d(np.arange(self.n_samples), self.calibration)


def plan_rows(
    fraction,
    keys: np.ndarray,
    targets: Mapping[str, np.ndarray],
    tasks: Sequence[TaskSpec],
    weights: Mapping[str, np.ndarray],
    *,
    salt: int,
    seed: int,
    validation_fraction: float = 0.0,
    keras_split: float = 0.0,
    clean_below: float | None = None,
    stream: bool = False,
) -> RowPlan:
    """Plan the rows of one fit (see the module docstring for the rule).

    Parameters
    ----------
    fraction : "auto", float or None
        ``calibration_fraction``. ``"auto"`` reuses early stopping's
        (``validation_fraction``) or ``fit__validation_split``'s
        (``keras_split``) rows, else holds out :data:`AUTO_FRACTION` where
        that gives :data:`MIN_CALIBRATION_ROWS`; a stream (``partial_fit``)
        holds out nothing under ``"auto"`` and a float's share of each batch
        otherwise.
    keys : ndarray of shape (n_samples,)
        :func:`row_keys` of the fit's rows.
    targets, weights : dict of str to ndarray
        Encoded targets and per-task weights (for a stratified validation
        split).
    tasks : sequence of TaskSpec
    salt : int
        The salt ``keys`` were made with.
    seed : int
        Seeds a validation split that is not the calibration rows.
    validation_fraction : float, default=0.0
        Early stopping's share (0: no early stopping).
    keras_split : float, default=0.0
        ``fit__validation_split``: the last rows validate, as in Keras.
    clean_below : float or None, default=None
        The network's ``clean_below`` from its earlier fits; None for a new
        network.
    stream : bool, default=False
        A ``partial_fit`` call.

    Returns
    -------
    RowPlan

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.data.targets import TaskSpec
    >>> tasks = [TaskSpec("v", "regression", "float64", mean=0.0, std=1.0)]
    >>> t, w = {"v": np.zeros((300, 1))}, {"v": np.ones(300)}
    >>> keys = row_keys({"x": np.arange(300.0)}, salt=0)
    >>> plan = plan_rows("auto", keys, t, tasks, w, salt=0, seed=0)
    >>> len(plan.train), len(plan.calibration), plan.source
    (270, 30, 'holdout')
    >>> again = plan_rows("auto", keys[::-1], t, tasks, w, salt=0, seed=1,
    ...                   clean_below=plan.clean_below)  # reordered, warm
    >>> sorted(299 - again.calibration) == sorted(plan.calibration)
    True
    """
    if validation_fraction and keras_split:
        raise ValueError(
            "early_stopping holds out validation_fraction itself; do not also set "
            "fit__validation_split."
        )
    n = len(keys)
    warm = clean_below is not None
    held = None  # this fit's wish: the rows to keep from training
    reuse_validation = False
    by_position = None  # fit__validation_split's rows, calibrating a first fit
    if fraction == "auto":
        if stream:
            fraction = None
        elif validation_fraction:
            k = _n_validation(n, validation_fraction)
            held = _lowest_keys(keys, k, _strata(targets, tasks, weights, n, k))
            reuse_validation, fraction = True, None
        elif keras_split:
            # Rows chosen by position: a later fit cannot tell whether they
            # were trained on, so only a first fit calibrates on them.
            by_position = None if warm else _last_rows(n, keras_split)
            fraction = None
        elif n * AUTO_FRACTION >= MIN_CALIBRATION_ROWS:
            fraction = AUTO_FRACTION
        else:
            fraction = None
    if fraction is not None and float(fraction) > 0.0:
        if stream:  # a batch: a share of it, by key alone
            held = np.flatnonzero(keys < float(fraction))
        else:
            k = _n_holdout(n, float(fraction))
            held = _lowest_keys(keys, k, _strata(targets, tasks, weights, n, k))
    if held is not None and warm:
        held = held[keys[held] < clean_below]  # trained on before: not clean
        if not len(held) and not stream:
            held = None  # nothing clean is left: this fit calibrates on none
    calibration = held if by_position is None else by_position
    rest = np.arange(n)
    if calibration is not None:
        rest = np.setdiff1d(rest, calibration)
    # Every row outside the calibration ones is learned from (the refit reads
    # validation rows too): the lowest key among them bounds the clean ones.
    clean = float(keys[rest].min()) if len(rest) else 1.0
    if stream and held is not None:
        clean = min(clean, float(fraction))  # rows of later batches too
    if calibration is None or by_position is not None:
        clean = 0.0  # nothing, or nothing by key, was held out
    if warm:
        clean = min(clean, float(clean_below))
    validation = None
    if by_position is not None or (reuse_validation and calibration is not None):
        validation = calibration
        train = rest
    elif validation_fraction or keras_split:
        positions = validation_rows(
            {k: np.asarray(v)[rest] for k, v in targets.items()},
            tasks,
            len(rest),
            weights={k: np.asarray(v)[rest] for k, v in weights.items()},
            fraction=validation_fraction,
            keras_split=keras_split,
            seed=seed,
        )
        train, validation = (rest[p] for p in positions)
    else:
        train = None if calibration is None else rest
    source = None
    if calibration is not None:
        source = "validation" if validation is calibration else "holdout"
    return RowPlan(
        n_samples=n,
        train=train,
        validation=validation,
        calibration=calibration,
        source=source,
        salt=int(salt),
        clean_below=clean,
    )


def _strata(targets, tasks, weights, n: int, k: int) -> np.ndarray | None:
    """The first classification task's codes (unlabelled rows a stratum of
    their own), or None where some stratum is too small to split."""
    first = next((t for t in tasks if t.kind == CLASSIFICATION), None)
    if first is None:
        return None
    strata = np.asarray(targets[first.name]).reshape(n).astype(int)
    if weights is not None:
        strata = np.where(np.asarray(weights[first.name]) > 0, strata, -1)
    counts = np.unique(strata, return_counts=True)[1]
    if counts.min() < 2 or k < len(counts):
        return None  # too few samples of some class to stratify
    return strata


def _lowest_keys(keys: np.ndarray, k: int, strata: np.ndarray | None) -> np.ndarray:
    """The ``k`` rows of lowest key, shared among ``strata`` in proportion
    (largest remainders first), sorted."""
    if strata is None:
        return np.sort(np.argsort(keys, kind="stable")[:k])
    labels, counts = np.unique(strata, return_counts=True)
    exact = counts * k / len(keys)
    share = np.floor(exact).astype(int)
    short = k - share.sum()
    share[np.argsort(share - exact, kind="stable")[:short]] += 1
    chosen = []
    for label, m in zip(labels, share, strict=True):
        members = np.flatnonzero(strata == label)
        chosen.append(members[np.argsort(keys[members], kind="stable")[:m]])
    return np.sort(np.concatenate(chosen))


def _n_holdout(n: int, fraction: float) -> int:
    k = round(n * fraction)
    if k < 1 or k >= n - 1:
        raise ValueError(
            f"calibration_fraction={fraction} holds out {k} of {n} samples; it "
            "must leave at least one row for calibration and two for training."
        )
    return k


def _n_validation(n: int, fraction: float) -> int:
    k = max(1, round(n * fraction))
    if k >= n:
        raise ValueError(
            f"validation_fraction={fraction} leaves no training samples out of {n}."
        )
    return k


def _last_rows(n: int, keras_split: float) -> np.ndarray:
    k = round(n * keras_split)
    if not 0 < k < n:
        raise ValueError(
            f"fit__validation_split={keras_split} leaves no training or no "
            f"validation samples out of {n}."
        )
    return np.arange(n - k, n)


def validation_rows(
    targets: Mapping[str, np.ndarray],
    tasks: Sequence[TaskSpec],
    n_samples: int,
    *,
    weights: Mapping[str, np.ndarray] | None = None,
    fraction: float = 0.0,
    keras_split: float = 0.0,
    seed: int | None = None,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Split row indices into ``(train, validation)``, or ``(None, None)``.

    ``fraction`` (early stopping) holds out that share at random, stratified on
    the first classification task (its unlabelled rows as a stratum of their
    own) when every stratum has two samples;
    ``keras_split`` (``fit__validation_split``) takes the last rows, as Keras
    does.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.data.targets import TaskSpec
    >>> task = TaskSpec("c", "classification", "int64", classes=np.arange(2))
    >>> train, val = validation_rows({"c": np.arange(10) % 2}, [task], 10,
    ...                              fraction=0.2, seed=0)
    >>> len(train), len(val)
    (8, 2)
    """
    rows = np.arange(n_samples)
    if fraction and keras_split:
        raise ValueError(
            "early_stopping holds out validation_fraction itself; do not also set "
            "fit__validation_split."
        )
    if fraction:
        n_val = _n_validation(n_samples, fraction)
        strata = _strata(targets, tasks, weights, n_samples, n_val)
        return tuple(
            train_test_split(rows, test_size=n_val, stratify=strata, random_state=seed)
        )
    if keras_split:
        val = _last_rows(n_samples, keras_split)
        return rows[: val[0]], val
    return None, None
