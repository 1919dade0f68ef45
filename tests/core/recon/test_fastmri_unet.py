"""fastMRI U-Net: the published key names (built here from the structure fastMRI documents), strict loading,
the input pipeline, and safe checkpoint reading."""
import pickle

import numpy as np
import pytest
import torch

from halluview.core.physics.mri import build_mri_operator
from halluview.core.recon.checkpoints import CheckpointError, load_into, read_state_dict
from halluview.core.recon.fastmri_nets import Unet, normalize_instance
from halluview.core.recon.learned import UnetPostProcessing


def fastmri_unet_keys(num_pools: int = 4) -> list[str]:
    """The state_dict keys of fastmri.models.Unet, written from its documented layout (not from our module)."""
    keys = []
    for i in range(num_pools):
        keys += [f"down_sample_layers.{i}.layers.0.weight", f"down_sample_layers.{i}.layers.4.weight"]
    keys += ["conv.layers.0.weight", "conv.layers.4.weight"]
    for i in range(num_pools - 1):
        keys += [f"up_conv.{i}.layers.0.weight", f"up_conv.{i}.layers.4.weight"]
    last = num_pools - 1
    keys += [f"up_conv.{last}.0.layers.0.weight", f"up_conv.{last}.0.layers.4.weight",
             f"up_conv.{last}.1.weight", f"up_conv.{last}.1.bias"]
    keys += [f"up_transpose_conv.{i}.layers.0.weight" for i in range(num_pools)]
    return keys


def test_unet_has_fastmri_key_names_and_shapes():
    unet = Unet(1, 1, chans=32, num_pool_layers=4)
    state = unet.state_dict()
    assert sorted(state) == sorted(fastmri_unet_keys(4)) and len(state) == 24
    assert state["down_sample_layers.0.layers.0.weight"].shape == (32, 1, 3, 3)
    assert state["conv.layers.0.weight"].shape == (512, 256, 3, 3)
    assert state["up_transpose_conv.0.layers.0.weight"].shape == (512, 256, 2, 2)
    assert state["up_conv.3.1.weight"].shape == (1, 32, 1, 1)


def test_official_style_checkpoint_loads_strict(tmp_path):
    """A Lightning checkpoint as fastMRI saves it ({'state_dict': {'unet.<key>': ...}}) loads strictly."""
    source = Unet(1, 1, chans=8, num_pool_layers=3)
    path = tmp_path / "unet.ckpt"
    torch.save({"state_dict": {f"unet.{k}": v for k, v in source.state_dict().items()}, "epoch": 3}, path)
    target = Unet(1, 1, chans=8, num_pool_layers=3)
    load_into(target, read_state_dict(path), path, prefix="unet.")
    x = torch.randn(1, 1, 40, 40)
    torch.testing.assert_close(target(x), source(x))


@pytest.mark.parametrize("shape", [(32, 32), (37, 45)])
def test_unet_output_keeps_odd_sizes(shape):
    assert Unet(1, 2, chans=4, num_pool_layers=3)(torch.randn(2, 1, *shape)).shape == (2, 2, *shape)


def test_pipeline_normalises_and_unscales():
    op = build_mri_operator((32, 32), mask_type="full")
    model = UnetPostProcessing(op, Unet(1, 1, chans=4, num_pool_layers=2), crop_size=(24, 24))
    torch.nn.init.zeros_(model.unet.up_conv[-1][1].weight)
    torch.nn.init.zeros_(model.unet.up_conv[-1][1].bias)
    x = torch.rand(1, 32, 32)
    out = model(op(x))
    cropped = x[:, 4:28, 4:28]
    # A zero network output maps back to the mean of the (cropped) zero-filled input.
    torch.testing.assert_close(out, cropped.mean().expand(1, 24, 24), atol=1e-5, rtol=1e-5)
    normalised, mean, std = normalize_instance(cropped)
    assert float(normalised.mean()) == pytest.approx(0, abs=1e-5) and float(normalised.std()) == pytest.approx(1)


class _RunsCode:
    def __reduce__(self):
        return (exec, ("open('PWNED', 'w').write('x')",))


@pytest.mark.parametrize("writer", ["pickle", "torch.save"])
def test_pickle_that_runs_code_is_refused(tmp_path, monkeypatch, writer):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pt"
    if writer == "pickle":
        with open(path, "wb") as handle:
            pickle.dump({"weight": _RunsCode()}, handle)
    else:
        torch.save({"weight": _RunsCode()}, path)
    assert not (tmp_path / "PWNED").exists()
    with pytest.raises(CheckpointError, match="pickled Python objects"):
        read_state_dict(path)
    assert not (tmp_path / "PWNED").exists()


def test_mismatched_keys_are_listed(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"encoder.weight": torch.zeros(3)}, path)
    with pytest.raises(CheckpointError, match=r"Missing: \['conv.layers.0.weight'.*unexpected: \['encoder.weight'\]"):
        load_into(Unet(1, 1, chans=4, num_pool_layers=2), read_state_dict(path), path)


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"PK\x03\x04broken"])
def test_garbage_files_get_a_clear_error(tmp_path, content):
    path = tmp_path / "weights.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="weights.pt"):
        read_state_dict(path)


def test_varnet_checkpoint_is_attacked_on_a_multicoil_fastmri_file(tmp_path):
    """A Lightning-style VarNet checkpoint ({'state_dict': {'varnet.<key>': ...}}) drives an attack on a file's
    own multi-coil k-space through the CLI, with no architecture flags: the network and its sizes are read from
    the weights."""
    import json

    from fastmri_fixture import phantom_volume, write_fastmri_h5

    from halluview.cli import main
    from halluview.core.recon.varnet import VarNet

    torch.manual_seed(0)
    varnet = VarNet(num_cascades=2, sens_chans=4, sens_pools=2, chans=6, pools=2)
    weights = tmp_path / "varnet.ckpt"
    torch.save({"state_dict": {f"varnet.{k}": v for k, v in varnet.state_dict().items()}}, weights)
    scan = write_fastmri_h5(tmp_path / "knee.h5", phantom_volume(2, 32, 24), n_coils=4, acceleration=1)
    out = tmp_path / "run"
    assert main(["attack", str(scan.path), "--recon", "checkpoint", "--weights", str(weights), "--steps", "3",
                 "--quiet", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["norms"]["recon_change_l2"] > 0 and "vs_reference" in report["final"]["attack"]
    assert np.load(out / "clean.npy").shape == (32, 24)  # the recon size


@pytest.mark.parametrize("shape, fits", [((24, 24), False), ((16, 16), False), ((15, 64), False),
                                         ((16, 32), True), ((32, 32), True)])
def test_an_image_too_small_for_the_pooling_is_refused_in_words(shape, fits):
    """Four halvings leave floor(side / 16) pixels a side at the bottom, whose instance norm needs at least two;
    torch's own complaint ("... when training") would mislead, so the U-Net says what it needs."""
    from halluview.core.data_checks import clean_reconstruction
    from halluview.core.errors import ExperimentError

    unet = Unet(1, 1, chans=4, num_pool_layers=4).eval()
    image = torch.rand(1, 1, *shape)
    if fits:
        assert unet(image).shape == image.shape
        return
    with pytest.raises(ExperimentError, match=rf"needs at least 32×16 or 16×32 pixels.*{shape[0]}×{shape[1]}"):
        clean_reconstruction(unet, image, "unet-mri-4x")
