"""A volume attack: every chosen slice attacked, the stacks scored as fastMRI scores a volume (checked with
fastMRI's own ``evaluate`` on the stacks the run wrote), and the slice choice validated."""
import json

import numpy as np
import pytest
from fastmri_fixture import phantom_volume, write_fastmri_h5
from fastmri_reference import evaluate

from halluview.core.attacks.optimizers import OptimizerConfig
from halluview.core.attacks.threat import ThreatConfig
from halluview.core.experiment import Experiment, OperatorConfig, SourceConfig
from halluview.core.io import read_scan
from halluview.core.recon.factory import ReconConfig
from halluview.core.report import write_volume_outputs
from halluview.core.volume_attack import attack_volume, parse_slices


def scalar(value) -> float:
    return float(np.asarray(value).reshape(-1)[0])


def test_slice_choices():
    assert parse_slices("all", 4) == [0, 1, 2, 3]
    assert parse_slices("1:3", 4) == [1, 2] and parse_slices(":2", 4) == [0, 1] and parse_slices("2:", 4) == [2, 3]
    assert parse_slices("3,0", 4) == [3, 0]
    for spec, message in (("4", "outside the scan's 4 slices"), ("a:b", "START:STOP"), ("1,1", "twice"),
                          ("3:1", "selects no slice"), ("x", "I,J,K")):
        with pytest.raises(ValueError, match=message):
            parse_slices(spec, 4)


def run_volume(path, slices):
    experiment = Experiment(source=SourceConfig(demo=None, path=str(path)),
                            operator=OperatorConfig(acceleration=4, center_fraction=0.08), device="cpu",
                            recon=ReconConfig(name="zero-filled"), threat=ThreatConfig(eps=0.03),
                            optimizer=OptimizerConfig(steps=4), noise_draws=1)
    attack = attack_volume(experiment, read_scan(path), slices)
    seen = []
    while True:
        try:
            seen.append(next(attack)[0])
        except StopIteration as stop:
            return experiment, stop.value, seen


def test_volume_metrics_of_a_volume_attack_are_fastmris(tmp_path):
    fixture = write_fastmri_h5(tmp_path / "file.h5", phantom_volume(3, 32, 24), n_coils=2, acceleration=1)
    experiment, volume, seen = run_volume(fixture.path, [0, 1, 2])
    assert sorted(seen) == [0] * 4 + [1] * 4 + [2] * 4 and volume.side_by_side  # one batch: steps interleave
    report = json.loads(write_volume_outputs(volume, experiment.to_dict(), tmp_path / "run").read_text())
    clean, perturbed, noise = (np.load(tmp_path / "run" / f"{n}.npy") for n in ("clean", "perturbed", "noise"))
    maxval = float(fixture.reference.max())  # the file's attrs['max']
    expected = {"attack_vs_clean": (clean, perturbed, None), "noise_vs_clean": (clean, noise, None),
                "attack_vs_reference": (fixture.reference, perturbed, maxval),
                "clean_vs_reference": (fixture.reference, clean, maxval)}
    for key, (target, recon, peak) in expected.items():
        ours = report["volume_metrics"][key]
        target, recon = target.astype(np.float64), recon.astype(np.float64)
        assert ours["ssim"] == pytest.approx(scalar(evaluate.ssim(target, recon, peak)), rel=1e-6), key
        assert ours["psnr"] == pytest.approx(scalar(evaluate.psnr(target, recon, peak)), rel=1e-6), key
        assert ours["nmse"] == pytest.approx(scalar(evaluate.nmse(target, recon)), rel=1e-6), key
    assert [entry["slice"] for entry in report["per_slice"]] == [0, 1, 2]
    assert (tmp_path / "run" / "slice-001" / "report.json").is_file()
    assert report["volume_metrics"]["attack_vs_clean"]["psnr"] < report["volume_metrics"]["noise_vs_clean"]["psnr"]


def test_slices_side_by_side_equal_one_by_one_runs(tmp_path):
    from dataclasses import replace

    from halluview.core.attacks.run import run_to_end
    from halluview.core.problem import build_problem

    fixture = write_fastmri_h5(tmp_path / "file.h5", phantom_volume(3, 32, 24), n_coils=2, acceleration=1)
    experiment, volume, _ = run_volume(fixture.path, [2, 0, 1])
    assert volume.side_by_side and volume.slices == [2, 0, 1]
    scan = read_scan(fixture.path)
    for index, result in zip(volume.slices, volume.results):
        alone = run_to_end(build_problem(replace(experiment, source=replace(experiment.source, slice=index)), scan))
        np.testing.assert_allclose(result.delta, alone.delta, rtol=1e-4, atol=1e-6 * np.abs(alone.delta).max())
        np.testing.assert_allclose(result.perturbed, alone.perturbed, rtol=1e-4, atol=1e-6)
        assert [h["objective"] for h in result.history] == pytest.approx([h["objective"] for h in alone.history],
                                                                         rel=1e-4)
        assert result.norms["realised_eps"] == pytest.approx(alone.norms["realised_eps"], rel=1e-5)


def test_slices_whose_reconstruction_differs_run_one_by_one(tmp_path):
    from dataclasses import replace

    from halluview.core.attacks.batched import stacked
    from halluview.core.problem import build_problem

    fixture = write_fastmri_h5(tmp_path / "file.h5", phantom_volume(2, 32, 24), n_coils=2, acceleration=1)
    experiment, _, _ = run_volume(fixture.path, [0])
    scan = read_scan(fixture.path)
    problems = [build_problem(replace(experiment, source=replace(experiment.source, slice=i)), scan) for i in (0, 1)]
    assert stacked(problems) is not None
    assert stacked([problems[0], replace(problems[1], clean=problems[1].clean * 1.01)]) is None  # not f(y)
    assert stacked(problems[:1]) is None


def test_slices_run_in_as_many_batches_as_memory_requires(tmp_path, monkeypatch):
    from halluview.core import volume_attack

    sizes = []
    monkeypatch.setattr(volume_attack, "items_that_fit", lambda problem, delta, wanted: sizes.append(wanted) or 2)
    chunks = []
    real = volume_attack.lockstep
    monkeypatch.setattr(volume_attack, "lockstep", lambda problems, *a: chunks.append(len(problems)) or
                        real(problems, *a))
    fixture = write_fastmri_h5(tmp_path / "file.h5", phantom_volume(3, 32, 24), n_coils=2, acceleration=1)
    _, volume, seen = run_volume(fixture.path, [0, 1, 2])
    assert sizes == [3] and chunks == [2]  # slices 0 and 1 side by side; slice 2 alone, as a plain attack
    assert seen[-4:] == [2] * 4 and len(volume.results) == 3 and volume.side_by_side
