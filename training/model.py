"""NN4-class networks for 96 x 96 faces, 128-D L2-normalised out.

`inception` is OpenFace nn4.small2's shape (the paper's NN4 family): dense 1x1 / 3x3 branches (no
depthwise: those ran 3-4x slower per FLOP on this CPU), the 5x5 branch factorised into two 3x3s.
`resnet` spends the same budget (~3M parameters, ~250M multiply-adds) on plain 3x3 basic blocks,
which this CPU runs about twice as fast per image (an ablation, see README).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class ModelConfig:
    width: float = 1.0  # channel multiplier
    embedding: int = 128
    arch: str = "inception"  # or "resnet"


def build(cfg: ModelConfig) -> nn.Module:
    if cfg.arch == "inception":
        return FaceNet(cfg)
    if cfg.arch == "resnet":
        return ResNetFace(cfg)
    raise ValueError(f"unknown architecture {cfg.arch!r} (inception or resnet)")


def conv_bn(cin: int, cout: int, k: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, k // 2, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class Inception(nn.Module):
    """Branches: 1x1; 1x1 -> 3x3; 1x1 -> 3x3 -> 3x3 (the 5x5); pool -> 1x1. With stride 2 the
    1x1 branch is dropped and the pool branch passes through (NN4's 3c / 4e)."""

    def __init__(
        self, cin: int, b1: int, r3: int, b3: int, r5: int, b5: int, bp: int, stride: int = 1
    ) -> None:
        super().__init__()
        self.stride = stride
        self.b1 = conv_bn(cin, b1, 1) if b1 and stride == 1 else None
        self.b3 = nn.Sequential(conv_bn(cin, r3, 1), conv_bn(r3, b3, 3, stride))
        self.b5 = nn.Sequential(conv_bn(cin, r5, 1), conv_bn(r5, b5, 3), conv_bn(b5, b5, 3, stride))
        self.bp = conv_bn(cin, bp, 1) if bp else None
        self.out_channels = (b1 if self.b1 else 0) + b3 + b5 + (bp if bp else cin)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [self.b3(x), self.b5(x)]
        if self.b1 is not None:
            outs.insert(0, self.b1(x))
        pooled = F.max_pool2d(x, 3, self.stride, 1) if self.stride > 1 else F.max_pool2d(x, 3, 1, 1)
        outs.append(self.bp(pooled) if self.bp is not None else pooled)
        return torch.cat(outs, 1)


class FaceNet(nn.Module):
    def __init__(self, cfg: ModelConfig = ModelConfig()) -> None:
        super().__init__()
        self.cfg = cfg

        def c(n: int) -> int:
            return max(8, int(round(n * cfg.width / 8)) * 8)

        self.stem = nn.Sequential(
            conv_bn(3, c(32), 3, 2),  # 48
            conv_bn(c(32), c(64), 3),
            nn.MaxPool2d(3, 2, 1),  # 24
            conv_bn(c(64), c(64), 1),
            conv_bn(c(64), c(160), 3),
            nn.MaxPool2d(3, 2, 1),  # 12
        )
        blocks = []
        cin = c(160)
        for spec in [
            (c(64), c(96), c(128), c(16), c(32), c(32), 1),  # 3a
            (c(64), c(96), c(128), c(32), c(64), c(64), 1),  # 3b
            (0, c(128), c(256), c(32), c(64), 0, 2),  # 3c -> 6
            (c(192), c(96), c(192), c(32), c(64), c(128), 1),  # 4a
            (0, c(160), c(256), c(64), c(128), 0, 2),  # 4e -> 3
            (c(256), c(96), c(384), 0, 0, c(96), 1),  # 5a
            (c(256), c(96), c(384), 0, 0, c(96), 1),  # 5b
        ]:
            b1, r3, b3, r5, b5, bp, s = spec
            block = (
                Inception(cin, b1, r3, b3, r5, b5, bp, s) if r5 else _NoFive(cin, b1, r3, b3, bp)
            )
            blocks.append(block)
            cin = block.out_channels
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(cin, cfg.embedding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.stem(x))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return F.normalize(self.head(x), dim=1)


class _NoFive(nn.Module):
    """NN4's 5a/5b: 1x1, 1x1 -> 3x3, pool -> 1x1 (no 5x5 branch at 3x3 resolution)."""

    def __init__(self, cin: int, b1: int, r3: int, b3: int, bp: int) -> None:
        super().__init__()
        self.b1 = conv_bn(cin, b1, 1)
        self.b3 = nn.Sequential(conv_bn(cin, r3, 1), conv_bn(r3, b3, 3))
        self.bp = conv_bn(cin, bp, 1)
        self.out_channels = b1 + b3 + bp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b1(x), self.b3(x), self.bp(F.max_pool2d(x, 3, 1, 1))], 1)


class Basic(nn.Module):
    """Two 3x3 convolutions and a shortcut (1x1 with stride where the shape changes)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv_bn(cin, cout, 3, stride),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
            nn.BatchNorm2d(cout),
        )
        self.short = (
            nn.Identity()
            if stride == 1 and cin == cout
            else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + self.short(x), inplace=True)


class ResNetFace(nn.Module):
    """Stem to 24 x 24, then stages of 64 / 128 / 256 channels at 24 / 12 / 6 px."""

    def __init__(self, cfg: ModelConfig = ModelConfig(arch="resnet")) -> None:
        super().__init__()
        self.cfg = cfg

        def c(n: int) -> int:
            return max(8, int(round(n * cfg.width / 8)) * 8)

        self.stem = nn.Sequential(conv_bn(3, c(32), 3, 2), conv_bn(c(32), c(64), 3, 2))
        layers: list[nn.Module] = []
        cin = c(64)
        for cout, stride in ((c(64), 1), (c(128), 2), (c(256), 2)):
            layers += [Basic(cin, cout, stride), Basic(cout, cout, 1)]
            cin = cout
        self.blocks = nn.Sequential(*layers, conv_bn(cin, c(512), 1))
        self.head = nn.Linear(c(512), cfg.embedding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.stem(x))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return F.normalize(self.head(x), dim=1)


class FlipAveraged(nn.Module):
    """A face and its mirror image embedded together: the normalised sum (twice the cost)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net
        self.cfg = net.cfg

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.net(x) + self.net(torch.flip(x, dims=[3])), dim=1)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def forward_once(
    model: nn.Module,
    kinds: tuple[type, ...],
    hook: Callable[[nn.Module, tuple, torch.Tensor], None],
    size: int = 96,
) -> None:
    """One eval-mode pass of a blank face with `hook(module, inputs, output)` on every module
    of `kinds`, in the order forward() calls them; the model's mode is restored."""
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, kinds)]
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, 3, size, size))
    finally:
        model.train(was)
        for h in handles:
            h.remove()


def count_macs(model: nn.Module, size: int = 96) -> int:
    """Multiply-adds of one forward pass (convolutions and linear layers)."""
    total = 0

    def hook(mod: nn.Module, inp: tuple, out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(mod, nn.Conv2d):
            k = mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups
            total += out.numel() * k
        elif isinstance(mod, nn.Linear):
            total += mod.in_features * mod.out_features

    forward_once(model, (nn.Conv2d, nn.Linear), hook, size)
    return total


if __name__ == "__main__":
    for arch in ("inception", "resnet"):
        m = build(ModelConfig(arch=arch))
        print(
            f"{arch}: {count_params(m) / 1e6:.2f}M parameters, "
            f"{count_macs(m) / 1e6:.0f}M multiply-adds per 96x96 face"
        )
