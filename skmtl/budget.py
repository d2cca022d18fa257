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

#: Fewest optimizer steps of an ``epochs="auto"`` fit.
MIN_STEPS = 1000
#: Fewest passes over the training samples of an ``epochs="auto"`` fit.
MIN_PASSES = 10
#: Fewest steps of one epoch (small sets pass over their samples several times).
MIN_STEPS_PER_EPOCH = 50


class Budget(NamedTuple):
    """``epochs`` epochs, each of ``passes_per_epoch`` passes over the data."""

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
    >>> auto_budget(36, 32)  # 2 steps a pass: 500 passes, 25 to an epoch
    Budget(epochs=20, passes_per_epoch=25)
    >>> auto_budget(20_000, 32)  # 625 steps a pass: 10 one-pass epochs
    Budget(epochs=10, passes_per_epoch=1)
    """
    steps_per_pass = max(1, math.ceil(max(n_samples, 1) / batch_size))
    passes = max(MIN_PASSES, math.ceil(MIN_STEPS / steps_per_pass))
    per_epoch = max(1, math.ceil(MIN_STEPS_PER_EPOCH / steps_per_pass))
    per_epoch = min(per_epoch, passes)
    return Budget(math.ceil(passes / per_epoch), per_epoch)
