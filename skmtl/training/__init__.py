"""Training layer: the session (trainer, optimizer, callbacks, strategy), task
weighting, batching, the step budget, closed-form head refits, calibration,
and the fitted state assigned once at the end of a fit."""
