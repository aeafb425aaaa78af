"""Datasets from files (disbench.data.from_files): every layout read back exactly, registered as
tasks, and every check failing with an error that names the problem and the fix."""

import shutil

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

import disbench
from disbench.data import from_files
from disbench.data.files import FileData, IncompleteGrid
from disbench.error import DataError
from disbench.registration import TaskSpec
from tests.data.own_data import every_observation, patches, write_folder, xysquares_folder


@pytest.fixture(scope="module")
def squares(tmp_path_factory):
    """XYSquares (two squares on a 3x3 grid, 81 images) as PNG files and a shuffled CSV."""
    return xysquares_folder(tmp_path_factory.mktemp("squares") / "squares", grid_spacing=8, grid_size=3, num_squares=2)


def test_a_png_folder_reads_back_the_dataset_it_was_written_from(squares):
    folder, original = squares
    data = from_files(folder)
    assert data.factor_names == original.factor_names and data.factor_sizes == (3, 3, 3, 3) and data.obs_shape == (3, 64, 64)
    assert data.factor_values[0] == (20, 28, 36)  # pixel coordinates, in increasing order, became indices 0, 1, 2
    factors = original.idx_to_factors(torch.arange(len(original)))
    assert torch.equal(data.render(factors), original.render(factors))
    assert data.images_read == len(original)
    disbench.check_task(disbench.task.Task(data, "mse"))


@pytest.mark.parametrize("layout", ["NHWC", "NCHW", "NHW"])
@pytest.mark.parametrize("compressed", [False, True])
def test_npz_layouts_and_memory_mapping(tmp_path, layout, compressed):
    images, grid = patches()
    stored = {"NHWC": images.transpose(0, 2, 3, 1), "NCHW": images, "NHW": images[:, 0]}[layout]
    path = tmp_path / "patches.npz"
    save = np.savez_compressed if compressed else np.savez
    shuffled = np.random.default_rng(0).permutation(len(grid))  # rows in any order, not only grid order or its reverse
    save(path, images=stored[shuffled], factors=grid[shuffled], factor_names=np.array(["x", "level"]))
    data = from_files(path)
    assert isinstance(data.source.array, np.memmap) != compressed  # an uncompressed member is mapped, never loaded
    assert data.factor_names == ("x", "level") and data.obs_shape == (1, 16, 32)
    assert np.array_equal(data.render(torch.from_numpy(grid)).numpy(), images)


def test_hdf5_is_read_lazily_with_names_from_an_attribute(tmp_path):
    images, grid = patches()
    path = tmp_path / "patches.h5"
    with h5py.File(path, "w") as f:
        f["images"] = images[:, 0]
        f["factors"] = grid
        f["factors"].attrs["factor_names"] = ["x", "level"]
    data = from_files(path)
    assert isinstance(data.source.array, h5py.Dataset) and data.factor_names == ("x", "level")
    order = torch.tensor([[4, 3], [0, 0], [4, 3], [2, 1]])
    assert np.array_equal(data.render(order).numpy(), images[[19, 0, 19, 9]])


def test_string_factors_sort_alphabetically_unless_an_order_is_given(tmp_path):
    images, grid = patches(positions=2, levels=(50, 150, 250))
    names = np.array(["dim", "mid", "bright"])[grid[:, 1]]
    folder = write_folder(tmp_path / "levels", images, {"x": grid[:, 0], "brightness": names})
    assert from_files(folder).factor_values[1] == ("bright", "dim", "mid")
    ordered = from_files(folder, factor_order={"brightness": ["dim", "mid", "bright"]})
    assert ordered.factor_values[1] == ("dim", "mid", "bright")
    assert int(ordered.render(torch.tensor([[0, 2]])).max()) == 250
    with pytest.raises(DataError, match=r"values \['bright'\] that its given order \['dim', 'mid'\] lacks"):
        from_files(folder, factor_order={"brightness": ["dim", "mid"]})
    assert from_files(folder).categorical_factors == ("brightness",) and ordered.categorical_factors == ()
    assert from_files(folder, categorical=["x"]).categorical_factors == ("brightness", "x")
    with pytest.raises(DataError, match=r"categorical names 'z', which is not a factor"):
        from_files(folder, categorical=["z"])
    with pytest.raises(DataError, match=r"'brightness' is given both an order and categorical"):
        from_files(folder, categorical=["brightness"], factor_order={"brightness": ["dim", "mid", "bright"]})


def test_each_image_file_is_decoded_once_when_the_dataset_fits_in_the_cache(squares, monkeypatch):
    everything = torch.cartesian_prod(*[torch.arange(3)] * 4)
    data = from_files(squares[0])
    assert data.images_read == 64  # the pixel check's sample, spread over the 81 images, kept in the cache
    first = data.render(everything[:50])
    assert torch.equal(data.render(everything), torch.cat([first, data.render(everything[50:])]))
    assert data.images_read == 81  # none decoded twice
    monkeypatch.setattr("disbench.data.image_sources.CACHE_BYTES", 81 * 3 * 64 * 64 - 1)
    uncached = from_files(squares[0])
    repeated = everything[[7, 3, 7, 7, 3]]
    assert torch.equal(uncached.render(repeated), data.render(repeated)) and uncached.images_read == 64 + 2  # a repeated row is decoded once
    uncached.render(everything)
    uncached.render(everything[:10])
    assert uncached.source.cache is None and uncached.images_read == 64 + 2 + 91


def test_image_size_resizes_on_load(squares):
    data = from_files(squares[0], image_size=32)
    assert data.obs_shape == (3, 32, 32) and tuple(data.render(torch.zeros(2, 4, dtype=torch.long)).shape) == (2, 3, 32, 32)


def test_a_registered_file_task_records_path_and_content_and_refuses_changed_data(squares, tmp_path, scratch_registry):
    folder = shutil.copytree(squares[0], tmp_path / "copy")
    data = from_files(folder)
    assert data.fingerprint == from_files(squares[0]).fingerprint  # the content, not where it lies
    spec = disbench.register("mysquares-mse-v0", kwargs=data.task_kwargs("mse"))
    assert spec.kwargs == {"dataset": "files", "path": str(folder), "sha256": data.fingerprint, "name": "copy", "loss": "mse"}
    task = disbench.make("mysquares-mse")
    assert task.id == "mysquares-mse-v0" and not task.off_protocol and isinstance(task.data, FileData)
    again = disbench.make(TaskSpec.from_json(spec.to_json()))  # what a record's embedded spec rebuilds
    assert torch.equal(again.sample(4, torch.Generator().manual_seed(0)).x, task.sample(4, torch.Generator().manual_seed(0)).x)
    image = folder / "img_0000.png"
    pixels = np.asarray(Image.open(image)).copy()
    pixels[0, 0] = 7
    Image.fromarray(pixels).save(image)
    with pytest.raises(DataError, match="has changed since its task was registered"):
        disbench.make("mysquares-mse")


def test_an_incomplete_grid_is_stated_read_where_it_has_images_and_refused_as_a_task(tmp_path, scratch_registry):
    """3 of 20 combinations dropped: opened with the fraction stated (warning, describe, attributes),
    every image it has read back exactly, normalised over those images; asking for a missing one,
    registering it or making a task of it is one error that says why and what to do."""
    images, grid = patches()
    keep = np.setdiff1d(np.arange(len(grid)), [2, 9, 17])  # (x, level) = (0, 2), (2, 1), (4, 1)
    np.savez(tmp_path / "gaps.npz", images=images[keep], factors=grid[keep], factor_names=np.array(["x", "level"]))
    with pytest.warns(IncompleteGrid, match=r"gaps: 3 of the 20 factor combinations \(15\.0%\) have no image \(e\.g\. x=0, level=2\); the analysis"):
        data = from_files(tmp_path / "gaps.npz")
    assert (len(data), data.num_images, data.num_missing, data.missing_fraction) == (20, 17, 3, 0.15)
    assert np.array_equal(np.flatnonzero(~data.present), [2, 9, 17]) and torch.equal(data.observed_indices(), torch.from_numpy(keep))
    assert data.describe().endswith("17 images, 1x16x32, from " + str(tmp_path / "gaps.npz") + "; factors x (5), level (4); incomplete: 3 of the 20 "
                                     "factor combinations (15.0%) have no image (e.g. x=0, level=2)")
    assert np.array_equal(data.render(torch.from_numpy(grid[keep])).numpy(), images[keep])
    pixels = images[keep].astype(np.float64) / 255
    assert data.mean[0] == pytest.approx(pixels.mean()) and data.std[0] == pytest.approx(pixels.reshape(len(keep), -1).std(axis=1, ddof=1).mean())
    with pytest.raises(DataError, match=r"gaps has no image for x=2, level=1 \(15\.0% of its factor combinations have none\); ask only for"):
        data.render(torch.tensor([[0, 0], [2, 1]]))
    with pytest.raises(DataError, match=r"gaps cannot be registered as a task: 3 of its 20 factor combinations \(15\.0%\) have no image, and training "
                                         r"and the metrics draw combinations from the full grid\. Keep a complete sub-grid"):
        data.task_kwargs("mse")
    disbench.register("gaps-mse-v0", kwargs={"dataset": "files", **data.config(), "loss": "mse"})  # around task_kwargs, by hand
    with pytest.raises(DataError, match=r"gaps cannot be a task: 3 of its 20 factor combinations"):
        disbench.make("gaps-mse")


def _write_csv(folder, rows):
    pd.DataFrame(rows).to_csv(folder / "factors.csv", index=False)


def test_every_check_names_the_problem_and_the_fix(tmp_path, squares):
    images, grid = patches(positions=2, levels=(60, 200))
    folder = write_folder(tmp_path / "ok", images, {"x": grid[:, 0], "level": grid[:, 1]})

    def fails(match, path=folder, **options):
        with pytest.raises(DataError, match=match):
            from_files(path, **options)

    fails(r"No such file or folder: .*nowhere\. Give a folder of images", path=tmp_path / "nowhere")
    fails(r"No such file or folder: .*ko\. Did you mean 'ok'\?", path=tmp_path / "ko")
    fails(r"has no column 'levl'\. Did you mean 'level'\?", factors=["x", "levl"])
    fails(r"no option 'image_colum'\. Did you mean 'image_column'\?", image_colum="file")
    table = pd.read_csv(squares[0] / "factors.csv")
    _write_csv(squares[0], table.assign(angle=np.random.default_rng(0).random(len(table))))
    fails(r"Factor 'angle' looks continuous: 81 distinct values in 81 rows.* round or bin it", path=squares[0])
    _write_csv(squares[0], table)
    fails(r"Rows \d+ and \d+ of factors.csv have the same factors \(x=\d\); each combination must have one image", factors=["x"])

    frame = pd.read_csv(folder / "factors.csv")
    _write_csv(folder, frame.assign(level=frame["x"] * 50 + frame["level"]))  # 4 levels, one x each: 2 x 4 combinations, 4 images
    with pytest.warns(IncompleteGrid):
        assert from_files(folder).missing_fraction == 0.5
    i = np.arange(240)  # three factors of 120, 120 and 2 values, no two rows alike: 28,800 combinations for 240 images
    _write_csv(folder, {"file": ["img_0000.png"] * 240, "a": i // 2, "b": (i + 1) // 2 % 120, "c": i % 2})
    fails(r"120 x 120 x 2 = 28,800 combinations are over 100 times the 240 rows of factors.csv: the factors hardly form a grid")
    _write_csv(folder, frame.assign(colour="red"))
    fails(r"Factor 'colour' has the same value \('red'\) in every row")
    _write_csv(folder, frame.rename(columns={"file": "picture"}))
    fails(r"no column naming the image files .* rename that column or pass image_column")
    assert from_files(folder, image_column="picture").factor_names == ("x", "level")
    _write_csv(folder, frame.assign(file=frame["file"].str.replace("img_0003", "img_9999")))
    fails(r"1 of the 4 image files that factors.csv names do not exist, first .*img_9999.png")
    (folder / "imgs").mkdir()
    (folder / "img_0003.png").rename(folder / "imgs" / "img_0003.png")  # the CSV names it from the wrong folder
    _write_csv(folder, frame)
    fails(r"first .*img_0003.png \(row \d\); a file of that name is at imgs/img_0003.png \(names are relative to the table's folder, "
          r"so write 'imgs/img_0003.png'\)")
    (folder / "imgs" / "img_0003.png").rename(folder / "img_0003.png")
    Image.fromarray(np.zeros((20, 32), dtype=np.uint8)).save(folder / "img_0001.png")
    fails(r"Images differ in size: img_\d+.png is 32x(16|20) but img_\d+.png is 32x(16|20); resize them all to one size, or resize on load \(image_size=N, --image-size N\)")
    assert from_files(folder, image_size=16).obs_shape == (1, 16, 16)
    Image.fromarray(np.zeros((16, 32), dtype=np.uint16)).save(folder / "img_0001.png")
    fails(r"pixel format 'I;16' \(16-bit or floating point\); save the images as 8-bit")
    (folder / "other.csv").write_text("file,x\n")
    (folder / "factors.csv").rename(folder / "first.csv")
    fails(r"holds 2 CSV files .* name factors.csv or pass the CSV's path")

    np.savez(tmp_path / "float.npz", images=images.astype(np.float32) / 255, factors=grid)
    fails(r"images must be uint8 \(0-255\), got float32; scale them with \(x \* 255\)", path=tmp_path / "float.npz")
    np.savez(tmp_path / "float255.npz", images=images.astype(np.float32), factors=grid)
    fails(r"got float32; they are 0-255 already: x.clip\(0, 255\).round\(\).astype\(np.uint8\)", path=tmp_path / "float255.npz")
    np.savez(tmp_path / "cast.npz", images=(images.astype(np.float32) / 255).astype(np.uint8), factors=grid)
    fails(r"every pixel of 4 images spread over the data is 0 or 1.*store \(x \* 255\).round\(\)", path=tmp_path / "cast.npz")
    np.savez(tmp_path / "blank.npz", images=np.full_like(images, 7), factors=grid)
    fails(r"4 images spread over the data are identical .* alpha channel", path=tmp_path / "blank.npz")
    np.savez(tmp_path / "nofactors.npz", images=images)
    fails(r"has no array 'factors'; it needs 'images' and 'factors' \(found: images\)", path=tmp_path / "nofactors.npz")
    np.savez(tmp_path / "short.npz", images=images, factors=grid[:3])
    fails(r"4 images but 3 rows of factors", path=tmp_path / "short.npz")
    (tmp_path / "notes.txt").write_text("hello")
    fails(r"is not a dataset disbench reads: give a folder of images with a CSV", path=tmp_path / "notes.txt")


def test_a_dataset_from_files_matches_its_source_through_every_observation(tmp_path):
    """Rows in any order, repeated rows, and the normalisation constants (computed, as for any dataset)."""
    images, grid = patches()
    np.savez(tmp_path / "p.npz", images=images, factors=grid)
    data = from_files(tmp_path / "p.npz")
    factors, rendered = every_observation(data)
    assert np.array_equal(rendered, images) and np.array_equal(factors.numpy(), grid)
    pixels = images.astype(np.float64) / 255
    assert data.mean[0] == pytest.approx(pixels.mean()) and data.std[0] == pytest.approx(pixels.reshape(len(images), -1).std(axis=1, ddof=1).mean())
