"""bf16 autocast, channels-last and torch.compile of the attacked network (all on the CPU): the fast module stays
within the SSIM goal of fp32, the exact module is untouched, refused settings are one line, and reports record the
setting. Reference outputs come from a second, independently built fp32 reconstruction."""
import json
import warnings

import pytest
import torch
from console import run_cli

from halluview.core import metrics
from halluview.core.attacks.precision import precision_effect, precision_line
from halluview.core.attacks.run import finish
from halluview.core.choices import Choices, experiment_for
from halluview.core.errors import ExperimentError
from halluview.core.experiment import Experiment
from halluview.core.problem import build_problem, working_image
from halluview.core.recon.acceleration import SSIM_GOAL, AccelerationSettings, FastNetwork, accelerated
from halluview.core.recon.factory import ReconConfig, build_reconstructor
from halluview.core.recon.zoo import MODELS
from halluview.core.samples import load_sample
from halluview.core.study.grid import cell_key

UNET, VARNET = "unet-mri-4x", "varnet-mri-4x-4coil"
BF16 = AccelerationSettings(precision="bf16")


@pytest.fixture(scope="module")
def phantom():
    """The demo brain's middle slice at 128² (1, H, W)."""
    scan = load_sample("brain")
    return torch.from_numpy(working_image(scan, scan.n_slices // 2, 128))[None]


def _model(name: str, phantom: torch.Tensor):
    """A freshly built fp32 model and its measurement of the phantom."""
    op = MODELS[name].make_operator()
    with torch.no_grad():
        return build_reconstructor(ReconConfig(name=name), op), op(phantom)


@pytest.mark.parametrize("name", [UNET, VARNET])
def test_bf16_differs_from_fp32_within_the_ssim_goal(name, phantom):
    recon, y = _model(name, phantom)
    independent, _ = _model(name, phantom)
    fast = accelerated(recon, BF16)
    with torch.no_grad():
        image, fp32 = fast(y), independent(y)
        exact = fast.exact(y)
    assert image.dtype == torch.float32 and image.shape == fp32.shape
    assert float((image - fp32).abs().max()) > 1e-5  # bf16 really ran
    torch.testing.assert_close(exact, fp32, rtol=0, atol=0)  # the exact module is the untouched fp32 one
    # ΔSSIM against fp32 (what a run's precision record anchors on); against the ground truth bf16 moves SSIM by
    # up to ±1e-3 either way (benchmarks/acceleration.py reports it), too close to the goal to pin here.
    assert float(metrics.ssim(image, fp32)) >= 1 - SSIM_GOAL


def test_channels_last_gives_the_plain_output(phantom):
    recon, y = _model(UNET, phantom)
    fast = accelerated(recon, AccelerationSettings(channels_last=True))
    weights = [p for p in fast.fast.parameters() if p.dim() == 4 and p.shape[1] > 1]  # 1 channel: both layouts
    assert weights and all(w.is_contiguous(memory_format=torch.channels_last) for w in weights)  # the copy ...
    assert all(p.is_contiguous() for p in recon.parameters())  # ... not the exact module
    with torch.no_grad():
        torch.testing.assert_close(fast(y), recon(y), rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", [UNET, VARNET])
def test_each_fast_network_returns_float32_in_the_default_layout(name, phantom):
    """The pipelines promote a bf16 output back to float32 by themselves; a TorchScript network's output goes
    straight out, so each CNN must hand back what the exact one would."""
    recon, _ = _model(name, phantom)
    fast = accelerated(recon, AccelerationSettings(precision="bf16", channels_last=True))
    networks = [m for m in fast.modules() if isinstance(m, FastNetwork)]
    assert len(networks) == (1 if name == UNET else 5)  # the U-Net; the VarNet's 4 cascades and sensitivity U-Net
    for network in networks:
        channels = network.network.in_chans
        with torch.no_grad():
            output = network(torch.rand(1, channels, 32, 32, generator=torch.Generator().manual_seed(0)))
        assert output.dtype == torch.float32 and output.is_contiguous()


def test_a_torchscript_network_in_bf16_returns_float32(phantom, tmp_path):
    """Its output leaves the pipeline as the network gives it: the cast back to float32 is all that guards it."""
    torch.manual_seed(0)
    nn = torch.nn
    layers = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 1, 3, padding=1))
    with warnings.catch_warnings():  # torch 2.13 deprecates TorchScript; users still have such files
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.script(layers).save(str(tmp_path / "net.pt"))
    op = MODELS[UNET].make_operator()
    recon = build_reconstructor(ReconConfig(name="torchscript", weights=str(tmp_path / "net.pt")), op)
    fast = accelerated(recon, AccelerationSettings(precision="bf16", channels_last=True))
    with torch.no_grad():
        y = op(phantom)
        image, plain = fast(y), recon(y)
    assert image.dtype == torch.float32 and image.is_contiguous()
    assert 0 < float((image - plain).abs().max()) <= 0.02 * float(plain.abs().max())


def _output_and_gradient(recon, y):
    probe = y.clone().requires_grad_(True)
    image = recon(probe)
    (gradient,) = torch.autograd.grad(image.square().sum(), probe)
    return image.detach(), gradient


def test_compiled_network_gives_the_plain_output_and_gradient(phantom):
    recon, y = _model(UNET, phantom)
    fast = accelerated(recon, AccelerationSettings(compile=True, backend="aot_eager"))
    image, gradient = _output_and_gradient(fast, y)
    plain_image, plain_gradient = _output_and_gradient(recon, y)
    torch.testing.assert_close(image, plain_image, rtol=0, atol=1e-5)
    torch.testing.assert_close(gradient, plain_gradient, rtol=1e-4, atol=1e-6)


def test_a_compile_failure_is_one_line(phantom):
    from torch._dynamo import register_backend

    @register_backend(name="halluview_test_broken")
    def broken(graph, inputs):
        raise RuntimeError("no C++ compiler here\nsecond line")

    recon, y = _model(UNET, phantom)
    fast = accelerated(recon, AccelerationSettings(compile=True, backend="halluview_test_broken"))
    with pytest.raises(ExperimentError) as caught:
        fast(y)
    message = str(caught.value)
    assert message.startswith("torch.compile (backend halluview_test_broken) failed")
    assert "no C++ compiler here" in message and "\n" not in message


def test_plain_settings_leave_the_module_as_it_is(phantom):
    recon, _ = _model(UNET, phantom)
    assert accelerated(recon, AccelerationSettings()) is recon
    assert accelerated(recon, BF16) is accelerated(recon, BF16)  # made once: shared by runs and batches


def _problem(**compute):
    experiment = experiment_for(None, Choices(source={"demo": "brain", "image_size": 128}, compute=compute))
    problem = build_problem(experiment)
    noise = torch.randn(problem.y.shape, generator=torch.Generator().manual_seed(0), dtype=problem.y.dtype)
    return problem, 0.02 * torch.linalg.vector_norm(problem.y) / torch.linalg.vector_norm(noise) * noise  # 2 %


def test_precision_effect_is_none_for_fp32():
    problem, delta = _problem()
    assert precision_effect(problem, delta) is None


def test_precision_effect_reports_bf16_against_an_independent_fp32_model():
    problem, delta = _problem(precision="bf16")
    effect = precision_effect(problem, delta)
    independent = build_reconstructor(ReconConfig(name=UNET), problem.op)
    with torch.no_grad():
        y = problem.perturbed_measurement(delta)
        fast, fp32 = problem.recon(y), independent(y)
    expected = float(metrics.ssim(fast, problem.clean) - metrics.ssim(fp32, problem.clean))
    assert effect["precision"] == "bf16" and not effect["compile"] and not effect["channels_last"]
    assert effect["ssim_difference"] == pytest.approx(expected, abs=1e-7)
    assert 0 < abs(effect["ssim_difference"]) <= SSIM_GOAL and effect["within_goal"]
    assert effect["max_abs_difference"] == pytest.approx(float((fast - fp32).abs().max()), rel=1e-6)
    assert effect["max_abs_difference"] > 0 and effect["psnr_difference_db"] is not None
    assert precision_line(effect).startswith("bf16 vs fp32 on y + δ: ΔSSIM")


def test_a_bf16_run_reports_fp32_numbers_and_the_precision_effect():
    problem, delta = _problem(precision="bf16")
    result = finish(problem, delta, [], 0.0)
    independent = build_reconstructor(ReconConfig(name=UNET), problem.op)
    with torch.no_grad():
        fp32 = independent(problem.perturbed_measurement(delta))
    assert result.perturbed == pytest.approx(fp32[0].numpy(), abs=1e-6)  # the exact network, not the bf16 one
    assert result.metrics["vs_clean"]["ssim"] == pytest.approx(float(metrics.ssim(fp32, problem.clean)), abs=1e-6)
    assert result.precision == precision_effect(problem, delta) and result.precision["within_goal"]
    plain, _ = _problem()
    assert finish(plain, delta, [], 0.0).precision is None


def test_default_settings_keep_study_keys_and_old_reports_load():
    record = Experiment().to_dict()
    assert record["compute"] == AccelerationSettings().to_dict()
    del record["compute"]  # a report written before the setting existed
    assert Experiment.from_dict(record).compute == AccelerationSettings()
    assert cell_key(Experiment()) == "6abb0b504bc42efb"
    assert cell_key(Experiment(compute=BF16)) != cell_key(Experiment())
    assert Experiment.from_dict(Experiment(compute=BF16).to_dict()).compute == BF16


@pytest.mark.parametrize("recon,compute,message", [
    ("tv", {"precision": "bf16"}, "bf16 autocast applies to a network reconstruction only: tv is a classical"),
    ("deep-decoder-mri-4x", {"compile": True}, "deep-decoder-mri-4x has no trained network"),
    ("diffusion-mri-4x", {"channels_last": True}, "samples its network many times"),
    (UNET, {"precision": "fp16"}, "precision must be fp32 or bf16, not 'fp16'"),
    (UNET, {"compile": True, "backend": "nonsense"}, "unknown torch.compile backend 'nonsense'"),
])
def test_refused_settings_name_the_reason(recon, compute, message):
    experiment = experiment_for(None, Choices(recon={"name": recon}, compute=compute))
    with pytest.raises(ExperimentError, match=message):
        experiment.validate_settings()


def test_test_time_training_is_refused():
    experiment = experiment_for(None, Choices(recon={"ttt": {"steps": 2}}, compute={"precision": "bf16"}))
    with pytest.raises(ExperimentError, match="test-time training adapts the network in fp32"):
        experiment.validate_settings()


def test_cli_precision_reaches_the_report(tmp_path):
    out = tmp_path / "run"
    done = run_cli("attack", "--demo", "--size", "48", "--steps", "2", "--quiet", "--precision", "bf16",
                   "--channels-last", "--out", str(out))
    assert done.returncode == 0, done.stderr
    compute = json.loads((out / "report.json").read_text())["config"]["compute"]
    assert compute == {**AccelerationSettings().to_dict(), "precision": "bf16", "channels_last": True}
    assert json.loads((out / "report.json").read_text())["precision"]["precision"] == "bf16"
    assert "bf16 vs fp32 on y + δ: ΔSSIM" in done.stdout


def test_cli_refuses_bf16_for_a_classical_reconstruction(tmp_path):
    out = tmp_path / "run"
    done = run_cli("attack", "--demo", "--recon", "zero-filled", "--precision", "bf16", "--out", str(out))
    err = done.stderr.strip()
    assert done.returncode == 2 and len(err.splitlines()) == 1, err
    assert "applies to a network reconstruction only: zero-filled is a classical reconstruction" in err
    assert "--precision" in err and not out.exists()
