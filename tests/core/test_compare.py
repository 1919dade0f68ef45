"""Comparing two finished runs: the settings that differ and the numbers side by side."""
import json
from types import SimpleNamespace

import numpy as np
import pytest
from run_fixture import finished_run

from halluview.core.compare import compare_runs, flatten, shared_difference_limit
from halluview.core.report import report_dict


@pytest.fixture(scope="module")
def two_runs():
    return finished_run(eps=0.05), finished_run(eps=0.02, recon="tv", steps=2)


def test_flatten_gives_dotted_keys_with_lists_as_values():
    tree = {"threat": {"eps": 0.02, "norm": "l2"}, "region": {"kind": "rect", "xywh": [1, 2, 3, 4]}, "seed": 0,
            "objective": {"lesion": {}}}
    assert flatten(tree) == {"threat.eps": 0.02, "threat.norm": "l2", "region.kind": "rect",
                             "region.xywh": [1, 2, 3, 4], "seed": 0, "objective.lesion": {}}


def test_settings_that_differ_with_both_values(two_runs):
    (exp_a, result_a), (exp_b, result_b) = two_runs
    record_a = SimpleNamespace(experiment=exp_a.to_dict(), result=result_a)
    record_b = SimpleNamespace(experiment=exp_b.to_dict(), result=result_b)
    comparison = compare_runs(record_a, record_b)
    differing = {d.key: (d.a, d.b) for d in comparison.settings}
    assert differing["threat.eps"] == (0.05, 0.02)
    assert differing["recon.name"] == ("zero-filled", "tv")
    assert differing["optimizer.steps"] == (3, 2)
    assert "seed" not in differing and "threat.norm" not in differing  # equal settings are left out
    assert "optimizer.steps" not in {d.key for d in compare_runs(record_a, record_b, ignore=("optimizer",)).settings}


def test_metrics_side_by_side_are_each_runs_own(two_runs):
    (_, result_a), (_, result_b) = two_runs
    rows = {(r.section, r.name): (r.a, r.b) for r in compare_runs(result_a, result_b).metrics}
    assert rows[("inside the region, vs clean", "SSIM")] == (result_a.metrics["vs_clean"]["ssim_in"],
                                                              result_b.metrics["vs_clean"]["ssim_in"])
    assert rows[("whole image, vs clean", "PSNR (dB)")] == (result_a.metrics["vs_clean"]["psnr"],
                                                             result_b.metrics["vs_clean"]["psnr"])
    assert rows[("inside the region, equal-norm noise vs clean", "SSIM")][1] == \
        result_b.noise_metrics["vs_clean"]["ssim_in"]
    assert rows[("change", "realised ε")] == (result_a.norms["realised_eps"], result_b.norms["realised_eps"])


def test_report_files_compare_like_results(two_runs):
    (_, result_a), (_, result_b) = two_runs
    from_results = compare_runs(result_a, result_b)
    reports = [json.loads(json.dumps(report_dict(r))) for r in (result_a, result_b)]  # as read back from disk
    from_reports = compare_runs(*reports)
    assert from_reports.settings == from_results.settings
    assert [(r.section, r.name) for r in from_reports.metrics] == [(r.section, r.name) for r in from_results.metrics]
    for x, y in zip(from_reports.metrics, from_results.metrics):
        assert x.a == pytest.approx(y.a) and x.b == pytest.approx(y.b)
    assert from_reports.verdicts == (result_a.verdict.headline, result_b.verdict.headline)


def test_an_unfinished_run_cannot_be_compared(two_runs):
    (_, result_a), _ = two_runs
    with pytest.raises(ValueError, match="#4"):
        compare_runs(result_a, SimpleNamespace(experiment={}, result=None, label="#4 tv · running"))


def test_shared_scale_is_the_larger_robust_change():
    small, large = np.full((20, 20), 0.1), np.full((20, 20), -0.4)
    assert shared_difference_limit(small, large) == pytest.approx(0.4)
