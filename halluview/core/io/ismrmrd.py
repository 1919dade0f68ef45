"""The parts of an ISMRMRD XML header (fastMRI ``ismrmrd_header``) a reconstruction needs.

Namespace ``http://www.ismrm.org/ISMRMRD``. Conventions follow the fastMRI data loader:

* ``encoding_size`` = encoding/encodedSpace/matrixSize (x, y, z), ``recon_size`` = encoding/reconSpace/matrixSize;
* ``padding_left`` = encoding_size.y // 2 - encodingLimits/kspace_encoding_step_1/center and
  ``padding_right`` = padding_left + kspace_encoding_step_1/maximum + 1: k-space columns outside
  [padding_left, padding_right) were not acquired (zero padding).

Elements are found as fastMRI's ``et_query`` finds them (the first match of ``.//encoding//encodedSpace//…``), and
only what fastMRI's loader needs is required: both matrix sizes and the step-1 encoding limits. ``fieldOfView_mm``
is optional (it only gives the pixel spacing).
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
    encoding_fov_mm: tuple[float, float, float] | None
    recon_fov_mm: tuple[float, float, float] | None
    padding_left: int
    padding_right: int

    @property
    def spacing_mm(self) -> tuple[float, float, float]:
        """(slice, row, column) spacing: encoded z field of view, recon x and y field of view per pixel (1 mm for
        what the header does not give)."""
        recon_fov = self.recon_fov_mm or (0.0, 0.0, 0.0)
        row = recon_fov[0] / self.recon_size[0] if self.recon_size[0] > 0 else 1.0
        column = recon_fov[1] / self.recon_size[1] if self.recon_size[1] > 0 else 1.0
        slice_mm = self.encoding_fov_mm[2] if self.encoding_fov_mm and self.encoding_fov_mm[2] > 0 else 1.0
        return slice_mm, row if row > 0 else 1.0, column if column > 0 else 1.0


def recon_crop_size(recon_size: tuple[int, ...], kspace_width: int) -> tuple[int, int]:
    """The (rows, columns) fastMRI crops images to: the recon size, or (W, W) when the k-space width W is smaller
    than the recon width (fastMRI's rule for its FLAIR-203 brain files, in ``UnetDataTransform`` and
    ``VarNetModule.test_step``)."""
    rows, columns = int(recon_size[0]), int(recon_size[1])
    if kspace_width < columns:
        return int(kspace_width), int(kspace_width)
    return rows, columns


def _text(root: ElementTree.Element, *path: str) -> str:
    query = "." + "".join(f"//{{{NAMESPACE}}}{name}" for name in path)  # fastMRI's et_query
    element = root.find(query)
    if element is None or element.text is None:
        raise ValueError(f"the ISMRMRD header has no {'/'.join(path)}")
    return element.text.strip()


def _number(root: ElementTree.Element, parse: type, *path: str) -> int | float:
    text = _text(root, *path)
    try:
        return parse(text)
    except ValueError:
        raise ValueError(f"the ISMRMRD header's {'/'.join(path)} is {text[:40]!r}, not a number") from None


def _triple(root: ElementTree.Element, parse: type, *path: str) -> tuple:
    return tuple(_number(root, parse, *path, axis) for axis in ("x", "y", "z"))


def _optional_triple(root: ElementTree.Element, *path: str) -> tuple[float, float, float] | None:
    try:
        return _triple(root, float, *path)
    except ValueError:
        return None


def parse_ismrmrd_header(xml: bytes | str) -> IsmrmrdGeometry:
    """Parse the geometry out of an ISMRMRD XML header.

    Raises
    ------
    ValueError
        If the XML is malformed, too large, or lacks (or has a non-number in) one of the elements fastMRI's loader
        reads: encodedSpace and reconSpace matrixSize, encodingLimits/kspace_encoding_step_1 center and maximum.
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
    recon_size = _triple(root, int, *recon, "matrixSize")
    if min(*encoding_size[:2], *recon_size[:2]) < 1:
        raise ValueError(f"the ISMRMRD header's matrix sizes {encoding_size[:2]} (encoded), {recon_size[:2]} "
                         "(recon) are not positive")
    center, maximum = _number(root, int, *limits, "center"), _number(root, int, *limits, "maximum")
    padding_left = encoding_size[1] // 2 - center
    return IsmrmrdGeometry(
        encoding_size=encoding_size,
        recon_size=recon_size,
        encoding_fov_mm=_optional_triple(root, *encoded, "fieldOfView_mm"),
        recon_fov_mm=_optional_triple(root, *recon, "fieldOfView_mm"),
        padding_left=padding_left,
        padding_right=padding_left + maximum + 1,
    )

