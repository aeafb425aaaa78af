import numpy as np
import pytest
import torch

import disbench
from disbench.data import is_stored, make_dataset
from disbench.data.xyblocks import XYBlocks
from disbench.data.xyobject import XYObject, XYObjectShaded
from disbench.data.xysquares import XColumns, XYSquares
from disbench.error import DataError


def bright_box(channel: torch.Tensor) -> tuple[int, int, int, int]:
    """(x0, y0, width, height) of the non-zero pixels of one channel."""
    ys, xs = torch.nonzero(channel, as_tuple=True)
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def test_xysquares_layout_matches_the_paper():
    data = XYSquares()
    assert data.factor_names == ("x_R", "y_R", "x_G", "y_G", "x_B", "y_B")
    assert data.factor_sizes == (8,) * 6 and len(data) == 262_144 and data.obs_shape == (3, 64, 64)
    x = data.render(torch.tensor([[1, 2, 3, 4, 5, 6]]))
    assert x.dtype == torch.uint8 and x.shape == (1, 3, 64, 64)
    assert bright_box(x[0, 0]) == (8, 16, 8, 8)  # red at x=8, y=16
    assert bright_box(x[0, 1]) == (24, 32, 8, 8)
    assert bright_box(x[0, 2]) == (40, 48, 8, 8)
    assert set(x.unique().tolist()) == {0, 255} and int((x > 0).sum()) == 3 * 64


@pytest.mark.parametrize("spacing, offset", [(8, 0), (7, 3), (6, 7), (5, 10), (4, 14), (3, 17), (2, 21), (1, 24)])
def test_xysquares_spacing_offsets(spacing, offset):
    data = XYSquares(grid_spacing=spacing)
    assert data.offset == offset and data.factor_sizes == (8,) * 6
    x = data.render(torch.tensor([[7, 0, 0, 0, 0, 0]]))
    assert bright_box(x[0, 0]) == (offset + 7 * spacing, offset, 8, 8)


def test_xysquares_grey_and_fewer_squares():
    grey = XYSquares(rgb=False, num_squares=2)
    assert grey.obs_shape == (1, 64, 64) and grey.factor_names == ("x_R", "y_R", "x_G", "y_G")
    x = grey.render(torch.tensor([[0, 0, 0, 0]]))  # both squares on the same spot
    assert int((x > 0).sum()) == 64
    assert XYSquares(grid_size=None, grid_spacing=1).factor_sizes[0] == 57


def test_fast_normalised_render_equals_generic_path():
    for data in (XYSquares(), XYSquares(image_size=32, square_size=4, grid_spacing=3, rgb=False), XColumns()):
        factors = data.sample_factors(64, torch.Generator().manual_seed(0))
        assert torch.allclose(data.render_normalised(factors), data.normalise(data.render(factors)), atol=1e-5)


def test_xcolumns():
    data = XColumns()
    assert data.factor_names == ("x_R", "x_G", "x_B") and len(data) == 512
    x = data.render(torch.tensor([[2, 0, 7]]))
    assert bright_box(x[0, 0]) == (16, 0, 8, 64) and bright_box(x[0, 2]) == (56, 0, 8, 64)


def test_xyobject_layout_and_colours():
    data = XYObject()
    assert data.factor_sizes == (25, 25, 5, 24) and len(data) == 75_000
    # scale index 0 is a 7px square, centred in the 15px cell: offset (15-7)//2 = 4
    x = data.render(torch.tensor([[3, 5, 0, 0]]))
    assert bright_box(x[0, 0]) == (3 * 2 + 4, 5 * 2 + 4, 7, 7)
    # colour 0 is red at brightness 1/4: 255*1//4 = 63; colour 23 is magenta at full brightness
    assert x[0, :, 14, 10].tolist() == [63, 0, 0]
    y = data.render(torch.tensor([[0, 0, 4, 23]]))
    assert y[0, :, 7, 7].tolist() == [255, 0, 255] and bright_box(y[0, 0])[2] == 15


def test_xyobject_shaded_renders_the_same_images():
    plain, shaded = XYObject(), XYObjectShaded()
    assert shaded.factor_names == ("x", "y", "scale", "intensity", "color") and shaded.factor_sizes == (25, 25, 5, 4, 6)
    f = shaded.sample_factors(32, torch.Generator().manual_seed(1))
    as_plain = torch.cat([f[:, :3], (f[:, 3] * 6 + f[:, 4])[:, None]], dim=1)
    assert torch.equal(shaded.render(f), plain.render(as_plain))


def test_xyblocks_xor():
    data = XYBlocks()
    assert data.factor_names[:3] == ("color-2", "color-4", "color-8") and len(data) == 110_592
    # a red 32px block with a red 16px block at its corner: the smaller one clears to black
    f = torch.tensor([[0, 0, 1, 0, 0, 7, 0, 0, 7]])
    x = data.render(f)
    assert x[0, :, 0, 0].tolist() == [0, 0, 0]  # cleared by the XOR
    assert x[0, :, 20, 20].tolist() == [255, 0, 0]  # rest of the 32px block is red
    assert x[0, :, 60, 60].tolist() == [0, 255, 0]  # the green 8px block in the far corner


def test_normalisation_constants_reproduce_the_paper():
    """The paper's constants are the global mean and the per-image sample std, averaged."""
    assert XYSquares().mean == pytest.approx((0.015625,) * 3)
    assert XYSquares().std == pytest.approx((0.12403473458920855,) * 3, abs=1e-15)
    mean, std = XYSquares(rgb=False).compute_normalisation()
    assert mean[0] == pytest.approx(0.046146392822265625, abs=1e-12)
    assert std[0] == pytest.approx(0.2096506119375896, abs=1e-12)
    small = XYSquares(image_size=16, square_size=4, grid_size=3)
    computed_mean, computed_std = small.compute_normalisation()
    assert computed_mean == pytest.approx(small.mean) and computed_std == pytest.approx(small.std)


def test_render_validates_factors():
    data = XYSquares()
    with pytest.raises(DataError, match="'y_R' = 8 is out of range"):
        data.render(torch.tensor([[0, 8, 0, 0, 0, 0]]))
    with pytest.raises(DataError, match=r"shape \[N, 6\]"):
        data.render(torch.zeros(2, 5, dtype=torch.long))
    with pytest.raises(DataError, match="integers"):
        data.render(torch.zeros(1, 6))
    with pytest.raises(DataError, match="out of range"):
        data.idx_to_factors([len(data)])
    with pytest.raises(DataError, match="Unknown dataset 'xysquare'.*Did you mean 'xysquares'"):
        make_dataset("xysquare")


def test_index_round_trip_and_getitem():
    data = XYSquares()
    idx = torch.tensor([0, 1, 8, 262_143])
    factors = data.idx_to_factors(idx)
    assert factors[1].tolist() == [0, 0, 0, 0, 0, 1] and factors[2].tolist() == [0, 0, 0, 0, 1, 0]
    assert torch.equal(data.factors_to_idx(factors), idx)
    assert np.unravel_index(12345, data.factor_sizes) == tuple(data.idx_to_factors([12345])[0].tolist())
    assert torch.equal(data[12345], data.render(data.idx_to_factors([12345]))[0])


def test_sampling_is_uniform_and_seeded():
    data = XYSquares()
    a = data.sample_factors(20_000, torch.Generator().manual_seed(3))
    b = data.sample_factors(20_000, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    counts = torch.bincount(a[:, 0], minlength=8).float() / len(a)
    assert torch.allclose(counts, torch.full((8,), 1 / 8), atol=0.015)


@pytest.mark.parametrize("task_id", [t for t, s in disbench.registry.items() if not is_stored(s.dataset)])
def test_every_synthetic_task_passes_check_task(task_id):
    disbench.check_task(disbench.make(task_id))


def test_check_task_catches_a_broken_dataset():
    class Broken(XYSquares):
        def _render(self, factors):
            out = super()._render(factors)
            return out[:, :, :, :32]  # wrong width

    task = disbench.Task(Broken(), "mse")
    with pytest.raises(disbench.checker.TaskCheckError, match="render must return"):
        disbench.check_task(task)
