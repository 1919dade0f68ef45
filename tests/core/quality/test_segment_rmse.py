"""Segment RMSE against a brute-force loop, and the talk's argument: removing one small structure moves MaxSRMSE
while global RMSE, SSIM and PSNR barely move."""
import numpy as np
import pytest
import torch
from quality_images import phantom

from halluview.core import metrics
from halluview.core.quality import auto_segments, clinical_metrics, worst_segment
from halluview.core.quality.srmse import segment_rmse


def test_segment_rmse_matches_a_loop(images):
    ref, noisy = images
    labels = auto_segments(ref, float(ref.max())).labels
    ids, values = segment_rmse(noisy, ref, labels)
    for label, value in zip(ids, values):
        mask = labels == label
        expected = np.sqrt(sum((noisy[r, c] - ref[r, c]) ** 2 for r, c in zip(*np.nonzero(mask))) / mask.sum())
        assert value == pytest.approx(expected, rel=1e-12)
    assert 0 not in ids and len(ids) > 10


def test_identical_images(images):
    ref, _ = images
    values = clinical_metrics(ref, ref, float(ref.max()), auto_segments(ref, float(ref.max())))
    assert values["vif"] == pytest.approx(1.0, abs=1e-9)
    assert values["srmse_mean"] == 0 and values["srmse_max"] == 0
    assert values["rfs"] == pytest.approx(1.0, abs=1e-12)


def test_removing_a_small_structure_moves_max_srmse_only(images):
    ref, noisy = images
    removed = noisy - (phantom() - phantom(disc=False))  # the same noise, the disc gone
    segments = auto_segments(ref, float(ref.max()))
    clean, attacked = (clinical_metrics(x, ref, float(ref.max()), segments) for x in (noisy, removed))
    assert attacked["srmse_max"] > 5 * clean["srmse_max"]
    rmse = [float(np.sqrt(np.mean((x - ref) ** 2))) for x in (noisy, removed)]
    assert rmse[1] < 1.2 * rmse[0]
    ssim = [float(metrics.ssim(torch.from_numpy(x), torch.from_numpy(ref))) for x in (noisy, removed)]
    psnr = [float(metrics.psnr(torch.from_numpy(x), torch.from_numpy(ref))) for x in (noisy, removed)]
    assert ssim[0] - ssim[1] < 0.025 and psnr[0] - psnr[1] < 1.5
    where = worst_segment(removed, ref, segments)
    assert abs(where["row"] - 0.4 * 64) < 4 and abs(where["column"] - 0.62 * 64) < 4


def test_region_variants_use_the_segments_it_touches(images):
    ref, noisy = images
    region = np.zeros(ref.shape, bool)
    region[20:30, 20:30] = True
    values = clinical_metrics(noisy, ref, float(ref.max()), auto_segments(ref, float(ref.max())), region)
    assert {"srmse_mean_in", "srmse_max_in", "rfs_in"} <= set(values)
    assert values["srmse_max_in"] <= values["srmse_max"]


def test_small_images_have_no_vif_and_no_segments_give_nan():
    ref = phantom(32)
    values = clinical_metrics(ref, ref, 1.0, auto_segments(np.zeros((32, 32)), 1.0))
    assert "vif" not in values and np.isnan(values["srmse_max"]) and np.isnan(values["rfs"])
