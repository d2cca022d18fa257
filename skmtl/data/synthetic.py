"""Synthetic multi-task sensor data for examples, tests and benchmarks.

:func:`make_sensor_tasks` imitates a material-testing rig: each sample is a
recording of two traces (``ampl``, ``phase``) plus three scalar covariates
(``temp``, ``moist``, ``weight``), with two targets: a class (``material``) and
a regression value (``density``).

Generating process, for sample ``i`` of class ``k`` with ``t = linspace(0, 1,
n_steps)`` (time is in recordings, so the signal keeps its meaning at any
length):

* class parameters: frequency ``f_k = 3 + 2.5 k`` cycles per recording, phase
  offset ``theta_k = 2.2 (2 frac(k g) - 1)`` with ``g = (sqrt(5) - 1) / 2``
  (spread over [-2.2, 2.2]), and base density ``rho_k``: aluminium 2.70, steel
  7.85, copper 8.96, wood 0.60, polymer 1.20, then ``1.5 (k - 3)`` for extra
  classes ``material_5``, ``material_6``, ...
* latent within-class variable ``u ~ U(-1, 1)``, never returned.
* ``temp ~ N(20, 5)`` (deg C), ``moist ~ U(0.05, 0.3)``, ``volume = exp(U(-ln
  3, ln 3))`` (log-uniform on [1/3, 3], never returned).
* ``density = rho_k (1 + 0.15 u) (1 - 0.01 (temp - 20)) + moist
  + 0.05 noise e0``.
* ``weight = rho_k (1 + 0.15 u) volume``: heavier materials weigh more, but the
  unknown volume spans a factor of 9, so weight only weakly hints at the class
  (the Bayes accuracy from the covariates alone is about 0.45).
* ``ampl(t) = 100 exp(-(1.5 + u) t) sin(2 pi f_k t + theta_k) + 100 noise e1(t)``
* ``phase(t) = theta_k + 0.8 moist sin(2 pi t) + 0.5 u t + noise e2(t)``

``e0, e1(t), e2(t)`` are independent standard normal draws. The class is in the
frequency and offsets of the traces; ``u`` is in the envelope decay (mean
energy) of ``ampl`` and the slope of ``phase``. Most density variance comes
from the material; the rest comes from ``u`` (traces) and ``temp``, ``moist``
(covariates), so the best predictions need both inputs. The raw
scales are deliberately mismatched (ampl ~ +-100, phase ~ +-3 rad, temp ~ 20,
moist ~ 0.05-0.3, weight ~ 0.2-27), as in real exports, so models must
normalise their inputs. Frequencies above ``n_steps / 2`` alias, so keep
``n_steps > 6 + 5 (n_classes - 1)`` for learnable data.
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING

import numpy as np
from sklearn.utils import check_random_state

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["make_sensor_tasks"]

_MATERIALS = ("aluminium", "steel", "copper", "wood", "polymer")
_DENSITIES = (2.70, 7.85, 8.96, 0.60, 1.20)
_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0
# About 1 MiB of float32 per temporary, so the working set stays far below X.
_CHUNK_ELEMENTS = 1 << 18


def _check_int(name: str, value: object, minimum: int) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value < minimum
    ):
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}.")
    return int(value)


def _check_real(name: str, value: object, low: float, high: float) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or not low <= value < high:
        interval = f">= {low}" if math.isinf(high) else f"in [{low}, {high})"
        raise ValueError(f"{name} must be a finite float {interval}, got {value!r}.")
    return float(value)


def _as_generator(
    random_state: int | np.random.RandomState | np.random.Generator | None,
) -> np.random.Generator:
    if isinstance(random_state, np.random.Generator):
        return random_state
    # Seed a Generator from the RandomState so every input shares one code path
    # and can draw float32 noise directly (RandomState only draws float64).
    seed = check_random_state(random_state).randint(2**32, size=4, dtype=np.uint32)
    return np.random.default_rng(seed)


def _class_params(
    n_classes: int,
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    k = np.arange(n_classes)
    names = [
        _MATERIALS[i] if i < len(_MATERIALS) else f"material_{i}"
        for i in range(n_classes)
    ]
    freq = 3.0 + 2.5 * k
    # Golden-ratio steps keep any number of offsets spread out and distinct.
    theta = 2.2 * (2.0 * ((k * _GOLDEN) % 1.0) - 1.0)
    rho = np.array([_DENSITIES[i] if i < len(_DENSITIES) else 1.5 * (i - 3) for i in k])
    return names, freq, theta, rho


def make_sensor_tasks(
    n_samples: int = 1000,
    *,
    n_steps: int = 3750,
    n_classes: int = 5,
    noise: float = 0.2,
    missing_rate: float = 0.0,
    as_frame: bool = True,
    random_state: int | np.random.RandomState | np.random.Generator | None = None,
) -> tuple[np.ndarray, pd.DataFrame | np.ndarray]:
    """Generate a two-task (classification + regression) sensor data set.

    See the module docstring for the full generating process.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of recordings, >= 1.
    n_steps : int, default=3750
        Length of each trace, >= 8.
    n_classes : int, default=5
        Number of materials, >= 2. Classes are balanced to within one sample.
    noise : float, default=0.2
        Noise level, >= 0: trace noise has standard deviation ``100 * noise``
        (ampl) and ``noise`` (phase); density noise ``0.05 * noise``.
    missing_rate : float, default=0.0
        Probability, in [0, 1), that each label is missing, drawn independently
        per sample and task (``material`` -> None, ``density`` -> NaN).
    as_frame : bool, default=True
        Return ``y`` as a pandas DataFrame (needs pandas), else a structured
        array.
    random_state : int, RandomState, Generator or None, default=None
        Controls all randomness; pass an int for reproducible output.

    Returns
    -------
    X : ndarray of shape (n_samples,)
        Structured array with float32 fields ``ampl`` and ``phase`` (subarrays
        of shape ``(n_steps,)``) and scalars ``temp``, ``moist``, ``weight``.
    y : DataFrame or ndarray of shape (n_samples,)
        ``material`` (object, str or None) and ``density`` (float64, may be NaN).

    Examples
    --------
    >>> from skmtl.datasets import make_sensor_tasks
    >>> X, y = make_sensor_tasks(100, n_steps=64, random_state=0)
    >>> X.dtype.names
    ('ampl', 'phase', 'temp', 'moist', 'weight')
    >>> X["ampl"].shape, X["temp"].shape
    ((100, 64), (100,))
    >>> list(y.columns), [str(d) for d in y.dtypes]
    (['material', 'density'], ['object', 'float64'])
    >>> y["material"].value_counts().sort_index().to_dict()
    {'aluminium': 20, 'copper': 20, 'polymer': 20, 'steel': 20, 'wood': 20}
    """
    n_samples = _check_int("n_samples", n_samples, 1)
    n_steps = _check_int("n_steps", n_steps, 8)
    n_classes = _check_int("n_classes", n_classes, 2)
    noise = _check_real("noise", noise, 0.0, math.inf)
    missing_rate = _check_real("missing_rate", missing_rate, 0.0, 1.0)
    if as_frame:
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError(
                'as_frame=True needs pandas: pip install "skmtl[pandas]", '
                "or pass as_frame=False."
            ) from exc
    rng = _as_generator(random_state)
    names, freq, theta, rho = _class_params(n_classes)

    # Per-sample draws come first, so traces never shift the latent variables.
    label = rng.permutation(np.arange(n_samples) % n_classes)
    u = rng.uniform(-1.0, 1.0, n_samples)
    temp = rng.normal(20.0, 5.0, n_samples)
    moist = rng.uniform(0.05, 0.3, n_samples)
    volume = np.exp(rng.uniform(-math.log(3.0), math.log(3.0), n_samples))
    true_rho = rho[label] * (1.0 + 0.15 * u)
    density = true_rho * (1.0 - 0.01 * (temp - 20.0)) + moist
    density += 0.05 * noise * rng.standard_normal(n_samples)
    material_missing = rng.random(n_samples) < missing_rate
    density_missing = rng.random(n_samples) < missing_rate

    X = np.empty(
        n_samples,
        dtype=[
            ("ampl", np.float32, (n_steps,)),
            ("phase", np.float32, (n_steps,)),
            ("temp", np.float32),
            ("moist", np.float32),
            ("weight", np.float32),
        ],
    )
    X["temp"] = temp
    X["moist"] = moist
    X["weight"] = true_rho * volume

    # Traces are built in float32 row chunks: peak memory is X plus a few MiB.
    t = np.linspace(0.0, 1.0, n_steps, dtype=np.float32)
    two_pi = np.float32(2.0 * np.pi)
    chunk = max(1, _CHUNK_ELEMENTS // n_steps)
    for start in range(0, n_samples, chunk):
        rows = slice(start, min(start + chunk, n_samples))
        m = rows.stop - rows.start
        u_c = u[rows].astype(np.float32)[:, None]
        lab = label[rows]
        f_c = freq[lab].astype(np.float32)[:, None]
        th_c = theta[lab].astype(np.float32)[:, None]
        ampl = np.exp(-(1.5 + u_c) * t) * np.sin(two_pi * f_c * t + th_c)
        ampl *= 100.0
        ampl += (100.0 * noise) * rng.standard_normal((m, n_steps), np.float32)
        X["ampl"][rows] = ampl
        moist_c = moist[rows].astype(np.float32)[:, None]
        phase = th_c + 0.8 * moist_c * np.sin(two_pi * t) + 0.5 * u_c * t
        phase += noise * rng.standard_normal((m, n_steps), np.float32)
        X["phase"][rows] = phase

    material = np.array(names, dtype=object)[label]
    material[material_missing] = None
    density[density_missing] = np.nan
    if as_frame:
        # Explicit object dtype: pandas >= 3 would otherwise infer "str".
        y = pd.DataFrame(
            {
                "material": pd.Series(material, dtype=object),
                "density": pd.Series(density, dtype=np.float64),
            }
        )
    else:
        y = np.empty(n_samples, dtype=[("material", object), ("density", np.float64)])
        y["material"] = material
        y["density"] = density
    return X, y
