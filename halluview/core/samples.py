"""Built-in examples: generated phantoms and the real scans shipped inside installed packages (no download)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .phantoms import brain_phantom, random_ellipses
from .scan import Scan


@dataclass(frozen=True)
class Sample:
    name: str
    title: str
    modality: str  # the operator family it suits: "mri" or "ct"
    load: Callable[[], Scan]


def _phantom_scan(name: str, image: np.ndarray, modality: str = "PHANTOM") -> Scan:
    return Scan(volume=image[None].astype(np.float32), modality=modality, units="a.u.", source=f"demo:{name}",
                window=(0.5, 1.0), meta={"description": "generated phantom"})


def _shepp_logan() -> Scan:
    from skimage.data import shepp_logan_phantom
    from skimage.transform import resize

    image = resize(shepp_logan_phantom(), (128, 128), anti_aliasing=True)
    return _phantom_scan("shepp-logan", image.astype(np.float32), modality="CT")  # a CT phantom, not in HU


def _pydicom_file(name: str) -> Callable[[], Scan]:
    def load() -> Scan:
        from pydicom.data import get_testdata_file

        from .io import read_scan

        path = get_testdata_file(name, download=False)
        if path is None:
            raise FileNotFoundError(f"pydicom's test file {name} is not installed")
        return read_scan(path)
    return load


def _pydicom_data_file(name: str) -> Callable[[], Scan]:
    """A file of the ``pydicom-data`` package (an optional extra): a clear error when it is not installed."""
    def load() -> Scan:
        from importlib.util import find_spec
        from pathlib import Path

        from .io import read_scan

        spec = find_spec("data_store")  # pydicom-data's module
        path = Path(spec.origin).parent / "data" / name if spec is not None and spec.origin else None
        if path is None or not path.is_file():
            raise FileNotFoundError(f"this example is {name} from the pydicom-data package, which is not "
                                    "installed: pip install pydicom-data")
        return read_scan(path)
    return load


def _mni_lesion() -> Scan:
    from dataclasses import replace

    from .io import read_scan
    from .resources import resource_path

    scan = read_scan(resource_path("samples", "mni152_t1_lesion.nii.gz"))
    return replace(scan, modality="MR", meta={**scan.meta, "description": "MNI152 T1 template, simulated lesion"})


def _nibabel_file(name: str) -> Callable[[], Scan]:
    def load() -> Scan:
        from pathlib import Path

        import nibabel

        from .io import read_scan

        # nibabel's own test data (nibabel.testing.data_path is this folder, but importing it needs pytest)
        return read_scan(Path(nibabel.__file__).parent / "tests" / "data" / name)
    return load


SAMPLES: dict[str, Sample] = {s.name: s for s in (
    Sample("brain", "Brain-like phantom with small lesions (MRI)", "mri",
           lambda: _phantom_scan("brain", brain_phantom(128, seed=7))),
    Sample("ellipses", "Random ellipses phantom", "mri", lambda: _phantom_scan("ellipses", random_ellipses(128, 3))),
    Sample("shepp-logan", "Shepp–Logan head phantom (CT)", "ct", _shepp_logan),
    Sample("ct-small", "Real CT slice, 128×128 (pydicom test data CT_small.dcm)", "ct", _pydicom_file("CT_small.dcm")),
    Sample("mr-small", "Real MR slice, 64×64 (pydicom test data MR_small.dcm)", "mri", _pydicom_file("MR_small.dcm")),
    Sample("mr-anatomical", "Real MR volume (nibabel test data anatomical.nii)", "mri",
           _nibabel_file("anatomical.nii")),
    Sample("mni-lesion", "Real brain MRI with a simulated lesion, 197×233, 1 mm (MNI152 template; see "
           "resources/samples/README.md)", "mri", _mni_lesion),
    Sample("ct-head", "Real head CT, 512×512 (CQ500 via pydicom's 693_J2KI.dcm, CC BY-NC-SA 4.0)", "ct",
           _pydicom_file("693_J2KI.dcm")),
    Sample("ct-abdomen", "Real abdominal CT, 512×512 (Pancreas-CT via pydicom-data's explicit_VR-UN.dcm, CC BY 3.0)",
           "ct", _pydicom_data_file("explicit_VR-UN.dcm")),
    Sample("mr-epi", "Real brain EPI volume, 128×96 (nibabel test data example4d.nii.gz)", "mri",
           _nibabel_file("example4d.nii.gz")),
)}


def load_sample(name: str) -> Scan:
    if name not in SAMPLES:
        raise KeyError(f"no built-in example named {name!r}; available: {', '.join(SAMPLES)}")
    return SAMPLES[name].load()
