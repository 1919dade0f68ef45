"""halluview-cli attack --segments: a label file that does not fit the slice is one error line, exit code 2 and
nothing written; a missing one is refused before anything runs."""
import numpy as np

from halluview.cli import main
from halluview.core.io.writers import write_nifti

ATTACK = ["attack", "--demo", "brain", "--size", "64", "--recon", "zero-filled", "--steps", "1", "--quiet"]


def test_wrong_label_files_exit_2_and_write_nothing(tmp_path, capsys):
    wrong = write_nifti(tmp_path / "labels.nii.gz", np.ones((1, 30, 30), np.int16))
    assert main([*ATTACK, "--segments", str(wrong), "--out", str(tmp_path / "out")]) == 2
    assert "30×30" in capsys.readouterr().err and not (tmp_path / "out").exists()
    assert main([*ATTACK, "--segments", str(tmp_path / "none.nii"), "--out", str(tmp_path / "out")]) == 2
    assert "no such label file" in capsys.readouterr().err
