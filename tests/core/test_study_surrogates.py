"""A study's reconstruction entry may name its own transfer surrogate (or "none": direct), overriding the shared
choice, so one study compares a reconstruction attacked by transfer and directly."""
import pytest

from halluview.core.errors import ExperimentError
from halluview.core.experiment import ScanFacts
from halluview.core.samples import load_sample
from halluview.core.study.grid import cells, recon_label, study_config

BRAIN = load_sample("brain")


def test_each_reconstruction_entry_brings_its_own_surrogate():
    config = study_config({"recons": ["unet-mri-4x", {"name": "unet-mri-4x", "surrogate": "dncnn-mri-4x"},
                                      {"name": "deep-decoder-mri-4x", "surrogate": "none"}, "deep-decoder-mri-4x"],
                           "eps": [0.01], "choices": {"device": "cpu"}})
    grid = cells(config, lambda _source: ScanFacts.of(BRAIN))
    assert [c.experiment.surrogate for c in grid] == [None, "dncnn-mri-4x", None, "unet-mri-4x"]
    assert [c.labels["recon"] for c in grid] == ["unet-mri-4x", "unet-mri-4x, transfer from dncnn-mri-4x",
                                                 "deep-decoder-mri-4x, direct", "deep-decoder-mri-4x"]
    assert len({c.key for c in grid}) == 4
    assert recon_label({"name": "unet-mri-4x", "surrogate": "none", "label": "mine"}) == "mine"


@pytest.mark.parametrize("surrogate", [3, "", None])
def test_a_surrogate_that_is_not_a_name_is_one_clear_error(surrogate):
    with pytest.raises(ExperimentError, match="surrogate is a model name or none"):
        study_config({"recons": [{"name": "unet-mri-4x", "surrogate": surrogate}], "eps": [0.01]})
