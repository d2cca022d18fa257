"""skmtl: multi-task 1-D convolutional networks as scikit-learn estimators."""

import os as _os

# TensorFlow's C++ start-up chatter (CUDA probing, oneDNN notices) is noise for
# a scikit-learn user; respect a value the user set themselves (the command
# line also keeps the lines this variable does not reach: skmtl.cli.quiet).
_USER_TF_LOG_LEVEL = "TF_CPP_MIN_LOG_LEVEL" in _os.environ
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from ._moved import install as _install_moved  # noqa: E402
from ._version import __version__  # noqa: E402 (after the log level is set)

# Modules moved into layer folders keep their old paths (skmtl._moved).
_install_moved(__name__)

__all__ = [
    "MultiTaskConvEstimator",
    "load",
    "to_structured",
    "from_aeon",
    "read_ts_tasks",
    "__version__",
]

# Where each public name lives. They are imported on first use, so that
# ``skmtl --version`` and ``import skmtl.plotting`` do not pay for TensorFlow.
_LAZY = {
    "MultiTaskConvEstimator": ".estimator",
    "load": ".estimator",
    "to_structured": ".data.inputs",
    "from_aeon": ".data.convert",
    "read_ts_tasks": ".data.convert",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
