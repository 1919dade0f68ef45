"""Segments: the automatic over-segmentation keeps to the object; a label file round-trips and a wrong one is one
clear error naming the file."""
import numpy as np
import pytest
from scipy.ndimage import binary_erosion

from halluview.core.errors import ExperimentError
from halluview.core.io.writers import write_nifti
from halluview.core.quality import auto_segments, load_segments


def test_auto_segments_are_deterministic_and_leave_the_background_out(images):
    ref, _ = images
    first, second = auto_segments(ref, float(ref.max())), auto_segments(ref, float(ref.max()))
    np.testing.assert_array_equal(first.labels, second.labels)
    far_outside = binary_erosion(ref == 0, iterations=3)  # the smoothing may take in a pixel or two at the edge
    assert np.all(first.labels[far_outside] == 0) and np.all(first.labels[ref > 0.1] > 0)
    assert first.describe()["segments"] == len(first.ids) > 10 and first.describe()["method"] == "slic"


def test_label_file_round_trip(tmp_path):
    labels = np.zeros((3, 48, 40), np.int16)
    labels[1, 5:20, 8:30], labels[1, 30:40, 2:9] = 4, 7
    labels[0, 0, 0] = 1
    path = write_nifti(tmp_path / "labels.nii.gz", labels)
    segments = load_segments(path, (48, 40), slice_index=1)
    np.testing.assert_array_equal(segments.labels, labels[1])
    assert segments.describe() == {"method": "file", "parameters": {"file": str(path), "slice": 1}, "segments": 2}


@pytest.mark.parametrize("shape, slice_index, message", [((40, 48), 1, "48×40"), ((48, 40), 5, "no slice 5"),
                                                         ((48, 40), 2, "no labelled pixel")])
def test_label_files_that_do_not_fit_name_the_file(tmp_path, shape, slice_index, message):
    labels = np.zeros((3, 48, 40), np.int16)
    labels[:2, 5:20, 8:30] = 1
    path = write_nifti(tmp_path / "labels.nii", labels)
    with pytest.raises(ExperimentError, match=message) as error:
        load_segments(path, shape, slice_index)
    assert str(path) in str(error.value)


def test_a_file_that_is_not_a_label_map(tmp_path):
    path = tmp_path / "labels.npy"
    np.save(path, np.ones((4, 4)))
    with pytest.raises(ExperimentError, match="NIfTI"):
        load_segments(path, (4, 4))
    fractional = write_nifti(tmp_path / "soft.nii", np.full((1, 4, 4), 0.5, np.float32))
    with pytest.raises(ExperimentError, match="whole numbers"):
        load_segments(fractional, (4, 4))
