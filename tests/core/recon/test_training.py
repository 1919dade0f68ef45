"""`halluview-cli train` for every kind of built-in network: deterministic weights, the network's own keys, and a
card that says how it was made (a short run on a small training set)."""
import json

import pytest
import torch

from halluview.core.recon import train
from halluview.core.recon.checkpoints import read_state_dict
from halluview.core.recon.zoo import MODELS


@pytest.fixture(autouse=True)
def small_training_set(monkeypatch):
    monkeypatch.setattr(train, "TRAINING_COUNT", 12)
    monkeypatch.setattr(train, "CT_TARGET_COUNT", 4)


@pytest.mark.parametrize("name", ["fbpconvnet-ct-sparse", "redcnn-ct-lowdose", "dncnn-mri-4x",
                                  "varnet-mri-4x-4coil"])
def test_training_is_deterministic_and_writes_a_card(tmp_path, name):
    entry = MODELS[name]
    weights = [train.train_model(name, tmp_path / f"run{i}", steps=2, batch_size=2, log=lambda _: None)
               for i in range(2)]
    first, second = (read_state_dict(w) for w in weights)
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)
    model = entry.build(entry.make_operator())
    assert first.keys() == model.network.state_dict().keys()  # the network alone, no operator buffers
    card = json.loads((tmp_path / "run0" / "card.json").read_text())
    assert card["operator"] == entry.operator and card["training"]["steps"] == 2
    assert card["parameters"] == sum(p.numel() for p in model.parameters())
    assert card["training"]["command"] == f"halluview-cli train {name} --steps 2 --seed 0"
    data = card["training"]["data"]
    if entry.modality == "mri":
        assert "patches of real anatomy" in data and "mni_icbm152_t1" in data and "fresh fastMRI random mask" in data
    else:
        assert "whole real slices" in data and "explicit_VR-UN.dcm" in data and "693_J2KI" not in data
        assert f"{entry.extra.get('patch', 128)}×{entry.extra.get('patch', 128)} patch of its FBP" in data
    if entry.operator.get("noise"):
        assert "poisson_transmission noise" in data
    held_out = card["real_anatomy"]["held_out_volumes"]
    assert any(v.startswith("693_J2KI.dcm") for v in held_out) or entry.modality == "mri"


def test_a_different_seed_trains_different_weights(tmp_path):
    a = read_state_dict(train.train_model("fbpconvnet-ct-sparse", tmp_path / "a", steps=1, batch_size=2, seed=0,
                                          log=lambda _: None))
    b = read_state_dict(train.train_model("fbpconvnet-ct-sparse", tmp_path / "b", steps=1, batch_size=2, seed=1,
                                          log=lambda _: None))
    assert any(not torch.equal(a[k], b[k]) for k in a)
