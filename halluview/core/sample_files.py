"""How the shipped real-anatomy example is made (needs the ``train`` extra; the app only reads the result).

``python -m halluview.core.sample_files`` writes ``resources/samples/mni152_t1_lesion.nii.gz``: three axial slices
of the MNI ICBM152 2009a symmetric T1 template (1 mm, 197 × 233 in-plane, from nilearn's wheel) with a simulated
lesion — a 7 mm hypo-intense disc with a soft edge in the right periventricular white matter, as MS lesions look
on T1 — in the middle slice only, stored with the template's own affine so that exports overlay on it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .recon.real_anatomy import TRAINING

SLICES = (88, 89, 90)  # template voxel z: through the lateral ventricles
LESION_CENTRE_XY = (62.0, 120.0)  # template voxel (x, y) in the middle slice
LESION_RADIUS_MM = 3.5
LESION_FACTOR = 0.55  # the lesion's intensity relative to the surrounding white matter


def make_mni_sample(out: Path) -> Path:
    import nibabel as nib

    volume = next(v for v in TRAINING["mri"] if v.package == "nilearn")
    if volume.path is None:
        raise FileNotFoundError("the MNI152 template needs nilearn: pip install 'halluview[train]'")
    image = nib.load(volume.path)
    data = np.asarray(image.dataobj, dtype=np.float32)[:, :, SLICES[0]:SLICES[-1] + 1].copy()
    x, y = np.meshgrid(np.arange(data.shape[0]), np.arange(data.shape[1]), indexing="ij")
    distance = np.hypot(x - LESION_CENTRE_XY[0], y - LESION_CENTRE_XY[1])
    weight = np.clip(LESION_RADIUS_MM + 0.5 - distance, 0, 1)  # 1 inside, a one-voxel soft edge
    middle = data[:, :, 1]
    data[:, :, 1] = middle * (1 - weight * (1 - LESION_FACTOR))
    affine = image.affine.copy()
    affine[:3, 3] += affine[:3, 2] * SLICES[0]  # the first kept slice is voxel z = 0 of the new file
    out.parent.mkdir(parents=True, exist_ok=True)
    header = nib.Nifti1Header()
    header.set_xyzt_units("mm")
    result = nib.Nifti1Image(np.round(data).astype(np.int16), affine, header)
    result.header["descrip"] = b"MNI152 2009a T1, simulated 7 mm T1-hypointense lesion"
    nib.save(result, out)
    return out


if __name__ == "__main__":
    from .resources import resource_path

    print(make_mni_sample(resource_path("samples", "mni152_t1_lesion.nii.gz")))
