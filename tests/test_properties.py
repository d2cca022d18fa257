"""Property-based tests: random input schemas and task mixes fit, predict and persist.

Hypothesis draws a schema (1-4 signals of 8-64 steps and 1-3 channels, 0-3
covariates, 1-3 tasks: classification with 2-4 string or int classes, or
regression) and a missing-label pattern; NumPy fills in the values. X is built
as a dict and converted with :func:`skmtl.to_structured`. Every example fits a
tiny network for one epoch, so a handful of examples keeps the file short.

No example database is written (``database=None``): failures print the
reproducing example instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import skmtl
from skmtl import MultiTaskConvEstimator

PARAMS = {
    "filters": (84,),
    "dense_units": 4,
    "epochs": 1,
    "batch_size": 16,
    "random_state": 0,
}


@dataclass(frozen=True)
class Signal:
    name: str
    n_steps: int
    n_channels: int
    squeeze: bool  # one channel given as (n, n_steps) rather than (n, n_steps, 1)


@dataclass(frozen=True)
class Task:
    name: str
    kind: str  # "classification" or "regression"
    n_classes: int = 0
    str_labels: bool = True


@dataclass(frozen=True)
class Case:
    n_samples: int
    signals: tuple[Signal, ...]
    covariates: tuple[str, ...]
    tasks: tuple[Task, ...]
    missing_rate: float
    seed: int


_NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,7}", fullmatch=True)


@st.composite
def cases(draw) -> Case:
    n_signals = draw(st.integers(1, 4))
    n_covariates = draw(st.integers(0, 3))
    field_names = draw(
        st.lists(
            _NAMES, min_size=n_signals + n_covariates, max_size=n_signals + n_covariates
        ).filter(lambda names: len(set(names)) == len(names))
    )
    signals = []
    for name in field_names[:n_signals]:
        n_channels = draw(st.integers(1, 3))
        squeeze = n_channels == 1 and draw(st.booleans())
        signals.append(Signal(name, draw(st.integers(8, 64)), n_channels, squeeze))
    n_tasks = draw(st.integers(1, 3))
    task_names = draw(st.lists(_NAMES, min_size=n_tasks, max_size=n_tasks, unique=True))
    tasks = []
    for name in task_names:
        if draw(st.booleans()):
            tasks.append(
                Task(
                    name, "classification", draw(st.integers(2, 4)), draw(st.booleans())
                )
            )
        else:
            tasks.append(Task(name, "regression"))
    return Case(
        n_samples=draw(st.integers(20, 40)),
        signals=tuple(signals),
        covariates=tuple(field_names[n_signals:]),
        tasks=tuple(tasks),
        missing_rate=draw(st.sampled_from([0.0, 0.2, 0.5])),
        seed=draw(st.integers(0, 2**31 - 1)),
    )


def _labels(task: Task) -> np.ndarray:
    if task.str_labels:
        return np.array([f"class_{k}" for k in range(task.n_classes)], dtype=object)
    return np.arange(task.n_classes) * 10 - 5  # ints, one of them negative


def build(case: Case) -> tuple[dict, pd.DataFrame]:
    """X as a dict of arrays and y as a DataFrame with missing labels."""
    rng = np.random.default_rng(case.seed)
    n = case.n_samples
    X = {}
    for s in case.signals:
        shape = (n, s.n_steps) if s.squeeze else (n, s.n_steps, s.n_channels)
        X[s.name] = rng.normal(size=shape).astype(np.float32)
    for i, name in enumerate(case.covariates):
        # Alternate float and int covariates.
        X[name] = rng.normal(size=n) if i % 2 == 0 else rng.integers(0, 5, size=n)
    y = {}
    for task in case.tasks:
        # Rows 0 and 1 are always labelled, with two different values.
        keep = (rng.random(n) >= case.missing_rate) | (np.arange(n) < 2)
        if task.kind == "regression":
            values = rng.normal(10.0, 3.0, size=n)
            values[1] = values[0] + 1.0
            y[task.name] = pd.Series(np.where(keep, values, np.nan), dtype="float64")
            continue
        labels = _labels(task)
        codes = rng.integers(0, task.n_classes, size=n)
        codes[:2] = [0, 1]
        values = labels[codes]
        if task.str_labels:
            column = pd.Series(values, dtype=object)
            column[~keep] = None
        else:
            column = pd.Series(values, dtype="Int64")
            column[~keep] = pd.NA
        y[task.name] = column
    return X, pd.DataFrame(y)


def _known_labels(column: pd.Series) -> set:
    return set(column.dropna().tolist())


# Expected with one epoch on noise, and with a one-task DataFrame y (which
# skmtl treats as scikit-learn's "column vector" y).
@pytest.mark.filterwarnings("ignore:Task .* the head may have collapsed:UserWarning")
@pytest.mark.filterwarnings("ignore:A column-vector y was passed")
@settings(
    max_examples=8,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=cases())
def test_random_schemas_fit_predict_and_round_trip(case: Case, tmp_path_factory):
    X_dict, y = build(case)
    X = skmtl.to_structured(X_dict)
    assert X.dtype.names == tuple(X_dict)
    kinds = {t.name: t.kind for t in case.tasks}
    est = MultiTaskConvEstimator(tasks=kinds, **PARAMS).fit(X, y)

    assert est.task_kinds_ == kinds
    assert est.schema_.names == list(X_dict)
    for s in case.signals:
        spec = est.schema_[s.name]
        assert (spec.kind, spec.n_steps, spec.n_channels) == (
            "signal",
            s.n_steps,
            s.n_channels,
        )

    pred = est.predict(X)
    assert isinstance(pred, pd.DataFrame)
    assert list(pred.columns) == list(y.columns)
    assert len(pred) == case.n_samples
    for task in case.tasks:
        column = pred[task.name]
        assert column.dtype == y[task.name].dtype, task
        if task.kind == "regression":
            assert np.isfinite(column.to_numpy(dtype=np.float64)).all()
        else:
            assert not column.isna().any()
            assert set(column.tolist()) <= _known_labels(y[task.name])

    classifiers = [t for t in case.tasks if t.kind == "classification"]
    if classifiers:
        proba = est.predict_proba(X)
        assert set(proba) == {t.name for t in classifiers}
        for task in classifiers:
            classes = est.classes_[task.name]
            assert set(classes.tolist()) == _known_labels(y[task.name])
            p = proba[task.name]
            assert p.shape == (case.n_samples, len(classes))
            assert np.isfinite(p).all() and (p >= 0).all()
            np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
            # predict is the most probable class of predict_proba.
            np.testing.assert_array_equal(
                classes[p.argmax(axis=1)].tolist(), pred[task.name].tolist()
            )
    else:
        assert not hasattr(est, "predict_proba")

    path = tmp_path_factory.mktemp("roundtrip") / "model.skmtl"
    est.save(path)
    loaded = skmtl.load(path)
    pd.testing.assert_frame_equal(loaded.predict(X), pred)
    pd.testing.assert_frame_equal(loaded.predict(X_dict), pred)
    if classifiers:
        reloaded = loaded.predict_proba(X)
        for name, p in est.predict_proba(X).items():
            np.testing.assert_array_equal(reloaded[name], p)
