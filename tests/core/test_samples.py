"""Built-in examples: each loads offline with its source stated, real ones at their own size and geometry."""
import nibabel as nib
import numpy as np
import pytest

from halluview.core.recon.real_anatomy import TRAINING
from halluview.core.resources import resource_path
from halluview.core.sample_files import SLICES
from halluview.core.samples import SAMPLES, load_sample


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_example_loads(name):
    scan = load_sample(name)
    assert scan.n_slices >= 1 and min(scan.volume.shape[-2:]) >= 7


def test_the_mni_example_is_the_template_with_a_lesion_in_the_middle_slice():
    scan = load_sample("mni-lesion")
    assert scan.volume.shape == (3, 233, 197) and scan.spacing_mm == (1.0, 1.0, 1.0) and scan.modality == "MR"
    stored = nib.load(resource_path("samples", "mni152_t1_lesion.nii.gz"))
    assert np.allclose(np.abs(np.diag(stored.affine))[:3], 1.0)  # the template's 1 mm grid and its place
    template = nib.load(TRAINING["mri"][0].path) if TRAINING["mri"][0].path else None
    if template is not None:  # the same three slices as the template, bar a 7 mm disc (~38 px) in the middle one
        original = np.asarray(template.dataobj)[:, :, list(SLICES)]
        changed = np.round(original) != np.asarray(stored.dataobj)
        assert not changed[:, :, [0, 2]].any() and 30 < changed[:, :, 1].sum() < 60
    readme = resource_path("samples", "README.md").read_text()
    assert "McConnell Brain Imaging Centre" in readme and "CC BY-NC-SA 4.0" in readme


def test_real_ct_examples_are_512_in_hu():
    head = load_sample("ct-head")
    assert head.volume.shape[-2:] == (512, 512) and head.units == "HU"
    assert "693_J2KI" in SAMPLES["ct-head"].title or "CQ500" in SAMPLES["ct-head"].title
