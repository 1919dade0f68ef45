"""measure → reconstruct → bind: a run binds the preview's reconstruction instead of building the model again, and
gets the very numbers build_problem gives."""
import numpy as np
import pytest

from halluview.core import problem
from halluview.core.attacks.run import run_to_end
from halluview.core.choices import Choices, experiment_for
from halluview.core.experiment import ScanFacts
from halluview.core.problem import bind, build_problem, clean_preview, measure, reconstruct, reconstruction_key
from halluview.core.samples import load_sample


@pytest.fixture(scope="module")
def brain():
    return load_sample("brain")


@pytest.fixture
def builds(monkeypatch):
    """How often a reconstruction module is built (the model loaded, its weights read)."""
    calls = []
    real = problem.build_reconstructor

    def counting(config, op):
        calls.append(config.name)
        return real(config, op)

    monkeypatch.setattr(problem, "build_reconstructor", counting)
    return calls


def insert_attack(brain, **sections):
    choices = Choices(source={"demo": "brain"}, objective={"kind": "insert"}, optimizer={"steps": 3},
                      region={"kind": "ellipse", "xywh": [74, 44, 14, 14]}, device="cpu", **sections)
    return experiment_for(ScanFacts.of(brain), choices)


def test_a_run_after_the_preview_builds_the_model_zero_times(brain, builds):
    experiment = insert_attack(brain)
    preview = clean_preview(experiment, brain)
    assert builds == ["unet-mri-4x"]
    problem_ = build_problem(experiment, brain, reuse=preview)
    assert builds == ["unet-mri-4x"] and problem_.recon is preview.recon and problem_.clean is preview.clean


def test_the_reused_path_gives_the_numbers_build_problem_gives(brain):
    experiment = insert_attack(brain)
    fresh = run_to_end(build_problem(experiment, brain))
    reused = run_to_end(build_problem(experiment, brain, reuse=clean_preview(experiment, brain)))
    np.testing.assert_array_equal(reused.delta, fresh.delta)
    np.testing.assert_array_equal(reused.perturbed, fresh.perturbed)
    assert reused.metrics == fresh.metrics and reused.norms == fresh.norms


def test_a_reconstruction_made_for_other_settings_is_rebuilt_not_bound(brain, builds):
    preview = clean_preview(insert_attack(brain), brain)
    other = insert_attack(brain, operator={"acceleration": 8.0})
    assert reconstruction_key(other) != preview.key
    build_problem(other, brain, reuse=preview)
    assert builds == ["unet-mri-4x", "unet-mri-4x"]
    with pytest.raises(ValueError, match="made for another image, acquisition, model or device"):
        bind(other, preview)


def test_a_transfer_attack_builds_only_its_surrogate(brain, builds):
    experiment = insert_attack(brain, surrogate="dncnn-mri-4x")
    preview = reconstruct(experiment, measure(experiment, brain))
    attack = bind(experiment, preview)
    assert builds == ["unet-mri-4x", "dncnn-mri-4x"] and attack.surrogate.recon is not attack.recon
