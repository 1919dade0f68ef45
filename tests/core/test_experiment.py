"""The experiment configuration: JSON round trip, strictness, and what a file may not decide (unpickling)."""
import json

import pytest

from halluview.core.attacks.threat import ThreatConfig
from halluview.core.choices import Choices
from halluview.core.experiment import Experiment, ScanFacts
from halluview.core.recon.factory import ReconConfig


def test_round_trip_through_json_is_exact():
    experiment = Experiment(threat=ThreatConfig(norm="linf", eps=0.005), region={"kind": "rect", "xywh": [1, 2, 3, 4]},
                            recon=ReconConfig(name="tv", params={"lam": 0.02}), seed=7,
                            scan_facts=ScanFacts("/data/head.dcm", "CT", "HU", 5, (16, 12), None))
    assert Experiment.from_dict(json.loads(json.dumps(experiment.to_dict()))) == experiment


def test_unknown_settings_are_refused():
    with pytest.raises(ValueError, match="unknown experiment settings"):
        Experiment.from_dict({"sead": 1})
    with pytest.raises(ValueError, match="unknown threat settings"):
        Experiment.from_dict({"threat": {"epsilon": 0.1}})
    with pytest.raises(ValueError, match="unknown scan_facts settings"):
        Experiment.from_dict({"scan_facts": {"pixels": 3}})


def test_permission_to_unpickle_is_never_read_from_a_file():
    trusted_here = Experiment(recon=ReconConfig(name="checkpoint", weights="net.pt", allow_pickle=True))
    recorded = json.loads(json.dumps(trusted_here.to_dict()))
    assert recorded["recon"]["allow_pickle"] is True  # kept in the record ...
    assert Experiment.from_dict(recorded).recon.allow_pickle is False  # ... never obeyed when read back
    assert Choices.of(trusted_here).recon["allow_pickle"] is False  # nor when a session is restored


def test_reports_from_before_scan_facts_still_load():
    old = Experiment().to_dict()
    del old["scan_facts"]
    assert Experiment.from_dict(old).scan_facts is None
