"""report.html: a self-contained page with headings, the verdict, tables, curves and images; report.json linked."""
import base64
import io
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image
from run_fixture import CT_FACTS, finished_run

from halluview.core.display import diverging_rgb, robust_limit
from halluview.core.report import write_outputs


class Page(HTMLParser):
    """The parts of a page the tests look at: headings, tables (rows of cell texts), images, links, tags."""

    def __init__(self, text: str):
        super().__init__()
        self.headings, self.tables, self.images, self.links, self.tags = [], [], [], [], []
        self.polylines = []
        self._heading = self._cell = None
        self._text = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag in ("h1", "h2", "h3"):
            self._heading = tag
            self._text = []
        elif tag == "table":
            self.tables.append({"class": attrs.get("class"), "rows": []})
        elif tag == "tr":
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th"):
            self._cell, self._text = tag, []
        elif tag == "img":
            self.images.append(attrs)
        elif tag == "a":
            self.links.append(attrs.get("href"))
        elif tag == "polyline":
            self.polylines.append(attrs)

    def handle_endtag(self, tag):
        if tag == self._heading:
            self.headings.append((tag, "".join(self._text).strip()))
            self._heading = None
        elif tag == self._cell:
            self.tables[-1]["rows"][-1].append("".join(self._text).strip())
            self._cell = None

    def handle_data(self, data):
        self._text.append(data)


def decode(src: str) -> np.ndarray:
    assert src.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("RGB"))


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    _, result = finished_run(steps=4)
    out = tmp_path_factory.mktemp("runs") / "run"
    write_outputs(result, out)
    text = (out / "report.html").read_text(encoding="utf-8")
    return result, text, Page(text)


def test_headings_read_as_a_report(report):
    _, _, page = report
    assert page.headings[0] == ("h1", "HalluView attack report")
    assert [text for tag, text in page.headings if tag == "h2"] == [
        "Verdict", "Images", "Metrics", "Clinical metrics", "Per-step curves", "Noise baseline", "Settings",
        "Versions and environment"]


def test_verdict_and_settings_as_a_table_not_a_json_dump(report):
    result, text, page = report
    from halluview.core.attacks.verdict import in_words

    assert in_words("region", result.verdict, result.metrics, result.noise_metrics) in text  # for clinicians
    assert result.verdict.headline in text  # and the verdict's own terms
    settings = next(t for t in page.tables if t["class"] == "settings")
    rows = dict(row for row in settings["rows"][1:])
    assert rows["threat.eps"] == "0.05" and rows["recon.name"] == "zero-filled" and rows["optimizer.steps"] == "4"
    assert rows["region.xywh"] == "[20, 12, 10, 10]"
    assert "pre" not in page.tags and '"threat": {' not in text


def test_versions_and_metrics_tables(report):
    result, _, page = report
    versions = dict(row for row in next(t for t in page.tables if t["class"] == "versions")["rows"][1:])
    import torch

    assert versions["torch"] == torch.__version__ and "threads" in versions
    metrics = {row[0]: row[1:] for row in next(t for t in page.tables if t["class"] == "metrics")["rows"][1:]}
    in_region = metrics["attack vs clean, inside the region"]
    assert float(in_region[0]) == pytest.approx(result.metrics["vs_clean"]["ssim_in"], rel=1e-3)
    assert float(metrics["equal-norm noise vs clean, whole image"][1]) == pytest.approx(
        result.noise_metrics["vs_clean"]["psnr"], rel=1e-3)


def test_images_are_embedded_and_the_only_link_is_the_json(report):
    result, text, page = report
    alts = [image["alt"] for image in page.images if image["alt"] != "colour bar"]
    assert alts == ["Clean reconstruction", "Perturbed reconstruction", "Difference", "Perturbation",
                    "Reconstruction under noise", "Its difference"]
    for image in page.images:
        assert decode(image["src"]).size > 0
    assert page.links == ["report.json"]
    assert "http://" not in text and "https://" not in text  # nothing to fetch: it reads offline
    difference = decode(next(i["src"] for i in page.images if i["alt"] == "Difference"))
    expected = diverging_rgb(result.perturbed - result.clean, robust_limit(result.perturbed - result.clean))
    np.testing.assert_array_equal(difference, expected)  # the app's table and scale


def test_per_step_curves_follow_the_history(report):
    result, _, page = report
    objective = next(p for p in page.polylines if p["data-name"] == "objective")
    points = np.array([[float(v) for v in pair.split(",")] for pair in objective["points"].split()])
    values = np.array([h["objective"] for h in result.history])
    assert len(points) == len(values) == 4
    assert np.all(np.diff(points[:, 0]) > 0)  # one point per step, left to right
    # a higher objective is drawn higher (smaller y): y is a decreasing affine function of the value
    slope = np.polyfit(values, points[:, 1], 1)[0]
    assert slope < 0 and np.allclose(np.polyval(np.polyfit(values, points[:, 1], 1), values), points[:, 1],
                                     atol=0.2)
    names = [p["data-name"] for p in page.polylines]
    assert names.count("inside the region") == 2  # region SSIM and PSNR


def test_ct_report_gives_the_difference_in_hu(tmp_path):
    _, result = finished_run(demo="ct-small", operator="ct", recon="fbp", steps=1, scan_facts=CT_FACTS)
    write_outputs(result, tmp_path / "ct")
    text = (tmp_path / "ct" / "report.html").read_text(encoding="utf-8")
    limit = robust_limit((result.perturbed - result.clean) * 1000)
    assert f"+{limit:.3g} HU" in text


def test_the_clinical_metrics_table_gives_the_results_numbers(report):
    result, text, page = report
    table = [t for t in page.tables if t["class"] == "metrics"][1]
    assert table["rows"][0][1:] == ["VIF", "MeanSRMSE", "MaxSRMSE", "RFS"]
    rows = {row[0]: row[1:] for row in table["rows"][1:]}
    noise = rows["equal-norm noise vs clean"]
    assert float(noise[2]) == pytest.approx(result.noise_metrics["vs_clean"]["srmse_max"], rel=1e-3)
    assert float(rows["attack vs clean"][3]) == pytest.approx(result.metrics["vs_clean"]["rfs"], rel=1e-3)
    assert f"attack {result.norms['change_hf_share']:.2f}" in text
