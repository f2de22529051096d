"""Bring your own survival model: a network and a loss, trained, evaluated and tracked.

Run: ``python examples/custom_survival_model.py`` (tracks into ./mlflow.db).
"""
import torch
from torch import nn

import lightsaber as ls
from lightsaber.models import SurvivalNet


class GatedNet(nn.Module):
    """A network: ``in_features`` and ``out_features`` are filled in from the data and loss."""

    def __init__(self, in_features: int, out_features: int = 1, width: int = 16):
        super().__init__()
        self.value, self.gate = nn.Linear(in_features, width), nn.Linear(in_features, width)
        self.out = nn.Linear(width, out_features)

    def forward(self, static: torch.Tensor) -> torch.Tensor:
        return self.out(torch.tanh(self.value(static)) * torch.sigmoid(self.gate(static)))


def smooth_concordance_loss(risk, duration, event, sigma=0.1):
    """1 - a sigmoid-smoothed C-index over comparable pairs (higher risk = earlier event)."""
    risk = risk.reshape(-1)
    pairs = event.bool()[:, None] & (duration[:, None] < duration[None, :])
    soft = torch.sigmoid((risk[:, None] - risk[None, :]) / sigma)
    return 1 - (soft * pairs).sum() / pairs.sum().clamp(min=1)  # 0 pairs: 1, still in graph


if __name__ == "__main__":
    cohort = ls.datasets.load_sksurv("gbsg2")
    splits = cohort.split(val=0.2, test=0.2, seed=0)
    model = SurvivalNet(GatedNet, loss=smooth_concordance_loss, module__width=32, lr=3e-3,
                        max_epochs=60, batch_size=128, monitor="c_index")
    run = ls.fit(model, cohort, splits, experiment="bring-your-own", progress=False)
    print({name: round(value, 3) for name, value in run.metrics["test"].items()})
    print("tracked as MLflow run", run.run_id)
