"""Test-time training in a study: a recons entry with ttt, its label, its columns, and unchanged keys without it."""
import pytest

from halluview.core.errors import ExperimentError
from halluview.core.experiment import Experiment
from halluview.core.study.grid import cell_key, study_config
from halluview.core.study.local import run_study, study_cells


def test_a_ttt_entry_runs_with_defaults_recorded_and_reports_before_after_and_deployment(tmp_path):
    config = study_config({"sources": [{"demo": "brain", "image_size": 32}], "eps": [0.01],
                           "recons": [{"name": "unet-mri-4x", "ttt": {"steps": 2}}],
                           "choices": {"optimizer": {"steps": 2}, "device": "cpu"}}, "s.yaml")
    cell, = study_cells(config)
    assert cell.labels["recon"] == "unet-mri-4x + TTT (2 steps)"
    assert cell.experiment.recon.ttt == {"steps": 2, "lr": 1e-4, "split": 0.0, "seed": 0}
    attack, noise = run_study(config, tmp_path)
    assert attack["ttt_loss_after"] < attack["ttt_loss_before"]
    assert attack["clean_ssim"] != attack["ttt_clean_before_ssim"]  # clean_* is the adapted network's
    assert 0 < attack["ttt_deployed_vs_reference_ssim"] < 1 and 0 < attack["ttt_deployed_vs_clean_ssim"] <= 1
    assert "ttt_loss_before" not in noise


def test_a_ttt_entry_that_is_not_a_mapping_is_one_line():
    with pytest.raises(ExperimentError, match="s.yaml: ttt \\(test-time training\\) is a mapping"):
        study_config({"recons": [{"name": "unet-mri-4x", "ttt": 5}]}, "s.yaml")


def test_cells_without_ttt_keep_the_keys_they_had(monkeypatch):
    key = cell_key(Experiment())
    before = Experiment.to_dict

    def without_ttt(self):  # the record as it was before test-time training existed
        record = before(self)
        return {**record, "recon": {k: v for k, v in record["recon"].items() if k != "ttt"}}

    monkeypatch.setattr(Experiment, "to_dict", without_ttt)
    assert cell_key(Experiment()) == key


def test_a_default_cell_keeps_the_key_it_had_before_test_time_training_and_segments():
    """The keys the code of issue 13 (cfd9ba7) gave: a finished study resumes instead of running again."""
    assert cell_key(Experiment()) == "6abb0b504bc42efb"
    assert cell_key(Experiment(), "warm") == "c25cee69bcb41a9a"
