"""The study's first pieces: a grid of keyed cells, a tidy table written as it goes, resumable, failures recorded."""
import numpy as np
import pytest

from halluview.core.attacks.run import run_to_end
from halluview.core.choices import Choices, experiment_for
from halluview.core.experiment import ScanFacts
from halluview.core.problem import build_problem
from halluview.core.samples import load_sample
from halluview.core.study.grid import StudyConfig, cell_key, cells
from halluview.core.study.local import read_table, run_study

BRAIN = load_sample("brain")
FAST = {"optimizer": {"steps": 2}, "device": "cpu"}


def facts(_source):
    return ScanFacts.of(BRAIN)


def test_the_grid_is_the_product_and_keys_are_stable_and_distinct():
    config = StudyConfig(recons=("unet-mri-4x", "tv"), eps=(0.01, 0.02), seeds=(0, 1), choices=FAST)
    grid = cells(config, facts)
    assert len(grid) == 8 and len({c.key for c in grid}) == 8
    assert [c.key for c in cells(config, facts)] == [c.key for c in grid]  # the same config, the same keys
    assert {(c.labels["recon"], c.labels["eps"], c.labels["seed"]) for c in grid} == {
        (r, e, s) for r in ("unet-mri-4x", "tv") for e in (0.01, 0.02) for s in (0, 1)}
    assert grid[0].experiment.threat.eps == 0.01 and grid[0].experiment.source.slice == 0


def test_a_cell_is_the_single_attack_with_its_numbers(tmp_path):
    config = StudyConfig(eps=(0.02,), choices=FAST)
    rows = run_study(config, tmp_path)
    (cell,) = cells(config, facts)
    single = run_to_end(build_problem(experiment_for(ScanFacts.of(BRAIN), Choices(
        source={"demo": "brain", "slice": 0}, threat={"eps": 0.02}, seed=0, **FAST)), BRAIN))
    attack = next(r for r in rows if r["kind"] == "attack")
    noise = next(r for r in rows if r["kind"] == "noise")
    assert attack["vs_clean_ssim"] == single.metrics["vs_clean"]["ssim"]
    assert noise["change_l2"] == single.norms["noise_recon_change_l2_mean"]
    assert attack["key"] == cell.key == cell_key(cell.experiment, "warm")


def test_a_rerun_skips_finished_cells_and_a_failed_cell_does_not_stop_the_others(tmp_path, monkeypatch):
    from halluview.core.attacks import run

    real = run.run_to_end

    def failing_for_tv(problem, on_step=None):
        if problem.config["recon"]["name"] == "tv":
            raise ValueError("tv broke")
        return real(problem, on_step)

    monkeypatch.setattr(run, "run_to_end", failing_for_tv)
    config = StudyConfig(recons=("unet-mri-4x", "tv"), choices=FAST)
    seen = []
    rows = run_study(config, tmp_path, on_cell=lambda i, n, cell, status, rows: seen.append(status))
    assert seen == ["done", "failed"]
    failed = [r for r in rows if r["status"] == "failed"]
    assert len(failed) == 2 and failed[0]["error"] == "ValueError: tv broke"
    table = read_table(tmp_path)
    assert len(table) == 4 and {r["status"] for r in table} == {"done", "failed"}
    again = []
    run_study(config, tmp_path, on_cell=lambda i, n, cell, status, rows: again.append(status))
    assert again == ["skipped", "failed"]  # the done cell is not run again; the failed one is retried
    assert float(read_table(tmp_path)[0]["vs_clean_ssim"]) == pytest.approx(float(table[0]["vs_clean_ssim"]))
    assert np.isfinite(float(read_table(tmp_path)[0]["seconds"]))


def test_the_summary_averages_over_slices_and_seeds_with_the_spread_and_says_it_in_words():
    from halluview.core.study.summary import delta_curves, verdict_lines

    rows = [{"status": "done", "recon": "unet", "kind": kind, "eps": eps, "vs_clean_ssim": ssim, "change_l2": change}
            for kind, eps, ssim, change in (("attack", "0.01", "0.9", "6"), ("attack", "0.01", "0.8", "8"),
                                            ("noise", "0.01", "0.99", "1"), ("noise", "0.01", "0.97", "1"),
                                            ("attack", "0.02", "0.7", "9"), ("noise", "0.02", "0.95", "2"))]
    rows.append({"status": "failed", "recon": "unet", "kind": "attack", "eps": "0.01"})
    curves = delta_curves(rows)
    attack = curves[("unet", "attack")]
    assert attack["eps"] == [0.01, 0.02] and attack["n"] == [2, 1]
    assert attack["mean"] == pytest.approx([0.15, 0.3]) and attack["low"] == pytest.approx([0.1, 0.3])
    assert attack["high"] == pytest.approx([0.2, 0.3])
    assert verdict_lines(rows, 0.01) == ["unet: changed 7.0× noise at ε = 1 % (2 cells)"]


@pytest.mark.parametrize("data,message", [
    ([1], "expected a mapping"), ({"epsilon": [0.1]}, "unknown setting epsilon"),
    ({"eps": []}, "eps must be a non-empty list"), ({"eps": [0.0]}, r"number in \(0, 1\]"),
    ({"eps": [True]}, r"number in \(0, 1\]"), ({"seeds": [-1]}, "whole numbers ≥ 0"),
    ({"sources": [{"slice": 3}]}, "needs a path or a demo"), ({"choices": [1]}, "choices must be a mapping"),
])
def test_a_bad_study_config_gets_one_clear_error(data, message):
    from halluview.core.errors import ExperimentError
    from halluview.core.study.grid import study_config

    with pytest.raises(ExperimentError, match=message):
        study_config(data, "study.yaml")


def test_a_study_config_from_plain_data():
    from halluview.core.study.grid import study_config

    config = study_config({"sources": [{"demo": "brain"}], "recons": ["tv"], "eps": [0.01, 0.02], "slices": None,
                           "choices": {"optimizer": {"steps": 2}}})
    assert config.eps == (0.01, 0.02) and config.recons == ("tv",) and config.slices is None
    assert len(cells(config, facts)) == 2


def test_a_source_may_name_its_own_slices_and_an_unknown_source_setting_is_one_error():
    from halluview.core.errors import ExperimentError
    from halluview.core.study.grid import study_config

    config = study_config({"sources": [{"demo": "brain"}, {"demo": "brain", "slices": [0]}], "recons": ["tv"],
                           "slices": None})
    grid = cells(config, facts)
    assert [c.labels["slice"] for c in grid] == [0, 0] and "slices" not in grid[1].source
    with pytest.raises(ExperimentError, match="unknown source setting slcies"):
        study_config({"sources": [{"demo": "brain", "slcies": [1]}]}, "study.yaml")
    with pytest.raises(ExperimentError, match="a source's slices must be"):
        study_config({"sources": [{"demo": "brain", "slices": [-1]}]}, "study.yaml")
    with pytest.raises(ExperimentError, match="schedule must be one of warm, batched, cold"):
        study_config({"schedule": "fast"}, "study.yaml")
