"""Files: save and load a model without pickle (parameters and fitted state,
never the estimator object) and the TensorFlow SavedModel export."""
