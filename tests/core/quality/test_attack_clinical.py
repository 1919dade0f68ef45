"""An attack's result carries the clinical metrics (vs clean and vs reference, attack and noise mean), where
MaxSRMSE is, the segmentation used and the changes' high-frequency share, into the JSON report and the CLI."""
import json
import math

import numpy as np

from halluview.cli_summary import attack_summary
from halluview.core.attacks.optimizers import OptimizerConfig
from halluview.core.attacks.run import run_to_end
from halluview.core.attacks.threat import ThreatConfig
from halluview.core.experiment import Experiment, SourceConfig
from halluview.core.io.writers import write_nifti
from halluview.core.problem import build_problem
from halluview.core.quality import clinical_metrics, load_segments
from halluview.core.recon.factory import ReconConfig
from halluview.core.report import report_dict


def _experiment(**changes) -> Experiment:
    return Experiment(source=SourceConfig(demo="brain", image_size=64), recon=ReconConfig(name="zero-filled"),
                      optimizer=OptimizerConfig(steps=3), threat=ThreatConfig(eps=0.02), device="cpu", **changes)


def test_attack_result_and_report_carry_the_clinical_metrics():
    result = run_to_end(build_problem(_experiment()))
    for metrics in (result.metrics, result.noise_metrics):
        for anchor in ("vs_clean", "vs_reference"):
            assert {"vif", "srmse_mean", "srmse_max", "rfs"} <= set(metrics[anchor])
    assert 0 < result.metrics["vs_clean"]["vif"] < 1 and result.metrics["vs_clean"]["srmse_max"] > 0
    assert 0 <= result.norms["change_hf_share"] <= 1 and 0 <= result.norms["noise_change_hf_share_mean"] <= 1
    assert result.clinical["segmentation"]["method"] == "slic" and result.clinical["segmentation"]["segments"] > 5
    report = json.loads(json.dumps(report_dict(result)))
    assert report["final"]["attack"]["vs_clean"]["rfs"] == result.metrics["vs_clean"]["rfs"]
    assert len(report["clinical"]["spectrum"]["attack_power"]) == len(report["clinical"]["spectrum"]["frequency"])
    text = attack_summary(result)
    assert "MaxSRMSE" in text and "half the Nyquist" in text and f"{result.metrics['vs_clean']['vif']:.4f}" in text


def test_a_label_file_gives_the_segments(tmp_path):
    labels = np.zeros((1, 64, 64), np.int16)
    labels[0, 10:30, 10:30], labels[0, 30:50, 20:50] = 1, 2
    path = write_nifti(tmp_path / "labels.nii.gz", labels)
    result = run_to_end(build_problem(_experiment(segments=str(path))))
    assert result.clinical["segmentation"] == {"method": "file", "parameters": {"file": str(path), "slice": 0},
                                               "segments": 2}
    expected = clinical_metrics(result.perturbed, result.clean, float(result.clean.max()),
                                load_segments(path, (64, 64)))
    for key, value in expected.items():
        if key == "rfs":  # in an attack its grey levels span the reference's range, not the clean image's
            continue
        assert math.isclose(result.metrics["vs_clean"][key], value, rel_tol=1e-9)


def test_attacks_on_one_clean_reconstruction_share_the_reference_side_and_its_numbers(tmp_path):
    from dataclasses import replace

    import torch

    from halluview.core.attacks import run
    from halluview.core.attacks.run import finish

    problem = build_problem(_experiment())
    delta = 0.3 * problem.threat.random_start(torch.Generator().manual_seed(1))
    first = finish(problem, delta, [], 0.0)
    assert run.clinical_reference(problem) is run.clinical_reference(replace(problem, seed=5))  # made once
    run._references.clear()
    fresh = finish(problem, delta, [], 0.0)
    assert fresh.metrics == first.metrics and fresh.noise_metrics == first.noise_metrics
    region = torch.zeros(64, 64, dtype=torch.bool)
    region[20:40, 20:40] = True
    with_region = replace(problem, region=region)
    assert run.clinical_reference(with_region) is not run.clinical_reference(problem)
    assert "srmse_max_in" in finish(with_region, delta, [], 0.0).metrics["vs_clean"]
    labels = np.zeros((1, 64, 64), np.int16)
    labels[0, 10:30, 10:30] = 1
    path = write_nifti(tmp_path / "labels.nii.gz", labels)
    from_file = replace(problem, config={**problem.config, "segments": str(path)})
    assert run.clinical_reference(from_file).segments.method == "file"
