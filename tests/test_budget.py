"""epochs="auto": a budget in optimizer steps (skmtl.training.budget), as fit
applies it."""

import keras
import numpy as np
import pytest

from skmtl import MultiTaskConvEstimator
from skmtl.training.budget import (
    MIN_PASSES,
    MIN_STEPS,
    MIN_STEPS_PER_EPOCH,
    auto_budget,
)


@pytest.mark.parametrize("n_samples", [1, 7, 36, 500, 3_000, 20_000, 1_000_000])
@pytest.mark.parametrize("batch_size", [8, 32, 256])
def test_budget_gives_enough_steps_and_passes(n_samples, batch_size):
    budget = auto_budget(n_samples, batch_size)
    steps_per_epoch = -(-n_samples * budget.passes_per_epoch // batch_size)
    assert budget.epochs * steps_per_epoch >= MIN_STEPS
    assert budget.passes >= MIN_PASSES
    assert steps_per_epoch >= min(MIN_STEPS_PER_EPOCH, -(-n_samples // batch_size))
    # No more than one epoch beyond what the two minimums ask.
    assert (budget.epochs - 1) * steps_per_epoch < MIN_STEPS or (
        budget.epochs - 1
    ) * budget.passes_per_epoch < MIN_PASSES


class _CountSteps(keras.callbacks.Callback):
    steps = 0

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1

    def __deepcopy__(self, memo):  # skmtl trains with copies; read this one
        return self


def test_auto_fit_runs_the_budget_in_grouped_epochs():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(36, 30)).astype("float32")
    y = np.arange(36) % 2
    counter = _CountSteps()
    est = MultiTaskConvEstimator(filters=(84,), callbacks=[counter], random_state=0)
    est.fit(X, y)
    budget = auto_budget(36, 32)
    assert est.n_epochs_ == len(est.history_["loss"]) == budget.epochs
    # Each epoch is passes_per_epoch passes of 36 samples in batches of 32.
    assert counter.steps == budget.epochs * -(-36 * budget.passes_per_epoch // 32)
    assert budget.passes_per_epoch > 1
    assert counter.steps >= MIN_STEPS
    # An explicit epochs keeps its meaning: passes over the data.
    est = MultiTaskConvEstimator(filters=(84,), epochs=3, random_state=0).fit(X, y)
    assert est.n_epochs_ == 3
