"""Plant known behavioural bugs one at a time and check that the tests catch each.

Mutation testing (``mutmut``, see ``[tool.mutmut]`` in pyproject.toml) covers
the TensorFlow-free data layer; the training behaviours are too slow for it.
This script checks them instead: each entry of ``BUGS`` is a named, documented
patch applied at run time (nothing on disk changes) in a fresh pytest process
that runs the tests meant to guard that behaviour. A bug is *caught* when at
least one of those tests fails.

    python tools/planted_bugs.py                 # every bug, in turn
    python tools/planted_bugs.py score-ignores-sample-weight  # some of them
    python tools/planted_bugs.py --list

Each run takes from 10 s to a minute on 2 cores (one pytest process per bug,
``-x``: it stops at the first failure). The patches reach into skmtl's private
functions, so a refactor may move what they patch: a patch whose target no
longer exists is reported as ``stale``, not as caught.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Bug:
    name: str
    what: str  # the behaviour broken, as a user would see it
    patch: str  # Python run in the pytest process before the tests
    tests: tuple[str, ...]  # pytest node ids or files that must catch it


# Each patch wraps the real function, so that everything else still works.
BUGS = [
    Bug(
        "builder-loses-model-params",
        "a custom model builder no longer receives the model__* parameters",
        """
import skmtl.estimator as e
routed = e.MultiTaskConvEstimator._routed
e.MultiTaskConvEstimator._routed = (
    lambda self, destination, strict=False:
    {} if destination == "model" else routed(self, destination, strict)
)
""",
        (
            "tests/test_estimator_options.py::test_model_parameters_reach_the_builder",
            "tests/test_estimator.py",
        ),
    ),
    Bug(
        "class-weight-discarded",
        "fit computes the class weights, then trains without them",
        """
import skmtl.estimator as e
apply = e.apply_class_weight
def discarded(weights, targets, tasks, class_weight):
    apply(weights, targets, tasks, class_weight)  # its errors still raise
    return dict(weights)
e.apply_class_weight = discarded
""",
        ("tests/test_multitask.py::test_class_weight_on_the_estimator",),
    ),
    Bug(
        "score-ignores-sample-weight",
        "score(X, y, sample_weight=w) returns the unweighted score",
        """
import skmtl.estimator as e
combined = e.combined_score
e.combined_score = lambda kinds, y, y_pred, sample_weight=None, score_weights=None: (
    combined(kinds, y, y_pred, None, score_weights)
)
""",
        ("tests/test_multitask.py::test_score_uses_sample_weight",),
    ),
    Bug(
        "uncertainty-warning-gone",
        "loss_weighting='uncertainty' with loss_weights no longer warns",
        """
import warnings
import skmtl.session as s
init = s.TrainingSession.__init__
def quiet(self, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="loss_weighting='uncertainty'")
        init(self, *args, **kwargs)
s.TrainingSession.__init__ = quiet
""",
        (
            "tests/test_multitask.py::"
            "test_uncertainty_weighting_warns_that_loss_weights_are_unused",
        ),
    ),
    Bug(
        "predict-batch-size-ignored",
        "predict__batch_size no longer sets the rows per forward pass",
        """
import skmtl.estimator as e
e.MultiTaskConvEstimator._predict_chunk = lambda self: 256
""",
        (
            "tests/test_multitask.py::"
            "test_predict_batch_size_sets_the_rows_per_forward_pass",
        ),
    ),
    Bug(
        "early-stopping-on-weighted-loss",
        "under learned weighting, early stopping monitors the weighted val_loss",
        """
import keras
class Stopper(keras.callbacks.EarlyStopping):
    def __init__(self, monitor="val_loss", **kwargs):
        if monitor == "val_base_loss":
            monitor = "val_loss"
        super().__init__(monitor=monitor, **kwargs)
keras.callbacks.EarlyStopping = Stopper
""",
        (
            "tests/test_multitask.py::"
            "test_early_stopping_with_learned_weights_keeps_the_best_base_loss",
        ),
    ),
    # Not in the list: further behaviours the documentation promises.
    Bug(
        "shuffle-always-on",
        "shuffle=False still shuffles the training rows",
        """
import skmtl.session as s
batches = s.TaskBatches
def always(*args, shuffle=True, **kwargs):
    # The training batches are the seeded ones; validation stays in order.
    return batches(*args, shuffle=shuffle or "seed" in kwargs, **kwargs)
s.TaskBatches = always
""",
        (
            "tests/test_multitask.py::"
            "test_shuffle_false_keeps_the_row_order_and_true_reshuffles",
        ),
    ),
    Bug(
        "validation-split-not-stratified",
        "the early-stopping split ignores the first classification task",
        """
import skmtl._batching as b
split = b.train_test_split
b.train_test_split = lambda *a, stratify=None, **k: split(*a, stratify=None, **k)
""",
        (
            "tests/test_multitask.py::"
            "test_early_stopping_split_is_stratified_on_the_first_classification_task",
        ),
    ),
    Bug(
        "random-state-instance-frozen",
        "a RandomState gives the same network at every refit",
        """
import numpy as np
import skmtl.estimator as e
draw = e.draw_seed
e.draw_seed = lambda rs: draw(0 if isinstance(rs, np.random.RandomState) else rs)
""",
        (
            "tests/test_estimator_options.py::"
            "test_random_state_instance_gives_a_new_network_at_each_refit",
        ),
    ),
    Bug(
        "partial-fit-classes-ignored",
        "partial_fit(classes=) no longer declares the classes",
        """
import skmtl.estimator as e
fit = e.TargetEncoder.fit
e.TargetEncoder.fit = lambda self, y, classes=None: fit(self, y)
""",
        (
            "tests/test_estimator_options.py::"
            "test_partial_fit_classes_declares_labels_the_first_batch_lacks",
        ),
    ),
]


def _runner(bug: Bug) -> str:
    """The child's program: patch, then run pytest on the bug's tests."""
    return (
        "import sys\n"
        f"exec({bug.patch!r})\n"
        "import pytest\n"
        "sys.exit(pytest.main(['-x', '-q', '-p', 'no:cacheprovider', "
        "'-W', 'ignore::UserWarning', '--no-header', *sys.argv[1:]]))\n"
    )


def run(bug: Bug) -> tuple[str, float, str]:
    """``(verdict, seconds, last output line)`` for one planted bug."""
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", _runner(bug), *bug.tests],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    seconds = time.perf_counter() - start
    # pytest's closing line ("1 failed, 3 passed in 20.1s"); stderr holds
    # TensorFlow's start-up chatter.
    lines = result.stdout.strip().splitlines()
    last = lines[-1] if lines else result.stderr.strip()[-200:]
    if result.returncode == 1:
        verdict = "caught"
    elif result.returncode == 0:
        verdict = "MISSED"
    elif "AttributeError" in result.stderr or "ModuleNotFoundError" in result.stderr:
        verdict = "stale"  # the patch's target moved
    else:
        verdict = f"error (exit {result.returncode})"
    return verdict, seconds, last


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bugs", nargs="*", help="names of the bugs to plant")
    parser.add_argument("--list", action="store_true", help="list the bugs")
    args = parser.parse_args(argv)
    by_name = {bug.name: bug for bug in BUGS}
    if args.list:
        for bug in BUGS:
            print(f"{bug.name:34} {bug.what}")
        return 0
    unknown = [name for name in args.bugs if name not in by_name]
    if unknown:
        parser.error(f"unknown bug(s) {unknown}; see --list")
    chosen = [by_name[name] for name in args.bugs] or BUGS
    missed = 0
    for bug in chosen:
        verdict, seconds, last = run(bug)
        missed += verdict != "caught"
        print(f"{bug.name:34} {verdict:8} {seconds:4.0f} s  {last[:60]}", flush=True)
    print(f"{len(chosen) - missed} of {len(chosen)} planted bugs caught")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
