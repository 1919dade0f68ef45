"""halluview-cli attack --segments: a label file that does not fit the slice is one error line, exit code 2 and
nothing written, refused when the attack is set up (before any step); a missing one before anything runs."""
import numpy as np
import pytest

from halluview.cli import main
from halluview.core.errors import ExperimentError
from halluview.core.experiment import Experiment, SourceConfig
from halluview.core.io.writers import write_nifti
from halluview.core.problem import build_problem
from halluview.core.recon.config import ReconConfig

ATTACK = ["attack", "--demo", "brain", "--size", "64", "--recon", "zero-filled", "--steps", "1", "--quiet"]


def test_wrong_label_files_exit_2_and_write_nothing(tmp_path, capsys):
    wrong = write_nifti(tmp_path / "labels.nii.gz", np.ones((1, 30, 30), np.int16))
    assert main([*ATTACK, "--segments", str(wrong), "--out", str(tmp_path / "out")]) == 2
    assert "30×30" in capsys.readouterr().err and not (tmp_path / "out").exists()
    assert main([*ATTACK, "--segments", str(tmp_path / "none.nii"), "--out", str(tmp_path / "out")]) == 2
    assert "no such label file" in capsys.readouterr().err
    assert main([*ATTACK, "--segments", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "a folder, not a label file" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_a_label_file_that_does_not_fit_is_refused_when_the_attack_is_set_up(tmp_path):
    wrong = write_nifti(tmp_path / "labels.nii.gz", np.ones((1, 30, 30), np.int16))
    experiment = Experiment(source=SourceConfig(demo="brain", image_size=64), recon=ReconConfig(name="zero-filled"),
                            segments=str(wrong), device="cpu")
    with pytest.raises(ExperimentError, match="30×30"):
        build_problem(experiment)  # before a single attack step
