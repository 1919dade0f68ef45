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
