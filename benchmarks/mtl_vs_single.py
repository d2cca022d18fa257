"""Multi-task against single-task training when labels are missing at random.

What it measures
----------------
Training data: ``make_sensor_tasks(n_train, n_steps=N, noise=S,
missing_rate=M, random_state=seed)``: signals ``ampl`` and ``phase``,
covariates ``temp``, ``moist``, ``weight``; tasks ``material`` (5 classes) and
``density`` (regression). Each label is missing with probability ``M``,
independently per sample and task, so about ``M**2`` of the rows have no label
at all and ``(1 - M)**2`` have both. The held-out test set is drawn by the same
generator (``random_state=seed + 10_000``) with every label present.

Why these settings: with the generator's defaults (3,750 steps, noise 0.2) a
single-task model is at ~100 % accuracy, so there is nothing for multi-task
training to add. At noise 3 (trace noise three times the signal amplitude),
512 steps and ~300 labelled rows per task, accuracy is in the 0.8s-0.9s and
density R² around 0.45 (a wrong class costs several g/cm³): room either way.

Models, all with the same network and budget (``trunk``, ``filters``, epochs,
batch size, learning rate, ``random_state=seed``):

* **multi-task**, one per ``loss_weighting`` strategy (``fixed``,
  ``uncertainty``, ``dwa``, ``gradnorm``): ``MultiTaskConvEstimator`` fitted on
  every training row, y with its missing labels (None / NaN; the estimator gives
  them weight 0 in that task's loss);
* **single-task** per task: the same estimator with ``tasks=["classification"]``
  (``material``) or ``tasks=["regression"]`` (``density``), fitted on the rows
  labelled for that task only, y a 1-D Series. Same number of epochs, so these
  take about ``1 - M`` as many optimiser steps as the multi-task models.
* **single-task, matched steps** (on by default; ``--no-matched-steps`` drops
  them): the same, with epochs scaled by ``n_train / n_labelled`` so that they
  take as many optimiser steps as the multi-task models. A control for the step
  count, not the stated budget.

Printed, as mean ± standard deviation (``ddof=1``) over ``--seeds``:

1. test accuracy and macro-F1 (``material``), R² and MAE (``density``) and the
   wall-clock fit time (2 shared CPU cores: noisy) of every model, as a
   Markdown table that can be pasted into the docs;
2. the multi-task minus single-task difference of each score, paired by seed,
   with the number of seeds on which multi-task is better;
3. per model: training rows, epochs, final task weights (``task_weights_``),
   the range of the task weights over all training batches (a callback reads
   the trainer's ``weight_<task>`` logs), and any sign of trouble: a
   non-finite training loss, a classifier predicting a single class, a
   constant density output, a task weight at the floor (<= 0.01).

Run it
------
::

    python benchmarks/mtl_vs_single.py
    python benchmarks/mtl_vs_single.py --seeds 0 1 2 --n-train 800 --noise 3
    python benchmarks/mtl_vs_single.py --n-train 200 --epochs 2 --seeds 0  # smoke

About 3 to 4 minutes on 2 CPU cores with the defaults (600 training rows,
2,000 test rows, 512 steps, noise 3, 50 % missing labels, default conv trunk,
20 epochs, batch 32, seeds 0 1 2: 24 fits), about 2.5 with
``--no-matched-steps``. Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import statistics
import time

from _common import environment, load_average

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

STRATEGIES = ("fixed", "uncertainty", "dwa", "gradnorm")
# A task weight at or below this (GradNorm clips at 1e-3) switches the task off.
_FLOOR = 0.01
METRICS = ("material_acc", "material_f1", "density_r2", "density_mae")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--n-train", type=int, default=600, help="training rows")
    parser.add_argument("--n-test", type=int, default=2000, help="test rows")
    parser.add_argument("--n-steps", type=int, default=512, help="signal length")
    parser.add_argument(
        "--noise", type=float, default=3.0, help="make_sensor_tasks noise level"
    )
    parser.add_argument(
        "--missing-rate",
        type=float,
        default=0.5,
        help="probability that each training label is missing, per task",
    )
    parser.add_argument("--epochs", type=int, default=20, help="every model")
    parser.add_argument("--batch-size", type=int, default=32, help="every model")
    parser.add_argument(
        "--learning-rate", type=float, default=1e-3, help="Adam, every model"
    )
    parser.add_argument(
        "--trunk",
        default="conv",
        choices=["conv", "fcn", "resnet"],
        help="shared trunk of every model",
    )
    parser.add_argument(
        "--filters",
        type=int,
        nargs="+",
        default=None,
        help="width of each stage; None: the trunk default",
    )
    parser.add_argument(
        "--strategies",
        nargs="+",
        default=list(STRATEGIES),
        choices=list(STRATEGIES),
        help="multi-task loss_weighting strategies to run",
    )
    parser.add_argument(
        "--matched-steps",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also fit single-task models with as many optimiser steps as the "
        "multi-task ones",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[0, 1, 2],
        help="data seeds, also every model's random_state",
    )
    return parser.parse_args(argv)


def _data(args: argparse.Namespace, seed: int):
    from skmtl.datasets import make_sensor_tasks

    X_train, y_train = make_sensor_tasks(
        args.n_train,
        n_steps=args.n_steps,
        noise=args.noise,
        missing_rate=args.missing_rate,
        random_state=seed,
    )
    X_test, y_test = make_sensor_tasks(
        args.n_test, n_steps=args.n_steps, noise=args.noise, random_state=seed + 10_000
    )
    return X_train, y_train, X_test, y_test


def _estimator(args: argparse.Namespace, seed: int, **params):
    from skmtl import MultiTaskConvEstimator

    return MultiTaskConvEstimator(
        trunk=args.trunk,
        filters=args.filters,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        random_state=seed,
        **params,
    )


def _weight_recorder(tasks: tuple[str, ...]):
    """A callback keeping every batch's task weights (``weight_<task>`` logs)."""
    import keras

    class WeightRecorder(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.weights = {task: [] for task in tasks}

        def __deepcopy__(self, memo):
            return self  # skmtl copies callbacks per fit; read this instance

        def on_train_batch_end(self, batch, logs=None):
            for task in tasks:
                self.weights[task].append(float((logs or {})[f"weight_{task}"]))

    return WeightRecorder()


def _fit(est, X, y) -> float:
    start = time.perf_counter()
    est.fit(X, y)
    return time.perf_counter() - start


def _material_scores(y_true, y_pred) -> dict:
    import numpy as np
    from sklearn.metrics import accuracy_score, f1_score

    y_true = np.asarray(y_true, dtype=str)
    y_pred = np.asarray(y_pred, dtype=str)
    return {
        "material_acc": accuracy_score(y_true, y_pred),
        "material_f1": f1_score(y_true, y_pred, average="macro"),
        "material_classes_predicted": len(np.unique(y_pred)),
    }


def _density_scores(y_true, y_pred) -> dict:
    import numpy as np
    from sklearn.metrics import mean_absolute_error, r2_score

    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    finite = bool(np.isfinite(y_pred).all())
    return {
        "density_r2": r2_score(y_true, y_pred) if finite else math.nan,
        "density_mae": mean_absolute_error(y_true, y_pred) if finite else math.nan,
        "density_pred_std": float(np.std(y_pred)) if finite else math.nan,
    }


def _history_finite(est) -> bool:
    return all(
        math.isfinite(v)
        for key, values in est.history_.items()
        if key.endswith("loss")
        for v in values
    )


def _progress(seed: int, model: str, r: dict) -> None:
    parts = []
    if "material_acc" in r:
        parts.append(f"acc {r['material_acc']:.3f}  F1 {r['material_f1']:.3f}")
    if "density_r2" in r:
        parts.append(f"R² {r['density_r2']:.3f}  MAE {r['density_mae']:.3f}")
    print(
        f"seed {seed}  {model:<38} {'  '.join(parts)}  fit {r['fit_s']:.1f} s",
        flush=True,
    )


def _release() -> None:
    """Drop Keras' global graph state between fits (memory stays flat)."""
    import keras

    keras.backend.clear_session()
    gc.collect()


def run_seed(args: argparse.Namespace, seed: int) -> dict[str, dict]:
    """Fit every model on one seed's data; return ``{model: scores}``."""
    X_train, y_train, X_test, y_test = _data(args, seed)
    results: dict[str, dict] = {}

    for strategy in args.strategies:
        recorder = _weight_recorder(("material", "density"))
        est = _estimator(args, seed, loss_weighting=strategy, callbacks=[recorder])
        fit_s = _fit(est, X_train, y_train)
        batch_weights = recorder.weights
        pred = est.predict(X_test)
        results[f"multi-task, {strategy}"] = {
            **_material_scores(y_test["material"], pred["material"]),
            **_density_scores(y_test["density"], pred["density"]),
            "fit_s": fit_s,
            "finite_loss": _history_finite(est),
            "task_weights": dict(est.task_weights_),
            "weight_range": {
                task: (min(w), max(w)) for task, w in batch_weights.items()
            },
            "at_floor": {
                task: sum(v <= _FLOOR for v in w) / len(w)
                for task, w in batch_weights.items()
            },
            "epochs": est.n_epochs_,
        }
        _progress(seed, f"multi-task, {strategy}", results[f"multi-task, {strategy}"])
        del est
        _release()

    variants = [("single-task", 1.0)]
    if args.matched_steps:
        variants.append(("single-task, matched steps", None))
    singles = (
        ("material", "classification", _material_scores),
        ("density", "regression", _density_scores),
    )
    for label, scale in variants:
        for task, kind, scores in singles:
            labelled = y_train[task].notna().to_numpy()
            n_labelled = int(labelled.sum())
            epochs = args.epochs
            if scale is None:
                epochs = max(1, round(args.epochs * args.n_train / n_labelled))
            est = _estimator(args, seed, tasks=[kind])
            est.set_params(epochs=epochs)
            fit_s = _fit(est, X_train[labelled], y_train[task][labelled])
            pred = est.predict(X_test)
            key = f"{label}, {task}"
            results[key] = {
                **scores(y_test[task], pred),
                "fit_s": fit_s,
                "finite_loss": _history_finite(est),
                "n_rows": n_labelled,
                "epochs": est.n_epochs_,
            }
            _progress(seed, key, results[key])
            del est
            _release()
    return results


def _mean_std(values: list[float], digits: int) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "—"
    if any(not math.isfinite(v) for v in values):
        return "nan"
    mean = statistics.fmean(values)
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def _pct(shares: list[float]) -> str:
    return f"{statistics.fmean(shares):.0%}"


def _markdown(headers: list[str], rows: list[list[str]], right: set[int]) -> str:
    """A Markdown table; the columns numbered in ``right`` are right-aligned."""
    align = ["--:" if i in right else "---" for i in range(len(headers))]
    lines = [headers, align, *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def print_paired(per_seed: list[dict[str, dict]]) -> None:
    """Multi-task minus single-task (same epochs), paired by seed."""
    owner = {
        "material_acc": "single-task, material",
        "material_f1": "single-task, material",
        "density_r2": "single-task, density",
        "density_mae": "single-task, density",
    }
    higher_is_better = {"density_mae": False}
    strategies = [m for m in per_seed[0] if m.startswith("multi-task")]
    rows = []
    for model in strategies:
        cells = [model]
        for metric in METRICS:
            deltas = [r[model][metric] - r[owner[metric]][metric] for r in per_seed]
            better = sum(
                (d > 0) if higher_is_better.get(metric, True) else (d < 0)
                for d in deltas
            )
            cells.append(f"{_mean_std(deltas, 3)} ({better}/{len(deltas)})")
        rows.append(cells)
    headers = ["multi-task minus single-task", "Δ acc", "Δ macro-F1", "Δ R²", "Δ MAE"]
    print(_markdown(headers, rows, right=set(range(1, len(headers)))))
    print(
        "\nΔ = multi-task score minus the same-epochs single-task score on the "
        "same seed (same data, same random_state), mean ± std; (k/n): seeds on "
        "which multi-task is better (higher accuracy, F1, R²; lower MAE)."
    )


def print_tables(args: argparse.Namespace, per_seed: list[dict[str, dict]]) -> None:
    models = list(per_seed[0])
    digits = {"material_acc": 3, "material_f1": 3, "density_r2": 3, "density_mae": 3}
    rows = []
    for model in models:
        runs = [seed_results[model] for seed_results in per_seed]
        cells = [model]
        for metric in METRICS:
            cells.append(_mean_std([r.get(metric) for r in runs], digits[metric]))
        cells.append(_mean_std([r["fit_s"] for r in runs], 1))
        rows.append(cells)
    headers = [
        "model",
        "material acc",
        "material macro-F1",
        "density R²",
        "density MAE",
        "fit s",
    ]
    print(_markdown(headers, rows, right=set(range(1, len(headers)))))
    n_seeds = len(per_seed)
    print(
        f"\nMean ± std (ddof=1) over {n_seeds} seed(s) {args.seeds}; test set "
        f"{args.n_test} fully labelled rows. Multi-task rows: one model for both "
        "tasks, fitted on every training row; single-task rows: one model per "
        "task, fitted on that task's labelled rows only. fit s = wall-clock "
        "seconds of est.fit (shared CPUs: noisy)."
    )

    print()
    print_paired(per_seed)

    checks = []
    for model in models:
        runs = [seed_results[model] for seed_results in per_seed]
        weights = ranges = ""
        if "task_weights" in runs[0]:
            weights = ", ".join(
                f"{task} {_mean_std([r['task_weights'][task] for r in runs], 2)}"
                for task in runs[0]["task_weights"]
            )
            ranges = ", ".join(
                f"{task} {min(r['weight_range'][task][0] for r in runs):.3g}"
                f" to {max(r['weight_range'][task][1] for r in runs):.3g}"
                for task in runs[0]["weight_range"]
            )
        trouble = []
        if not all(r["finite_loss"] for r in runs):
            trouble.append("non-finite training loss")
        if any(r.get("material_classes_predicted", 5) < 2 for r in runs):
            trouble.append("predicts one class")
        if any(r.get("density_pred_std", 1.0) < 1e-6 for r in runs):
            trouble.append("constant density output")
        for task in runs[0].get("at_floor", {}):
            share = [r["at_floor"][task] for r in runs]
            if max(share) > 0:
                trouble.append(
                    f"{task} weight <= {_FLOOR:g} in {_pct(share)} of batches "
                    f"(seeds: {', '.join(f'{v:.0%}' for v in share)})"
                )
        rows_used = sorted({r.get("n_rows", args.n_train) for r in runs})
        epochs = sorted({r["epochs"] for r in runs})
        checks.append(
            [
                model,
                "/".join(map(str, rows_used)),
                "/".join(map(str, epochs)),
                weights or "—",
                ranges or "—",
                "; ".join(trouble) or "none",
            ]
        )
    print()
    print(
        _markdown(
            [
                "model",
                "training rows (per seed)",
                "epochs",
                "final task weights",
                "task weight range over batches",
                "trouble",
            ],
            checks,
            right={1, 2},
        )
    )
    print(
        "\nfinal task weights: task_weights_ after the last epoch (uncertainty: "
        "factor * exp(-log_var)), mean ± std over seeds; range: smallest and "
        "largest weight after any training batch, over all seeds; trouble: "
        "non-finite loss in history_, a classifier predicting a single class, a "
        f"constant density prediction, or a task weight <= {_FLOOR:g} (the task "
        "all but switched off) after some batches (mean share over seeds)."
    )


def run(args: argparse.Namespace) -> list[dict[str, dict]]:
    """Fit every model on every seed, print the tables; return per-seed results."""
    import logging

    # Each fitted model retraces its own predict function; TensorFlow warns
    # about "excessive retracing" after five models. Expected here, so hushed.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    print("== multi-task vs single-task training under missing labels ==")
    print(environment())
    print(f"load average at start: {load_average()}")
    filters = "trunk default" if args.filters is None else tuple(args.filters)
    print(
        f"settings: make_sensor_tasks(n_train={args.n_train}, n_steps={args.n_steps}, "
        f"noise={args.noise:g}, missing_rate={args.missing_rate:g}); test "
        f"{args.n_test} rows, fully labelled; trunk={args.trunk!r}, "
        f"filters={filters}, epochs={args.epochs}, batch_size={args.batch_size}, "
        f"learning_rate={args.learning_rate:g}; seeds {args.seeds} (data and "
        "random_state)\n"
    )
    start = time.perf_counter()
    per_seed = [run_seed(args, seed) for seed in args.seeds]
    print()
    print_tables(args, per_seed)
    print(
        f"\ndone in {time.perf_counter() - start:.0f} s; load average now "
        f"{load_average()}"
    )
    return per_seed


def main(argv=None) -> dict:
    return {"mtl_vs_single": run(parse_args(argv))}


if __name__ == "__main__":
    main()
