"""
Grid-search the per-task loss weights
=====================================

``loss_weights`` is an ordinary estimator parameter, so
:class:`~sklearn.model_selection.GridSearchCV` searches it like any other. Each
candidate is scored on both tasks at once with
:func:`~skmtl.metrics.task_scorer` (multi-metric scoring); the candidate with
the best material accuracy is refitted on all the training data
(``refit="material_acc"``) and scored on a held-out quarter. The data are noisy
(``noise=1.0``) so that the weights make a visible difference.
"""

# %%
# The search
# ----------
import matplotlib.pyplot as plt
import pandas as pd
from sklearn.model_selection import GridSearchCV, train_test_split

from skmtl import MultiTaskConvEstimator
from skmtl.datasets import make_sensor_tasks
from skmtl.metrics import task_scorer

X, y = make_sensor_tasks(400, n_steps=256, noise=1.0, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

scoring = {
    "material_acc": task_scorer("material", "accuracy"),
    "density_mae": task_scorer("density", "neg_mean_absolute_error"),
}
search = GridSearchCV(
    MultiTaskConvEstimator(
        trunk="conv",
        filters=(8, 16),
        epochs=6,
        optimizer__learning_rate=3e-3,
        random_state=0,
    ),
    param_grid={
        "loss_weights": [
            {"material": 1.0, "density": 0.1},
            {"material": 1.0, "density": 1.0},
            {"material": 0.1, "density": 1.0},
        ],
    },
    scoring=scoring,
    refit="material_acc",
    cv=3,
)
search.fit(X_train, y_train)

# %%
# Cross-validated scores of each candidate
# ----------------------------------------
results = pd.DataFrame(search.cv_results_)
columns = {
    "param_loss_weights": "loss_weights",
    "mean_test_material_acc": "material accuracy",
    "mean_test_density_mae": "density -MAE",
}
print(results[list(columns)].rename(columns=columns).to_string(index=False))
print(f"best: {search.best_params_}")

# refit="material_acc" picks the best cross-validated material accuracy, and
# the weights make a difference to the scores (building the docs checks both).
assert search.best_index_ == results["mean_test_material_acc"].to_numpy().argmax()
scores = results[["mean_test_material_acc", "mean_test_density_mae"]]
spread = scores.max() - scores.min()
assert (spread > 0.01).any(), spread

# %%
# Weighting a task more helps that task: the trade-off between the two
# cross-validated scores, one bar per candidate.
labels = [
    f"material {w['material']:g}\ndensity {w['density']:g}"
    for w in results["param_loss_weights"]
]
fig, (ax_acc, ax_mae) = plt.subplots(1, 2, figsize=(8, 3.2), sharey=True)
ax_acc.barh(labels, results["mean_test_material_acc"], color="tab:blue")
ax_acc.set_xlabel("material accuracy (CV)")
ax_mae.barh(labels, -results["mean_test_density_mae"], color="tab:orange")
ax_mae.set_xlabel("density MAE (CV, lower is better)")
ax_acc.invert_yaxis()
fig.suptitle("GridSearchCV over loss_weights")
fig.tight_layout()

# %%
# The refitted best candidate on the held-out quarter
# ---------------------------------------------------
best = search.best_estimator_  # refitted on all of X_train
acc = scoring["material_acc"](best, X_test, y_test)
mae = -scoring["density_mae"](best, X_test, y_test)
print(f"held-out material accuracy: {acc:.3f}")
print(f"held-out density MAE:       {mae:.3f}")
