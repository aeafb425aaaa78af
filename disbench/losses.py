"""Reconstruction losses: the half of a task that decides what the VAE can perceive.

All losses return one value per observation (``[N]``, the mean over C*H*W, as in the paper).
Names follow one grammar so that a task spec can carry its loss as a string::

    <base>                    base   = mse | bce | l1
    <base>+<kernel>_w<weight> kernel = box_r<R> | gauss_r<R> | learnt_<name>

``mse+box_r31_w3969`` is the paper's re-enabling loss (Eq. 11): MSE plus 3969 x the MSE between
box-blurred (63x63) images. The blur is a true, channel-wise, zero-padded convolution cropped to
the input size ("same") (paper.md §3.1-3.2). Separable (rank-1) kernels such as the box and the
Gaussian are applied as two small banded matrix products, one per image axis, which is several
times cheaper than FFTs on CPUs; any other kernel goes through FFTs. Both equal the direct
convolution (tests/test_losses.py).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from functools import partial
from importlib import resources

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from disbench.error import LossError, did_you_mean

BASES = ("mse", "bce", "l1")
LOSS_RE = re.compile(
    r"^(?P<base>[a-z0-9]+)(?:\+(?P<kernel>box_r\d+|gauss_r\d+|learnt_[a-z0-9_-]+?)_w(?P<weight>\d+(?:\.\d+)?(?:e[+-]?\d+)?))?$",
    re.ASCII,  # digits are 0-9 only, so a name reads back exactly as it was written
)
# Radius 255 gives a 511x511 kernel, far wider than any disbench image (64x64); a larger one
# changes nothing but the cost, and a huge one would exhaust memory building the kernel.
MAX_KERNEL_RADIUS = 255
BOXBLUR = "mse+box_r31_w3969"  # paper Eq. 11: MSE + 63^2 x MSE of 63x63 box-blurred images
GAUSSBLUR = "mse+gauss_r31_w3969"  # the MSc's Gaussian variant (sigma = 31/4)
LEARNT = "mse+learnt_xysquares_r31_w1"  # kernel learnt by disbench.analysis.learn_kernel
NAMED = (*BASES, BOXBLUR, GAUSSBLUR, LEARNT)  # what "did you mean" offers for a mistyped name
GRAMMAR = "'<base>' or '<base>+<kernel>_w<weight>' with base in {mse, bce, l1} and kernel box_r<R>, gauss_r<R> or learnt_<name> (e.g. 'mse+box_r31_w3969')"


# --- kernels ---------------------------------------------------------------------------------


def box_kernel(radius: int) -> torch.Tensor:
    """``(2r+1)^2`` box kernel with every entry ``1/(2r+1)^2`` (sums to one)."""
    if not isinstance(radius, int) or not 0 <= radius <= MAX_KERNEL_RADIUS:
        raise LossError(f"Kernel radius must be an int in [0, {MAX_KERNEL_RADIUS}], got {radius!r}.")
    size = 2 * radius + 1
    return torch.full((size, size), 1.0 / size**2, dtype=torch.float32)


def gaussian_kernel(radius: int, sigma: float | None = None) -> torch.Tensor:
    """``(2r+1)^2`` Gaussian with ``sigma = r / 4`` by default (truncated at 4 sigma), summing to one."""
    if not isinstance(radius, int) or not 1 <= radius <= MAX_KERNEL_RADIUS:
        raise LossError(f"Gaussian kernel radius must be an int in [1, {MAX_KERNEL_RADIUS}], got {radius!r}.")
    sigma = radius / 4 if sigma is None else float(sigma)
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    g = torch.exp(-(x**2) / (2 * sigma**2)) / (math.sqrt(2 * math.pi) * sigma)
    kernel = torch.outer(g, g)
    return (kernel / kernel.sum()).to(torch.float32)


def learnt_kernel(name: str) -> torch.Tensor:
    """A kernel shipped with disbench (``disbench/kernels/<name>.npy``), e.g. one from ``learn_kernel``."""
    folder = resources.files("disbench") / "kernels"
    path = folder / f"{name}.npy"
    if not path.is_file():
        shipped = sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".npy")) if folder.is_dir() else []
        raise LossError(f"No shipped kernel named {name!r}; available: {shipped or 'none'}.")
    with path.open("rb") as f:
        return torch.from_numpy(np.load(f).astype(np.float32))


def kernel_from_name(name: str) -> torch.Tensor:
    kind, _, arg = name.partition("_")
    if kind == "box":
        return box_kernel(int(arg[1:]))
    if kind == "gauss":
        return gaussian_kernel(int(arg[1:]))
    if kind == "learnt":
        return learnt_kernel(arg)
    raise LossError(f"Unknown kernel {name!r}; expected box_r<R>, gauss_r<R> or learnt_<name>.")


def check_kernel(kernel: torch.Tensor) -> torch.Tensor:
    """Validate a 2-D, odd-sized, finite kernel and return it as float32."""
    if not isinstance(kernel, torch.Tensor):
        kernel = torch.as_tensor(np.asarray(kernel))
    if kernel.ndim != 2:
        raise LossError(f"A kernel must be a 2-D tensor [kh, kw] applied to every channel, got shape {tuple(kernel.shape)}.")
    kh, kw = kernel.shape
    if kh % 2 == 0 or kw % 2 == 0:
        raise LossError(f"Kernel sides must be odd so that 'same' output is centred, got {kh}x{kw}.")
    kernel = kernel.to(torch.float32)
    if not bool(torch.isfinite(kernel).all()):
        raise LossError("Kernel contains NaN or inf.")
    return kernel


# --- convolution -----------------------------------------------------------------------------


def _fft_size(n: int) -> int:
    """Smallest length >= ``n`` with no prime factor above 5 (cheap for pocketfft and cuFFT)."""
    while True:
        m = n
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        if m == 1:
            return n
        n += 1


def _fft_shape(h: int, w: int, kh: int, kw: int) -> tuple[int, int]:
    """Circular convolution length per axis whose wrap-around never reaches the "same" window.

    The window is ``[k//2, k//2 + n)`` of the full linear convolution (length ``n + k - 1``);
    a circular length of ``n + k//2`` keeps it alias-free, about half the area of ``n + k - 1``.
    """
    return _fft_size(h + kh // 2), _fft_size(w + kw // 2)


def conv2d_fft(x: torch.Tensor, kernel: torch.Tensor, kernel_fft: torch.Tensor | None = None) -> torch.Tensor:
    """Channel-wise 2-D convolution of ``x [N, C, H, W]`` with ``kernel [kh, kw]``, zero padding,
    output cropped to ``[N, C, H, W]`` ("same"). Equals ``F.conv2d`` with the flipped kernel."""
    h, w = x.shape[-2:]
    kh, kw = kernel.shape
    fh, fw = _fft_shape(h, w, kh, kw)
    if kernel_fft is None:
        kernel_fft = torch.fft.rfft2(kernel.to(x.dtype), s=(fh, fw))
    full = torch.fft.irfft2(torch.fft.rfft2(x, s=(fh, fw)) * kernel_fft, s=(fh, fw))
    return full[..., kh // 2 : kh // 2 + h, kw // 2 : kw // 2 + w]


def separable_factors(kernel: torch.Tensor, tolerance: float = 1e-6) -> tuple[torch.Tensor, torch.Tensor] | None:
    """``(column, row)`` with ``kernel == outer(column, row)`` if the kernel has rank one (up to
    ``tolerance`` relative to its largest singular value), else ``None``."""
    u, sigma, vh = torch.linalg.svd(kernel.double())
    if len(sigma) > 1 and float(sigma[1]) > tolerance * float(sigma[0]):
        return None
    column, row = u[:, 0] * sigma[0].sqrt(), vh[0] * sigma[0].sqrt()
    if column.sum() < 0:  # the sign is arbitrary: keep both factors positive for positive kernels
        column, row = -column, -row
    return column, row


def convolution_matrix(taps: torch.Tensor, n: int) -> torch.Tensor:
    """``[n, n]`` matrix ``A`` with ``A @ v`` = the 1-D "same" convolution of ``v`` with ``taps``
    (odd length ``2r+1``, zero padding): ``A[i, j] = taps[i - j + r]`` inside the band, else 0."""
    radius = len(taps) // 2
    offset = torch.arange(n)[:, None] - torch.arange(n)[None, :] + radius
    inside = (offset >= 0) & (offset < len(taps))
    return torch.where(inside, taps[offset.clamp(0, len(taps) - 1)], torch.zeros((), dtype=taps.dtype))


def conv2d_separable(x: torch.Tensor, column_matrix: torch.Tensor, row_matrix: torch.Tensor) -> torch.Tensor:
    """Channel-wise "same" convolution with a rank-1 kernel, from its two convolution matrices
    (``[H, H]`` and ``[W, W]``): ``A_col @ x @ A_row^T`` for every image and channel."""
    return column_matrix @ x @ row_matrix.T


# --- losses ----------------------------------------------------------------------------------


def _mse(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return (x_hat - x).square().flatten(1).mean(dim=1)


def _l1(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return (x_hat - x).abs().flatten(1).mean(dim=1)


def _bce_logits(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(x_hat, x, reduction="none").flatten(1).mean(dim=1)


_BASE_FNS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {"mse": _mse, "l1": _l1, "bce": _bce_logits}


class ReconLoss(nn.Module):
    """Per-observation reconstruction loss ``(x_hat, x) -> [N]``.

    ``standardised`` says which input space the loss expects: standardised observations (MSE,
    L1; the paper's setting) or values in [0, 1] (BCE, whose decoder outputs logits).
    """

    def __init__(self, base: str) -> None:
        super().__init__()
        if base not in BASES:
            raise LossError(f"Unknown base loss {base!r}; expected one of {BASES}. Grammar: {GRAMMAR}.")
        self.base = base
        self.standardised = base != "bce"

    @property
    def name(self) -> str:
        return self.base

    def forward(self, x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        _check_pair(x_hat, x)
        return _BASE_FNS[self.base](x_hat, x)

    def distance_terms(self, x: torch.Tensor) -> list[tuple[float, torch.Tensor]] | None:
        """``[(weight, phi(x)), ...]`` with ``loss(a, b) == sum(weight * ||phi(a) - phi(b)||^2)`` when
        such maps exist (MSE and its blurred versions), else None.

        They let the analysis compute all pairwise distances of a traversal from ``f`` maps instead
        of ``f^2`` loss evaluations; the first map is ``x`` itself, so losses share it.
        """
        if self.base != "mse":
            return None
        return [(1.0 / x[0].numel(), x)]

    def extra_repr(self) -> str:
        return repr(self.name)


class AugmentedLoss(ReconLoss):
    """``base(x_hat, x) + weight * base(K*x_hat, K*x)`` with a fixed channel-wise kernel ``K``.

    For MSE and L1 the blurred term only needs ``K*(x_hat - x)``, one convolution per call.
    For BCE the kernel is applied to probabilities (``sigmoid(x_hat)``) and targets.
    """

    def __init__(self, base: str, kernel: torch.Tensor, weight: float, kernel_name: str | None = None) -> None:
        super().__init__(base)
        self.register_buffer("kernel", check_kernel(kernel), persistent=True)
        self.weight = float(weight)
        if not math.isfinite(self.weight) or self.weight < 0:
            raise LossError(f"Augmented loss weight must be finite and >= 0, got {weight!r}.")
        self.kernel_name = kernel_name
        self._cache: dict[tuple, Callable[[torch.Tensor], torch.Tensor]] = {}

    @property
    def name(self) -> str:
        kernel = self.kernel_name or f"custom{tuple(self.kernel.shape)}"
        return f"{self.base}+{kernel}_w{self.weight:g}"

    def blur(self, x: torch.Tensor) -> torch.Tensor:
        """The kernel applied to every channel of ``x``: two banded matrix products for a separable
        kernel, FFTs otherwise. The operator is built once per image size, device and dtype."""
        key = (*x.shape[-2:], x.device, x.dtype)
        operator = self._cache.get(key)
        if operator is None:
            operator = self._cache[key] = self._blur_operator(*x.shape[-2:], x.device, x.dtype)
        return operator(x)

    def _blur_operator(self, h: int, w: int, device: torch.device, dtype: torch.dtype) -> Callable[[torch.Tensor], torch.Tensor]:
        factors = separable_factors(self.kernel.detach().cpu())
        if factors is not None:
            column, row = (convolution_matrix(taps, n).to(device, dtype) for taps, n in zip(factors, (h, w)))
            return partial(conv2d_separable, column_matrix=column, row_matrix=row)
        kernel = self.kernel.to(device=device, dtype=dtype)
        return partial(conv2d_fft, kernel=kernel, kernel_fft=torch.fft.rfft2(kernel, s=_fft_shape(h, w, *kernel.shape)))

    @property
    def separable(self) -> bool:
        """Whether the kernel has rank one (and is applied as two matrix products)."""
        return separable_factors(self.kernel.detach().cpu()) is not None

    def forward(self, x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        _check_pair(x_hat, x)
        base = _BASE_FNS[self.base](x_hat, x)
        if self.base == "mse":
            blurred = self.blur(x_hat - x).square().flatten(1).mean(dim=1)
        elif self.base == "l1":
            blurred = self.blur(x_hat - x).abs().flatten(1).mean(dim=1)
        else:
            p = self.blur(torch.sigmoid(x_hat)).clamp(1e-6, 1 - 1e-6)
            blurred = F.binary_cross_entropy(p, self.blur(x).clamp(0, 1), reduction="none").flatten(1).mean(dim=1)
        return base + self.weight * blurred

    def distance_terms(self, x: torch.Tensor) -> list[tuple[float, torch.Tensor]] | None:
        if self.base != "mse":
            return None
        return [(1.0 / x[0].numel(), x), (self.weight / x[0].numel(), self.blur(x))]

    def _apply(self, fn, recurse=True):  # moving the module invalidates the cached matrices and FFTs
        self._cache = {}
        return super()._apply(fn, recurse)

    def _load_from_state_dict(self, *args, **kwargs):  # so does loading another kernel
        self._cache = {}
        return super()._load_from_state_dict(*args, **kwargs)


def _check_pair(x_hat: torch.Tensor, x: torch.Tensor) -> None:
    if x_hat.shape != x.shape:
        raise LossError(f"Reconstruction shape {tuple(x_hat.shape)} does not match target shape {tuple(x.shape)}.")
    if x.ndim != 4:
        raise LossError(f"Reconstruction losses take [N, C, H, W] batches, got shape {tuple(x.shape)}.")


def augmented(base: str, kernel: torch.Tensor | str, weight: float) -> AugmentedLoss:
    """Build ``base + weight * base(K*., K*.)`` from a kernel tensor or a kernel name."""
    if isinstance(kernel, str):
        return AugmentedLoss(base, kernel_from_name(kernel), weight, kernel_name=kernel)
    return AugmentedLoss(base, kernel, weight)


def make_loss(name: str | ReconLoss) -> ReconLoss:
    """Parse a loss name (see the module docstring) into a loss module."""
    if isinstance(name, ReconLoss):
        return name
    if not isinstance(name, str):
        raise LossError(f"A loss must be a name or a ReconLoss, got {type(name).__name__}. Grammar: {GRAMMAR}.")
    match = LOSS_RE.fullmatch(name.strip())
    if match is None or match["base"] not in BASES:
        raise LossError(f"Unknown reconstruction loss {name!r}.{did_you_mean(name.strip(), NAMED, n=2)} Valid forms: {GRAMMAR}.")
    if match["kernel"] is None:
        return ReconLoss(match["base"])
    return augmented(match["base"], match["kernel"], float(match["weight"]))
