"""`halluview FILE --screenshot OUT.png` on a file it cannot read ends with the file's error, not a hang."""
import os
import subprocess


def test_a_screenshot_of_an_unreadable_file_exits_with_its_error(tmp_path):
    bad = tmp_path / "broken.dcm"
    bad.write_bytes(b"DICM garbage")
    shot = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(["halluview", str(bad), "--screenshot", str(shot)], capture_output=True, text=True,
                          timeout=240, env=env)  # the old flow waited for a picture that never came (300 s)
    errors = [line for line in done.stderr.splitlines() if line.startswith("halluview:")]
    assert done.returncode == 1 and len(errors) == 1 and "broken.dcm" in errors[0], done.stderr
    assert not shot.exists()


def test_wrong_app_arguments_are_refused_before_the_window_opens(tmp_path):
    done = subprocess.run(["halluview", str(tmp_path / "missing.dcm"), "--screenshot", str(tmp_path / "s.png")],
                          capture_output=True, text=True, timeout=240,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 2 and "missing.dcm: no such file or folder" in done.stderr


def test_a_screenshot_of_a_file_with_several_scans_opens_the_first_and_says_so(tmp_path):
    """Nobody can answer the "which scan?" dialog of a headless screenshot: it opens the one the dialog offers
    first and names it, instead of waiting for its timeout (300 s)."""
    import nibabel
    import numpy as np

    four_d = tmp_path / "two_volumes.nii.gz"
    nibabel.save(nibabel.Nifti1Image(np.random.default_rng(0).random((64, 64, 4, 2)).astype(np.float32),
                                     np.eye(4)), four_d)
    shot = tmp_path / "shot.png"
    done = subprocess.run(["halluview", str(four_d), "--screenshot", str(shot)], capture_output=True, text=True,
                          timeout=240, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    said = [line for line in done.stderr.splitlines() if line.startswith("halluview:")]
    assert done.returncode == 0 and shot.exists(), done.stderr
    assert len(said) == 1 and "two_volumes.nii.gz holds 2 scans" in said[0] and "volume 1" in said[0].lower(), said
