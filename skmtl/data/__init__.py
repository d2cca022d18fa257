"""Data layer: any accepted X into named float32 arrays, y into tasks.

The input schema learned at fit and checked at predict, variable-length
recordings, label encoding and regression scaling, missing-label masks,
sample and class weights, the rows a fit holds out, conversions from other
libraries' layouts and the synthetic data sets. No TensorFlow.
"""
