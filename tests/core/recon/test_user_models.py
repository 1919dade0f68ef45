"""Users' models: TorchScript files and plug-ins from the `halluview.models` entry-point group."""
import importlib.metadata

import pytest
import torch
from torch import nn

from halluview.core.attacks.optimizers import OptimizerConfig
from halluview.core.attacks.run import run_to_end
from halluview.core.attacks.threat import ThreatConfig
from halluview.core.experiment import Experiment, SourceConfig
from halluview.core.physics.mri import build_mri_operator
from halluview.core.problem import build_problem
from halluview.core.recon import zoo
from halluview.core.recon.checkpoints import CheckpointError
from halluview.core.recon.factory import ReconConfig, build_reconstructor


class Sharpen(nn.Module):
    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return image + 0.5 * (image - nn.functional.avg_pool2d(image, 3, stride=1, padding=1))


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_torchscript_model_is_reconstructed_and_attacked(tmp_path):
    path = tmp_path / "sharpen.pt"
    torch.jit.script(Sharpen()).save(str(path))
    op = build_mri_operator((32, 32), mask_type="full")
    model = build_reconstructor(ReconConfig(name="torchscript", weights=str(path)), op)
    x = torch.rand(1, 32, 32)
    torch.testing.assert_close(model(op(x)), Sharpen()(x[:, None])[:, 0], atol=1e-5, rtol=1e-5)
    experiment = Experiment(source=SourceConfig(image_size=48), device="cpu", noise_draws=1,
                            recon=ReconConfig(name="torchscript", weights=str(path)),
                            threat=ThreatConfig(eps=0.02), optimizer=OptimizerConfig(steps=5))
    result = run_to_end(build_problem(experiment))
    assert result.norms["recon_change_l2"] > result.norms["noise_recon_change_l2_mean"]


def test_a_file_that_is_not_torchscript_gets_a_clear_error(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save({"w": torch.zeros(2)}, path)
    with pytest.raises(CheckpointError, match="weights.pt: not a TorchScript file"):
        build_reconstructor(ReconConfig(name="torchscript", weights=str(path)), build_mri_operator((8, 8)))


def make_toy_model() -> zoo.ModelEntry:
    """What a plug-in package's entry point returns."""
    return zoo.ModelEntry(name="toy-sharpen", title="Toy sharpening plug-in", modality="mri",
                          operator={"kind": "mri", "image_size": 32}, build=lambda op: Sharpen(),
                          loader=lambda op: _Wrapped(op), card_data={"name": "toy-sharpen", "parameters": 0})


class _Wrapped(nn.Module):
    def __init__(self, op):
        super().__init__()
        self.op = op

    def forward(self, y):
        return Sharpen()(self.op.baseline(y)[:, None])[:, 0]


def broken_factory():
    raise RuntimeError("missing weights")


def test_plugins_register_and_broken_ones_are_reported(monkeypatch):
    points = [importlib.metadata.EntryPoint("toy", f"{__name__}:make_toy_model", zoo.PLUGIN_GROUP),
              importlib.metadata.EntryPoint("broken", f"{__name__}:broken_factory", zoo.PLUGIN_GROUP)]
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group=None: [p for p in points
                                                                               if p.group == group])
    monkeypatch.setattr(zoo, "MODELS", dict(zoo.MODELS))
    monkeypatch.setattr(zoo, "PLUGIN_ERRORS", {})
    assert zoo.discover_plugins() == ["toy-sharpen"]
    assert zoo.PLUGIN_ERRORS == {"broken": "RuntimeError: missing weights"}
    entry = zoo.get_model("toy-sharpen")
    assert entry.card() == {"name": "toy-sharpen", "parameters": 0}
    op = build_mri_operator((16, 16), mask_type="full")
    x = torch.rand(1, 16, 16)
    torch.testing.assert_close(entry.load(op)(op(x)), Sharpen()(x[:, None])[:, 0], atol=1e-5, rtol=1e-5)
