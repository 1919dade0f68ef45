"""Gradient checkpointing over the E2E-VarNet's cascades: the same gradients, and "auto" / "on" / "off" choose as
documented. The plain network's gradient is the reference (an independent path: no torch.utils.checkpoint)."""
from __future__ import annotations

import pytest
import torch

from halluview.core.recon import varnet as varnet_module
from halluview.core.recon.varnet import VarNet, available_memory_bytes, varnet_activation_bytes

SHAPE = (1, 2, 32, 24)  # batch, coils, rows, columns


def _varnet(checkpointing: str = "auto") -> VarNet:
    torch.manual_seed(0)
    return VarNet(num_cascades=2, sens_chans=4, sens_pools=2, chans=4, pools=2, checkpointing=checkpointing)


def _inputs() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    mask = torch.zeros(1, 1, 1, SHAPE[3], 1, dtype=torch.bool)
    mask[..., ::3, :] = True
    mask[..., 10:14, :] = True
    kspace = torch.randn(*SHAPE, 2, generator=generator) * mask
    return kspace, mask


def _kspace_gradient(net: VarNet) -> tuple[torch.Tensor, torch.Tensor]:
    kspace, mask = _inputs()
    kspace.requires_grad_(True)
    image = net(kspace, mask)
    weights = torch.linspace(0.5, 1.5, image.numel()).reshape(image.shape)  # not a symmetric objective
    grad, = torch.autograd.grad((weights * image ** 2).sum(), kspace)
    return image.detach(), grad


def _frozen(net: VarNet) -> VarNet:
    for parameter in net.parameters():
        parameter.requires_grad_(False)
    return net


def test_checkpointed_gradient_equals_the_plain_one():
    plain_image, plain_grad = _kspace_gradient(_frozen(_varnet("off")))
    checkpointed = _frozen(_varnet("on"))
    image, grad = _kspace_gradient(checkpointed)
    assert checkpointed.last_checkpointed
    assert float(plain_grad.abs().max()) > 0
    torch.testing.assert_close(image, plain_image, rtol=0, atol=1e-6)
    torch.testing.assert_close(grad, plain_grad, rtol=1e-6, atol=1e-6)


def test_checkpointed_weight_gradients_equal_the_plain_ones():
    """Training (weights recording, k-space not): every cascade's parameters get the plain gradient."""
    kspace, mask = _inputs()
    grads = []
    for mode in ("off", "on"):
        net = _varnet(mode)
        net(kspace, mask).sum().backward()
        assert net.last_checkpointed == (mode == "on")
        grads.append([p.grad.clone() for p in net.parameters()])
    for plain, checkpointed in zip(*grads):
        torch.testing.assert_close(checkpointed, plain, rtol=1e-5, atol=1e-6)


def test_the_state_dict_is_unchanged():
    assert list(_varnet("on").state_dict()) == list(_varnet("off").state_dict())
    assert "checkpointing" not in _varnet("on").options


@pytest.mark.parametrize("available, expected", [(1, True), (10 ** 15, False)])
def test_auto_checkpoints_exactly_when_the_estimate_does_not_fit(monkeypatch, available, expected):
    net = _varnet("auto")
    needed = net.activation_bytes(SHAPE)
    assert 1 < needed < 10 ** 15
    monkeypatch.setattr(varnet_module, "available_memory_bytes", lambda device: available)
    _kspace_gradient(net)
    assert net.last_checkpointed is expected


def test_auto_decides_at_the_safety_margin(monkeypatch):
    net = _varnet("auto")
    needed = net.activation_bytes(SHAPE)
    monkeypatch.setattr(varnet_module, "available_memory_bytes", lambda device: int(needed * 1.1))
    _kspace_gradient(net)
    assert net.last_checkpointed  # fits, but not with the margin
    monkeypatch.setattr(varnet_module, "available_memory_bytes", lambda device: int(needed * 2))
    _kspace_gradient(net)
    assert not net.last_checkpointed


def test_auto_without_a_memory_figure_does_not_checkpoint(monkeypatch):
    net = _varnet("auto")
    monkeypatch.setattr(varnet_module, "available_memory_bytes", lambda device: None)
    _kspace_gradient(net)
    assert not net.last_checkpointed


@pytest.mark.parametrize("mode", ["auto", "on"])
def test_never_checkpoints_without_autograd(monkeypatch, mode):
    net = _varnet(mode)
    monkeypatch.setattr(varnet_module, "available_memory_bytes", lambda device: 1)
    kspace, mask = _inputs()
    net.last_checkpointed = True
    with torch.no_grad():
        net(kspace, mask)
    assert not net.last_checkpointed
    _frozen(net)(kspace, mask)  # frozen weights, k-space not recording: nothing to save either
    assert not net.last_checkpointed


@pytest.mark.parametrize("mode, expected", [("on", True), ("off", False)])
def test_on_and_off_ignore_the_memory(monkeypatch, mode, expected):
    net = _varnet(mode)
    monkeypatch.setattr(varnet_module, "available_memory_bytes", lambda device: 1 if mode == "off" else 10 ** 15)
    _kspace_gradient(net)
    assert net.last_checkpointed is expected


def test_checkpointing_runs_every_cascade_twice():
    """Each cascade starts once in the forward pass and once more (recomputed) in the backward pass (a pre-hook:
    the recomputation stops early, once the saved tensors are back, so its forward never returns)."""
    net = _frozen(_varnet("on"))
    calls = [0] * len(net.cascades)
    for index, cascade in enumerate(net.cascades):
        cascade.register_forward_pre_hook(lambda module, args, index=index: calls.__setitem__(
            index, calls[index] + 1))
    _kspace_gradient(net)
    assert calls == [2] * len(net.cascades)


def test_unknown_setting_is_refused():
    with pytest.raises(ValueError, match="checkpointing"):
        VarNet(num_cascades=1, checkpointing="sometimes")


def test_the_estimate_grows_with_the_network_and_checkpointing_saves():
    full = (1, 15, 640, 368)
    plain = varnet_activation_bytes(full)
    assert varnet_activation_bytes(full, cascades=13) > plain
    assert varnet_activation_bytes(full, chans=20) > plain
    assert varnet_activation_bytes((1, 16, 640, 368)) > plain
    assert varnet_activation_bytes(full, checkpointed=True) < plain / 1.5
    # fastMRI users run out of memory at 8–11 GB with this network: the estimate is of that order
    assert 6 * 2 ** 30 < plain < 16 * 2 ** 30


def _saved_bytes(net: VarNet, shape: tuple[int, int, int, int]) -> int:
    """What autograd keeps for the backward pass of one forward (each storage once): an independent count."""
    kspace = torch.randn(*shape, 2, generator=torch.Generator().manual_seed(2)).requires_grad_(True)
    mask = torch.zeros(1, 1, 1, shape[3], 1, dtype=torch.bool)
    mask[..., ::3, :] = True
    storages: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        net(kspace, mask)
    return sum(storages.values())


@pytest.mark.parametrize("coils", [2, 8])
def test_the_estimate_follows_what_autograd_saves(coils):
    """The peak holds every saved tensor plus the backward's own buffers: in the calibration the measured peak
    was 1.2–1.6 × the saved bytes, and the estimate (less its fixed part) is 1.4–1.7 × them here."""
    net = _frozen(_varnet("off"))
    shape = (1, coils, 128, 96)
    estimate = net.activation_bytes(shape) - varnet_module._FIXED_BYTES
    assert 1.2 < estimate / _saved_bytes(net, shape) < 2.5


def test_available_memory_on_this_cpu():
    available = available_memory_bytes(torch.device("cpu"))
    assert available is None or available > 0
    assert available_memory_bytes(torch.device("meta")) is None
