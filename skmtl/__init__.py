"""skmtl: multi-task 1-D convolutional networks as scikit-learn estimators."""

import os as _os

# TensorFlow's C++ start-up chatter (CUDA probing, oneDNN notices) is noise for
# a scikit-learn user; respect a value the user set themselves.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from ._version import __version__  # noqa: E402
from .estimator import MultiTaskConvEstimator  # noqa: E402
from .inputs import to_structured  # noqa: E402
from .persistence import load  # noqa: E402

__all__ = ["MultiTaskConvEstimator", "load", "to_structured", "__version__"]
