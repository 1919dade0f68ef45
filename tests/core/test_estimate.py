"""The time a run will take, said before it starts, from the clean reconstruction's time."""
from dataclasses import replace

from halluview.core.attacks.optimizers import OptimizerConfig
from halluview.core.estimate import STEP_PER_FORWARD, duration, estimate_run
from halluview.core.experiment import Experiment


def test_the_estimate_counts_steps_restarts_and_noise_draws():
    experiment = Experiment(optimizer=OptimizerConfig(steps=100, restarts=2), noise_draws=4)
    estimate = estimate_run(experiment, 0.5)
    assert estimate.steps == 200 and estimate.step_seconds == STEP_PER_FORWARD * 0.5
    assert estimate.seconds == 200 * STEP_PER_FORWARD * 0.5 + 6 * 0.5  # noise draws, clean and final passes
    assert estimate.words() == "about 3 min 3 s for 200 steps (~0.9 s per step at this size)"


def test_a_transfer_attack_says_what_it_cannot_know_yet():
    words = estimate_run(replace(Experiment(), surrogate="dncnn-mri-4x"), 2.0).words()
    assert "through the surrogate" in words and "2.0 s" in words


def test_durations_read_as_people_say_them():
    assert [duration(s) for s in (0.05, 3.21, 42, 250, 3900)] == ["50 ms", "3.2 s", "42 s", "4 min 10 s", "1 h 5 min"]
