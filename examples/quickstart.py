"""
Quickstart: two tasks, one network
==================================

Fit :class:`~skmtl.MultiTaskConvEstimator` to the synthetic sensor data set
(two traces and three covariates per recording; a 5-class ``material`` and a
continuous ``density``), predict both tasks, score each on a held-out quarter,
plot the training curves and round-trip the model through a file.
"""

# %%
# Data
# ----
# :func:`~skmtl.datasets.make_sensor_tasks` returns X as a NumPy structured
# array (signals ``ampl`` and ``phase``, covariates ``temp``, ``moist`` and
# ``weight``) and y as a DataFrame with one column per task. Traces of 1,000
# steps keep the example fast; the default is 3,750.
import os
import tempfile

import matplotlib.pyplot as plt
from sklearn.model_selection import train_test_split

from skmtl import MultiTaskConvEstimator, load
from skmtl.datasets import make_sensor_tasks
from skmtl.metrics import task_scorer
from skmtl.plotting import plot_history

X, y = make_sensor_tasks(800, n_steps=1000, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
print(X.dtype.names, X["ampl"].shape)
print(y.head(3))

# %%
# The raw traces differ by class in frequency and phase offset, and their
# scales are far apart (amplitude ~100, phase ~1 rad): skmtl normalises every
# signal and covariate inside the network.
fig, axes = plt.subplots(2, 1, figsize=(7, 4.5), sharex=True)
for material in ["aluminium", "copper", "wood"]:
    i = (y["material"] == material).to_numpy().argmax()
    axes[0].plot(X["ampl"][i], lw=0.8, label=material)
    axes[1].plot(X["phase"][i], lw=0.8)
axes[0].set_ylabel("ampl")
axes[1].set_ylabel("phase (rad)")
axes[1].set_xlabel("step")
axes[0].legend(loc="upper right", fontsize="small")
fig.suptitle("One recording of three materials")
fig.tight_layout()

# %%
# Fit and predict
# ---------------
# The task kinds are inferred from y's dtypes: ``material`` (strings) is a
# classification task, ``density`` (floats) a regression task.
est = MultiTaskConvEstimator(epochs=15, random_state=0)
est.fit(X_train, y_train)
print(est.task_kinds_)

pred = est.predict(X_test)  # a DataFrame like y: same columns, same dtypes
print(pred.head(3))
proba = est.predict_proba(X_test)  # {"material": (n_samples, 5)}
print({task: p.shape for task, p in proba.items()})

# %%
# Scores
# ------
# :meth:`~skmtl.MultiTaskConvEstimator.score` is the mean of each task's
# default score (accuracy and R²); :func:`~skmtl.metrics.task_scorer` scores one
# task with any metric.
print(f"score (mean of accuracy and R²): {est.score(X_test, y_test):.4f}")
print(f"material accuracy: {task_scorer('material')(est, X_test, y_test):.4f}")
print(f"density R²:        {task_scorer('density')(est, X_test, y_test):.4f}")

# %%
# Training curves
# ---------------
# :func:`~skmtl.plotting.plot_history` draws each task's loss and metric per
# epoch from ``est.history_``.
fig = plot_history(est)

# %%
# Save and load
# -------------
# The file holds the Keras model and JSON metadata, no pickle; the loaded copy
# predicts exactly the same.
path = os.path.join(tempfile.mkdtemp(), "model.skmtl")
est.save(path)
same = load(path).predict(X_test).equals(pred)
print(f"loaded copy predicts the same: {same}")

# %%
# The numbers above are checked: building the docs fails if they drop.
assert task_scorer("material")(est, X_test, y_test) >= 0.95
assert task_scorer("density")(est, X_test, y_test) >= 0.9
assert same
