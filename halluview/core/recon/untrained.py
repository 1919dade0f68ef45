"""Un-trained reconstruction: fit a small randomly initialised decoder network to one measurement.

The image is parametrised as the output of a Deep Decoder (Heckel & Hand, ICLR 2019) / ConvDecoder (Darestani &
Heckel, ICML 2021) G_θ(z) with a fixed random input z, and θ is fitted to the measurement alone,
min_θ ||A G_θ(z) - y||², for a fixed number of Adam steps. No training data are involved: the network's
architecture (its width, depth and upsampling) and the number of steps are the regulariser, so they are tuned
settings (:data:`TUNED_MRI_128`).
"""
from __future__ import annotations

import copy
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..physics.base import Operator

# Stabilises the per-channel normalisation of an image with a nearly constant channel.
_NORM_EPS = 1e-5

# Chosen by mean SSIM on 8 validation phantoms (seeds from 200 000) at 128×128, single-coil 4× random mask:
# 0.72 against 0.47 for zero-filled, about 8 s per image on one CPU thread. Narrower decoders score lower
# (16 channels: 0.68) and wider ones cost more time for little (32 channels: 0.73 in 11 s). The learning rate decays
# geometrically by lr_decay over the fit; a constant or faster-decaying rate scored lower. At 64×64, levels=4 with
# 32 channels and 250 steps beats zero-filled (24 channels are less robust to the seed there). Sparse-view CT
# (30 views) needs more steps: 400 score below FBP in SSIM (0.62 against 0.64), 1000 above (0.72 against 0.62).
TUNED_MRI_128 = {"channels": 24, "levels": 5, "iterations": 400, "lr": 0.03, "lr_decay": 0.1}


def _matmul_1x1(weight: Tensor, x: Tensor) -> Tensor:
    """1×1 convolution of one feature map (1, C_in, H, W) by (C_out, C_in) as a plain matrix product."""
    return torch.mm(weight, x.reshape(x.shape[1], -1)).reshape(1, weight.shape[0], *x.shape[-2:])


class Decoder(nn.Module):
    """G_θ(z): blocks of conv → bilinear ×2 upsampling → ReLU → channel normalisation, then a 1×1 conv.

    The input z is (1, channels, h, w) with h = ceil(H / 2^levels). ``levels`` blocks upsample, the last of them
    to exactly (H, W), and ``full_res_blocks`` more blocks without upsampling follow at full resolution, as in the
    Deep Decoder: without it the output is a mix of upsampled features and fits sharp edges poorly (at 64×64, 4×
    MRI, one validation phantom scored SSIM 0.45 without it and 0.68 with it). The normalisation is per channel
    over the image (batch-norm on a batch of one, as in the Deep Decoder) with a learned scale and shift; the block
    convolutions have no bias, which the normalisation would cancel.

    Parameters
    ----------
    channels : int
        Feature channels of every block (the network's width).
    levels : int
        Number of upsampling blocks (the depth).
    out_channels : int
        2 (real, imaginary) for complex images, 1 for real ones.
    image_size : (int, int)
        Output (H, W).
    kernel_size : int
        Spatial size of the block convolutions: 1 is the Deep Decoder, 3 the ConvDecoder (reflect padding).
    full_res_blocks : int
        Blocks after the last upsampling.
    """

    def __init__(self, channels: int, levels: int, out_channels: int, image_size: tuple[int, int],
                 kernel_size: int = 1, full_res_blocks: int = 1) -> None:
        super().__init__()
        if channels < 1 or levels < 1 or full_res_blocks < 0 or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError("channels and levels must be >= 1, full_res_blocks >= 0 and kernel_size odd")
        height, width = image_size
        self.sizes = [(math.ceil(height / 2 ** (levels - i)), math.ceil(width / 2 ** (levels - i)))
                      for i in range(levels)] + [(height, width)] * (1 + full_res_blocks)
        self.channels, self.kernel_size = channels, kernel_size
        blocks = levels + full_res_blocks
        # Bare parameters rather than nn.Conv2d, whose constructor would draw an initialisation from the global RNG.
        self.weights = nn.ParameterList(nn.Parameter(torch.empty(channels, channels, kernel_size, kernel_size))
                                        for _ in range(blocks))
        self.scales = nn.ParameterList(nn.Parameter(torch.ones(channels)) for _ in range(blocks))
        self.shifts = nn.ParameterList(nn.Parameter(torch.zeros(channels)) for _ in range(blocks))
        self.out_weight = nn.Parameter(torch.empty(out_channels, channels))
        self.out_bias = nn.Parameter(torch.empty(out_channels))

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        """Shape of z: (1, channels, h, w)."""
        return (1, self.channels, *self.sizes[0])

    def reset_parameters(self, generator: torch.Generator) -> None:
        """PyTorch's default convolution initialisation (uniform ±1/sqrt(fan_in)) drawn from ``generator``."""
        block_bound = 1.0 / math.sqrt(self.channels * self.kernel_size ** 2)
        out_bound = 1.0 / math.sqrt(self.channels)
        bounds = [block_bound] * len(self.weights) + [out_bound, out_bound]
        with torch.no_grad():
            for param, bound in zip([*self.weights, self.out_weight, self.out_bias], bounds):
                param.copy_((2 * torch.rand(param.shape, generator=generator) - 1) * bound)
            for scale, shift in zip(self.scales, self.shifts):
                scale.fill_(1.0)
                shift.zero_()

    def forward(self, z: Tensor) -> Tensor:
        """z (1, channels, h, w) -> image channels (1, out_channels, H, W)."""
        x = z
        last = len(self.weights) - 1
        for level, (weight, scale, shift, size) in enumerate(zip(self.weights, self.scales, self.shifts,
                                                                 self.sizes[1:])):
            if self.kernel_size > 1:
                x = F.conv2d(F.pad(x, [self.kernel_size // 2] * 4, mode="reflect"), weight)
            else:  # a matrix product: conv2d's 1×1 path on the CPU copies the input first
                x = _matmul_1x1(weight[:, :, 0, 0], x)
            if tuple(x.shape[-2:]) != size:
                x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
            x = torch.relu(x)
            # (torch.var_mean is about 50 times slower than this on the CPU.)
            inv_count = 1.0 / (size[0] * size[1])
            x = x - x.sum(dim=(-2, -1), keepdim=True) * inv_count
            gain = torch.rsqrt(torch.sum(x * x, dim=(-2, -1)) * inv_count + _NORM_EPS) * scale  # (1, channels)
            if level < last:
                x = x * gain[..., None, None] + shift[:, None, None]
        # The last normalisation is per-channel affine, so it is folded into the 1×1 output convolution: the same
        # function without two passes over the full-resolution features.
        bias = self.out_bias + torch.mv(self.out_weight, shift)
        return _matmul_1x1(self.out_weight * gain, x) + bias[:, None, None]


FitCallback = Callable[[int, int, Tensor], None]


def complex_magnitude(image: Tensor) -> Tensor:
    """|x| for a complex image, x itself for a real one; its gradient at x = 0 is 0, not NaN."""
    return torch.linalg.vector_norm(torch.view_as_real(image), dim=-1) if image.is_complex() else image


class DeepDecoderRecon(nn.Module):
    """f(y) = s · |G_θ*(z)|, θ* after ``iterations`` Adam steps on ||A G_θ(z) - y / s||² from a seeded start.

    Each measurement of a batch gets its own decoder, freshly initialised from the same seed, so an image's
    reconstruction does not depend on the rest of the batch. The scale s is the root-mean-square of the
    baseline reconstruction (zero-filled, FBP) of that measurement, so the fit sees unit-scale data and
    f(c y) = c f(y) for c > 0 (up to float rounding): the settings do not depend on the intensity units.

    Differentiability. When ``y.requires_grad`` and grad mode is on, the whole fit is unrolled: each Adam step
    is a differentiable function of the previous parameters (``torch.autograd.grad(..., create_graph=True)``
    through ``torch.func.functional_call``), so autograd returns d f(y) / dy through the optimisation, as a
    direct attack needs. The graph then holds every step's forward and backward activations, so memory grows
    linearly with ``iterations`` and with the image area × ``channels``: about 21 MB per step at 128×128 with 24
    channels, 8.5 GB for :data:`TUNED_MRI_128`, whose differentiable forward + backward takes about 50 s on one
    CPU thread against 8 s for the cheap fit. Otherwise the cheap fit runs the same arithmetic (the same output)
    without keeping a graph between steps. f is only piecewise smooth (ReLU, the magnitude) and, through the
    fit, varies fast with y: the gradient is exact locally, finite differences agree only for small steps.

    Adam is implemented functionally with the epsilon inside the square root, θ ← θ - lr m̂ / sqrt(v̂ + ε²), so the
    update stays differentiable where a gradient entry is exactly zero (sqrt'(0) would give NaN).

    Parameters
    ----------
    op : Operator
        Forward operator A.
    image_size : int or (int, int)
        The reconstructed image's size: N (an N × N image) or (H, W).
    channels : int
        Decoder width.
    levels : int
        Decoder depth (upsampling blocks); the input z is ceil(N / 2^levels) pixels wide.
    iterations : int
        Adam steps: the early stop that regularises the fit.
    lr : float
        Adam's initial learning rate.
    seed : int
        Seeds the initialisation of θ and z (a private generator: the global RNG is neither used nor changed).
    name : str
        Model name reported by :meth:`config`.
    kernel_size : int
        1: Deep Decoder (1×1 convolutions); 3: ConvDecoder.
    input_scale : float
        z is drawn uniformly from [0, input_scale) (the Deep Decoder's input).
    full_res_blocks : int
        Decoder blocks after the last upsampling.
    lr_decay : float
        The learning rate decays geometrically from ``lr`` at the first step to ``lr · lr_decay`` at the last.
    betas : (float, float)
        Adam's moment decay rates.
    eps : float
        Adam's epsilon (inside the square root, see above).
    """

    def __init__(self, op: Operator, image_size: int | tuple[int, int], channels: int, levels: int, iterations: int,
                 lr: float, seed: int = 0, name: str = "deep-decoder", kernel_size: int = 1, input_scale: float = 0.1,
                 full_res_blocks: int = 1, lr_decay: float = 0.1, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        super().__init__()
        shape = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        if iterations < 0 or lr <= 0 or lr_decay <= 0 or min(shape) < 1:
            raise ValueError("iterations must be >= 0, lr and lr_decay > 0 and image_size >= 1")
        self.op = op
        self.image_shape = (int(shape[0]), int(shape[1]))
        self.channels, self.levels = int(channels), int(levels)
        self.iterations, self.lr, self.seed, self.name = int(iterations), float(lr), int(seed), name
        self.kernel_size, self.full_res_blocks = int(kernel_size), int(full_res_blocks)
        self.input_scale, self.lr_decay = float(input_scale), float(lr_decay)
        self.betas, self.eps = (float(betas[0]), float(betas[1])), float(eps)
        out_channels = 2 if op.complex_image else 1
        self.decoder = Decoder(self.channels, self.levels, out_channels, self.image_shape,
                               self.kernel_size, self.full_res_blocks)
        self.initial_state()  # the module's parameters hold θ0 (they are only a template: each fit starts afresh)

    def initial_state(self, dtype: torch.dtype = torch.float32,
                      device: torch.device | str = "cpu") -> tuple[Tensor, Tensor]:
        """The seeded starting parameters θ0, flattened (P,), and the fixed input z, drawn in float32 on the CPU."""
        generator = torch.Generator(device="cpu").manual_seed(self.seed)
        self.decoder.reset_parameters(generator)
        z = self.input_scale * torch.rand(self.decoder.input_shape, generator=generator)
        theta = torch.cat([param.detach().reshape(-1) for param in self.decoder.parameters()])
        return theta.to(device=device, dtype=dtype), z.to(device=device, dtype=dtype)

    def unflatten(self, theta: Tensor) -> dict[str, Tensor]:
        """The decoder's parameters by name as views of the flat vector θ (P,)."""
        named = list(self.decoder.named_parameters())
        chunks = torch.split(theta, [param.numel() for _, param in named])
        return {name: chunk.view(param.shape) for (name, param), chunk in zip(named, chunks)}

    def image(self, theta: Tensor, z: Tensor) -> Tensor:
        """G_θ(z) as an image (1, H, W), complex when the operator's image is; θ flat (P,)."""
        channels = torch.func.functional_call(self.decoder, self.unflatten(theta), (z,))
        if self.op.complex_image:
            return torch.complex(channels[:, 0], channels[:, 1])
        return channels[:, 0]

    def scale(self, y: Tensor) -> Tensor:
        """s per measurement (B,): the RMS of the baseline reconstruction (1 where that is 0)."""
        baseline = self.op.baseline(y)
        if tuple(baseline.shape[-2:]) != self.image_shape:
            raise ValueError(f"the operator's images are {tuple(baseline.shape[-2:])}, "
                             f"this reconstructor makes {self.image_shape[0]}×{self.image_shape[1]}")
        rms = torch.sqrt(torch.mean(baseline.reshape(len(baseline), -1) ** 2, dim=1))
        return torch.where(rms > 0, rms, torch.ones_like(rms))

    def forward(self, y: Tensor) -> Tensor:
        """Measurement batch -> real image batch (B, H, W) (magnitude for complex images)."""
        return complex_magnitude(self.solve(y))

    def solve(self, y: Tensor, callback: FitCallback | None = None, every: int = 1) -> Tensor:
        """The fitted decoder outputs s · G_θ*(z) themselves, (B, H, W), complex when the operator's image is.

        ``callback(step, index, image)`` sees the detached s · G_θ(z) (1, H, W) of measurement ``index`` after
        every ``every``-th step from step 0, and after the last (for validation curves).
        """
        differentiable = torch.is_grad_enabled() and y.requires_grad
        if not differentiable:
            y = y.detach()
        scales = self.scale(y)
        outputs = []
        for index in range(len(y)):
            def item_callback(step: int, image: Tensor, i: int = index) -> None:
                callback(step, i, image * scales[i].detach())

            image = self._fit_one(y[index:index + 1] / scales[index], scales.dtype, differentiable,
                                  None if callback is None else item_callback, every)
            outputs.append(image * scales[index])
        return torch.cat(outputs)

    def _fit_one(self, target: Tensor, dtype: torch.dtype, differentiable: bool,
                 callback: Callable[[int, Tensor], None] | None, every: int = 1) -> Tensor:
        """G_θ(z) (1, H, W) after the Adam steps on ||A G_θ(z) - target||² (target already divided by s)."""
        theta, z = self.initial_state(dtype, target.device)
        if differentiable:  # θ0 must be part of the graph for the first step's gradient
            theta.requires_grad_(True)
        # One flat parameter vector: the Adam update is a handful of tensor operations instead of a handful per
        # parameter tensor, which matters at small image sizes where the step is dominated by per-op overhead.
        first, second = torch.zeros_like(theta), torch.zeros_like(theta)
        beta1, beta2 = self.betas
        with torch.enable_grad():
            for step in range(1, self.iterations + 1):
                if not differentiable:
                    theta = theta.detach().requires_grad_(True)
                if callback is not None and (step - 1) % every == 0:
                    with torch.no_grad():
                        callback(step - 1, self.image(theta, z))
                residual = self.op(self.image(theta, z)) - target
                if residual.is_complex():  # not abs(): its double backward is NaN at the unmeasured zeros
                    residual = torch.view_as_real(residual)
                (grad,) = torch.autograd.grad(torch.sum(residual ** 2), theta, create_graph=differentiable)
                with torch.set_grad_enabled(differentiable):
                    first = beta1 * first + (1.0 - beta1) * grad
                    second = beta2 * second + (1.0 - beta2) * grad * grad
                    denom = torch.sqrt(second / (1.0 - beta2 ** step) + self.eps ** 2)
                    theta = theta - self.step_size(step) * (first / (1.0 - beta1 ** step)) / denom
        with torch.set_grad_enabled(differentiable):
            image = self.image(theta, z)
        if callback is not None:
            callback(self.iterations, image.detach())
        return image

    def with_seed(self, seed: int) -> DeepDecoderRecon:
        """The same reconstruction fitted from another random start (θ0 and z): refits of the same measurement
        from several seeds measure its own variation, against which an attack's effect is judged."""
        other = copy.copy(self)  # shares the operator and the decoder template, which every fit re-initialises
        other.seed = int(seed)
        return other

    def step_size(self, step: int) -> float:
        """Adam's learning rate at step 1 ... ``iterations``: ``lr``, decaying geometrically to ``lr · lr_decay``."""
        if self.iterations < 2:
            return self.lr
        return self.lr * self.lr_decay ** ((step - 1) / (self.iterations - 1))

    def config(self) -> dict:
        """JSON-serialisable settings."""
        return {"name": self.name, "arch": "deep-decoder", "image_size": list(self.image_shape),
                "channels": self.channels, "levels": self.levels, "full_res_blocks": self.full_res_blocks,
                "kernel_size": self.kernel_size, "iterations": self.iterations, "lr": self.lr,
                "lr_decay": self.lr_decay, "seed": self.seed, "input_scale": self.input_scale,
                "betas": list(self.betas), "eps": self.eps}
