"""RED-CNN and DnCNN: the published structures (layer names, parameter counts) and any-size images."""
import pytest
import torch

from halluview.core.recon.cnn import DnCNN, RedCNN


def test_redcnn_has_chen_et_al_structure():
    net = RedCNN()  # 96 filters of 5×5, as published
    names = [name for name, _ in net.named_children() if name != "relu"]
    assert names == [f"conv{i}" for i in range(1, 6)] + [f"tconv{i}" for i in range(1, 6)]
    f, k = 96, 25
    expected = (k * f + f) + 8 * (f * f * k + f) + (f * k + 1)  # conv1, conv2-5 + tconv1-4, tconv5
    assert sum(p.numel() for p in net.parameters()) == expected


@pytest.mark.parametrize("shape", [(1, 1, 64, 64), (2, 1, 37, 50)])
def test_redcnn_keeps_the_image_size_and_is_non_negative(shape):
    torch.manual_seed(0)
    with torch.no_grad():
        out = RedCNN(filters=8)(torch.rand(shape))
    assert out.shape == shape and float(out.min()) >= 0


def test_redcnn_shortcut_passes_the_input_through_when_the_layers_are_silent():
    net = RedCNN(filters=4)
    for layer in (net.tconv1, net.tconv3, net.tconv5):
        torch.nn.init.zeros_(layer.weight)
        torch.nn.init.zeros_(layer.bias)
    x = torch.rand(1, 1, 30, 30)
    # with every decoder output that meets a shortcut zeroed, the last shortcut returns relu(input) = input
    torch.testing.assert_close(net(x), x)


def test_dncnn_structure_and_residual_output():
    net = DnCNN(depth=17, channels=64).eval()
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    norms = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(convs) == 17 and len(norms) == 15
    c = 64
    expected = (9 * c + c) + 15 * (9 * c * c + 2 * c) + (9 * c + 1)
    assert sum(p.numel() for p in net.parameters()) == expected
    last = convs[-1]
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.zeros_(last.bias)
    x = torch.randn(1, 1, 21, 33)
    torch.testing.assert_close(net(x), x)  # the network predicts the artefact, subtracted from the input
    with pytest.raises(ValueError):
        DnCNN(depth=2)
