"""Command line: ``python -m skmtl demo`` (the main job) and ``--version``."""

from __future__ import annotations

import argparse
import os
import sys
import time


def _demo(args: argparse.Namespace) -> int:
    from sklearn.metrics import (
        accuracy_score,
        f1_score,
        mean_absolute_error,
        r2_score,
    )
    from sklearn.model_selection import train_test_split

    from . import MultiTaskConvEstimator
    from .datasets import make_sensor_tasks

    print(
        f"Synthetic sensor data: {args.n_samples} samples, 2 signals x "
        f"{args.n_steps} steps + 3 covariates; tasks 'material' (5 classes) and "
        "'density' (regression)."
    )
    X, y = make_sensor_tasks(
        args.n_samples, n_steps=args.n_steps, random_state=args.random_state
    )
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=args.random_state, stratify=y["material"]
    )
    est = MultiTaskConvEstimator(
        epochs=args.epochs, random_state=args.random_state, verbose=args.verbose
    )
    start = time.perf_counter()
    est.fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start
    pred = est.predict(X_test)
    metrics = {
        "material accuracy": accuracy_score(y_test["material"], pred["material"]),
        "material macro-F1": f1_score(
            y_test["material"], pred["material"], average="macro"
        ),
        "density R^2": r2_score(y_test["density"], pred["density"]),
        "density MAE": mean_absolute_error(y_test["density"], pred["density"]),
    }
    print(
        f"\nTrained on {len(X_train)} samples in {fit_seconds:.1f} s; "
        f"held-out metrics on {len(X_test)} samples:"
    )
    for name, value in metrics.items():
        print(f"  {name:<18} {value:.4f}")
    est.save(args.output)
    print(f"\nModel saved to {os.path.abspath(args.output)}")
    print("Load it with: skmtl.load(path).predict(X)")
    return 0


def main(argv: list[str] | None = None) -> int:
    from ._version import __version__

    parser = argparse.ArgumentParser(
        prog="skmtl", description="Multi-task 1-D conv networks for sensor signals."
    )
    parser.add_argument("--version", action="version", version=f"skmtl {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="train the default estimator on the built-in synthetic data"
    )
    demo.add_argument("--n-samples", type=int, default=2000)
    demo.add_argument("--n-steps", type=int, default=3750)
    demo.add_argument("--epochs", type=int, default=15)
    demo.add_argument("--random-state", type=int, default=0)
    demo.add_argument("--output", default="demo_model.skmtl")
    demo.add_argument(
        "--verbose", type=int, default=1, help="0 silent, 1 progress bar (default)"
    )
    args = parser.parse_args(argv)
    if args.command == "demo":
        return _demo(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
