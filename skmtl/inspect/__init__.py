"""Reading a fitted network: explanations, scores and scorers, plots."""
