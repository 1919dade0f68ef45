"""halluview-cli: a run writes its report and images, rerun reproduces the numbers, mistakes exit 2 cleanly."""
import json
import subprocess
import sys

import numpy as np
import pytest

from halluview.cli import main

FAST = ["--recon", "zero-filled", "--size", "48", "--steps", "4", "--quiet"]


def test_attack_writes_report_images_and_arrays(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["attack", "--demo", *FAST, "--region", "10,12,8,6", "--objective", "region", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    for name in ("clean", "perturbed", "difference", "perturbation"):
        assert (out / f"{name}.png").stat().st_size > 100
    for name in ("clean", "perturbed", "delta"):
        assert np.load(out / f"{name}.npy", allow_pickle=False).size > 0
    assert report["config"]["region"] == {"kind": "rect", "xywh": [10.0, 12.0, 8.0, 6.0]}
    assert set(report["norms"]) >= {"y_l2", "delta_l2", "delta_linf", "recon_change_l2"}
    assert report["norms"]["delta_l2"] <= 0.01 * report["norms"]["y_l2"] * (1 + 1e-5)
    assert len(report["history"]) == 4 and "ssim_in" in report["final"]["attack"]["vs_clean"]
    assert {"torch", "halluview", "numpy"} <= set(report["versions"])
    perturbed = np.load(out / "perturbed.npy")
    clean = np.load(out / "clean.npy")
    change = float(np.linalg.norm(perturbed - clean))
    assert change == pytest.approx(report["norms"]["recon_change_l2"], rel=1e-5)
    assert "SSIM" in capsys.readouterr().out


def test_rerun_reproduces_the_numbers_exactly(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["attack", "--demo", *FAST, "--random-start", "--seed", "7", "--out", str(out)]) == 0
    assert main(["rerun", str(out / "report.json"), "--quiet"]) == 0
    assert "identical numbers" in capsys.readouterr().out
    np.testing.assert_array_equal(np.load(out / "delta.npy"), np.load(out / "rerun" / "delta.npy"))


@pytest.mark.parametrize("args,message", [
    (["attack", "--demo", "--eps", "-1"], "eps must be positive"),
    (["attack", "--demo", "--norm", "l7"], "invalid choice: 'l7'"),
    (["attack", "--demo", "--region", "1,2,3"], "x,y,w,h"),
    (["attack", "/no/such/scan.dcm"], "no such file"),
    (["attack", "--demo", "--objective", "region"], "needs a region"),
    (["attack", "--demo", "nosuchdemo"], "no built-in example 'nosuchdemo'"),
    (["attack", "scan.dcm", "--demo", "brain"], "either an input file or --demo"),
    (["attack", "--demo", "--recon", "checkpoint", "--weights", "/missing.pt"], "missing.pt"),
    (["attack", "--demo", "--recon", "nonsense"], "unknown reconstruction 'nonsense'"),
    (["attack", "--demo", "--domain", "patch"], "patch threat needs a region"),
    (["attack", "--demo", "--choice", "nonsense"], "--choice takes KEY=VALUE"),
    (["attack", "--demo", "--choice", "colour=red"], "--choice takes KEY=VALUE"),
    (["attack", "--demo", "--operator", "mri", "--recon", "fbpconvnet-ct-sparse"],
     "fbpconvnet-ct-sparse reconstructs CT, not MRI measurements"),
    (["attack", "--demo", "--surrogate", "unet-mri-4x"], "the surrogate is the attacked reconstruction itself"),
    (["attack", "--demo", "--surrogate", "fbpconvnet-ct-sparse"], "reconstructs CT, not MRI"),
    (["attack", "--demo", "--surrogate", "nonsense"], "unknown reconstruction 'nonsense'"),
    (["attack", "--demo", "--noise", "poisson:1:2:3"], "poisson:INCIDENT_FLUX[:MU_SCALE]"),
])
def test_wrong_arguments_print_one_line_exit_2_and_write_nothing(tmp_path, capsys, args, message):
    out = tmp_path / "run"
    assert main([*args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_refuses_a_non_empty_output_folder(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("mine")
    assert main(["attack", "--demo", *FAST, "--out", str(tmp_path)]) == 2
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_models_lists_builtin_and_classical(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "unet-mri-4x" in out and "tv" in out and "wavelet" in out


def test_console_script_entry_point_runs():
    result = subprocess.run([sys.executable, "-m", "halluview.cli", "models"], capture_output=True, text=True)
    assert result.returncode == 0 and "unet-mri-4x" in result.stdout


def test_an_unexpected_failure_is_one_line_not_a_traceback(monkeypatch, capsys):
    import halluview.cli as cli

    def broken(args):
        raise RuntimeError("disk on fire")

    monkeypatch.delenv("HALLUVIEW_DEBUG", raising=False)
    monkeypatch.setattr(cli, "cmd_models", broken)
    assert cli.main(["models"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("halluview-cli: internal error (RuntimeError: disk on fire)") and len(err.splitlines()) == 1


def test_a_builtin_model_brings_its_coils_unless_given():
    import halluview.cli as cli

    parse = cli.build_parser().parse_args
    assert cli.experiment_from_args(parse(["attack", "--demo", "--recon", "varnet-mri-4x-4coil"])).operator.n_coils == 4
    assert cli.experiment_from_args(parse(["attack", "--demo"])).operator.n_coils == 1
    given = parse(["attack", "--demo", "--recon", "varnet-mri-4x-4coil", "--coils", "8"])
    assert cli.experiment_from_args(given).operator.n_coils == 8


def test_a_builtin_model_brings_its_acquisition_and_the_command_line_wins():
    import halluview.cli as cli

    def operator(*args):
        return cli.experiment_from_args(cli.build_parser().parse_args(["attack", "--demo", *args])).operator

    ct = operator("--recon", "fbpconvnet-ct-sparse")
    assert (ct.kind, ct.angles, ct.n_angles, ct.noise) == ("ct", "sparse", 30, None)
    assert operator("--recon", "fbpconvnet-ct-sparse", "--n-angles", "60").n_angles == 60
    low_dose = operator("--recon", "redcnn-ct-lowdose")
    assert low_dose.n_angles == 180 and low_dose.noise["kind"] == "poisson_transmission"
    assert operator("--recon", "redcnn-ct-lowdose", "--noise", "none").noise is None
    assert operator("--recon", "redcnn-ct-lowdose", "--noise", "poisson:500:0.05").noise == {
        "kind": "poisson_transmission", "incident_flux": 500.0, "mu_scale": 0.05}
    assert operator("--recon", "unet-mri-4x", "--acceleration", "8").acceleration == 8
    assert operator("ct-small").kind == "ct"  # a CT example opens with the CT model and its views
    assert operator("ct-small").n_angles == 30


def test_the_deep_decoder_is_attacked_by_transfer_unless_told_otherwise():
    import halluview.cli as cli

    def surrogate(*args):
        return cli.experiment_from_args(cli.build_parser().parse_args(["attack", "--demo", *args])).surrogate

    assert surrogate("--recon", "deep-decoder-mri-4x") == "unet-mri-4x"
    assert surrogate("--recon", "deep-decoder-mri-4x", "--surrogate", "none") is None
    assert surrogate("--recon", "deep-decoder-mri-4x", "--surrogate", "dncnn-mri-4x") == "dncnn-mri-4x"
    assert surrogate("--recon", "unet-mri-4x") is None


def test_a_transfer_attack_reports_the_target_response(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["attack", "--demo", "--surrogate", "zero-filled", "--recon", "tv", "--iters", "10", "--size", "48",
                 "--steps", "3", "--quiet", "--out", str(out)]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("transfer attack from zero-filled: SSIM")
    report = json.loads((out / "report.json").read_text())
    assert report["config"]["surrogate"] == "zero-filled" and report["config"]["recon"]["name"] == "tv"
