"""The names of the task-weighting strategies (``loss_weighting``).

A module of its own, free of TensorFlow: the command line builds its parser
(and answers ``skmtl --version``) from these names without importing it.
"""

STRATEGIES = ("fixed", "uncertainty", "dwa", "gradnorm")
