"""The experiment configuration: JSON round trip, strictness, and adapting to a newly opened scan."""
import json

import pytest

from halluview.core.attacks.threat import ThreatConfig
from halluview.core.experiment import Experiment, OperatorConfig, adapt_to_scan
from halluview.core.recon.factory import ReconConfig


def test_round_trip_through_json_is_exact():
    experiment = Experiment(threat=ThreatConfig(norm="linf", eps=0.005), region={"kind": "rect", "xywh": [1, 2, 3, 4]},
                            recon=ReconConfig(name="tv", params={"lam": 0.02}), seed=7)
    assert Experiment.from_dict(json.loads(json.dumps(experiment.to_dict()))) == experiment


def test_unknown_settings_are_refused():
    with pytest.raises(ValueError, match="unknown experiment settings"):
        Experiment.from_dict({"sead": 1})
    with pytest.raises(ValueError, match="unknown threat settings"):
        Experiment.from_dict({"threat": {"epsilon": 0.1}})


@pytest.mark.parametrize("modality,units,kspace,expected", [
    ("CT", "HU", False, ("ct", "fbpconvnet-ct-sparse")), ("OT", "HU", False, ("ct", "fbpconvnet-ct-sparse")),
    ("MR", "a.u.", False, ("mri", "unet-mri-4x")), ("MR", "a.u.", True, ("mri", "unet-mri-4x")),
])
def test_adapt_to_scan(modality, units, kspace, expected):
    start = Experiment(operator=OperatorConfig(kind="ct" if expected[0] == "mri" else "mri"))
    adapted = adapt_to_scan(start, modality, units, kspace)
    assert (adapted.operator.kind, adapted.recon.name) == expected
    assert adapt_to_scan(adapted, modality, units, kspace) == adapted  # already suited: unchanged
    if expected[0] == "ct":  # the CT model brings the views it was trained for
        assert (adapted.operator.angles, adapted.operator.n_angles) == ("sparse", 30)
    denoising = Experiment(operator=OperatorConfig(kind="denoise"), recon=ReconConfig(name="identity"))
    assert adapt_to_scan(denoising, modality, units, kspace) == denoising  # the user's choice stands
