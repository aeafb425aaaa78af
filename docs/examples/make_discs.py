"""Write a small dataset the way you might have your own: a folder of PNG files and a CSV.

A disc of five sizes on a 10 x 10 grid of positions, 64x64 RGB, one image per combination
(500 images). Usage: python make_discs.py FOLDER
"""

import csv
import sys
from pathlib import Path

from PIL import Image, ImageDraw

folder = Path(sys.argv[1])
folder.mkdir(parents=True, exist_ok=True)
with (folder / "factors.csv").open("w", newline="") as f:
    table = csv.writer(f)
    table.writerow(["file", "x", "y", "radius"])
    for x in range(12, 52, 4):
        for y in range(12, 52, 4):
            for radius in (3, 4, 5, 6, 7):
                name = f"disc_x{x}_y{y}_r{radius}.png"
                image = Image.new("RGB", (64, 64), "black")
                ImageDraw.Draw(image).ellipse((x - radius, y - radius, x + radius, y + radius), fill=(255, 200, 0))
                image.save(folder / name)
                table.writerow([name, x, y, radius])
