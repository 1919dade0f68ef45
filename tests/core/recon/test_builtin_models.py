"""Built-in models: shipped weights load safely, the card's clean numbers are recomputed, and the demo model
is attackable far beyond equal-norm noise."""
import json

import pytest
import torch

from halluview.core.attacks.objectives import ObjectiveConfig
from halluview.core.attacks.optimizers import OptimizerConfig
from halluview.core.attacks.run import run_to_end
from halluview.core.attacks.threat import ThreatConfig
from halluview.core.experiment import Experiment, OperatorConfig, SourceConfig
from halluview.core.problem import build_problem
from halluview.core.recon.evaluate import held_out_metrics, real_metrics
from halluview.core.recon.factory import ReconConfig
from halluview.core.recon.zoo import MODELS

BUILT_IN = sorted(MODELS)
SLOW_CARDS = {"deep-decoder-mri-4x", "tv-mri-4x", "diffusion-mri-4x"}  # refits, 100 iterations or 3 × 50 samplings
# A network fitted to each image (thousands of steps) amplifies the CPU's rounding: another CPU (AVX2 / AVX-512)
# gives SSIM up to 0.04 and PSNR up to 0.2 dB apart on one slice, 0.003 / 0.05 dB on the mean. Its baselines are exact.
FITTED = {"deep-decoder-mri-4x": {"mean": (0.01, 0.1), "slice": (0.06, 0.3)},
          "diffusion-mri-4x": {"mean": (0.01, 0.1), "slice": (0.06, 0.3)}}  # 50 sampling steps, noise at each
EXACT = {"mean": (1e-4, 1e-4), "slice": (1e-3, 1e-3)}


def _close(got: dict, shipped: dict, model: tuple[float, float], baseline: tuple[float, float]) -> None:
    for key in ("ssim", "psnr"):
        assert got[key] == pytest.approx(shipped[key], abs=model[key == "psnr"])
        assert got[f"baseline_{key}"] == pytest.approx(shipped[f"baseline_{key}"], abs=baseline[key == "psnr"])


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_CARDS else n
                                  for n in BUILT_IN])
def test_card_numbers_are_what_the_weights_give(name):
    if name in FITTED:  # a fit's rounding depends on the thread count too: the cards were made with 2 threads
        torch.set_num_threads(2)  # (the autouse fixture gives the next test its own count back)
    entry = MODELS[name]
    card = json.loads((entry.folder / "card.json").read_text())
    assert card["name"] == name and card["training"]["command"].startswith(f"halluview-cli train {name}")
    assert card["parameters"] > 0 if entry.trainable else card["parameters"] == 0
    tolerance = FITTED.get(name, EXACT)
    recomputed = held_out_metrics(name)
    _close(recomputed, card["clean_metrics"], tolerance["mean"], EXACT["mean"])
    real = real_metrics(name, max_side=entry.extra.get("real_max_side"))  # other volumes, each at its own size
    assert real["held_out_slices"] == card["real_metrics"]["held_out_slices"] >= 2 and not real["not_installed"]
    for got, shipped in zip(real["slices"], card["real_metrics"]["slices"]):
        assert got["slice"] == shipped["slice"] and got["size"] == shipped["size"]
        _close(got, shipped, tolerance["slice"], EXACT["slice"])
    assert real["verdict"] == card["real_metrics"]["verdict"]  # what the card says in words holds
    if entry.trainable:
        assert recomputed["ssim"] > recomputed["baseline_ssim"] + 0.05  # the network beats zero-filling
        assert entry.weights_path.stat().st_size < 10 * 2 ** 20
    else:  # classical: the parameter in use is the validation optimum, from the entry's own candidates
        tuned = card["tuned"]
        curve = {float(v): s for v, s in tuned["validation_ssim"].items()}
        assert sorted(curve) == sorted(entry.extra["tune"]["candidates"])
        assert tuned["value"] == max(curve, key=curve.get)
        assert not entry.weights_path.exists()


def test_builtin_weights_stay_small():
    total = sum(entry.weights_path.stat().st_size for entry in MODELS.values() if entry.trainable)
    assert 0 < total < 50 * 2 ** 20


def test_demo_unet_attack_beats_equal_norm_noise_by_far():
    experiment = Experiment(source=SourceConfig(demo="brain"), recon=ReconConfig(name="unet-mri-4x"),
                            threat=ThreatConfig(eps=0.02), optimizer=OptimizerConfig(steps=15), device="cpu",
                            noise_draws=2)
    result = run_to_end(build_problem(experiment))
    assert result.norms["delta_l2"] <= 0.02 * result.norms["y_l2"] * (1 + 1e-5)
    assert result.norms["recon_change_l2"] > 3 * result.norms["noise_recon_change_l2_mean"]
    # Three times the change is ~9.5 dB of PSNR (the untargeted objective is the L2 change, not SSIM).
    assert result.metrics["vs_clean"]["psnr"] < result.noise_metrics["vs_clean"]["psnr"] - 9


def test_an_attack_found_on_the_dncnn_surrogate_transfers_to_the_unet():
    def change(surrogate):
        experiment = Experiment(source=SourceConfig(demo="brain"), recon=ReconConfig(name="unet-mri-4x"),
                                threat=ThreatConfig(eps=0.02), optimizer=OptimizerConfig(steps=15), device="cpu",
                                noise_draws=2, surrogate=surrogate)
        return run_to_end(build_problem(experiment)).norms

    transfer, direct = change("dncnn-mri-4x"), change(None)
    for norms in (transfer, direct):  # each judged against noise of its own δ's size, through the U-Net
        assert norms["noise_l2"] == pytest.approx(norms["delta_l2"], rel=1e-5)
    assert transfer["recon_change_l2"] > 2 * transfer["noise_recon_change_l2_mean"]  # it transfers…
    assert transfer["recon_change_l2"] < direct["recon_change_l2"]  # …but less than a direct attack


@pytest.mark.parametrize("name,eps", [("fbpconvnet-ct-sparse", 0.01), ("redcnn-ct-lowdose", 0.005)])
def test_ct_models_are_attackable_beyond_noise_on_a_real_scan(name, eps):
    experiment = Experiment(source=SourceConfig(demo="ct-small"), recon=ReconConfig(name=name),
                            operator=OperatorConfig(**MODELS[name].acquisition()),
                            threat=ThreatConfig(eps=eps), optimizer=OptimizerConfig(steps=8), device="cpu",
                            noise_draws=1)
    result = run_to_end(build_problem(experiment))
    assert result.norms["recon_change_l2"] > 3 * result.norms["noise_recon_change_l2_mean"]


def test_demo_unet_inserts_a_lesion_in_the_drawn_region():
    region = {"kind": "ellipse", "xywh": [74, 44, 14, 14]}
    experiment = Experiment(source=SourceConfig(demo="brain"), recon=ReconConfig(name="unet-mri-4x"),
                            threat=ThreatConfig(eps=0.02), region=region, device="cpu", noise_draws=1,
                            objective=ObjectiveConfig(kind="insert", lesion={"shape": "disc", "intensity": 1.0}),
                            optimizer=OptimizerConfig(steps=20))
    problem = build_problem(experiment)
    result = run_to_end(problem)
    scored = problem.objective.inside.bool().cpu().numpy()
    target = problem.objective.target[0].cpu().numpy()
    before = abs(result.clean - target)[scored].mean()
    after = abs(result.perturbed - target)[scored].mean()
    assert after < 0.7 * before


def test_unet_weights_hold_only_fastmri_unet_keys():
    """Weights files carry the network alone (no operator buffers such as masks), under fastMRI's key names."""
    import torch

    from halluview.core.recon.fastmri_nets import Unet

    state = torch.load(MODELS["unet-mri-4x"].weights_path, weights_only=True)
    assert set(state) == set(Unet(1, 1, chans=16, num_pool_layers=4).state_dict())


def test_the_card_verdict_says_plainly_when_a_model_does_not_beat_its_baseline():
    from halluview.core.recon.evaluate import verdict

    rows = [{"psnr": 30.0, "baseline_psnr": 30.5, "ssim": 0.8, "baseline_ssim": 0.85}]
    assert verdict({"psnr": 30.0, "baseline_psnr": 30.5, "ssim": 0.8, "baseline_ssim": 0.85,
                    "slices": rows}).startswith("does NOT beat its baseline")
    rows = [{"psnr": 32.0, "baseline_psnr": 30.0, "ssim": 0.9, "baseline_ssim": 0.85}] * 2
    assert verdict({"psnr": 32.0, "baseline_psnr": 30.0, "ssim": 0.9, "baseline_ssim": 0.85,
                    "slices": rows}).startswith("beats its baseline on every held-out real slice (2/2")
