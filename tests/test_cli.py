"""halluview-cli: a run writes its report and images, rerun reproduces the numbers, mistakes exit 2 cleanly."""
import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pydicom
import pytest
import torch
from console import run_cli, run_many
from hostile_inputs import (
    MARKER,
    constant_volume,
    fastmri_tiny,
    fastmri_with_max,
    fastmri_without_coils,
    fastmri_without_sampled_columns,
    malicious_checkpoint,
    torchscript_model,
)
from pydicom.data import get_testdata_file

from halluview.cli import main

FAST = ["--recon", "zero-filled", "--size", "48", "--steps", "4", "--quiet"]


def test_attack_writes_report_images_and_arrays(tmp_path):
    out = tmp_path / "run"
    done = run_cli("attack", "--demo", *FAST, "--region", "10,12,8,6", "--objective", "region", "--out", str(out))
    assert done.returncode == 0, done.stderr
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
    assert "SSIM" in done.stdout


def test_rerun_reproduces_the_numbers_exactly(tmp_path):
    out = tmp_path / "run"
    assert run_cli("attack", "--demo", *FAST, "--random-start", "--seed", "7", "--out", str(out)).returncode == 0
    rerun = run_cli("rerun", str(out / "report.json"), "--quiet")
    assert rerun.returncode == 0 and "identical numbers" in rerun.stdout
    np.testing.assert_array_equal(np.load(out / "delta.npy"), np.load(out / "rerun" / "delta.npy"))


WRONG = [
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
    (["attack", "--demo", "--sampling-steps", "3"], "--sampling-steps applies to --recon diffusion-mri-4x"),
    (["attack", "--demo", "--recon", "diffusion-mri-4x", "--eta", "2"], "eta must be between 0 and 1, not 2"),
]


@pytest.mark.parametrize("args,message", WRONG)
def test_wrong_arguments_print_one_line_exit_2_and_write_nothing(wrong_argument_runs, args, message):
    out, done = wrong_argument_runs[" ".join(args)]
    err = done.stderr.strip()
    assert done.returncode == 2 and message in err and len(err.splitlines()) == 1, err
    assert not out.exists()


@pytest.fixture(scope="module")
def wrong_argument_runs(tmp_path_factory):
    """Every wrong-argument case through the console script, four at a time."""
    folder = tmp_path_factory.mktemp("wrong")
    cases = {" ".join(args): [*args, "--out", str(folder / f"run{i}")] for i, (args, _) in enumerate(WRONG)}
    done = run_many(cases, cwd=folder)
    return {key: (folder / f"run{i}", done[key]) for i, key in enumerate(cases)}


def test_refuses_a_non_empty_output_folder(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    assert run_cli("attack", "--demo", *FAST, "--out", str(tmp_path)).returncode == 2
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_models_lists_builtin_and_classical():
    done = run_cli("models")
    assert done.returncode == 0
    assert "unet-mri-4x" in done.stdout and "tv" in done.stdout and "wavelet" in done.stdout


def test_python_m_runs_the_same_command_line():
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


def test_a_transfer_attack_reports_the_target_response(tmp_path):
    out = tmp_path / "run"
    done = run_cli("attack", "--demo", "--surrogate", "zero-filled", "--recon", "tv", "--iters", "10", "--size", "48",
                   "--steps", "3", "--quiet", "--out", str(out))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("tv on MRI, 1 coil, 4× random mask") and "demo:brain" in lines[0]
    assert any(line.startswith("transfer attack from zero-filled: SSIM") for line in lines)
    report = json.loads((out / "report.json").read_text())
    assert report["config"]["surrogate"] == "zero-filled" and report["config"]["recon"]["name"] == "tv"


# --- end to end through the installed console script: every bad value is one line, exit 2, nothing written ---
CT_SMALL = get_testdata_file("CT_small.dcm", download=False)


def _hostile_cases(folder):
    """(arguments, what the one line must say) for each value the issue lists; files are made in ``folder``."""
    series = folder / "series"
    series.mkdir()
    shutil.copy(CT_SMALL, series / "slice.dcm")
    (folder / "taken").write_text("a file")
    from halluview.core.recon.fastmri_nets import Unet
    fewer_pools, mixed, neither = folder / "pools2.pt", folder / "mixed.pt", folder / "neither.pt"
    torch.save(Unet(1, 1, chans=16, num_pool_layers=2).state_dict(), fewer_pools)
    state = Unet(1, 1, chans=16, num_pool_layers=4).state_dict()
    state["conv.layers.0.weight"] = torch.zeros(3, 128, 3, 3)  # shapes that do not fit their names
    torch.save(state, mixed)
    torch.save({"encoder.weight": torch.zeros(3)}, neither)
    ansi = folder / "evil\x1b[31mred.npy"
    ansi.write_bytes(b"not numpy")
    demo = ["--demo", "--steps", "2"]
    cases = {
        "choice-on-demo": (demo + ["--choice", "series=1"], "holds one scan"),
        "slice": (demo + ["--slice", "99"], "slice 99 is outside demo:brain"),
        "size": (demo + ["--size", "0"], "image size must be 16..2048"),
        "acceleration": (demo + ["--acceleration", "0"], "acceleration must be at least 1"),
        "coils": (demo + ["--coils", "0"], "coils must be 1..64, not 0"),
        "step-size": (demo + ["--step-size", "-1"], "step size must be a positive fraction"),
        "patch-linf": (demo + ["--patch-linf", "-1"], "unrecognized arguments: --patch-linf"),  # ε bounds patches
        "center-fraction": (demo + ["--center-fraction", "1.5"], "centre fraction must be in (0, 1]"),
        "eps": (demo + ["--eps", "50"], "at most 100 %"),
        "lesion-line": (demo + ["--objective", "insert", "--region", "4,4,8,8", "--lesion", "line"],
                        "--lesion line needs its end points"),
        "out-read-only": (demo + ["--out", "/proc/halluview-out"], "cannot write into /proc"),
        "out-file": (demo + ["--out", str(folder / "taken")], "a file is in the way"),
        "out-input": ([CT_SMALL, "--steps", "2", "--out", CT_SMALL], "that is the input"),
        "out-in-series": ([str(series), "--steps", "2", "--out", str(series / "out")], "inside the input folder"),
        "max-nan": ([str(fastmri_with_max(folder / "nan.h5", float("nan")))], "nan.h5"),
        "max-negative": ([str(fastmri_with_max(folder / "negative.h5", -1.0))], "negative.h5"),
        "max-text": ([str(fastmri_with_max(folder / "text.h5", "abc"))], "text.h5"),
        "max-inf": ([str(fastmri_with_max(folder / "inf.h5", float("inf")))], "inf.h5"),
        "no-column": ([str(fastmri_without_sampled_columns(folder / "nocolumn.h5"))], "nocolumn.h5"),
        "no-coil": ([str(fastmri_without_coils(folder / "nocoil.h5"))], "nocoil.h5"),
        "tiny": ([str(fastmri_tiny(folder / "tiny.h5"))], "tiny.h5"),
        "constant": ([str(constant_volume(folder / "constant.npy"))], "constant.npy: slice 1 is constant"),
        "flag-contradicts": (demo + ["--recon", "checkpoint", "--weights", str(fewer_pools), "--pools", "4"],
                             "pools2.pt: the weights hold a fastMRI U-Net with 2 pooling layers, not 4 (--pools 4)"),
        "neither-network": (demo + ["--recon", "checkpoint", "--weights", str(neither)],
                            "neither.pt: it holds neither a fastMRI U-Net"),
        "shape-mismatch": (demo + ["--recon", "checkpoint", "--weights", str(mixed)],
                           "mixed.pt: its tensor shapes do not match the architecture (fastMRI U-Net, 16 channels, "
                           "4 pools): conv.layers.0.weight (file 3×128×3×3, architecture 256×128×3×3)."),
        "ansi-name": ([str(ansi)], "red.npy"),
    }
    for kind in ("nan", "zero", "detached"):
        weights = torchscript_model(folder / f"{kind}.pt", kind)
        cases[f"model-{kind}"] = (demo + ["--size", "32", "--recon", "torchscript", "--weights", str(weights)],
                                  f"torchscript ({kind}.pt)")
    if not torch.cuda.is_available():
        cases["device"] = (demo + ["--device", "cuda"], "device cuda: torch finds no CUDA GPU")
    return cases


@pytest.fixture(scope="module")
def hostile_runs(tmp_path_factory):
    """Every case run through the console script, four at a time (each run is mostly torch's import)."""
    folder = tmp_path_factory.mktemp("hostile")
    cases = _hostile_cases(folder)

    def run(name):
        args, _ = cases[name]
        out = [] if "--out" in args else ["--out", str(folder / f"out-{name}")]
        done = subprocess.run(["halluview-cli", "attack", *args, "--quiet", *out], capture_output=True, text=True,
                              timeout=600, cwd=folder)
        return name, done

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(pool.map(run, cases))
    return folder, cases, results


HOSTILE = ["choice-on-demo", "slice", "size", "acceleration", "coils", "step-size", "patch-linf", "center-fraction",
           "eps", "lesion-line", "out-read-only", "out-file", "out-input", "out-in-series", "max-nan", "max-negative",
           "max-text", "max-inf", "no-column", "no-coil", "tiny", "constant", "flag-contradicts", "neither-network",
           "shape-mismatch",
           "ansi-name", "model-nan", "model-zero", "model-detached", "device"]


@pytest.mark.parametrize("name", HOSTILE)
def test_bad_values_end_in_one_line_exit_2_and_nothing_written(hostile_runs, name):
    folder, cases, results = hostile_runs
    if name not in results:
        pytest.skip("this machine has CUDA")
    done, (_, message) = results[name], cases[name]
    err = done.stderr.strip()
    assert done.returncode == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("halluview-cli: error: ") and message in err, err
    assert "\x1b" not in err and "internal error" not in err
    assert not (folder / f"out-{name}").exists() and done.stdout == ""
    assert not list((folder / "series").glob("out*")) and (folder / "taken").read_text() == "a file"


def test_rerun_never_unpickles_on_the_reports_word(tmp_path):
    weights = malicious_checkpoint(tmp_path / "evil.pt")
    from halluview.core.experiment import Experiment, SourceConfig
    from halluview.core.recon.factory import ReconConfig

    config = Experiment(source=SourceConfig(image_size=32), device="cpu",
                        recon=ReconConfig(name="checkpoint", weights=str(weights), allow_pickle=True)).to_dict()
    (tmp_path / "report.json").write_text(json.dumps({"config": config, "norms": {}, "final": {}}))
    done = subprocess.run(["halluview-cli", "rerun", "report.json", "--quiet"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=600)
    err = done.stderr.strip()
    assert done.returncode == 2 and len(err.splitlines()) == 1, err
    assert "pickled Python objects" in err and "--allow-pickle" in err
    assert not (tmp_path / MARKER).exists() and not (tmp_path / "rerun").exists()


def test_help_shows_the_defaults_and_the_demo_names():
    done = subprocess.run(["halluview-cli", "attack", "--help"], capture_output=True, text=True, timeout=120)
    text = " ".join(done.stdout.split())
    assert done.returncode == 0
    for expected in ("ct-small", "mr-anatomical", "shepp-logan", "(default 0.01 = 1 %)", "default 100",
                     "wavelet 50", "default TV 100", "default: unet-mri-4x for MRI", "(default 4, or what",
                     "at least 16"):
        assert expected in text, expected


def test_choice_picks_inside_a_file_and_the_report_says_what_was_attacked(tmp_path):
    from fastmri_fixture import phantom_volume, write_fastmri_h5

    fixture = write_fastmri_h5(tmp_path / "knee.h5", phantom_volume(3, 32, 24), n_coils=None, acceleration=1)
    out = tmp_path / "run"
    done = run_cli("attack", str(fixture.path), "--choice", "dataset=kspace", "--slice", "2", "--recon",
                   "zero-filled", "--steps", "2", "--quiet", "--out", str(out))
    assert done.returncode == 0, done.stderr
    attacked = json.loads((out / "report.json").read_text())["attacked"]
    assert attacked["file"] == str(fixture.path) and attacked["contents"] == {"dataset": "kspace"}
    assert (attacked["slice"], attacked["n_slices"], attacked["original_size"]) == (2, 3, [32, 24])
    assert attacked["measurement"] == "the file's own k-space" and attacked["resized_to"] is None
    first = done.stdout.splitlines()[0]
    assert first.startswith("zero-filled on MRI, 1 coil, 4× random mask, centre 8 % (the file's own k-space): "
                            "knee.h5, dataset kspace, slice 2 of 3, 24×32 px at ")  # width × height


def test_a_ct_file_is_attacked_as_ct_with_its_size_recorded(tmp_path):
    out = tmp_path / "run"
    assert run_cli("attack", CT_SMALL, "--size", "64", "--steps", "2", "--quiet", "--out", str(out)).returncode == 0
    report = json.loads((out / "report.json").read_text())
    assert report["config"]["operator"]["kind"] == "ct" and report["attacked"]["model"] == "fbpconvnet-ct-sparse"
    assert report["attacked"]["original_size"] == list(pydicom.dcmread(CT_SMALL).pixel_array.shape)
    assert report["attacked"]["resized_to"] == [64, 64] and np.load(out / "clean.npy").shape == (64, 64)


def test_a_line_lesion_takes_its_end_points(tmp_path):
    out = tmp_path / "run"
    assert run_cli("attack", "--demo", *FAST, "--objective", "insert", "--region", "10,10,12,12", "--lesion-line",
                   "12,12,20,18", "--out", str(out)).returncode == 0
    lesion = json.loads((out / "report.json").read_text())["config"]["objective"]["lesion"]
    assert lesion == {"shape": "line", "start_xy": [12.0, 12.0], "end_xy": [20.0, 18.0]}


def test_train_never_overwrites_the_shipped_weights_unless_asked(tmp_path, capsys, monkeypatch):
    import halluview.core.recon.train as train
    from halluview.core.recon.zoo import MODELS

    shipped = MODELS["unet-mri-4x"].weights_path
    before = shipped.read_bytes()
    assert main(["train", "unet-mri-4x", "--steps", "1"]) == 2
    assert "would replace the shipped weights" in capsys.readouterr().err and shipped.read_bytes() == before
    assert main(["train", "unet-mri-4x", "--out", str(shipped.parent)]) == 2
    folders = []
    monkeypatch.setattr(train, "train_model", lambda name, folder, **kw: folders.append(folder) or folder / "w.pt")
    assert main(["train", "unet-mri-4x", "--out", str(tmp_path / "mine"), "--no-evaluate"]) == 0
    assert main(["train", "unet-mri-4x", "--overwrite-shipped", "--no-evaluate"]) == 0
    assert folders == [(tmp_path / "mine").resolve(), shipped.parent.resolve()]
    assert shipped.read_bytes() == before
