"""VIFp against torchmetrics' independent implementation, with piq's scaling (255 / data range)."""
import pytest
import torch

from halluview.core.quality.vif import VifReference, vif_p


def _images(seed: int = 0, size: int = 64):
    generator = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    ref = (xx ** 2 + yy ** 2 < 0.6).double() * (1 + 0.3 * torch.sin(6 * xx)) + 0.2
    x = ref + 0.05 * torch.randn(size, size, generator=generator, dtype=torch.float64)
    return x, ref


def _independent(x, ref, data_range):
    """torchmetrics' VIF (the test extra installs it; only the tests that compare with it need it)."""
    tm_image = pytest.importorskip("torchmetrics.functional.image")
    scaled = [(image / data_range * 255)[None, None] for image in (x, ref)]
    return float(tm_image.visual_information_fidelity(*scaled, sigma_n_sq=2.0))


@pytest.mark.parametrize("blur", [False, True])
def test_vif_matches_torchmetrics(blur):
    x, ref = _images()
    if blur:
        x = torch.nn.functional.avg_pool2d(x[None, None], 3, stride=1, padding=1)[0, 0]
    data_range = float(ref.max())
    assert float(vif_p(x, ref, data_range)) == pytest.approx(_independent(x, ref, data_range), rel=1e-9)


def test_vif_of_identical_images_is_one_and_batches():
    x, ref = _images()
    assert float(vif_p(ref, ref, 1.5)) == pytest.approx(1.0, abs=1e-9)
    batch = vif_p(torch.stack([x, ref]), torch.stack([ref, ref]), torch.tensor([1.5, 1.5]))
    assert batch.shape == (2,) and float(batch[1]) == pytest.approx(1.0) and float(batch[0]) < 1


def test_vif_refuses_images_too_small_for_four_scales():
    with pytest.raises(ValueError, match="41"):
        vif_p(torch.zeros(32, 32), torch.zeros(32, 32), 1.0)


def test_one_reference_serves_many_images_off_square():
    _, ref = _images(size=96)
    ref = ref[:, :80]  # 96 × 80: rows and columns cropped apart
    reference = VifReference(ref.numpy(), 1.5)
    for seed in (1, 2):
        noise = torch.randn(ref.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        x = ref + 0.03 * seed * noise
        assert float(reference(x.numpy())) == pytest.approx(_independent(x, ref, 1.5), rel=1e-9)
