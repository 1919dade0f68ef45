"""A user's checkpoint needs no architecture flags: the network and its sizes are read from fastMRI's parameter names
and shapes. The reference is fastMRI's own code (``fastmri.models``, installed --no-deps for tests): networks built
there with non-default sizes, saved plain and as fastMRI's Lightning modules save them, must be recognised with the
sizes they were built with, load strictly and give fastMRI's output."""
import fastmri_reference  # noqa: F401  - stand-ins for fastMRI's data loaders before fastmri.models is imported
import pytest
import torch
from fastmri.models import Unet as ReferenceUnet
from fastmri.models import VarNet as ReferenceVarNet

from halluview.core.physics.mri import build_mri_operator
from halluview.core.recon.architectures import (
    UNET,
    VARNET,
    UnetSize,
    VarNetSize,
    inspect_checkpoint,
    load_network,
)
from halluview.core.recon.checkpoints import CheckpointError
from halluview.core.recon.factory import ReconConfig, build_reconstructor


def _perturbed(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Weights moved off their initial values (dc_weight is 1 at first), so a mix-up cannot go unseen."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.add_(0.05 * torch.randn(parameter.shape, generator=generator))
    return module.eval()


def _save(state: dict, path, lightning_prefix: str | None):
    """Plain ``torch.save(state_dict)``, or a Lightning checkpoint as fastMRI's UnetModule / VarNetModule write it."""
    if lightning_prefix is not None:
        state = {"state_dict": {lightning_prefix + k: v for k, v in state.items()}, "epoch": 3,
                 "hyper_parameters": {"lr": 0.001}}
    torch.save(state, path)
    return path


UNET_SIZES = [(1, 1, 8, 3), (1, 1, 5, 1), (2, 3, 4, 2), (1, 1, 6, 4)]


@pytest.mark.parametrize("lightning", [False, True], ids=["state_dict", "lightning"])
@pytest.mark.parametrize("in_chans,out_chans,chans,pools", UNET_SIZES)
def test_unet_sizes_are_read_from_the_weights(tmp_path, lightning, in_chans, out_chans, chans, pools):
    torch.manual_seed(0)
    reference = _perturbed(ReferenceUnet(in_chans, out_chans, chans=chans, num_pool_layers=pools), 1)
    path = _save(reference.state_dict(), tmp_path / "unet.pt", "unet." if lightning else None)
    found = inspect_checkpoint(path)
    assert (found.arch, found.prefix) == (UNET, "unet." if lightning else "")
    assert found.size == UnetSize(in_chans=in_chans, out_chans=out_chans, chans=chans, num_pool_layers=pools)
    ours, _ = load_network(path)
    image = torch.randn(2, in_chans, 36, 44)
    with torch.no_grad():
        torch.testing.assert_close(ours.eval()(image), reference(image), rtol=0, atol=0)


VARNET_SIZES = [(2, 4, 2, 6, 2), (3, 3, 1, 4, 3), (1, 2, 3, 5, 1)]


@pytest.mark.parametrize("lightning", [False, True], ids=["state_dict", "lightning"])
@pytest.mark.parametrize("cascades,sens_chans,sens_pools,chans,pools", VARNET_SIZES)
def test_varnet_sizes_are_read_from_the_weights(tmp_path, lightning, cascades, sens_chans, sens_pools, chans, pools):
    torch.manual_seed(0)
    reference = _perturbed(ReferenceVarNet(num_cascades=cascades, sens_chans=sens_chans, sens_pools=sens_pools,
                                           chans=chans, pools=pools), 2)
    path = _save(reference.state_dict(), tmp_path / "varnet.ckpt", "varnet." if lightning else None)
    found = inspect_checkpoint(path)
    assert (found.arch, found.prefix) == (VARNET, "varnet." if lightning else "")
    assert found.size == VarNetSize(num_cascades=cascades, sens_chans=sens_chans, sens_pools=sens_pools,
                                    chans=chans, num_pool_layers=pools)
    ours, _ = load_network(path)
    kspace = torch.randn(1, 3, 32, 24, 2)
    mask = torch.zeros(1, 1, 1, 24, 1, dtype=torch.bool)
    mask[..., 10:14, :] = True
    mask[..., ::3, :] = True
    with torch.no_grad():
        torch.testing.assert_close(ours.eval()(kspace * mask, mask), reference(kspace * mask, mask),
                                   rtol=1e-5, atol=1e-6)


def test_sizes_given_that_agree_with_the_weights_are_accepted(tmp_path):
    path = _save(ReferenceVarNet(num_cascades=2, sens_chans=3, sens_pools=1, chans=4, pools=2).state_dict(),
                 tmp_path / "v.pt", None)
    given = {"arch": VARNET, "num_cascades": 2, "sens_chans": 3, "sens_pools": 1, "chans": 4, "num_pool_layers": 2}
    assert inspect_checkpoint(path, params=given).options() == {k: v for k, v in given.items() if k != "arch"}


@pytest.fixture
def unet16(tmp_path):
    return _save(ReferenceUnet(1, 1, chans=16, num_pool_layers=2).state_dict(), tmp_path / "unet16.pt", None)


@pytest.mark.parametrize("params,words", [
    ({"chans": 32}, "the weights hold a fastMRI U-Net with 16 channels, not 32 (--chans 32)"),
    ({"num_pool_layers": 4}, "the weights hold a fastMRI U-Net with 2 pooling layers, not 4 (--pools 4)"),
    ({"arch": VARNET}, "the weights hold a fastMRI U-Net, not a fastmri-varnet (--arch fastmri-varnet)"),
    ({"num_cascades": 12}, "the weights hold a fastMRI U-Net, which has no cascades (--cascades 12 given)"),
])
def test_a_size_given_that_contradicts_the_weights_is_one_line_naming_the_file_and_both_values(unet16, params,
                                                                                                words):
    with pytest.raises(CheckpointError) as refusal:
        inspect_checkpoint(unet16, params=params)
    message = str(refusal.value)
    assert message.startswith(f"{unet16}: {words}") and "\n" not in message


def test_a_contradiction_stops_the_build_too(unet16):
    op = build_mri_operator((32, 32))
    with pytest.raises(CheckpointError, match="16 channels, not 32"):
        build_reconstructor(ReconConfig(name="checkpoint", weights=str(unet16), params={"chans": 32}), op)


def test_a_checkpoint_without_flags_builds_the_network_it_holds(unet16):
    """Before: the architecture came from flags with defaults (32 channels, 4 pools), so this file was refused."""
    op = build_mri_operator((32, 32))
    model = build_reconstructor(ReconConfig(name="checkpoint", weights=str(unet16)), op)
    assert (model.network.chans, model.network.num_pool_layers) == (16, 2)
    assert model.config()["chans"] == 16


@pytest.mark.parametrize("state", [{"encoder.weight": torch.zeros(3)}, {"unet.encoder.weight": torch.zeros(3)},
                                   {"w": torch.zeros(1), "b": torch.zeros(1), "c": torch.zeros(1),
                                    "d": torch.zeros(1), "e": torch.zeros(1)}])
def test_a_state_dict_that_is_neither_network_says_so(tmp_path, state):
    path = _save(state, tmp_path / "other.pt", None)
    with pytest.raises(CheckpointError, match=r"other.pt: it holds neither a fastMRI U-Net .* nor an E2E-VarNet"):
        inspect_checkpoint(path)


def test_weights_whose_shapes_do_not_fit_their_names_are_refused_before_building(tmp_path):
    state = ReferenceUnet(1, 1, chans=8, num_pool_layers=3).state_dict()
    state["conv.layers.0.weight"] = torch.zeros(5, 32, 3, 3)  # the bottleneck of another network
    path = _save(state, tmp_path / "mixed.pt", None)
    with pytest.raises(CheckpointError, match=r"do not match the architecture \(fastMRI U-Net, 8 channels, 3 pools\)"
                                              r": conv.layers.0.weight \(file 5×32×3×3, architecture 64×32×3×3\)"):
        inspect_checkpoint(path)


def test_a_missing_size_key_is_named(tmp_path):
    state = ReferenceUnet(1, 1, chans=4, num_pool_layers=2).state_dict()
    del state["up_conv.1.1.weight"]
    with pytest.raises(CheckpointError, match="it looks like a fastMRI U-Net, but it has no up_conv.1.1.weight"):
        inspect_checkpoint(_save(state, tmp_path / "cut.pt", None))


def test_varnet_cascades_of_different_sizes_are_refused(tmp_path):
    state = ReferenceVarNet(num_cascades=2, sens_chans=2, sens_pools=1, chans=4, pools=1).state_dict()
    other = ReferenceVarNet(num_cascades=2, sens_chans=2, sens_pools=1, chans=6, pools=1).state_dict()
    state.update({k: v for k, v in other.items() if k.startswith("cascades.1.")})
    with pytest.raises(CheckpointError, match=r"cascade 0: 4 channels, 1 pools; cascade 1: 6 channels, 1 pools"):
        inspect_checkpoint(_save(state, tmp_path / "uneven.pt", None))


def test_a_varnet_checkpoint_needs_multi_coil_k_space(tmp_path):
    path = _save(ReferenceVarNet(num_cascades=1, sens_chans=2, sens_pools=1, chans=2, pools=1).state_dict(),
                 tmp_path / "v.pt", None)
    with pytest.raises(CheckpointError, match="a multi-coil MRI network .* at least 2 coils"):
        build_reconstructor(ReconConfig(name="checkpoint", weights=str(path)), build_mri_operator((32, 32)))
    model = build_reconstructor(ReconConfig(name="checkpoint", weights=str(path)),
                                build_mri_operator((32, 32), n_coils=2))
    assert model.config()["num_cascades"] == 1


def test_a_unet_with_several_channels_is_refused_by_the_one_image_pipeline(tmp_path):
    path = _save(ReferenceUnet(2, 2, chans=4, num_pool_layers=1).state_dict(), tmp_path / "complex.pt", None)
    with pytest.raises(CheckpointError, match="2 input and 2 output channels"):
        build_reconstructor(ReconConfig(name="checkpoint", weights=str(path)), build_mri_operator((32, 32)))


@pytest.mark.parametrize("content", [b"not a checkpoint", b"\x80\x02garbage", b"<html>404</html>"])
def test_bytes_that_are_not_a_checkpoint_are_not_mistaken_for_pickled_code(tmp_path, content):
    """torch's safe loader refuses any bytes as it refuses pickled objects; calling garbage "pickled Python
    objects" would make the app ask the user to let it run code."""
    path = tmp_path / "download.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError) as refusal:
        inspect_checkpoint(path)
    assert str(refusal.value) == f"{path}: not a readable PyTorch checkpoint (neither a zip archive nor a pickle)"


def test_pickled_objects_are_still_called_so(tmp_path):
    from fractions import Fraction

    for legacy in (False, True):
        path = tmp_path / f"pickled-{legacy}.pt"
        torch.save({"w": torch.zeros(1), "note": Fraction(1, 3)}, path, _use_new_zipfile_serialization=not legacy)
        with pytest.raises(CheckpointError, match="it holds pickled Python objects"):
            inspect_checkpoint(path)
