"""Real anatomy from installed packages, split by volume into training and held-out sets (no download).

A volume is wholly training or wholly held-out, so no held-out slice has a neighbouring slice in training. Sources:

- nilearn's wheel: the MNI ICBM152 2009a symmetric T1 template (1 mm, 197×233×189; Fonov et al. 2009, 2011;
  © McConnell Brain Imaging Centre, McGill, permissive licence with notice). Training only (``train`` extra).
- pydicom's test files (a runtime dependency): CT_small.dcm (spine CT, held out), 693_J2KI.dcm (CQ500-CT-310 head CT,
  CC BY-NC-SA 4.0), MR_small.dcm (NEMA WG04).
- pydicom-data (``train`` and ``test`` extras): MR2_UNCR.dcm (shoulder MR, 1024×1024), explicit_VR-UN.dcm
  (Pancreas-CT abdomen), eCT_Supplemental.dcm (NEMA enhanced head CT, 2 frames), MR-SIEMENS-DICOM-WithOverlays.dcm
  (abdominal MR, 484×484), emri_small.dcm (enhanced MR, 64×64).
- nibabel's test data (a runtime dependency): example4d.nii.gz (EPI brain, 128×96, 2 mm).

Slices are returned in the simulation's working units (:func:`halluview.core.problem.working_image`) at their own
resolution: nothing is resized here.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class RealVolume:
    package: str  # the importable module whose folder holds the file
    relative: str
    slices: tuple[int, ...] | None  # None: every slice
    title: str
    extra: str  # the pip extra that installs the package ("" = a runtime dependency)
    zoom: float = 1.0  # training only: a very fine grid is first brought near 1 mm pixels (anti-aliased)

    @property
    def path(self) -> Path | None:
        """The file, or None when its package is not installed."""
        try:
            module = importlib.import_module(self.package)
        except ImportError:
            return None
        path = Path(module.__file__).parent / self.relative
        return path if path.is_file() else None

    @property
    def name(self) -> str:
        return Path(self.relative).name


_MNI_T1 = "datasets/data/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"

TRAINING: dict[str, tuple[RealVolume, ...]] = {
    "mri": (RealVolume("nilearn", _MNI_T1, tuple(range(30, 160)), "MNI ICBM152 2009a T1 template", "train"),
            RealVolume("data_store", "data/MR2_UNCR.dcm", None, "shoulder MR, 1024×1024 at 0.2 mm, used at 0.8 mm",
                       "train", zoom=0.25)),
    "ct": (RealVolume("data_store", "data/explicit_VR-UN.dcm", None, "abdominal CT (Pancreas-CT)", "train"),
           RealVolume("data_store", "data/eCT_Supplemental.dcm", None, "enhanced head CT (NEMA)", "train")),
}

HELD_OUT: dict[str, tuple[RealVolume, ...]] = {
    "mri": (RealVolume("data_store", "data/MR-SIEMENS-DICOM-WithOverlays.dcm", None, "abdominal MR, 484×484", "test"),
            RealVolume("nibabel", "tests/data/example4d.nii.gz", (8, 12, 16), "EPI brain, 128×96", ""),
            RealVolume("pydicom", "data/test_files/MR_small.dcm", None, "MR, 64×64 (NEMA WG04)", ""),
            RealVolume("data_store", "data/emri_small.dcm", (5,), "enhanced MR, 64×64", "test")),
    "ct": (RealVolume("pydicom", "data/test_files/693_J2KI.dcm", None, "head CT (CQ500-CT-310), 512×512", ""),
           RealVolume("pydicom", "data/test_files/CT_small.dcm", None, "spine CT (NEMA WG04), 128×128", "")),
}


def modality_family(modality: str) -> str:
    """Denoising models see CT-like and MR-like images alike; they are judged on CT (their noise is CT's)."""
    return "mri" if modality == "mri" else "ct"


def missing(volumes: tuple[RealVolume, ...]) -> list[str]:
    """Words for the volumes whose package is not installed (empty when all are)."""
    return [f"{v.name} (pip install 'halluview[{v.extra}]')" for v in volumes if v.path is None]


@lru_cache(maxsize=None)
def volume_slices(volume: RealVolume) -> tuple[np.ndarray, ...]:
    """The volume's chosen slices in working units at their own size (raises FileNotFoundError if absent)."""
    from ..io import read_scan
    from ..problem import working_image

    path = volume.path
    if path is None:
        raise FileNotFoundError(f"{volume.name} needs the {volume.package!r} package: "
                                f"pip install 'halluview[{volume.extra}]'")
    scan = read_scan(path)
    indices = volume.slices if volume.slices is not None else range(scan.n_slices)
    images = tuple(working_image(scan, index, None) for index in indices)
    if volume.zoom != 1.0:
        from skimage.transform import rescale

        images = tuple(rescale(image, volume.zoom, anti_aliasing=True, preserve_range=True).astype(np.float32)
                       for image in images)
    return images


def held_out_slices(modality: str) -> list[tuple[str, np.ndarray]]:
    """(label, image) for every held-out real slice of ``modality``'s family that is installed."""
    out = []
    for volume in HELD_OUT[modality_family(modality)]:
        if volume.path is None:
            continue
        indices = volume.slices or range(len(volume_slices(volume)))
        for index, image in zip(indices, volume_slices(volume)):
            out.append((f"{volume.name}[{index}]", image))
    return out


def describe_split(modality: str) -> dict:
    """The card's words for the split: which volumes trained, which are held out."""
    family = modality_family(modality)
    return {"training_volumes": [f"{v.name}: {v.title}" for v in TRAINING[family]],
            "held_out_volumes": [f"{v.name}: {v.title}" for v in HELD_OUT[family]],
            "split": "by volume: no held-out slice has a neighbour in training"}
