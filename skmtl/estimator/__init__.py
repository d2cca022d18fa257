"""The scikit-learn estimator: its parameters, the fit recipe, predict and
score. The only layer that touches scikeras."""

from .wrapper import MultiTaskConvEstimator, load

__all__ = ["MultiTaskConvEstimator", "load"]
