"""The installed halluview-cli: a run folder appears whole or not at all, Ctrl-C stops even a model that never
returns, the summary says when an attack found nothing, and rerun reproduces the numbers on another thread count
(or says exactly what differs)."""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from console import CLI, run_cli

from halluview.cli import main

FAST = ["--recon", "zero-filled", "--size", "48", "--steps", "4", "--quiet"]


def test_the_console_script_is_installed():
    assert CLI is not None, "halluview-cli is not on PATH: install the package (pip install -e .)"


def test_a_failed_write_leaves_no_run_folder_and_no_temporaries(tmp_path, monkeypatch):
    """A full disk in the middle of writing the outputs: nothing of the run is left, and a retry works."""
    from halluview.core import report

    out = tmp_path / "run"
    original, calls = report.save_npy, []

    def disk_full(path, array):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        original(path, array)

    monkeypatch.setattr(report, "save_npy", disk_full)
    assert main(["attack", "--demo", *FAST, "--out", str(out)]) != 0
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(report, "save_npy", original)
    assert main(["attack", "--demo", *FAST, "--out", str(out)]) == 0
    assert (out / "report.json").is_file() and [p.name for p in tmp_path.iterdir()] == ["run"]


def test_a_folder_left_by_a_killed_writer_does_not_block_the_next_run(tmp_path):
    from halluview.core.atomic import atomic_folder

    dead = subprocess.Popen(["true"])  # a process that has ended: its pid names the stale folder
    dead.wait()
    stale = tmp_path / f".run.partial-{dead.pid}"
    stale.mkdir()
    (stale / "clean.png").write_bytes(b"half")
    with atomic_folder(tmp_path / "run") as partial:
        (partial / "report.json").write_text("{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def looping_torchscript(path: Path) -> None:
    """A TorchScript model whose forward never returns (a loop inside the TorchScript interpreter)."""
    class Forever(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            while bool(x.sum() > -1.0):
                x = x + 0.0
            return x

    torch.jit.script(Forever()).save(str(path))


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_ctrl_c_stops_a_torchscript_model_that_never_returns(tmp_path):
    model, out = tmp_path / "forever.pt", tmp_path / "run"
    looping_torchscript(model)
    process = subprocess.Popen([CLI, "attack", "--demo", "--size", "48", "--recon", "torchscript", "--weights",
                                str(model), "--quiet", "--out", str(out)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while _cpu_seconds(process.pid) < 8 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)  # well past the imports: inside the model's loop
        assert process.poll() is None, process.communicate()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 130
    assert stderr.strip().splitlines()[-1] == "halluview-cli: interrupted"
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["forever.pt"]


def test_the_summary_says_when_an_attack_found_nothing(tmp_path):
    """A region objective after one step from δ ≈ 0 (a saddle): the CLI must not present it as a worst case."""
    result = run_cli("attack", "--demo", "--recon", "tv", "--size", "48", "--steps", "1", "--objective", "region",
                     "--region", "16,16,10,10", "--outside-weight", "5", "--quiet", "--out", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    verdict = result.stdout.splitlines()[1]  # after the line that says what was attacked
    assert verdict.startswith("No worst case found: the attack did not improve its objective")
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["verdict"]["found"] is False and report["verdict"]["warnings"]
    assert "No worst case found" in (tmp_path / "run" / "report.html").read_text()


def test_the_report_gives_both_norms_of_delta_and_of_the_noise(tmp_path):
    result = run_cli("attack", "--demo", *FAST, "--norm", "linf", "--out", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    norms = json.loads((tmp_path / "run" / "report.json").read_text())["norms"]
    assert norms["noise_linf"] == pytest.approx(norms["delta_linf"], rel=1e-5)  # L∞ threat: same L∞
    assert norms["noise_l2"] > 0 and norms["delta_l2"] > 0
    assert "‖·‖∞" in result.stdout


@pytest.mark.slow
def test_rerun_uses_the_recorded_thread_count(tmp_path):
    """A run on one thread reproduces bit for bit from a process with another default thread count."""
    out = tmp_path / "run"
    args = ["attack", "--demo", "--size", "64", "--steps", "3", "--quiet", "--threads", "1", "--out", str(out)]
    assert run_cli(*args).returncode == 0
    report = json.loads((out / "report.json").read_text())
    assert report["environment"]["threads"] == 1 and report["environment"]["device_type"] == "cpu"
    rerun = run_cli("rerun", str(out / "report.json"), "--quiet", env={**os.environ, "OMP_NUM_THREADS": "2"})
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "identical numbers" in rerun.stdout
    np.testing.assert_array_equal(np.load(out / "delta.npy"), np.load(out / "rerun" / "delta.npy"))


def test_rerun_says_what_prevents_an_exact_rerun(tmp_path):
    out = tmp_path / "run"
    assert main(["attack", "--demo", *FAST, "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    report["environment"].update(device="cuda:0", device_type="cuda", device_name="NVIDIA H200")
    report["norms"]["recon_change_l2"] *= 1 + 1e-6  # as if the GPU's float reductions had differed
    (out / "report.json").write_text(json.dumps(report))
    rerun = run_cli("rerun", str(out / "report.json"), "--quiet", "--out", str(tmp_path / "again"))
    assert rerun.returncode == 1
    assert "largest relative difference 1e-06 (in norms.recon_change_l2)" in rerun.stdout
    assert "an exact rerun needs the recorded device: recorded cuda, here cpu" in rerun.stdout
    close = run_cli("rerun", str(out / "report.json"), "--quiet", "--tolerance", "1e-5",
                    "--out", str(tmp_path / "close"))
    assert close.returncode == 0


def test_a_volume_attack_from_the_command_line(tmp_path):
    """--slices: each slice attacked, fastMRI's volume metrics printed and written; bad choices are one line."""
    from fastmri_fixture import phantom_volume, write_fastmri_h5

    fixture = write_fastmri_h5(tmp_path / "file.h5", phantom_volume(3, 32, 24), n_coils=2, acceleration=1)
    out = tmp_path / "run"
    common = [str(fixture.path), "--recon", "zero-filled", "--steps", "3", "--quiet"]
    done = run_cli("attack", *common, "--slices", "0:2", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "2 slices (0, 1)" in done.stdout and "fastMRI volume metrics, attack vs clean: SSIM" in done.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["mode"] == "volume" and report["slices"] == [0, 1]
    assert {"attack_vs_clean", "noise_vs_clean", "attack_vs_reference", "clean_vs_reference"} <= set(
        report["volume_metrics"])
    assert np.load(out / "perturbed.npy").shape == (2, 32, 24)
    rerun = run_cli("rerun", str(out / "report.json"))
    assert rerun.returncode == 2 and "slice-NNN/report.json" in rerun.stderr
    for extra, message in ((["--slices", "3"], "slice 3 is outside the scan's 3 slices"),
                           (["--slices", "all", "--slice", "1"], "--slice or --slices, not both")):
        bad = run_cli("attack", *common, *extra, "--out", str(tmp_path / "bad"))
        assert bad.returncode == 2 and message in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "bad").exists()
