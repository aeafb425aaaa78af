import math

import pytest
import torch
import torch.nn.functional as F

from disbench.error import LossError
from disbench.losses import (
    AugmentedLoss,
    augmented,
    box_kernel,
    conv2d_fft,
    conv2d_separable,
    convolution_matrix,
    gaussian_kernel,
    learnt_kernel,
    make_loss,
    separable_factors,
)


def direct_conv(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Reference: true convolution (flipped kernel), zero padding, same size, per channel."""
    c = x.shape[1]
    weight = kernel.flip(0, 1)[None, None].repeat(c, 1, 1, 1)
    return F.conv2d(x, weight, padding=(kernel.shape[0] // 2, kernel.shape[1] // 2), groups=c)


@pytest.mark.parametrize("kh, kw", [(1, 1), (3, 5), (7, 3), (63, 63)])
def test_fft_convolution_equals_direct_convolution(kh, kw):
    g = torch.Generator().manual_seed(kh * 100 + kw)
    x = torch.randn(2, 3, 20, 17, generator=g, dtype=torch.float64)
    kernel = torch.rand(kh, kw, generator=g, dtype=torch.float64)  # asymmetric: checks the flip
    assert torch.allclose(conv2d_fft(x, kernel), direct_conv(x, kernel), atol=1e-10)


@pytest.mark.parametrize("kh, kw", [(1, 1), (3, 5), (7, 3), (63, 63)])
def test_separable_convolution_equals_direct_convolution(kh, kw):
    g = torch.Generator().manual_seed(kh * 10 + kw)
    x = torch.randn(2, 3, 20, 17, generator=g, dtype=torch.float64)
    kernel = torch.outer(torch.rand(kh, generator=g, dtype=torch.float64), torch.rand(kw, generator=g, dtype=torch.float64))  # asymmetric
    column, row = separable_factors(kernel)
    assert torch.allclose(torch.outer(column, row), kernel, atol=1e-12)
    out = conv2d_separable(x, convolution_matrix(column, 20), convolution_matrix(row, 17))
    assert torch.allclose(out, direct_conv(x, kernel), atol=1e-10)


def test_convolution_matrix_is_banded_toeplitz():
    a = convolution_matrix(torch.tensor([1.0, 2.0, 3.0]), 4)  # v -> [2 v0 + v1, 3 v0 + 2 v1 + v2, ...]
    assert torch.equal(a, torch.tensor([[2.0, 1, 0, 0], [3, 2, 1, 0], [0, 3, 2, 1], [0, 0, 3, 2]]))


def test_only_rank_one_kernels_take_the_separable_path():
    assert separable_factors(box_kernel(31)) is not None and separable_factors(gaussian_kernel(31)) is not None
    assert separable_factors(learnt_kernel("xysquares_r31")) is None
    assert separable_factors(torch.rand(5, 5, generator=torch.Generator().manual_seed(0))) is None
    assert make_loss("mse+box_r31_w3969").separable and not make_loss("mse+learnt_xysquares_r31_w1").separable


@pytest.mark.parametrize("name", ["mse+box_r31_w3969", "mse+gauss_r31_w3969", "mse+learnt_xysquares_r31_w1", "mse+box_r2_w1"])
def test_every_loss_blur_equals_direct_convolution(name):
    loss = make_loss(name).double()
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    # shipped kernels are float32: a Gaussian is rank one up to its rounding (1e-8 relative)
    assert torch.allclose(loss.blur(x), direct_conv(x, loss.kernel), atol=1e-7)


def test_loading_another_kernel_clears_the_cached_matrices():
    x = torch.randn(1, 1, 9, 9, generator=torch.Generator().manual_seed(0))
    loss = augmented("mse", box_kernel(1), 1.0)
    loss.blur(x)
    other = torch.rand(3, 3, generator=torch.Generator().manual_seed(1))
    loss.load_state_dict({"kernel": other})
    assert torch.allclose(loss.blur(x), direct_conv(x, other), atol=1e-6)


def test_kernels():
    box = box_kernel(31)
    assert box.shape == (63, 63) and torch.allclose(box, torch.full((63, 63), 1 / 3969)) and math.isclose(float(box.sum()), 1, rel_tol=1e-6)
    gauss = gaussian_kernel(31)
    assert gauss.shape == (63, 63) and math.isclose(float(gauss.sum()), 1, rel_tol=1e-6)
    row = gauss[31].double() / gauss[31, 31]
    sigma = 31 / 4
    assert float(row[31 + 8]) == pytest.approx(math.exp(-(8**2) / (2 * sigma**2)), rel=1e-5)
    assert learnt_kernel("xysquares_r31").shape == (63, 63)


def test_loss_names_parse_and_round_trip():
    assert make_loss("mse").name == "mse" and make_loss("l1").name == "l1" and make_loss("bce").name == "bce"
    blur = make_loss("mse+box_r31_w3969")
    assert isinstance(blur, AugmentedLoss) and blur.weight == 3969 and blur.kernel.shape == (63, 63)
    for name in ("mse+box_r31_w3969", "l1+gauss_r5_w0.5", "mse+learnt_xysquares_r31_w1", "bce+box_r2_w10"):
        assert make_loss(name).name == name


@pytest.mark.parametrize("bad", ["mse2", "mse+box31_w3", "mse+box_r31", "mse+blob_r3_w1", "", "MSE"])
def test_unknown_loss_names_list_the_valid_forms(bad):
    with pytest.raises(LossError, match="box_r<R>"):
        make_loss(bad)


def test_bad_kernels_are_rejected():
    with pytest.raises(LossError, match="odd"):
        augmented("mse", torch.ones(4, 4), 1.0)
    with pytest.raises(LossError, match="2-D"):
        augmented("mse", torch.ones(3, 3, 3), 1.0)
    with pytest.raises(LossError, match="NaN"):
        augmented("mse", torch.full((3, 3), float("nan")), 1.0)
    with pytest.raises(LossError, match="No shipped kernel"):
        make_loss("mse+learnt_nonexistent_w1")
    with pytest.raises(LossError, match=">= 0"):
        augmented("mse", torch.ones(3, 3), -1)
    with pytest.raises(LossError, match="does not match"):
        make_loss("mse")(torch.zeros(2, 3, 8, 8), torch.zeros(2, 3, 8, 9))


def test_per_observation_values():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(4, 3, 16, 16, generator=g), torch.randn(4, 3, 16, 16, generator=g)
    assert torch.allclose(make_loss("mse")(x, y), ((x - y) ** 2).mean(dim=(1, 2, 3)))
    assert torch.allclose(make_loss("l1")(x, y), (x - y).abs().mean(dim=(1, 2, 3)))
    target = torch.rand(4, 3, 16, 16, generator=g)
    assert torch.allclose(make_loss("bce")(x, target), F.binary_cross_entropy_with_logits(x, target, reduction="none").mean(dim=(1, 2, 3)))
    kernel = torch.rand(5, 5, generator=g)
    loss = augmented("mse", kernel, 7.0)
    expected = ((x - y) ** 2).mean(dim=(1, 2, 3)) + 7.0 * ((direct_conv(x, kernel) - direct_conv(y, kernel)) ** 2).mean(dim=(1, 2, 3))
    assert loss(x, y).shape == (4,) and torch.allclose(loss(x, y), expected, rtol=1e-4)
    assert torch.isfinite(augmented("bce", kernel, 1.0)(x, target)).all()


def test_augmented_loss_is_differentiable():
    g = torch.Generator().manual_seed(1)
    x_hat = torch.randn(2, 1, 9, 9, generator=g, dtype=torch.float64, requires_grad=True)
    x = torch.randn(2, 1, 9, 9, generator=g, dtype=torch.float64)
    loss = augmented("mse", torch.rand(5, 5, generator=g), 3.0)
    assert torch.autograd.gradcheck(lambda a: loss(a, x), (x_hat,))


def test_loss_moves_with_module_to():
    loss = make_loss("mse+box_r3_w9")
    x = torch.randn(2, 3, 8, 8)
    before = loss(x, x * 0.5)
    loss.to(torch.float64)
    assert torch.allclose(loss(x.double(), x.double() * 0.5).float(), before, rtol=1e-5)
