"""Our fastMRI networks against fastMRI's own code (the `fastmri` package, installed --no-deps for tests):
identical key sets, state_dicts exchanged with strict=True, identical outputs."""
import sys
import types

import pytest
import torch

# fastmri's package __init__ imports its data loaders (pandas); the model code needs none of that.
_stub = types.ModuleType("fastmri.data.mri_data")
_stub.CombinedSliceDataset = _stub.SliceDataset = object
sys.modules.setdefault("fastmri.data.mri_data", _stub)
from fastmri.models import Unet as ReferenceUnet  # noqa: E402
from fastmri.models import VarNet as ReferenceVarNet  # noqa: E402

from halluview.core.recon.fastmri_nets import Unet, VarNet  # noqa: E402  (VarNet: the path the issue names)


def test_default_key_sets_and_shapes_are_identical():
    with torch.device("meta"):  # structure only: no memory, no initialisation cost
        pairs = [(VarNet(), ReferenceVarNet()), (Unet(1, 1, chans=256), ReferenceUnet(1, 1, chans=256))]
    for ours, reference in pairs:
        assert {k: v.shape for k, v in ours.state_dict().items()} == \
            {k: v.shape for k, v in reference.state_dict().items()}
    assert len(pairs[0][0].state_dict()) == 324


@pytest.mark.parametrize("shape", [(40, 48), (37, 45)])
def test_unet_outputs_match(shape):
    torch.manual_seed(0)
    reference = ReferenceUnet(1, 1, chans=8, num_pool_layers=3).eval()
    ours = Unet(1, 1, chans=8, num_pool_layers=3).eval()
    ours.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, 1, *shape)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x), rtol=0, atol=0)


@pytest.mark.parametrize("num_low_frequencies", [None, 6])
def test_varnet_outputs_match(num_low_frequencies):
    torch.manual_seed(0)
    options = dict(num_cascades=3, sens_chans=4, sens_pools=2, chans=6, pools=2)
    reference = ReferenceVarNet(**options).eval()
    with torch.no_grad():  # move dc_weight and the weights off their initial values
        for parameter in reference.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    ours = VarNet(**options).eval()
    ours.load_state_dict(reference.state_dict(), strict=True)
    kspace = torch.randn(2, 4, 40, 30, 2)
    mask = torch.zeros(2, 1, 1, 30, 1, dtype=torch.bool)
    mask[..., 12:18, :] = True
    mask[..., ::3, :] = True
    with torch.no_grad():
        expected = reference(kspace * mask, mask, num_low_frequencies)
        torch.testing.assert_close(ours(kspace * mask, mask, num_low_frequencies), expected, rtol=1e-5, atol=1e-6)


def test_varnet_takes_num_low_frequencies_as_varnet_module_passes_it():
    """VarNetModule passes batch.num_low_frequencies, a collated (B,) tensor: for B = 1 fastMRI's own VarNet takes
    it; ours also takes one value per item (0 = find the centre in the mask, as fastMRI does for 0)."""
    torch.manual_seed(1)
    options = dict(num_cascades=1, sens_chans=2, sens_pools=2, chans=2, pools=2)
    reference = ReferenceVarNet(**options).eval()
    ours = VarNet(**options).eval()
    ours.load_state_dict(reference.state_dict(), strict=True)
    kspace = torch.randn(2, 2, 16, 30, 2)
    mask = torch.zeros(2, 1, 1, 30, 1, dtype=torch.bool)
    mask[..., 11:19, :] = True
    mask[..., 1::4, :] = True
    kspace = kspace * mask
    with torch.no_grad():
        one = ours(kspace[:1], mask[:1], torch.tensor([6]))
        torch.testing.assert_close(one, reference(kspace[:1], mask[:1], torch.tensor([6])), rtol=1e-5, atol=1e-6)
        assert (one - ours(kspace[:1], mask[:1], None)).abs().max() > 1e-4  # the value is used
        both = ours(kspace, mask, torch.tensor([6, 0]))
        torch.testing.assert_close(both[:1], reference(kspace[:1], mask[:1], 6), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(both[1:], reference(kspace[1:], mask[1:], None), rtol=1e-5, atol=1e-6)
