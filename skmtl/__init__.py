"""skmtl: multi-task 1-D convolutional networks as scikit-learn estimators."""

import os as _os

# TensorFlow's C++ start-up chatter (CUDA probing, oneDNN notices) is noise for
# a scikit-learn user; respect a value the user set themselves.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from ._version import __version__
from .estimator import MultiTaskConvEstimator
from .inputs import to_structured
from .persistence import load

__all__ = ["MultiTaskConvEstimator", "load", "to_structured", "__version__"]
