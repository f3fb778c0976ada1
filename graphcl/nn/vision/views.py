"""Seeded random views of grey-scale image batches, on torch tensors only
(no torchvision): resized crop, horizontal flip, intensity jitter, blur."""
from __future__ import annotations

import math
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def as_float_images(images: Tensor, name: str = "images") -> Tensor:
    """``[B, 28, 28]`` uint8 or ``[B, C, H, W]`` float in ``[0, 1]`` as float ``[B, C, H, W]``."""
    if not isinstance(images, Tensor):
        raise TypeError(f"{name} must be a tensor, got {type(images).__name__}")
    if images.dtype == torch.uint8:
        if images.dim() == 3:
            images = images.unsqueeze(1)
        if images.dim() != 4:
            raise ValueError(f"{name} (uint8) must be [B, H, W] or [B, C, H, W], got "
                             f"{list(images.shape)}")
        return images.float() / 255.0
    if not images.is_floating_point():
        raise TypeError(f"{name} must be uint8 or floating point, got {images.dtype}")
    if images.dim() != 4:
        raise ValueError(f"{name} (float) must be [B, C, H, W], got {list(images.shape)}")
    return images


class RandomViews(nn.Module):
    r"""One random view per image, all images of a batch at once (one
    ``grid_sample`` and one grouped convolution), reproducible from a
    ``torch.Generator``.

    In order, as SimCLR/VICReg: random resized crop (area fraction in
    ``crop_scale``, aspect ratio in ``crop_ratio``, bilinear resampling back
    to the input size) with a horizontal flip of probability ``flip_p``
    folded into the same affine map; with probability ``jitter_p``,
    brightness and contrast factors in :math:`[1 - j, 1 + j]`; with
    probability ``blur_p``, a Gaussian blur with :math:`\sigma` in
    ``blur_sigma`` (kernel ``blur_kernel``, reflect padding); clamp to ``[0, 1]``.

    Args:
        crop_scale (float, float): default ``(0.5, 1.0)`` (SimCLR's ``0.08`` lower
            bound removes most of a 28 px X-ray).
        crop_ratio (float, float): default ``(3/4, 4/3)``.
        flip_p (float): default ``0.5``.
        jitter_p (float): default ``0.8``.
        brightness, contrast (float): :math:`j` (default ``0.4`` each).
        blur_p (float): default ``0.5``.
        blur_sigma (float, float): default ``(0.1, 1.0)`` pixels.
        blur_kernel (int): odd, default ``5``.

    Shapes:
        - images: ``[B, H, W]`` uint8 or ``[B, C, H, W]`` float in ``[0, 1]``
        - output: ``[B, C, H, W]`` float in ``[0, 1]``
    """

    def __init__(self, crop_scale: Tuple[float, float] = (0.5, 1.0),
                 crop_ratio: Tuple[float, float] = (3 / 4, 4 / 3), flip_p: float = 0.5,
                 jitter_p: float = 0.8, brightness: float = 0.4, contrast: float = 0.4,
                 blur_p: float = 0.5, blur_sigma: Tuple[float, float] = (0.1, 1.0),
                 blur_kernel: int = 5):
        super().__init__()
        if not 0 < crop_scale[0] <= crop_scale[1] <= 1:
            raise ValueError(f"crop_scale must satisfy 0 < low <= high <= 1, got {crop_scale}")
        if not 0 < crop_ratio[0] <= crop_ratio[1]:
            raise ValueError(f"crop_ratio must satisfy 0 < low <= high, got {crop_ratio}")
        for name, p in (("flip_p", flip_p), ("jitter_p", jitter_p), ("blur_p", blur_p)):
            if not 0 <= p <= 1:
                raise ValueError(f"{name} must be a probability in [0, 1], got {p}")
        if blur_kernel < 1 or blur_kernel % 2 == 0:
            raise ValueError(f"blur_kernel must be a positive odd int, got {blur_kernel}")
        self.crop_scale, self.crop_ratio, self.flip_p = crop_scale, crop_ratio, flip_p
        self.jitter_p, self.brightness, self.contrast = jitter_p, brightness, contrast
        self.blur_p, self.blur_sigma, self.blur_kernel = blur_p, blur_sigma, blur_kernel

    def forward(self, images: Tensor, generator: Optional[torch.Generator] = None) -> Tensor:
        x = as_float_images(images)
        b = x.size(0)

        def uniform(low, high, size=(b,)):
            u = torch.rand(size, generator=generator, device=generator.device
                           if generator is not None else "cpu")
            return (low + (high - low) * u).to(x.device, x.dtype)

        x = self._crop_and_flip(x, uniform)
        x = self._jitter(x, uniform)
        x = self._blur(x, uniform)
        return x.clamp(0.0, 1.0)

    def _crop_and_flip(self, x: Tensor, uniform) -> Tensor:
        area = uniform(*self.crop_scale)
        log_ratio = uniform(math.log(self.crop_ratio[0]), math.log(self.crop_ratio[1]))
        width = torch.sqrt(area * torch.exp(log_ratio)).clamp(max=1.0)   # fraction of the side
        height = torch.sqrt(area / torch.exp(log_ratio)).clamp(max=1.0)
        cx = (1 - width) * uniform(-1.0, 1.0)                            # centre in [-1, 1]
        cy = (1 - height) * uniform(-1.0, 1.0)
        flip = torch.where(uniform(0.0, 1.0) < self.flip_p, -1.0, 1.0).to(x.dtype)
        theta = torch.zeros(x.size(0), 2, 3, dtype=x.dtype, device=x.device)
        theta[:, 0, 0], theta[:, 0, 2] = width * flip, cx
        theta[:, 1, 1], theta[:, 1, 2] = height, cy
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

    def _jitter(self, x: Tensor, uniform) -> Tensor:
        apply = (uniform(0.0, 1.0) < self.jitter_p).view(-1, 1, 1, 1)
        bright = uniform(1 - self.brightness, 1 + self.brightness).view(-1, 1, 1, 1)
        contrast = uniform(1 - self.contrast, 1 + self.contrast).view(-1, 1, 1, 1)
        y = (x * bright).clamp(0.0, 1.0)
        mean = y.mean((1, 2, 3), keepdim=True)
        y = ((y - mean) * contrast + mean).clamp(0.0, 1.0)
        return torch.where(apply, y, x)

    def _blur(self, x: Tensor, uniform) -> Tensor:
        b, c, h, w = x.shape
        apply = (uniform(0.0, 1.0) < self.blur_p).view(-1, 1, 1, 1)
        sigma = uniform(*self.blur_sigma).view(-1, 1)
        r = self.blur_kernel // 2
        offsets = torch.arange(-r, r + 1, dtype=x.dtype, device=x.device).view(1, -1)
        kernel = torch.exp(-offsets ** 2 / (2 * sigma ** 2))
        kernel = (kernel / kernel.sum(1, keepdim=True)).repeat_interleave(c, 0)   # [B*C, K]
        y = x.reshape(1, b * c, h, w)
        y = F.conv2d(F.pad(y, (r, r, 0, 0), mode="reflect"), kernel.view(b * c, 1, 1, -1),
                     groups=b * c)
        y = F.conv2d(F.pad(y, (0, 0, r, r), mode="reflect"), kernel.view(b * c, 1, -1, 1),
                     groups=b * c)
        return torch.where(apply, y.view(b, c, h, w), x)
