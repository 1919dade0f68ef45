"""A fastMRI file's own k-space, end to end against fastMRI's loader, data transform and VarNet: the header's
padding and recon size, the mask drawn for a seed, num_low_frequencies, and the crop (FLAIR-203 rule included)."""
import h5py
import numpy as np
import pytest
import torch
from fastmri_fixture import phantom_volume, write_fastmri_h5
from fastmri_reference import VarNet as ReferenceVarNet
from fastmri_reference import header_metadata, subsample, transforms

from halluview.cli import main
from halluview.core.experiment import Experiment, OperatorConfig, SourceConfig
from halluview.core.io import read_scan
from halluview.core.problem import CroppedRecon, build_problem, measure
from halluview.core.recon.factory import ReconConfig
from halluview.core.recon.learned import VarNetReconstruction
from halluview.core.recon.varnet import VarNet

MASK_FUNCS = {"random": subsample.RandomMaskFunc, "equispaced": subsample.EquiSpacedMaskFunc,
              "equispaced_fraction": subsample.EquispacedMaskFractionFunc, "magic": subsample.MagicMaskFunc,
              "magic_fraction": subsample.MagicMaskFractionFunc}
VARNET_OPTIONS = dict(num_cascades=1, sens_chans=4, sens_pools=2, chans=4, pools=2)


def fastmri_sample(path, index, kind, acceleration, center_fraction, seed):
    """fastMRI's VarNetDataTransform on slice ``index``, its mask function seeded as HalluView seeds its own."""
    mask_func = MASK_FUNCS[kind]([center_fraction], [acceleration], seed=seed)
    scan = read_scan(path)
    transform = transforms.VarNetDataTransform(mask_func, use_seed=False)  # the first draw of MaskFunc(seed)
    return transform(scan.kspace[index], None, None, header_metadata(path), path.name, index)


def halluview_measurement(path, index, kind, acceleration, center_fraction, seed):
    experiment = Experiment(source=SourceConfig(demo=None, path=str(path), slice=index), device="cpu",
                            operator=OperatorConfig(acceleration=acceleration, center_fraction=center_fraction,
                                                    mask_type=kind, mask_seed=seed))
    return measure(experiment, read_scan(path))


def fastmri_test_step_crop(output, crop_size):
    """VarNetModule.test_step: the recon size, or W x W when the output is narrower (FLAIR-203)."""
    if output.shape[-1] < crop_size[1]:
        crop_size = (output.shape[-1], output.shape[-1])
    return transforms.center_crop(output, crop_size)


@pytest.fixture(scope="module")
def fastmri_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fastmri")
    volume = phantom_volume(2, 32, 24)
    return {"plain": write_fastmri_h5(folder / "file1000001.h5", volume, n_coils=4, acceleration=1).path,
            "no_fov": write_fastmri_h5(folder / "file1000002.h5", volume, n_coils=4, acceleration=1,
                                       field_of_view=False).path,
            "flair203": write_fastmri_h5(folder / "file1000003.h5", volume, n_coils=4, acceleration=1,
                                         recon_size=(32, 40)).path}


@pytest.mark.parametrize("file", ["plain", "no_fov", "flair203"])
@pytest.mark.parametrize(("kind", "seed"), [("random", 3), ("equispaced", 1), ("equispaced_fraction", 2),
                                            ("magic", 0), ("magic_fraction", 5)])
def test_masked_kspace_and_crop_equal_fastmris_data_transform(fastmri_files, file, kind, seed):
    path = fastmri_files[file]
    sample = fastmri_sample(path, 1, kind, 4, 0.08, seed)
    m = halluview_measurement(path, 1, kind, 4, 0.08, seed)
    np.testing.assert_array_equal(m.op.mask.reshape(-1).numpy(), sample.mask.reshape(-1).numpy())
    np.testing.assert_array_equal(torch.view_as_real(m.y[0]).numpy(), sample.masked_kspace.numpy())
    assert m.op.num_low_frequencies == sample.num_low_frequencies
    expected_crop = fastmri_test_step_crop(torch.zeros(64, 34), sample.crop_size).shape
    assert m.crop_size == tuple(expected_crop) == ((34, 34) if file == "flair203" else (32, 24))


@pytest.mark.parametrize("file", ["plain", "flair203"])
def test_varnet_reconstruction_equals_fastmris_varnet_on_the_file(fastmri_files, file):
    """Same weights: HalluView's f(y) on the file's k-space equals fastMRI's VarNet given what VarNetModule gives
    it (masked k-space, mask, num_low_frequencies), cropped as its test_step crops."""
    torch.manual_seed(0)
    reference = ReferenceVarNet(**VARNET_OPTIONS).eval()
    with torch.no_grad():
        for parameter in reference.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    ours = VarNet(**VARNET_OPTIONS).eval()
    ours.load_state_dict(reference.state_dict(), strict=True)
    path = fastmri_files[file]
    sample = fastmri_sample(path, 0, "random", 4, 0.08, 3)
    m = halluview_measurement(path, 0, "random", 4, 0.08, 3)
    with torch.no_grad():
        inputs = (sample.masked_kspace[None], sample.mask[None])
        expected = fastmri_test_step_crop(reference(*inputs, sample.num_low_frequencies), sample.crop_size)
        found_in_mask = fastmri_test_step_crop(reference(*inputs, None), sample.crop_size)
        recon = CroppedRecon(VarNetReconstruction(m.op, ours), m.crop_size)(m.y)
    assert (expected - found_in_mask).abs().max() > 1e-3 * expected.abs().max()  # num_low_frequencies matters
    torch.testing.assert_close(recon, expected, rtol=1e-5, atol=1e-6)


def test_cli_attacks_a_file_whose_header_has_no_field_of_view(fastmri_files, tmp_path):
    """It crashed: without fieldOfView_mm the header was dropped, the recon size with it, and the 64 x 34
    reconstruction met the 32 x 24 reference."""
    out = tmp_path / "run"
    arguments = ["attack", str(fastmri_files["no_fov"]), "--recon", "zero-filled", "--steps", "2", "--quiet",
                 "--device", "cpu", "--out", str(out)]
    assert main(arguments) == 0
    assert np.load(out / "clean.npy").shape == (32, 24)


def test_without_a_header_the_reference_gives_the_crop(fastmri_files, tmp_path):
    """fastMRI's UnetDataTransform crops to the target's shape when there is one."""
    path = tmp_path / "noheader.h5"
    path.write_bytes(fastmri_files["plain"].read_bytes())
    with h5py.File(path, "r+") as handle:
        del handle["ismrmrd_header"]
    m = halluview_measurement(path, 1, "random", 4, 0.08, 0)
    assert m.crop_size == (32, 24)
    recon = ReconConfig(name="zero-filled")
    experiment = Experiment(source=SourceConfig(demo=None, path=str(path), slice=1), device="cpu", recon=recon)
    problem = build_problem(experiment)
    assert problem.clean.shape[-2:] == problem.reference.shape[-2:] == (32, 24)
