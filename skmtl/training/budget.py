"""The training budget of ``epochs="auto"``: optimizer steps, not passes.

A budget in epochs starves small data sets (20 epochs of 36 samples in batches
of 32 are 40 steps) and is needlessly long on large ones. ``"auto"`` asks for at
least :data:`MIN_STEPS` optimizer steps and at least :data:`MIN_PASSES` passes
over the data, so a small set gets enough steps and a large one a bounded
number of passes. Keras spends tens of milliseconds between epochs whatever
their size, so the passes of a small set are grouped into epochs of at least
:data:`MIN_STEPS_PER_EPOCH` steps (each epoch then visits every sample
``passes_per_epoch`` times, in a fresh seeded order each time).
"""

from __future__ import annotations

import math
from typing import NamedTuple

__all__ = [
    "MIN_PASSES",
    "MIN_STEPS",
    "MIN_STEPS_PER_EPOCH",
    "Budget",
    "auto_budget",
]

#: Fewest optimizer steps of an ``epochs="auto"`` fit. Measured on seven
#: archive sets (docs/accuracy.md): 2,000 steps matched 600 on the four the
#: defaults were first tuned on and gained 1-1.6 points on OSULeaf and ACSF1.
MIN_STEPS = 2000
#: Fewest passes over the training samples of an ``epochs="auto"`` fit.
MIN_PASSES = 10
#: Fewest steps of one epoch (small sets pass over their samples several times).
MIN_STEPS_PER_EPOCH = 50


class Budget(NamedTuple):
    """``epochs`` epochs, each of ``passes_per_epoch`` passes over the data.

    Parameters
    ----------
    epochs : int
        Epochs of the fit (what ``history_`` and ``n_epochs_`` count).
    passes_per_epoch : int
        Passes over the training samples in one epoch.

    Examples
    --------
    >>> Budget(epochs=12, passes_per_epoch=45).passes
    540
    """

    epochs: int
    passes_per_epoch: int

    @property
    def passes(self) -> int:
        return self.epochs * self.passes_per_epoch


def auto_budget(n_samples: int, batch_size: int) -> Budget:
    """The epochs (and passes per epoch) of an ``epochs="auto"`` fit.

    Parameters
    ----------
    n_samples : int
        Training samples (after any validation hold-out).
    batch_size : int
        Samples per optimizer step.

    Returns
    -------
    Budget
        At least ``MIN_STEPS`` steps and ``MIN_PASSES`` passes in all, in
        epochs of at least ``MIN_STEPS_PER_EPOCH`` steps where the data allow.

    Examples
    --------
    >>> auto_budget(36, 32)  # epochs of 45 passes (51 steps): 2,040 steps
    Budget(epochs=40, passes_per_epoch=45)
    >>> auto_budget(20_000, 32)  # 625 steps a pass: 10 one-pass epochs
    Budget(epochs=10, passes_per_epoch=1)
    """
    n_samples = max(int(n_samples), 1)
    # Passes grouped so that an epoch has MIN_STEPS_PER_EPOCH steps (the last
    # batch of an epoch may be short: steps are counted per epoch, not pass).
    per_epoch = max(1, math.ceil(MIN_STEPS_PER_EPOCH * batch_size / n_samples))
    steps_per_epoch = math.ceil(n_samples * per_epoch / batch_size)
    epochs = max(
        math.ceil(MIN_STEPS / steps_per_epoch), math.ceil(MIN_PASSES / per_epoch)
    )
    return Budget(epochs, per_epoch)
