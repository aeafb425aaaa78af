"""The built-in task suite: every ``register`` call in one readable file.

A task is (dataset, reconstruction loss, protocol tiers). ``adversarial`` marks tasks whose
loss perceives a constant distance along some factor (paper.md §1.4); ``disbench analyze``
recomputes that verdict from the data, and the tests check that the flags here agree with it.
``twin`` pairs an adversarial task with the task that re-enables it under another loss.
"""

from __future__ import annotations

from disbench.losses import BOXBLUR, GAUSSBLUR, LEARNT
from disbench.registration import register

# --- XYSquares: the adversarial dataset and its overlap ladder (paper Figs. 8, 9, 11) ---------

register(
    "xysquares-mse-v0",
    kwargs={"dataset": "xysquares", "grid_spacing": 8, "loss": "mse"},
    adversarial=True,
    twin="xysquares-boxblur-v0",
    description="Three 8x8 squares at spacing 8: MSE sees every pair of positions as equally far apart.",
)
for spacing in range(1, 8):
    register(
        f"xysquares-s{spacing}-mse-v0",
        kwargs={"dataset": "xysquares", "grid_spacing": spacing, "loss": "mse"},
        description=f"XYSquares at grid spacing {spacing}: adjacent positions share {8 - spacing} pixel rows/columns.",
    )
register(
    "xysquares-boxblur-v0",
    kwargs={"dataset": "xysquares", "grid_spacing": 8, "loss": BOXBLUR},
    twin="xysquares-mse-v0",
    description="Re-enabled twin of xysquares-mse: MSE plus a 63x63 box-blurred MSE (x3969) restores an ordering.",
)
register(
    "xysquares-gaussblur-v0",
    kwargs={"dataset": "xysquares", "grid_spacing": 8, "loss": GAUSSBLUR},
    twin="xysquares-mse-v0",
    description="Re-enabled twin of xysquares-mse with a Gaussian (r=31, sigma=7.75) instead of a box blur.",
)
register(
    "xysquares-learnt-v0",
    kwargs={"dataset": "xysquares", "grid_spacing": 8, "loss": LEARNT},
    twin="xysquares-mse-v0",
    description="Re-enabled twin of xysquares-mse with a kernel learnt to rank distances like the factors do.",
)

# --- other synthetic datasets -------------------------------------------------------------------

register(
    "xcolumns-mse-v0",
    kwargs={"dataset": "xcolumns", "loss": "mse"},
    adversarial=True,
    twin="xcolumns-boxblur-v0",
    description="Three full-height columns at spacing 8: adversarial for MSE like XYSquares.",
)
register(
    "xcolumns-boxblur-v0",
    kwargs={"dataset": "xcolumns", "loss": BOXBLUR},
    twin="xcolumns-mse-v0",
    description="Re-enabled twin of xcolumns-mse under the box-blur loss.",
)
register(
    "xyblocks-mse-v0",
    kwargs={"dataset": "xyblocks", "loss": "mse"},
    description="XOR'd blocks at 2, 4 and 8 divisions per axis.",
)
for name, dataset in (("xyobject", "xyobject"), ("xyobject-shaded", "xyobject-shaded")):
    register(
        f"{name}-mse-v0",
        kwargs={"dataset": dataset, "loss": "mse"},
        description=f"One coloured square of 5 sizes on a 25x25 grid ({dataset} factors).",
    )
    register(
        f"{name}-boxblur-v0",
        kwargs={"dataset": dataset, "loss": BOXBLUR},
        description=f"{name} under the box-blur loss.",
    )

# --- stored benchmark datasets (downloaded once: `disbench data download NAME`) ----------------

for name, description in (
    ("dsprites", "dSprites: 2D shapes with position, scale and orientation."),
    ("shapes3d", "3D Shapes: a shape in a room with hue, scale, shape and orientation factors."),
    ("cars3d", "Cars3D: 183 car models under 24 azimuths and 4 elevations, 64x64."),
    ("smallnorb", "SmallNORB: toys under varying pose and lighting, 64x64."),
):
    register(f"{name}-mse-v0", kwargs={"dataset": name, "loss": "mse"}, description=description)
for subset in ("toy", "realistic", "real"):
    register(
        f"mpi3d-{subset}-mse-v0",
        kwargs={"dataset": "mpi3d", "subset": subset, "loss": "mse"},
        description=f"MPI3D-{subset}: a robot finger moving an object (not in the paper).",
    )
