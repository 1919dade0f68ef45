"""Write fastMRI-layout HDF5 files from an image volume, for tests (simulated multi-coil k-space).

Conventions (as in the fastMRI data set and loader):

* centred orthonormal FFT: ``fftshift(fft2(ifftshift(x, axes=(-2, -1)), norm="ortho"), axes=(-2, -1))``;
* ``kspace`` (slices, coils, H, W) complex64, or (slices, H, W) for ``n_coils=None``, with H = readout
  oversampling × image height; columns outside [padding_left, padding_right) are zero (not acquired) and, with
  ``acceleration > 1``, unsampled columns are zero too and ``mask`` marks the sampled ones;
* ``reconstruction_rss`` = root-sum-of-squares of the inverse FFT of the stored k-space, centre-cropped to the
  recon size (the image size);
* attributes ``max``, ``norm``, ``acquisition``, ``patient_id``; ``ismrmrd_header`` XML with encodedSpace,
  reconSpace and encodingLimits such that padding_left = enc_y // 2 - center and
  padding_right = padding_left + maximum + 1.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

ISMRMRD_TEMPLATE = """<?xml version="1.0" encoding="utf-8"?>
<ismrmrdHeader xmlns="http://www.ismrm.org/ISMRMRD" xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <studyInformation><studyTime>12:00:00</studyTime></studyInformation>
  <measurementInformation><patientPosition>HFS</patientPosition><protocolName>{acquisition}</protocolName>
  </measurementInformation>
  <acquisitionSystemInformation><systemVendor>SIEMENS</systemVendor>
    <systemFieldStrength_T>2.89362</systemFieldStrength_T><receiverChannels>{coils}</receiverChannels>
  </acquisitionSystemInformation>
  <experimentalConditions><H1resonanceFrequency_Hz>123251815</H1resonanceFrequency_Hz></experimentalConditions>
  <encoding>
    <encodedSpace>
      <matrixSize><x>{enc_x}</x><y>{enc_y}</y><z>1</z></matrixSize>{enc_fov}
    </encodedSpace>
    <reconSpace>
      <matrixSize><x>{rec_x}</x><y>{rec_y}</y><z>1</z></matrixSize>{rec_fov}
    </reconSpace>
    <trajectory>cartesian</trajectory>
    <encodingLimits>
      <kspace_encoding_step_1><minimum>0</minimum><maximum>{maximum}</maximum><center>{center}</center>
      </kspace_encoding_step_1>
      <kspace_encoding_step_2><minimum>0</minimum><maximum>0</maximum><center>0</center></kspace_encoding_step_2>
      <slice><minimum>0</minimum><maximum>{last_slice}</maximum><center>{middle_slice}</center></slice>
    </encodingLimits>
  </encoding>
</ismrmrdHeader>
"""
FIELD_OF_VIEW = "\n      <fieldOfView_mm><x>{x}</x><y>{y}</y><z>{z}</z></fieldOfView_mm>"


@dataclass(frozen=True)
class FastMRIFixture:
    """What ``write_fastmri_h5`` wrote: expected header-derived values and the arrays."""

    path: Path
    encoding_size: tuple[int, int, int]
    recon_size: tuple[int, int, int]
    padding_left: int
    padding_right: int
    kspace: np.ndarray
    reference: np.ndarray
    mask: np.ndarray | None


def fft2c(image: np.ndarray) -> np.ndarray:
    """Centred orthonormal 2-D FFT over the last two axes."""
    axes = (-2, -1)
    return np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(image, axes=axes), norm="ortho"), axes=axes)


def ifft2c(kspace: np.ndarray) -> np.ndarray:
    """Centred orthonormal inverse 2-D FFT over the last two axes."""
    axes = (-2, -1)
    return np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(kspace, axes=axes), norm="ortho"), axes=axes)


def coil_maps(n_coils: int, height: int, width: int) -> np.ndarray:
    """Smooth complex sensitivities (Gaussian blobs around the field of view with linear phase), sum |S|^2 = 1."""
    rows, cols = np.meshgrid(np.linspace(-1, 1, height), np.linspace(-1, 1, width), indexing="ij")
    maps = []
    for coil in range(n_coils):
        angle = 2 * np.pi * coil / n_coils
        distance2 = (rows - 0.9 * np.sin(angle)) ** 2 + (cols - 0.9 * np.cos(angle)) ** 2
        maps.append(np.exp(-distance2 / 1.2) * np.exp(1j * (np.cos(angle) * rows + np.sin(angle) * cols + coil)))
    stacked = np.stack(maps)
    return stacked / np.sqrt(np.sum(np.abs(stacked) ** 2, axis=0, keepdims=True))


def equispaced_mask(width: int, acceleration: int, center_fraction: float, acquired: tuple[int, int]) -> np.ndarray:
    """Columns sampled: every ``acceleration``-th plus the central fraction, within the acquired band."""
    mask = np.zeros(width, dtype=bool)
    left, right = acquired
    mask[left:right:acceleration] = True
    n_center = max(int(round(width * center_fraction)), 1)
    mask[width // 2 - n_center // 2 : width // 2 - n_center // 2 + n_center] = True
    mask[:left] = False
    mask[right:] = False
    return mask


def simulated_kspace(image_volume: np.ndarray, n_coils: int | None, encoded: tuple[int, int]) -> np.ndarray:
    """Fully sampled k-space of the image centred in an ``encoded``-sized field of view, through smooth coils."""
    n_slices, height, width = np.shape(image_volume)
    canvas = np.zeros((n_slices, *encoded), dtype=np.complex128)
    top, left = (encoded[0] - height) // 2, (encoded[1] - width) // 2
    canvas[:, top : top + height, left : left + width] = image_volume
    if not n_coils:
        return fft2c(canvas)
    return fft2c(canvas[:, np.newaxis] * coil_maps(n_coils, *encoded)[np.newaxis])


def ismrmrd_header(
    acquisition: str, n_coils: int, encoded: tuple[int, int], recon: tuple[int, int], padding: tuple[int, int],
    n_slices: int, pixel_mm: float, slice_mm: float, field_of_view: bool = True,
) -> str:
    """ISMRMRD XML whose encodingLimits reproduce ``padding`` with the fastMRI formulas.

    ``field_of_view=False`` leaves out both ``fieldOfView_mm`` elements (fastMRI's loader does not read them).
    """
    def fov(size: tuple[int, int]) -> str:
        return FIELD_OF_VIEW.format(x=size[0] * pixel_mm, y=size[1] * pixel_mm, z=slice_mm) if field_of_view else ""

    return ISMRMRD_TEMPLATE.format(
        acquisition=acquisition, coils=n_coils, enc_x=encoded[0], enc_y=encoded[1], rec_x=recon[0], rec_y=recon[1],
        enc_fov=fov(encoded), rec_fov=fov(recon), maximum=padding[1] - padding[0] - 1,
        center=encoded[1] // 2 - padding[0], last_slice=n_slices - 1, middle_slice=n_slices // 2,
    )


def write_fastmri_h5(
    path: str | Path,
    image_volume: np.ndarray,
    n_coils: int | None = 4,
    acceleration: int = 4,
    *,
    center_fraction: float = 0.08,
    readout_oversampling: int = 2,
    phase_padding: tuple[int, int] = (6, 4),
    reference_name: str | None = "reconstruction_rss",
    acquisition: str = "CORPD_FBK",
    patient_id: str = "PATIENT-0042",
    pixel_mm: float = 0.5,
    slice_mm: float = 3.0,
    field_of_view: bool = True,
    recon_size: tuple[int, int] | None = None,
) -> FastMRIFixture:
    """Write a fastMRI-layout HDF5 file whose k-space is simulated from ``image_volume`` (slices, h, w).

    ``field_of_view=False`` writes a header without ``fieldOfView_mm``. ``recon_size`` (default: the image size)
    is the header's reconSpace matrix; the reference is still the image-sized crop. A recon size wider than the
    k-space imitates fastMRI's FLAIR-203 brain files.

    Returns
    -------
    FastMRIFixture
        The path, expected encoding / recon sizes and paddings, and the stored k-space, reference and mask.
    """
    n_slices, height, width = np.shape(image_volume)
    enc_x = height * readout_oversampling
    enc_y = width + sum(phase_padding)
    padding_left, padding_right = phase_padding[0], enc_y - phase_padding[1]
    acquired = np.zeros(enc_y, dtype=bool)
    acquired[padding_left:padding_right] = True
    mask = equispaced_mask(enc_y, acceleration, center_fraction, (padding_left, padding_right)) if (
        acceleration > 1) else None
    kspace = simulated_kspace(image_volume, n_coils, (enc_x, enc_y)) * (mask if mask is not None else acquired)
    kspace = kspace.astype(np.complex64)
    image = ifft2c(kspace.astype(np.complex128))
    rss = np.sqrt(np.sum(np.abs(image) ** 2, axis=1)) if n_coils else np.abs(image)
    top, left = (enc_x - height) // 2, (enc_y - width) // 2
    reference = rss[:, top : top + height, left : left + width].astype(np.float32)
    header = ismrmrd_header(acquisition, n_coils or 1, (enc_x, enc_y), recon_size or (height, width),
                            (padding_left, padding_right), n_slices, pixel_mm, slice_mm, field_of_view)
    datasets = {"kspace": kspace, reference_name: reference, "mask": mask, "ismrmrd_header": np.bytes_(header.encode())}
    attributes = {"max": float(reference.max()), "norm": float(np.linalg.norm(reference)),
                  "acquisition": acquisition, "patient_id": patient_id}
    path = Path(path)
    with h5py.File(path, "w") as handle:
        for name, data in datasets.items():
            if name and data is not None:
                handle.create_dataset(name, data=data)
        handle.attrs.update(attributes)
    return FastMRIFixture(path, (enc_x, enc_y, 1), (*(recon_size or (height, width)), 1), padding_left,
                          padding_right, kspace, reference, mask)


def phantom_volume(n_slices: int = 3, height: int = 32, width: int = 24, seed: int = 0) -> np.ndarray:
    """A small smooth test object (ellipses with varying intensity) to simulate k-space from."""
    rng = np.random.default_rng(seed)
    rows, cols = np.meshgrid(np.linspace(-1, 1, height), np.linspace(-1, 1, width), indexing="ij")
    volume = np.zeros((n_slices, height, width), dtype=np.float32)
    for index in range(n_slices):
        volume[index] = (rows / 0.8) ** 2 + (cols / 0.6) ** 2 < 1
        volume[index] += 0.5 * (((rows - 0.2) / 0.25) ** 2 + ((cols + 0.1) / 0.3) ** 2 < 1)
        volume[index] *= 1.0 + 0.1 * index + 0.01 * rng.standard_normal((height, width))
    return volume
