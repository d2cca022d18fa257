"""Per-layer seeds: every layer with randomness gets its own, derived from
``random_state``, so a fit is reproducible without touching TensorFlow's
global seed."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

__all__ = ["layer_seeds"]


def layer_seeds(random_state: int | None) -> Iterator[int | None]:
    """Endless per-layer seeds derived from ``random_state`` (all None if None)."""
    if random_state is None:
        while True:
            yield None
    rng = np.random.default_rng(random_state)
    while True:
        yield int(rng.integers(2**31 - 1))
