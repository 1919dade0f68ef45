"""halluview-cli attack with test-time training: the flags, the summary's before / after numbers, refusals."""
import json

from halluview.cli import main

TTT = ["attack", "--demo", "brain", "--recon", "unet-mri-4x", "--size", "32", "--steps", "2", "--quiet"]


def test_attack_adapts_first_reports_before_after_and_reruns_identically(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*TTT, "--ttt-steps", "2", "--ttt-lr", "2e-4", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "test-time training: 2 Adam steps at lr 0.0002, no split" in printed
    assert "clean vs reference before: SSIM" in printed and "; after: SSIM" in printed
    assert "deployed test-time training (re-adapted on y + δ): SSIM" in printed
    report = json.loads((out / "report.json").read_text())
    assert report["config"]["recon"]["ttt"] == {"steps": 2, "lr": 2e-4, "split": 0.0, "seed": 0}
    record = report["test_time"]  # what the adaptation did, and the deployed (re-adapted) numbers
    assert len(record["adaptation"]["losses"]) == 3 and "ssim" in str(record)
    assert main(["rerun", str(out / "report.json"), "--quiet"]) == 0
    assert "identical numbers" in capsys.readouterr().out


def test_ttt_settings_without_steps_or_for_a_classical_method_exit_2_writing_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*TTT, "--ttt-lr", "1e-3", "--ttt-split", "0.2", "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.strip() == ("halluview-cli: error: --ttt-lr/--ttt-split set up test-time training: turn it on "
                             "with --ttt-steps N")
    assert main([*TTT[:4], "tv", *TTT[5:], "--ttt-steps", "3", "--out", str(out)]) == 2
    assert "and tv has none: turn it off or pick a network" in capsys.readouterr().err
    assert main([*TTT[:4], "diffusion-mri-4x", *TTT[5:], "--ttt-steps", "3", "--out", str(out)]) == 2
    assert "keeps every acquired sample by construction" in capsys.readouterr().err
    assert main([*TTT, "--ttt-steps", "3", "--ttt-split", "0.95", "--out", str(out)]) == 2
    assert "must be in [0, 0.9], not 0.95" in capsys.readouterr().err
    assert not out.exists()
