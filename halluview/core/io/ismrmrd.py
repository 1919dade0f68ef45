"""The parts of an ISMRMRD XML header (fastMRI ``ismrmrd_header``) a reconstruction needs.

Namespace ``http://www.ismrm.org/ISMRMRD``. Conventions follow the fastMRI data loader:

* ``encoding_size`` = encoding/encodedSpace/matrixSize (x, y, z), ``recon_size`` = encoding/reconSpace/matrixSize;
* ``padding_left`` = encoding_size.y // 2 - encodingLimits/kspace_encoding_step_1/center and
  ``padding_right`` = padding_left + kspace_encoding_step_1/maximum + 1: k-space columns outside
  [padding_left, padding_right) were not acquired (zero padding).
"""
from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass

NAMESPACE = "http://www.ismrm.org/ISMRMRD"
MAX_HEADER_BYTES = 4 * 1024**2


@dataclass(frozen=True)
class IsmrmrdGeometry:
    """Encoding and reconstruction geometry of a fastMRI acquisition."""

    encoding_size: tuple[int, int, int]
    recon_size: tuple[int, int, int]
    encoding_fov_mm: tuple[float, float, float]
    recon_fov_mm: tuple[float, float, float]
    padding_left: int
    padding_right: int

    @property
    def spacing_mm(self) -> tuple[float, float, float]:
        """(slice, row, column) spacing: encoded z field of view, recon x and y field of view per pixel."""
        row = self.recon_fov_mm[0] / self.recon_size[0] if self.recon_size[0] > 0 else 1.0
        column = self.recon_fov_mm[1] / self.recon_size[1] if self.recon_size[1] > 0 else 1.0
        slice_mm = self.encoding_fov_mm[2] if self.encoding_fov_mm[2] > 0 else 1.0
        return slice_mm, row if row > 0 else 1.0, column if column > 0 else 1.0


def _text(root: ElementTree.Element, *path: str) -> str:
    query = "/".join(f"{{{NAMESPACE}}}{name}" for name in path)
    element = root.find(query)
    if element is None or element.text is None:
        raise ValueError(f"the ISMRMRD header has no {'/'.join(path)}")
    return element.text.strip()


def _triple(root: ElementTree.Element, parse: type, *path: str) -> tuple:
    return tuple(parse(_text(root, *path, axis)) for axis in ("x", "y", "z"))


def parse_ismrmrd_header(xml: bytes | str) -> IsmrmrdGeometry:
    """Parse the geometry out of an ISMRMRD XML header.

    Raises
    ------
    ValueError
        If the XML is malformed, too large, or lacks one of the needed elements.
    """
    if len(xml) > MAX_HEADER_BYTES:
        raise ValueError(f"the ISMRMRD header is {len(xml)} bytes long, more than the {MAX_HEADER_BYTES} expected")
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as error:
        raise ValueError(f"the ISMRMRD header is not valid XML ({error})") from error
    encoded = ("encoding", "encodedSpace")
    recon = ("encoding", "reconSpace")
    limits = ("encoding", "encodingLimits", "kspace_encoding_step_1")
    encoding_size = _triple(root, int, *encoded, "matrixSize")
    center = int(_text(root, *limits, "center"))
    maximum = int(_text(root, *limits, "maximum"))
    padding_left = encoding_size[1] // 2 - center
    return IsmrmrdGeometry(
        encoding_size=encoding_size,
        recon_size=_triple(root, int, *recon, "matrixSize"),
        encoding_fov_mm=_triple(root, float, *encoded, "fieldOfView_mm"),
        recon_fov_mm=_triple(root, float, *recon, "fieldOfView_mm"),
        padding_left=padding_left,
        padding_right=padding_left + maximum + 1,
    )
