"""Image-to-image CNNs for post-processing a baseline reconstruction: RED-CNN and DnCNN.

Both map (B, 1, H, W) → (B, 1, H, W) for any H, W, and expose ``options`` (the constructor arguments) so a model
card records exactly what to rebuild.
"""
from __future__ import annotations

from torch import Tensor, nn


class RedCNN(nn.Module):
    """RED-CNN (Chen et al., IEEE TMI 2017): a residual encoder-decoder for low-dose CT.

    Five 5×5 convolutions without padding, five mirrored transposed convolutions, and three shortcuts: the input to
    the output, the second conv's output to the third transposed conv's, the fourth conv's to the first transposed
    conv's; ReLU after every layer (after the sum where a shortcut joins). The paper uses 96 filters.
    """

    def __init__(self, filters: int = 96, kernel_size: int = 5):
        super().__init__()
        self.options = {"filters": filters, "kernel_size": kernel_size}
        k = kernel_size
        self.conv1 = nn.Conv2d(1, filters, k)
        self.conv2, self.conv3, self.conv4, self.conv5 = (nn.Conv2d(filters, filters, k) for _ in range(4))
        self.tconv1, self.tconv2, self.tconv3, self.tconv4 = (nn.ConvTranspose2d(filters, filters, k)
                                                              for _ in range(4))
        self.tconv5 = nn.ConvTranspose2d(filters, 1, k)
        self.relu = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        shortcut_1 = x
        out = self.relu(self.conv2(self.relu(self.conv1(x))))
        shortcut_2 = out
        out = self.relu(self.conv4(self.relu(self.conv3(out))))
        shortcut_3 = out
        out = self.tconv1(self.relu(self.conv5(out))) + shortcut_3
        out = self.tconv3(self.relu(self.tconv2(self.relu(out)))) + shortcut_2
        out = self.tconv5(self.relu(self.tconv4(self.relu(out)))) + shortcut_1
        return self.relu(out)


class DnCNN(nn.Module):
    """DnCNN (Zhang et al., IEEE TIP 2017): ``depth`` 3×3 convolutions (batch norm + ReLU between) predict the
    artefact, which is subtracted from the input. The paper uses depth 17 and 64 channels."""

    def __init__(self, depth: int = 17, channels: int = 64):
        super().__init__()
        if depth < 3:
            raise ValueError(f"DnCNN needs depth ≥ 3, got {depth}")
        self.options = {"depth": depth, "channels": channels}
        layers: list[nn.Module] = [nn.Conv2d(1, channels, 3, padding=1), nn.ReLU()]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels), nn.ReLU()]
        layers.append(nn.Conv2d(channels, 1, 3, padding=1))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x - self.layers(x)
