"""Uncertainty from rows held out at fit: conformal intervals and temperatures.

Split-conformal regression (Vovk et al. 2005; Lei et al. 2018): the absolute
residuals ``|y - y_hat|`` of ``m`` rows the network was not trained on are
sorted; for a new row, ``y_hat +- q`` with ``q`` the ``ceil((m + 1)(1 - alpha))``-th
smallest residual covers the true value with probability at least
``1 - alpha`` when the rows are exchangeable. It costs one forward pass over
the held-out rows and the training those rows would have given; no refit.
(CV+ and jackknife+ keep every row for training but cost one fit per fold.)

Temperature scaling (Guo et al. 2017): one scalar ``T`` per classification
task dividing the log-probabilities, fitted on the same rows by log-loss. It
never changes the predicted class (``argmax`` is unchanged by ``T > 0``).

Everything here is NumPy on arrays already decoded from the network; nothing
knows the estimator. :class:`Calibration` is the part of the fitted state that
:mod:`skmtl.persistence` writes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ..data.holdout import MIN_CALIBRATION_ROWS
from ..data.targets import CLASSIFICATION, REGRESSION, TaskSpec
from ..utils.warnings import warn_user

__all__ = [
    "Calibration",
    "MIN_CALIBRATION_ROWS",
    "calibrate",
    "calibrate_rows",
    "conformal_quantile",
    "expected_calibration_error",
    "fit_temperature",
    "prediction_sets",
    "scale_probabilities",
]


@dataclass(frozen=True, eq=False)
class Calibration:
    """What the held-out rows of a fit learned.

    Parameters
    ----------
    n_rows : int
        Rows held out (not trained on, or only used to pick the epoch).
    source : {"holdout", "validation"}
        Rows held out for calibration alone, or early stopping's validation
        rows reused.
    residuals : dict
        ``{regression task: (m, n_outputs) sorted absolute residuals}`` in the
        target's units, over the held-out rows labelled for that task.
    temperatures : dict
        ``{classification task: T}``; 1.0 where scaling did not lower the ECE.
    ece : dict
        ``{classification task: (ECE before, ECE after scaling)}`` on the
        held-out rows (the "after" is optimistic: ``T`` was fitted there).
    class_scores : dict
        ``{classification task: sorted 1 - p(true class)}`` over the labelled
        held-out rows (unscaled probabilities): the conformity scores of
        prediction sets.
    salt : int or None
        The salt of the rows' keys (:func:`skmtl.data.holdout.row_keys`).
    clean_below : float
        No row whose key is below it was ever trained on by the network: the
        rows a later fit of it may calibrate on (0.0: none).

    Examples
    --------
    >>> import numpy as np
    >>> cal = Calibration(n_rows=3, source="holdout",
    ...                   residuals={"density": np.array([[0.1], [0.2], [0.4]])})
    >>> Calibration.from_dict(cal.to_dict()).residuals["density"].ravel().tolist()
    [0.1, 0.2, 0.4]
    """

    n_rows: int
    source: str
    residuals: dict = field(default_factory=dict)
    temperatures: dict = field(default_factory=dict)
    ece: dict = field(default_factory=dict)
    class_scores: dict = field(default_factory=dict)
    salt: int | None = None
    clean_below: float = 0.0

    def to_dict(self) -> dict:
        return {
            "n_rows": int(self.n_rows),
            "source": self.source,
            "residuals": {k: np.asarray(v).tolist() for k, v in self.residuals.items()},
            "temperatures": {k: float(v) for k, v in self.temperatures.items()},
            "ece": {k: [float(a), float(b)] for k, (a, b) in self.ece.items()},
            "class_scores": {
                k: np.asarray(v).tolist() for k, v in self.class_scores.items()
            },
            "salt": None if self.salt is None else int(self.salt),
            "clean_below": float(self.clean_below),
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> Calibration:
        """The calibration :meth:`to_dict` wrote; a value no fit could have
        given (a negative count, an unknown source, a NaN residual) raises
        ``ValueError`` naming it (``load`` turns it into ``SkmtlFileError``)."""
        residuals = {
            k: _residual_rows(_checked(f"residuals[{k!r}]", v, low=0.0))
            for k, v in data.get("residuals", {}).items()
        }
        n_rows, source = data["n_rows"], data["source"]
        if isinstance(n_rows, bool) or not isinstance(n_rows, int) or n_rows < 0:
            raise ValueError(f"calibration n_rows={n_rows!r}; expected a count")
        if source not in ("holdout", "validation"):
            raise ValueError(
                f"calibration source={source!r}; expected 'holdout' or 'validation'"
            )
        salt = data.get("salt")
        if salt is not None and (isinstance(salt, bool) or not isinstance(salt, int)):
            raise ValueError(f"calibration salt={salt!r}; expected an int")
        clean = _checked("clean_below", data.get("clean_below", 0.0), 0.0, 1.0)
        clean_below = float(clean)
        temperatures = {
            k: float(_checked(f"temperatures[{k!r}]", v, low=np.finfo(float).tiny))
            for k, v in data.get("temperatures", {}).items()
        }
        return cls(
            n_rows=n_rows,
            source=source,
            residuals=residuals,
            temperatures=temperatures,
            ece={k: (float(a), float(b)) for k, (a, b) in data.get("ece", {}).items()},
            class_scores={
                k: _checked(f"class_scores[{k!r}]", v, low=0.0, high=1.0)
                for k, v in data.get("class_scores", {}).items()
            },
            salt=salt,
            # A file written before keys existed: no row is known to be clean.
            clean_below=clean_below,
        )


def _checked(name: str, values, low: float = -np.inf, high: float = np.inf):
    """``values`` as float64, refused unless finite and within [low, high]."""
    array = np.asarray(values, dtype=np.float64)
    inside = (array >= low).all() and (array <= high).all()
    if not (np.isfinite(array).all() and inside):
        raise ValueError(
            f"calibration {name} holds values outside [{low}, {high}] or not finite"
        )
    return array


def _residual_rows(residuals: np.ndarray) -> np.ndarray:
    """Residuals as ``(m, n_outputs)``; none at all as ``(0, 1)``."""
    if residuals.size == 0:
        return np.empty((0, 1))
    return residuals.reshape(len(residuals), -1)


def conformal_quantile(residuals: np.ndarray, alpha: float) -> np.ndarray:
    """The split-conformal half-width per output: the ``ceil((m+1)(1-alpha))``-th
    smallest of ``m`` sorted residuals, or infinity when ``m`` is too small.

    Examples
    --------
    >>> import numpy as np
    >>> r = np.arange(1.0, 20.0)[:, None]  # 19 residuals
    >>> conformal_quantile(r, 0.1).tolist(), conformal_quantile(r, 0.01).tolist()
    ([18.0], [inf])
    """
    residuals = np.asarray(residuals, dtype=np.float64)
    m = residuals.shape[0]
    rank = math.ceil((m + 1) * (1 - alpha))
    if rank > m:
        return np.full(residuals.shape[1:], np.inf)
    return residuals[rank - 1]


def expected_calibration_error(
    proba: np.ndarray, labels: np.ndarray, n_bins: int = 15
) -> float:
    """Top-label ECE: ``sum_b n_b / n * |accuracy_b - confidence_b|`` over
    ``n_bins`` equal-width confidence bins (Guo et al. 2017).

    Examples
    --------
    >>> import numpy as np
    >>> proba = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.3, 0.7]])
    >>> round(expected_calibration_error(proba, np.array([0, 1, 0, 1])), 3)
    0.375
    """
    proba = np.asarray(proba, dtype=np.float64)
    labels = np.asarray(labels).reshape(-1)
    if len(labels) == 0:
        return float("nan")
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == labels
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    total = 0.0
    for b in np.unique(bins):
        in_bin = bins == b
        total += in_bin.sum() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(total / len(labels))


def scale_probabilities(proba: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log(proba) / T)``: the same ranking, sharper or softer.

    Examples
    --------
    >>> import numpy as np
    >>> scale_probabilities(np.array([[0.8, 0.2]]), 2.0).round(3).tolist()
    [[0.667, 0.333]]
    """
    proba = np.asarray(proba, dtype=np.float64)
    if temperature == 1.0:
        return proba
    logits = np.log(np.clip(proba, 1e-12, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    scaled = np.exp(logits)
    return scaled / scaled.sum(axis=1, keepdims=True)


def fit_temperature(proba: np.ndarray, labels: np.ndarray) -> float:
    """The ``T`` in [0.05, 20] that minimises the log-loss of scaled ``proba``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> labels = rng.integers(0, 2, 500)
    >>> right = rng.random(500) < 0.7  # 70 % right, but 99 % sure: overconfident
    >>> pred = np.where(right, labels, 1 - labels)
    >>> proba = np.where(pred[:, None] == [0, 1], 0.99, 0.01)
    >>> fit_temperature(proba, labels) > 2
    True
    """
    from scipy.optimize import minimize_scalar

    proba = np.asarray(proba, dtype=np.float64)
    labels = np.asarray(labels).reshape(-1).astype(int)
    rows = np.arange(len(labels))

    def log_loss(log_t: float) -> float:
        scaled = scale_probabilities(proba, float(np.exp(log_t)))
        return float(-np.log(np.clip(scaled[rows, labels], 1e-12, None)).mean())

    best = minimize_scalar(
        log_loss, bounds=(np.log(0.05), np.log(20.0)), method="bounded"
    )
    return float(np.exp(best.x))


def calibrate(
    tasks: Sequence[TaskSpec],
    outputs: Mapping[str, np.ndarray],
    probabilities: Mapping[str, np.ndarray],
    targets: Mapping[str, np.ndarray],
    weights: Mapping[str, np.ndarray],
    *,
    source: str,
) -> Calibration:
    """A :class:`Calibration` from the held-out rows' outputs and encoded targets.

    ``outputs`` are the raw network outputs (regression tasks standardised),
    ``probabilities`` the decoded class probabilities, ``targets`` and
    ``weights`` those of :meth:`~skmtl.data.targets.TargetEncoder.transform`, all
    restricted to the held-out rows. A row whose weight is 0 (a missing label,
    or a zero sample weight) does not count for that task; the others count
    once each, whatever their weight: the guarantee is over unweighted,
    exchangeable rows.

    Parameters
    ----------
    tasks : sequence of TaskSpec
        The fitted tasks.
    outputs : dict of str to ndarray
        ``{task: raw network output}`` on the held-out rows.
    probabilities : dict of str to ndarray
        ``{classification task: (m, n_classes)}``.
    targets, weights : dict of str to ndarray
        Encoded targets and per-task weights of the held-out rows.
    source : {"holdout", "validation"}
        Where the rows came from.

    Returns
    -------
    Calibration

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.data.targets import TaskSpec
    >>> task = TaskSpec("v", "regression", "float64", mean=0.0, std=2.0)
    >>> cal = calibrate([task], {"v": np.array([[0.0], [1.0]])}, {},
    ...                 {"v": np.array([[0.5], [0.0]])}, {"v": np.ones(2)},
    ...                 source="holdout")
    >>> cal.residuals["v"].ravel().tolist()  # in the target's units (std 2)
    [1.0, 2.0]
    """
    n_rows = len(next(iter(targets.values())))
    residuals, temperatures, ece, class_scores = {}, {}, {}, {}
    for task in tasks:
        labelled = np.asarray(weights[task.name]) > 0
        target = np.asarray(targets[task.name])[labelled]
        if task.kind == REGRESSION:
            out = np.asarray(outputs[task.name], dtype=np.float64)[labelled]
            std = np.asarray(task.std, dtype=np.float64).reshape(-1)
            error = np.abs(target.reshape(out.shape) - out) * std
            residuals[task.name] = np.sort(error, axis=0)
        elif task.kind == CLASSIFICATION and labelled.sum():
            proba = np.asarray(probabilities[task.name])[labelled]
            codes = target.reshape(-1).astype(int)
            true_proba = proba[np.arange(len(codes)), codes]
            class_scores[task.name] = np.sort(1.0 - true_proba)
            before = expected_calibration_error(proba, codes)
            temperature = fit_temperature(proba, codes)
            after = expected_calibration_error(
                scale_probabilities(proba, temperature), codes
            )
            if not after < before:
                temperature, after = 1.0, before
            temperatures[task.name], ece[task.name] = temperature, (before, after)
    return Calibration(
        n_rows=n_rows,
        source=source,
        residuals=residuals,
        temperatures=temperatures,
        ece=ece,
        class_scores=class_scores,
    )


def calibrate_rows(
    state,
    inputs: Mapping[str, np.ndarray],
    targets: Mapping[str, np.ndarray],
    weights: Mapping[str, np.ndarray],
    plan,
    chunk: int,
    features=None,
) -> Calibration:
    """:func:`calibrate` on the calibration rows of a
    :class:`~skmtl.data.holdout.RowPlan`, through the forward pass of a fitted
    state (``state.forward_rows``, ``state.tasks``; ``features``: the fixed
    trunk's features of every row, if the fit computed them); the plan's key
    salt and ``clean_below`` are kept for the network's later fits."""
    rows = plan.calibration
    kept = {"salt": plan.salt, "clean_below": plan.clean_below}
    if not len(rows):  # a partial_fit batch with no held-out row
        return Calibration(n_rows=0, source=plan.source, **kept)
    outputs = state.forward_rows(inputs, rows, chunk, features)
    probabilities = state.target_encoder.probabilities(outputs)
    calibration = calibrate(
        state.tasks,
        outputs,
        probabilities,
        {k: np.asarray(v)[rows] for k, v in targets.items()},
        {k: np.asarray(v)[rows] for k, v in weights.items()},
        source=plan.source,
    )
    return replace(calibration, **kept)


def intervals(
    predictions: Mapping[str, np.ndarray], calibration: Calibration, alpha: float
) -> dict[str, np.ndarray]:
    """``{task: (n, 2)}`` (``(n, n_outputs, 2)`` for a block task) of
    ``prediction -+ q``; warns when too few rows make ``q`` infinite.

    Examples
    --------
    >>> import numpy as np
    >>> cal = Calibration(n_rows=19, source="holdout",
    ...                   residuals={"v": np.arange(1.0, 20.0)[:, None]})
    >>> intervals({"v": np.array([0.0, 10.0])}, cal, 0.1)["v"].tolist()
    [[-18.0, 18.0], [-8.0, 28.0]]
    """
    out = {}
    for name, pred in predictions.items():
        residuals = calibration.residuals.get(name, np.empty((0, 1)))
        q = conformal_quantile(residuals, alpha)
        _warn_if_infinite(name, q, len(residuals), alpha)
        pred = np.asarray(pred, dtype=np.float64)
        half = q[0] if pred.ndim == 1 else q
        out[name] = np.stack([pred - half, pred + half], axis=-1)
    return out


def _warn_if_infinite(task: str, q: np.ndarray, m: int, alpha: float) -> None:
    """Say why a quantile is infinite: too few labelled held-out rows."""
    if np.isinf(q).any():
        warn_user(
            f"Task {task!r}: {m} labelled calibration rows cannot give coverage "
            f"{1 - alpha:g} (that needs at least {math.ceil(1 / alpha) - 1}); "
            "the interval or set is the whole range. Use a larger alpha or a "
            "larger calibration_fraction."
        )


def prediction_sets(
    probabilities: Mapping[str, np.ndarray], calibration: Calibration, alpha: float
) -> dict[str, np.ndarray]:
    """``{task: (n, n_classes) bool}``: the classes whose score ``1 - p`` is at
    most the conformal quantile of the held-out scores (Sadinle et al. 2019),
    so the true class is in the set with probability at least ``1 - alpha``.

    Examples
    --------
    >>> import numpy as np
    >>> cal = Calibration(n_rows=9, source="holdout",
    ...                   class_scores={"c": np.linspace(0.1, 0.9, 9)})
    >>> proba = np.array([[0.7, 0.2, 0.1], [0.5, 0.5, 0.0]])
    >>> prediction_sets({"c": proba}, cal, 0.5)["c"].tolist()
    [[True, False, False], [True, True, False]]
    """
    out = {}
    for name, proba in probabilities.items():
        scores = np.asarray(calibration.class_scores.get(name, ()), dtype=np.float64)
        q = conformal_quantile(scores[:, None], alpha)
        _warn_if_infinite(name, q, len(scores), alpha)
        out[name] = (1.0 - np.asarray(proba)) <= q[0]
    return out
