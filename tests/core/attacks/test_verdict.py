"""The verdict on a result, from its numbers alone: the cases an attack can end in, each worded for people."""
import pytest
import torch

from halluview.core.attacks.optimizers import AscentRule, OptimizerConfig, auto_checkpoints
from halluview.core.attacks.threat import Threat, ThreatConfig
from halluview.core.attacks.verdict import assess

CHANGES = {"attack": 3.0, "noise": 1.0}


def test_an_attack_better_than_nothing_and_than_noise_is_found():
    verdict = assess("untargeted", {"attack": 9.0, "clean": 0.0, "noise_mean": 1.0}, CHANGES, 1.0)
    assert verdict.found and verdict.warnings == []
    assert verdict.headline == "In the whole image the attack changed the reconstruction 3× as much as noise of " \
                               "the same size."


def test_an_attack_no_better_than_noise_is_not_found():
    verdict = assess("region", {"attack": 2.0, "clean": 0.0, "noise_mean": 2.5}, CHANGES, 1.0)
    assert not verdict.found
    assert verdict.headline.startswith("No worst case found: random noise of the same size does as much")


@pytest.mark.parametrize("attack", [-5.0, -1.0])
def test_an_attack_that_did_not_improve_on_no_perturbation_is_not_found(attack):
    """Even when noise does worse still (a huge L∞ box): an objective at or below δ = 0's is no worst case."""
    verdict = assess("insert", {"attack": attack, "clean": -1.0, "noise_mean": -40.0}, CHANGES, 1.0)
    assert not verdict.found
    assert verdict.headline.startswith("No worst case found: the attack did not improve its objective")


def test_insert_and_remove_report_how_far_the_region_went_towards_the_target():
    verdict = assess("insert", {"attack": -0.25, "clean": -1.0, "noise_mean": -1.2}, CHANGES, 0.3)
    assert verdict.found
    assert verdict.headline == "The attack took the region 75% of the way to the inserted lesion; noise of the " \
                               "same size: 0%."
    assert verdict.warnings == ["the attack used only 30% of its budget ε"]


def test_a_change_within_the_refit_variation_is_not_told_apart():
    verdict = assess("untargeted", {"attack": 9.0, "clean": 0.0, "noise_mean": 1.0}, CHANGES, 1.0,
                     spread={"change": 2.0})
    assert any("own variation between refits or samples" in w for w in verdict.warnings)
    assert not assess("untargeted", {"attack": 9.0, "clean": 0.0, "noise_mean": 1.0}, CHANGES, 1.0,
                      spread={"change": 1.0}).warnings


def test_the_auto_schedule_halves_and_returns_to_the_best_point_at_a_stalled_checkpoint():
    """Auto-PGD: at checkpoint 3 of 10 only one of three steps improved, so the step halves and the next update
    starts from the best point δ_1 with its gradient, not from the current δ_3."""
    assert auto_checkpoints(10)[0] == 3
    threat = Threat(ThreatConfig(eps=1.0, eps_mode="absolute"), torch.zeros(1, 2))
    rule = AscentRule(OptimizerConfig(steps=10, schedule="auto"), threat)
    points = [torch.tensor([[0.0, 0.01]]), torch.tensor([[0.6, 0.0]]), torch.tensor([[0.2, 0.5]]),
              torch.tensor([[-0.3, 0.4]])]
    grads = [torch.tensor([[0.0, 1.0]]), torch.tensor([[3.0, 4.0]]), torch.tensor([[1.0, 0.0]]),
             torch.tensor([[0.0, -1.0]])]
    values = [0.0, 5.0, 4.0, 3.0]
    for index in range(3):
        rule.step(points[index], grads[index], index, torch.tensor(values[index]))
    after_checkpoint = rule.step(points[3], grads[3], 3, torch.tensor(values[3]))
    expected = points[1] + 0.5 * 2.0 * torch.tensor([[0.6, 0.8]])  # half of the first step (2ε), along ĝ_1
    torch.testing.assert_close(after_checkpoint, expected)


def test_in_words_names_the_region_the_ratio_and_both_ssims():
    from halluview.core.attacks.verdict import in_words

    verdict = assess("region", {"attack": 5.0, "clean": 0.0, "noise_mean": 0.1}, {"attack": 12.0, "noise": 1.0}, 1.0)
    metrics = {"vs_clean": {"ssim": 0.9, "ssim_in": 0.72}}
    noise = {"vs_clean": {"ssim": 0.999, "ssim_in": 0.995}}
    assert in_words("region", verdict, metrics, noise) == (
        "Inside the marked region the attack changed the image 12× more than random noise of the same size "
        "(SSIM 0.72 vs 0.995).")
    untargeted = assess("untargeted", {"attack": 5.0, "clean": 0.0, "noise_mean": 0.1},
                        {"attack": 3.0, "noise": 1.0}, 1.0)
    assert in_words("untargeted", untargeted, metrics, noise).startswith(
        "Across the whole image the attack changed the image 3× more")
    assert "(SSIM 0.9 vs 0.999)" in in_words("untargeted", untargeted, metrics, noise)


def test_in_words_for_insert_gives_the_way_to_the_lesion_and_a_failed_attack_says_so():
    from halluview.core.attacks.verdict import in_words

    verdict = assess("insert", {"attack": -1.0, "clean": -4.0, "noise_mean": -4.0}, {"attack": 2, "noise": 1}, 1.0)
    assert in_words("insert", verdict, {}, None) == (
        "Across the whole image the attack took the image 75% of the way to the inserted lesion; random noise of "
        "the same size: 0%.")
    failed = assess("region", {"attack": 0.0, "clean": 0.0, "noise_mean": 0.0}, {"attack": 0, "noise": 1}, 1.0)
    assert in_words("region", failed, {}, None).startswith("No worst case found")
