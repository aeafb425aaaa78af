"""``disbench reproduce table-a1``: the paper's mean perceived (MSE) distances, recomputed.

Values are paper.md §1.5: Table A1 for the benchmark datasets and XYSquares, and the authors'
code comments for XYObject(Shaded). Each row is (mean, std); ``random`` is pairs of random
observations. The recomputation uses the same settings: MSE on images in [0, 1], 50,000 pairs
per factor and for random pairs, seed 777.
"""

from __future__ import annotations

from dataclasses import dataclass

from tabulate import tabulate
from tqdm.auto import tqdm

import disbench
from disbench.analysis.distances import perceived_distances
from disbench.error import DataError

PAPER_TABLE_A1: dict[str, dict[str, tuple[float, float]]] = {
    "xysquares-mse-v0": {"random": (0.0308, 0.0022), **{f: (0.0104, 0.0000) for f in ("x_R", "y_R", "x_G", "y_G", "x_B", "y_B")}},
    "xyobject-mse-v0": {"random": (0.0145, 0.0111), "y": (0.0116, 0.0139), "x": (0.0115, 0.0140), "color": (0.0088, 0.0084), "scale": (0.0051, 0.0056)},
    "xyobject-shaded-mse-v0": {
        "random": (0.0145, 0.0111), "y": (0.0124, 0.0140), "x": (0.0122, 0.0144), "color": (0.0090, 0.0101),
        "scale": (0.0050, 0.0055), "intensity": (0.0033, 0.0039),
    },
    "cars3d-mse-v0": {"random": (0.0519, 0.0188), "azimuth": (0.0355, 0.0185), "object_type": (0.0349, 0.0176), "elevation": (0.0174, 0.0100)},
    "shapes3d-mse-v0": {
        "random": (0.2432, 0.0918), "wall_hue": (0.1122, 0.0661), "floor_hue": (0.1086, 0.0623), "object_hue": (0.0416, 0.0292),
        "shape": (0.0207, 0.0161), "scale": (0.0182, 0.0153), "orientation": (0.0116, 0.0079),
    },
    "smallnorb-mse-v0": {
        "random": (0.0535, 0.0529), "lighting": (0.0531, 0.0563), "category": (0.0113, 0.0066), "rotation": (0.0090, 0.0071),
        "instance": (0.0068, 0.0048), "elevation": (0.0034, 0.0030),
    },
    "dsprites-mse-v0": {
        "random": (0.0754, 0.0289), "position_y": (0.0584, 0.0378), "position_x": (0.0559, 0.0363), "scale": (0.0250, 0.0148),
        "shape": (0.0214, 0.0095), "orientation": (0.0172, 0.0106),
    },
}


@dataclass(frozen=True)
class Row:
    task: str
    factor: str
    paper_mean: float
    paper_std: float
    mean: float | None
    std: float | None


def reproduce_table_a1(num_pairs: int = 50_000, seed: int = 777, tasks: tuple[str, ...] | None = None, progress: bool = False) -> list[Row]:
    """Rows for every task whose data is available (synthetic ones always are); ``progress``
    shows a bar over the tasks."""
    rows = []
    for task_id in tqdm(tasks or tuple(PAPER_TABLE_A1), desc="Table A1", unit="task", disable=not progress):
        paper = PAPER_TABLE_A1[task_id]
        try:
            task = disbench.make(task_id)
        except DataError:
            rows.extend(Row(task_id, f, m, s, None, None) for f, (m, s) in paper.items())
            continue
        stats = perceived_distances(task, num_pairs=num_pairs, seed=seed)
        ours = {"random": stats["random"], **stats["factors"]}
        rows.extend(Row(task_id, f, m, s, ours[f].mean, ours[f].std) for f, (m, s) in paper.items())
    return rows


def format_table_a1(rows: list[Row]) -> str:
    """The paper's and disbench's mean (std) side by side, with the difference."""
    table = [
        (r.task, r.factor, f"{r.paper_mean:.4f} ({r.paper_std:.4f})",
         "data not prepared" if r.mean is None else f"{r.mean:.4f} ({r.std:.4f})",
         "" if r.mean is None else f"{r.mean - r.paper_mean:+.4f}")
        for r in rows
    ]
    return "Table A1: mean (std) perceived MSE distance, paper vs disbench\n" + tabulate(table, headers=["task", "factor", "paper", "disbench", "diff"], tablefmt="simple", disable_numparse=True)
