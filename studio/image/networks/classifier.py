"""The reference Fashion-MNIST classifier whose features and predictions score image generators."""

from __future__ import annotations

import torch
from torch import nn

FEATURE_DIM = 128


class ReferenceClassifier(nn.Module):
    """image [N, 1, 28, 28] in [-1, 1] -> (features [N, 128], logits [N, 10])."""

    def __init__(self, classes: int = 10):
        super().__init__()

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())

        self.body = nn.Sequential(
            block(1, 32), block(32, 32), nn.MaxPool2d(2),  # (N, 32, 14, 14)
            block(32, 64), block(64, 64), nn.MaxPool2d(2),  # (N, 64, 7, 7)
            nn.Flatten(), nn.Dropout(0.3),
            nn.Linear(64 * 7 * 7, FEATURE_DIM), nn.BatchNorm1d(FEATURE_DIM), nn.ReLU(),  # (N, 128)
        )
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(FEATURE_DIM, classes))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x)
        return features, self.head(features)


class Uint8Classifier(nn.Module):
    """Export wrapper: takes generator samples as served (uint8 [N, 28, 28, 1])."""

    def __init__(self, net: ReferenceClassifier):
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = image.permute(0, 3, 1, 2).float() / 127.5 - 1.0  # (N, 1, 28, 28)
        return self.net(x)
