"""Does a grid with gaps change what the analysis measures? The discs of make_discs.py, complete and
with 10% of the combinations dropped at random, compared over 12 draws each.

For each draw s = 0..11: a fresh 10% of the rows dropped (rows sampled with random_state 100 + s),
and MSE's Spearman rho per factor on 64 traversals with analysis seed s, for the complete data and
for the data with gaps. Prints each arm's mean (sd) and the difference of the means with its 95%
confidence interval (Welch) and p-value. Usage: python gaps_change_nothing.py DISCS_FOLDER
(about half a minute on a CPU).
"""

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from disbench.analysis import factor_correlation
from disbench.data import IncompleteGrid, from_files
from disbench.task import Task

DRAWS, FRACTION, REPEATS = 12, 0.1, 64

folder = Path(sys.argv[1])
table = pd.read_csv(folder / "factors.csv")
complete = from_files(folder)
rho = {"complete": [], "gaps": []}
for s in range(DRAWS):
    table.sample(frac=1 - FRACTION, random_state=100 + s).to_csv(folder / "gaps.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IncompleteGrid)
        gaps = from_files(folder / "gaps.csv")
    for arm, data in (("complete", complete), ("gaps", gaps)):
        rho[arm].append([c.spearman for c in factor_correlation(Task(data, "mse"), repeats=REPEATS, seed=s).values()])
(folder / "gaps.csv").unlink()
a, b = np.array(rho["complete"]), np.array(rho["gaps"])
print(f"MSE's Spearman rho, n = {DRAWS} draws per arm, {REPEATS} traversals each, {FRACTION:.0%} of the combinations dropped")
for j, name in enumerate(complete.factor_names):
    se = np.sqrt(a[:, j].var(ddof=1) / DRAWS + b[:, j].var(ddof=1) / DRAWS)
    with warnings.catch_warnings():  # a factor whose rho never varies (radius: 0.953 every time) makes scipy warn of precision
        warnings.simplefilter("ignore", RuntimeWarning)
        test = stats.ttest_ind(b[:, j], a[:, j], equal_var=False)
    low, high = stats.t.interval(0.95, test.df, loc=b[:, j].mean() - a[:, j].mean(), scale=se)
    print(f"{name:>7}: complete {a[:, j].mean():.3f} ({a[:, j].std(ddof=1):.3f}), with gaps {b[:, j].mean():.3f} ({b[:, j].std(ddof=1):.3f}); "
          f"difference {b[:, j].mean() - a[:, j].mean():+.3f}, 95% CI [{low:+.3f}, {high:+.3f}], Welch p = {test.pvalue:.2f}")
