"""Stored datasets, end to end on tiny files written in each source format.

Each test shrinks a dataset's factor grid, writes a source file in the real format (hdf5, npz,
the Cars3D archive layout, SmallNORB binary matrices), serves it from a file:// URL with its
real md5, and runs download -> verify -> convert -> memory-map -> render.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile

import h5py
import numpy as np
import pytest
import torch
from scipy.io import savemat

import disbench
from disbench.cli import main as cli
from disbench.data.cars3d import Cars3D
from disbench.data.download import Resource, fetch, md5_file
from disbench.data.dsprites import DSprites
from disbench.data.mpi3d import MPI3D
from disbench.data.shapes3d import Shapes3D
from disbench.data.smallnorb import SmallNORB
from disbench.data.stored import resize_images
from disbench.error import DataError, DownloadError

RNG = np.random.default_rng(0)


def resource_for(path, name=None) -> Resource:
    return Resource(url=path.as_uri(), filename=name or path.name, md5=md5_file(path))


def shrink(monkeypatch, cls, sizes, *paths):
    monkeypatch.setattr(cls, "factor_sizes", sizes)
    monkeypatch.setattr(cls, "resources", tuple(resource_for(p) for p in paths))


def grid(sizes):
    return np.stack(np.unravel_index(np.arange(int(np.prod(sizes))), sizes), axis=1)


def test_dsprites_hdf5(tmp_path, monkeypatch):
    sizes = (3, 2, 2, 2, 2)
    n = int(np.prod(sizes))
    images = RNG.integers(0, 2, (n, 64, 64), dtype=np.uint8)
    source = tmp_path / "dsprites.hdf5"
    with h5py.File(source, "w") as f:
        f["imgs"] = images
        f["latents/classes"] = np.column_stack([np.zeros(n, dtype=np.int64), grid(sizes)])
    shrink(monkeypatch, DSprites, sizes, source)
    task = disbench.make("dsprites-mse", download=True)
    assert not task.off_protocol
    idx = torch.tensor([0, 5, n - 1])
    assert torch.equal(task.data.render(task.data.idx_to_factors(idx)), torch.from_numpy(images[idx.numpy()] * 255)[:, None])
    disbench.check_task(task)
    assert task.data.array.shape == (n, 1, 64, 64) and isinstance(task.data.array, np.memmap)


def test_dsprites_rejects_unordered_labels(tmp_path, monkeypatch):
    sizes = (3, 2, 2, 2, 2)
    n = int(np.prod(sizes))
    source = tmp_path / "dsprites.hdf5"
    with h5py.File(source, "w") as f:
        f["imgs"] = np.zeros((n, 64, 64), dtype=np.uint8)
        f["latents/classes"] = np.column_stack([np.zeros(n, dtype=np.int64), grid(sizes)[::-1]])
    shrink(monkeypatch, DSprites, sizes, source)
    with pytest.raises(DataError, match="not in factor order"):
        DSprites(download=True)
    folder = DSprites().folder
    assert not (folder / "dsprites.npy").exists() and not list(folder.glob("*.tmp"))
    assert not (folder / "dsprites.json").exists()


def test_shapes3d_h5(tmp_path, monkeypatch):
    sizes = (2, 2, 2, 1, 1, 3)
    n = int(np.prod(sizes))
    images = RNG.integers(0, 256, (n, 64, 64, 3), dtype=np.uint8)
    source = tmp_path / "3dshapes.h5"
    with h5py.File(source, "w") as f:
        f["images"] = images
        f["labels"] = grid(sizes) * 0.1 + 0.05  # raw float values, in factor order
    shrink(monkeypatch, Shapes3D, sizes, source)
    task = disbench.make("shapes3d-mse", download=True)
    assert torch.equal(task.data[7], torch.from_numpy(images[7]).permute(2, 0, 1))
    disbench.check_task(task)


def test_cars3d_archive(tmp_path, monkeypatch):
    elevations, azimuths, objects = 2, 3, 2
    meshes = [RNG.integers(0, 256, (128, 128, 3, azimuths, elevations), dtype=np.uint8) for _ in range(objects)]
    source = tmp_path / "nips2015-analogy-data.tar.gz"
    with tarfile.open(source, "w:gz") as tar:
        def add(name, payload):
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))

        add("data/cars/list.txt", b"car_b_mesh\ncar_a_mesh\n")  # list order, not file order, defines the object index
        for name, mesh in zip(("car_b_mesh", "car_a_mesh"), meshes):
            buffer = io.BytesIO()
            savemat(buffer, {"im": mesh})
            add(f"data/cars/{name}.mat", buffer.getvalue())
        add("data/shapes48.mat", b"unrelated")
    shrink(monkeypatch, Cars3D, (elevations, azimuths, objects), source)
    data = Cars3D(download=True)
    for e, a, o in [(0, 0, 0), (1, 2, 1), (0, 1, 1)]:
        expected = resize_images(meshes[o][None, :, :, :, a, e], 64)[0].transpose(2, 0, 1)
        assert np.array_equal(data.render(torch.tensor([[e, a, o]]))[0].numpy(), expected)
    assert not any(p.name.startswith("cars3d-") for p in data.folder.iterdir())  # temporary extraction removed
    disbench.check_task(disbench.make("cars3d-mse"))


def write_norb(path, array: np.ndarray) -> None:
    code = {np.dtype(np.uint8): 0x1E3D4C55, np.dtype(np.int32): 0x1E3D4C54}[array.dtype]
    dims = list(array.shape) + [1] * max(0, 3 - array.ndim)
    header = np.array([code, array.ndim, *dims], dtype="<i4").tobytes()
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(array.dtype.newbyteorder("<")).tobytes())


def test_smallnorb_binary_matrices(tmp_path, monkeypatch):
    sizes = (2, 2, 2, 2, 2)
    labels = grid(sizes)
    n = len(labels)
    info = np.column_stack([np.array([4, 6])[labels[:, 1]], labels[:, 2], 2 * labels[:, 3], labels[:, 4]]).astype(np.int32)
    cat = labels[:, 0].astype(np.int32)
    images = RNG.integers(0, 256, (n, 2, 96, 96), dtype=np.uint8)
    order = RNG.permutation(n)  # the real files are not in factor order
    paths = [tmp_path / f"norb-{kind}.mat.gz" for kind in ("dat", "cat", "info")]
    for path, array in zip(paths, (images[order], cat[order], info[order])):
        write_norb(path, array)
    shrink(monkeypatch, SmallNORB, sizes, *paths)
    data = SmallNORB(download=True)
    for i in (0, 13, n - 1):
        expected = resize_images(images[i, 0][None, :, :, None], 64)[0].transpose(2, 0, 1)
        assert np.array_equal(data[i].numpy(), expected)
    disbench.check_task(disbench.make("smallnorb-mse"))


@pytest.mark.parametrize("subset", ["toy", "realistic", "real"])
def test_mpi3d_streams_compressed_npz(tmp_path, monkeypatch, subset):
    sizes = (2, 1, 1, 1, 1, 2, 3)
    n = int(np.prod(sizes))
    images = RNG.integers(0, 256, (n, 64, 64, 3), dtype=np.uint8)
    source = tmp_path / f"mpi3d_{subset}.npz"
    np.savez_compressed(source, images=images)
    monkeypatch.setattr(MPI3D, "factor_sizes", sizes)
    monkeypatch.setitem(disbench.data.mpi3d.SUBSETS, subset, (resource_for(source), disbench.data.mpi3d.SUBSETS[subset][1]))
    assert cli(["data", "download", "mpi3d", "--subset", subset, "--quiet"]) == 0
    task = disbench.make(f"mpi3d-{subset}-mse")
    assert torch.equal(task.data[n - 1], torch.from_numpy(images[-1]).permute(2, 0, 1))
    assert not (task.data.folder / "raw").exists()  # raw files removed unless --keep-raw
    disbench.check_task(task)


def test_missing_data_says_which_file_and_which_command(monkeypatch):
    with pytest.raises(DataError) as e:
        disbench.make("dsprites-mse")
    message = str(e.value)
    assert "dsprites.npy" in message and "disbench data download dsprites" in message and "DISBENCH_DATA" in message


def test_corrupt_array_is_detected(tmp_path, monkeypatch):
    test_dsprites_hdf5(tmp_path, monkeypatch)
    data = DSprites()
    np.save(data.array_path, np.zeros((3, 1, 64, 64), dtype=np.uint8))
    with pytest.raises(DataError, match="expected uint8"):
        DSprites().open()


def test_checksum_mismatch_leaves_nothing_behind(tmp_path):
    source = tmp_path / "file.bin"
    source.write_bytes(b"hello")
    folder = tmp_path / "cache"
    bad = Resource(url=source.as_uri(), filename="file.bin", md5="0" * 32)
    with pytest.raises(DownloadError, match="Checksum mismatch"):
        fetch(bad, folder, progress=False)
    assert list(folder.iterdir()) == []
    good = resource_for(source)
    assert fetch(good, folder, progress=False).read_bytes() == b"hello"


def test_unreachable_url_explains_manual_download(tmp_path):
    missing = Resource(url=(tmp_path / "nope.bin").as_uri(), filename="nope.bin", md5="0" * 32)
    with pytest.raises(DownloadError, match="place it at"):
        fetch(missing, tmp_path / "cache", progress=False)
    assert not list((tmp_path / "cache").glob("*.part"))


def test_md5_of_a_file_reads_it_whole(tmp_path):
    big = tmp_path / "big.bin"
    payload = RNG.integers(0, 256, 3_000_000, dtype=np.uint8).tobytes()  # more than one 1 MiB block
    big.write_bytes(payload)
    assert md5_file(big) == hashlib.md5(payload).hexdigest()


def test_data_status_bad_name_and_a_root_that_is_a_file(capsys, tmp_path):
    assert cli(["data", "status"]) == 0
    assert "mpi3d_real" in capsys.readouterr().out
    assert cli(["data", "download", "xysquares"]) == 2
    assert "generated on the fly" in capsys.readouterr().err
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert cli(["data", "download", "dsprites", "--root", str(blocker)]) == 2  # refused before any download is tried
    assert capsys.readouterr().err == (f"error: The dataset folder {blocker / 'dsprites' / 'raw'} cannot be made: {blocker} is a file, "
                                       "not a folder; give a folder's path (it is made if missing).\n")
    assert cli(["data", "download", "dsprites", "--subset", "toy"]) == 2  # was "unexpected keyword argument 'subset'"
    assert capsys.readouterr().err == "error: --subset toy: dsprites has no subsets (only mpi3d has: toy, realistic, real); leave --subset out.\n"
    assert cli(["data", "status", "--root", str(tmp_path / "nope")]) == 0  # the table, and a warning that the root is not there
    out, err = capsys.readouterr()
    assert "mpi3d_real" in out and err.startswith(f"warning: --root {tmp_path / 'nope'} does not exist, so nothing is prepared there")
