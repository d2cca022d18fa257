"""Helpers every layer may use: name checks, value checks, user warnings."""
