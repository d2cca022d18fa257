"""The module paths of releases before the layer folders, kept importing.

``import skmtl.inputs`` (or ``skmtl.network``, ``skmtl.rocket``, ...) gives
the module that now lives in its layer's folder, the very same object, so
that ``from skmtl.metrics import task_scorer``, a pickle written by an older
release and ``monkeypatch.setattr("skmtl.budget.MIN_STEPS", ...)`` all keep
working. ``skmtl.datasets``, ``skmtl.metrics``, ``skmtl.plotting``,
``skmtl.export`` and ``skmtl.persistence`` are the documented public paths.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

# Old name under skmtl -> where the module lives now.
MOVED = {
    "_names": "utils.names",
    "inputs": "data.inputs",
    "ragged": "data.ragged",
    "targets": "data.targets",
    "_kind_hints": "data.kind_hints",
    "sample_weights": "data.sample_weights",
    "convert": "data.convert",
    "holdout": "data.holdout",
    "datasets": "data.synthetic",
    "network": "nn.network",
    "rocket": "nn.rocket",
    "masking": "nn.masking",
    "chain": "nn.chain",
    "exact": "nn.exact",
    "frozen": "nn.frozen",
    "session": "training.session",
    "_batching": "training.batching",
    "budget": "training.budget",
    "weighting": "training.weighting",
    "shrinkage": "training.shrinkage",
    "fitted": "training.fitted",
    "conformal": "training.conformal",
    "persistence": "io.persistence",
    "export": "io.export",
    "_load_budget": "io.load_budget",
    "explain": "inspect.explain",
    "metrics": "inspect.metrics",
    "plotting": "inspect.plotting",
    "_params": "estimator.parameters",
    "datafiles": "data.tables",
    "_quiet": "cli.quiet",
}


class _Alias(importlib.abc.Loader):
    """Loads an old path as the module at its new one."""

    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec):
        module = importlib.import_module(self.target)
        self._spec = module.__spec__
        return module

    def exec_module(self, module):
        # The import system stamped the old path's spec on the module: give it
        # back its own, which its relative imports read.
        module.__spec__ = self._spec


class MovedModules(importlib.abc.MetaPathFinder):
    """Finds ``skmtl.<old name>`` for the names of :data:`MOVED`."""

    def __init__(self, package: str):
        self.package = package

    def find_spec(self, fullname, path=None, target=None):
        prefix, _, name = fullname.rpartition(".")
        if prefix != self.package or name not in MOVED:
            return None
        return importlib.util.spec_from_loader(
            fullname, _Alias(f"{self.package}.{MOVED[name]}")
        )


def install(package: str) -> None:
    """Make the old paths of ``package`` importable (once per process)."""
    if not any(isinstance(f, MovedModules) for f in sys.meta_path):
        sys.meta_path.append(MovedModules(package))
