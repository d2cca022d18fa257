"""The scikit-learn estimator: its parameters, the fit recipe, predict and
score. The only layer that touches scikeras."""

from .files import load
from .wrapper import MultiTaskConvEstimator

__all__ = ["MultiTaskConvEstimator", "load"]
