"""Marginal cost of one optimizer step: skmtl against Keras at its best and a bare loop.

What it measures
----------------
On small sets an optimizer step's arithmetic is a fraction of a millisecond, and
training time is loop overhead unless the loop is tight. For each data set, in
one process, after a warm-up, the wall milliseconds per optimizer step of:

* **skmtl default**: ``MultiTaskConvEstimator(random_state=0)`` (``epochs="auto"``:
  several passes per epoch on small data);
* **skmtl epochs=E**: an explicit ``epochs=E``, one pass over the data per epoch
  (3 steps per epoch on ItalyPowerDemand: the per-epoch cost shows here);
* **keras fit**: ``keras.Model.fit`` of the same trainable network on the same
  arrays the estimator trains on (for ``trunk="rocket"`` the heads on the cached
  MiniRocket features), same losses, optimizer, batch size, one pass per epoch;
* **keras best**: the same with the data repeated so that one epoch holds at
  least 192 steps and ``compile(steps_per_execution=32)``, Keras' fastest way;
* **bare loop**: a ``tf.function`` step (forward, the same per-task losses,
  gradient, ``optimizer.apply``) called in a Python loop on batches gathered
  from in-memory tensors inside the function: the practical floor.

Each cost is the time of the epochs after the first (which carries tracing)
divided by their steps; the bare loop times its steps after 20 warm-up steps.
Ratios are ``ms / bare-loop ms`` (1.0 is the floor).

Sets: ItalyPowerDemand (67 x 24) and GunPoint (50 x 150) from aeon's bundled
archive (the ``bench`` extra), synthetic ``make_sensor_tasks`` data of 200 x 512
x 2 and 2,000 x 3,750 x 2 (two signals, three covariates, two tasks).

Run it
------
::

    python benchmarks/step_cost.py
    python benchmarks/step_cost.py --trunk conv --sets ItalyPowerDemand GunPoint

About 3 minutes on 2 CPU cores with the defaults (``--trunk rocket``); the
2,000 x 3,750 x 2 set dominates. Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import math
import os
import time

from _common import (
    environment,
    epoch_timer,
    keras_compile_kwargs,
    load_average,
    table,
)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SETS = ("ItalyPowerDemand", "GunPoint", "synthetic-200x512x2", "synthetic-2000x3750x2")
BATCH = 32
MIN_STEPS_PER_EPOCH = 192  # keras best: repeat the data up to this
STEPS_PER_EXECUTION = 32


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=SETS)
    parser.add_argument(
        "--trunk", default="rocket", help="skmtl trunk (default rocket)"
    )
    parser.add_argument(
        "--steps", type=int, default=600, help="timed steps per side on small sets"
    )
    return parser.parse_args(argv)


def load_set(name: str):
    """``(X, y)`` of a set: aeon's training split, or synthetic sensor data."""
    if name.startswith("synthetic"):
        from skmtl.datasets import make_sensor_tasks

        n, steps, _ = (int(v) for v in name.split("-")[1].split("x"))
        return make_sensor_tasks(n, n_steps=steps, random_state=0)
    from real_data import load

    X, y, _, _ = load(name)
    return X, y


def _large(X) -> bool:
    return len(X) * _steps_of(X) > 1_000_000


def _steps_of(X) -> int:
    names = getattr(getattr(X, "dtype", None), "names", None)
    if names:
        return max(X[n].shape[1] if X[n].ndim > 1 else 1 for n in names)
    return X.shape[1]


def _per_step(timer, steps_per_epoch: int) -> float:
    """ms per step of the epochs after the first."""
    later = timer.wall[1:]
    return 1000 * sum(later) / (steps_per_epoch * len(later))


def skmtl_side(X, y, trunk: str, epochs, timer):
    from skmtl import MultiTaskConvEstimator

    est = MultiTaskConvEstimator(
        random_state=0, trunk=trunk, epochs=epochs, callbacks=[timer]
    )
    est.fit(X, y)
    return est


def trainable_problem(est, X, y):
    """The network skmtl trains and the arrays it trains it on."""
    import warnings

    import keras

    from skmtl.data.inputs import encode
    from skmtl.nn.frozen import split_frozen_trunk, trunk_features

    inputs = encode(X, est.schema_)[0]
    targets, weights = est.target_encoder_.transform(y)
    split = split_frozen_trunk(est.model_)
    network = est.model_
    if split is not None:
        trunk, network = split
        inputs = trunk_features(trunk, inputs)
    with warnings.catch_warnings():
        # A clone's inputs are renamed; the dict keys still match by position.
        warnings.filterwarnings("ignore", "When providing `inputs` as a dict")
        network = keras.models.clone_model(network)
    return network, inputs, targets, weights


def keras_side(est, problem, epochs: int, repeat: int, steps_per_execution: int):
    import numpy as np

    network, inputs, targets, weights = problem
    tile = lambda d: {k: np.concatenate([v] * repeat) for k, v in d.items()}  # noqa: E731
    kwargs = keras_compile_kwargs(est, est.tasks_)
    network.compile(**kwargs, steps_per_execution=steps_per_execution)
    timer = epoch_timer()
    network.fit(
        tile(inputs),
        tile(targets),
        sample_weight=tile(weights),
        batch_size=BATCH,
        epochs=epochs,
        shuffle=True,
        verbose=0,
        callbacks=[timer],
    )
    n = len(next(iter(inputs.values()))) * repeat
    return _per_step(timer, math.ceil(n / BATCH))


def bare_loop(est, problem, steps: int) -> float:
    """ms per step of a tf.function step called in a Python loop."""
    import keras
    import numpy as np
    import tensorflow as tf

    from skmtl.training.weighting import task_loss

    network, inputs, targets, weights = problem
    tensors = [
        {
            k: tf.constant(
                np.asarray(v, np.float32 if v.dtype.kind == "f" else v.dtype)
            )
            for k, v in d.items()
        }
        for d in (inputs, targets, weights)
    ]
    losses = {t.name: task_loss(t, reduction="sum_over_batch_size") for t in est.tasks_}
    optimizer = keras.optimizers.Adam(est.learning_rate)
    optimizer.build(network.trainable_variables)

    @tf.function
    def step(rows):
        x, y, w = ({k: tf.gather(v, rows) for k, v in d.items()} for d in tensors)
        with tf.GradientTape() as tape:
            pred = network(x, training=True)
            loss = tf.add_n([losses[k](y[k], pred[k], w[k]) for k in losses])
        grads = tape.gradient(loss, network.trainable_variables)
        optimizer.apply(grads, network.trainable_variables)
        return loss

    n = len(next(iter(inputs.values())))
    rng = np.random.default_rng(0)
    batches = [rng.choice(n, min(BATCH, n), replace=False) for _ in range(steps + 20)]
    for rows in batches[:20]:
        step(rows).numpy()
    start = time.perf_counter()
    for rows in batches[20:]:
        loss = step(rows)
    loss.numpy()
    return 1000 * (time.perf_counter() - start) / steps


def measure(name: str, args) -> dict:
    from skmtl.training.budget import auto_budget

    X, y = load_set(name)
    n = len(X)
    large = _large(X)
    steps_per_pass = math.ceil(n / BATCH)
    explicit = 2 if large else max(3, math.ceil(args.steps / steps_per_pass))
    row = {"set": f"{name} ({n} x {_steps_of(X)})"}

    timer = epoch_timer()
    if large:
        row["skmtl default"] = None  # "auto" is 10 passes of 63 steps here
    else:
        skmtl_side(X, y, args.trunk, "auto", timer)
        budget = auto_budget(n, BATCH)
        per_epoch = math.ceil(n * budget.passes_per_epoch / BATCH)
        row["skmtl default"] = _per_step(timer, per_epoch)
    timer = epoch_timer()
    est = skmtl_side(X, y, args.trunk, explicit, timer)
    row["skmtl epochs=E"] = _per_step(timer, steps_per_pass)
    row["E"] = explicit

    problem = trainable_problem(est, X, y)
    row["keras fit"] = keras_side(est, problem, explicit, 1, 1)
    repeat = max(1, math.ceil(MIN_STEPS_PER_EPOCH * BATCH / n))
    best_epochs = (
        2 if large else max(2, math.ceil(args.steps / (steps_per_pass * repeat)) + 1)
    )
    row["keras best"] = keras_side(
        est, problem, best_epochs, repeat, STEPS_PER_EXECUTION
    )
    row["bare loop"] = bare_loop(est, problem, 40 if large else args.steps)
    return row


def main(argv=None) -> dict:
    args = parse_args(argv)
    print(f"== marginal ms per optimizer step (trunk={args.trunk!r}, batch {BATCH}) ==")
    print(environment())
    print(f"load average at start: {load_average()}")
    rows = [measure(name, args) for name in args.sets]
    sides = ["skmtl default", "skmtl epochs=E", "keras fit", "keras best", "bare loop"]
    cells_rows = []
    for r in rows:
        floor = r["bare loop"]
        cells = [r["set"]]
        for side in sides:
            value = r[side]
            cells.append(
                "-" if value is None else f"{value:.2f} ({value / floor:.1f}x)"
            )
        cells.insert(3, str(r["E"]))
        cells_rows.append(cells)
    headers = [
        "set",
        "skmtl default",
        "skmtl epochs=E",
        "E",
        "keras fit",
        "keras best",
        "bare loop",
    ]
    print(table(headers, cells_rows))
    print(
        "ms per step of the epochs after the first; (Nx) = ms / bare-loop ms. "
        "keras best: data repeated to >= 192 steps per epoch, steps_per_execution=32. "
        "skmtl default is not run on the 2,000-sample set (10 epochs of 63 "
        "steps on 3,750-step signals)."
    )
    print(f"load average at end: {load_average()}")
    return {"step_cost": rows}


if __name__ == "__main__":
    main()
