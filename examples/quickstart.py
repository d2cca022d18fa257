"""Quickstart: fit one network to two tasks, predict, score, save and load.

Trains ``MultiTaskConvEstimator`` on the synthetic sensor data set (two signals
of 3,750 steps, three covariates; a 5-class ``material`` and a continuous
``density``), scores it on a held-out quarter, and round-trips it through
``save``/``load``. Runs in about 30 s on 2 CPU cores.
"""

import os
import tempfile

from sklearn.model_selection import train_test_split

from skmtl import MultiTaskConvEstimator, load
from skmtl.datasets import make_sensor_tasks
from skmtl.metrics import task_scorer

X, y = make_sensor_tasks(n_samples=1000, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

est = MultiTaskConvEstimator(epochs=20, random_state=0)
est.fit(X_train, y_train)

pred = est.predict(X_test)  # a DataFrame like y: same columns, same dtypes
print(pred.head(3))
print(pred.dtypes.to_dict())
proba = est.predict_proba(X_test)  # {"material": (n_samples, 5)}
print({task: p.shape for task, p in proba.items()})

print(f"score (mean of accuracy and R^2): {est.score(X_test, y_test):.4f}")
print(f"material accuracy: {task_scorer('material')(est, X_test, y_test):.4f}")
print(f"density R^2:       {task_scorer('density')(est, X_test, y_test):.4f}")

path = os.path.join(tempfile.mkdtemp(), "model.skmtl")
est.save(path)
same = load(path).predict(X_test).equals(pred)
print(f"saved to {path}; loaded copy predicts the same: {same}")
