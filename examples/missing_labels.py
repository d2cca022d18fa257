"""
Missing labels: one multi-task model or one model per task?
===========================================================

Half of each task's training labels are missing at random, independently per
task (``make_sensor_tasks(missing_rate=0.5)``: ``material`` -> None,
``density`` -> NaN), so about a quarter of the rows have both labels, a
quarter only one of each, and a quarter none. skmtl trains on every row: a
missing label has weight 0 in its task's loss and the row still trains the
other task. Each single-task model can only use the rows labelled for its
task. Both are scored on 500 fully labelled held-out rows with
:func:`~skmtl.metrics.task_scorer`.

The data are noisy (``noise=3``, 512 steps) so that neither model is at 100 %.
``benchmarks/mtl_vs_single.py`` repeats this comparison over three seeds and
every ``loss_weighting`` with a larger budget: there, the multi-task model had
the better material accuracy on 3 of 3 seeds and the better density R² on 2
of 3. One seed, as here, can go either way for density.
"""

# %%
# Data with missing labels
# ------------------------
import matplotlib.pyplot as plt
import pandas as pd

from skmtl import MultiTaskConvEstimator
from skmtl.datasets import make_sensor_tasks
from skmtl.metrics import task_scorer

X, y = make_sensor_tasks(600, n_steps=512, noise=3, missing_rate=0.5, random_state=0)
X_test, y_test = make_sensor_tasks(500, n_steps=512, noise=3, random_state=10_000)

has_material, has_density = y["material"].notna(), y["density"].notna()
print(f"{len(y)} training rows:")
print(f"  both labels     {(has_material & has_density).sum():4d}")
print(f"  material only   {(has_material & ~has_density).sum():4d}")
print(f"  density only    {(~has_material & has_density).sum():4d}")
print(f"  no label        {(~has_material & ~has_density).sum():4d}")

# %%
# Three models, one budget
# ------------------------
# One model for both tasks, fitted on all 600 rows (missing labels masked), and
# one model per task, fitted on that task's labelled rows only.
settings = dict(epochs=15, random_state=0)

multi = MultiTaskConvEstimator(**settings).fit(X, y)

material = MultiTaskConvEstimator(tasks="classification", **settings)
material.fit(X[has_material.to_numpy()], y.loc[has_material, "material"])
density = MultiTaskConvEstimator(tasks="regression", **settings)
density.fit(X[has_density.to_numpy()], y.loc[has_density, "density"])
single = {"material": material, "density": density}

# %%
# Held-out scores
# ---------------
scorers = {
    "material accuracy": task_scorer("material", "accuracy"),
    "material macro-F1": task_scorer("material", "f1_macro"),
    "density R²": task_scorer("density", "r2"),
    "density MAE": task_scorer("density", "neg_mean_absolute_error"),
}
rows = {}
for name, scorer in scorers.items():
    task = name.split()[0]
    sign = -1.0 if "MAE" in name else 1.0  # report the MAE itself, not its negative
    rows[name] = {
        "multi-task (600 rows)": sign * scorer(multi, X_test, y_test),
        "single-task (its labelled rows)": sign
        * scorer(single[task], X_test, y_test[task]),
    }
table = pd.DataFrame(rows).T
table["multi minus single"] = table.iloc[:, 0] - table.iloc[:, 1]
print("Held-out scores on 500 fully labelled rows (MAE: lower is better):")
print(table.round(3).to_string())

# What this page (and benchmarks/mtl_vs_single.py, 3 of 3 seeds) reports,
# checked: building the docs fails if it stops being true. Density can go
# either way on one seed, so only material is checked.
assert table.loc["material accuracy", "multi minus single"] > 0, table

# %%
# The same table as a chart.
ax = table.iloc[:, :2].plot.barh(figsize=(7, 3.5), color=["tab:blue", "tab:gray"])
ax.invert_yaxis()
ax.set_xlabel("score on held-out rows")
ax.legend(loc="lower right", fontsize="small")
ax.set_title("Half of each task's labels missing")
plt.tight_layout()
