"""A finished run as a figure: PNG at print resolution, SVG with vector text, PDF; the colour bar is the LUT."""
import base64
import io
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image
from PIL.PdfParser import PdfParser
from run_fixture import CT_FACTS, finished_run

from halluview.core.attacks.verdict import in_words
from halluview.core.display import N_DIVERGING, diverging_lut, diverging_rgb
from halluview.core.figure import RunFigure, build_layout, figure_from_result, save_figure

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def brain_run():
    return finished_run()


@pytest.fixture(scope="module")
def ct_run():
    return finished_run(demo="ct-small", operator="ct", recon="fbp", scan_facts=CT_FACTS)


def synthetic(size=40, spacing=None, region=True, caption=("Scan X, model Y.", "The verdict in words."),
              **options) -> RunFigure:
    rng = np.random.default_rng(0)
    clean = rng.random((size, size))
    difference = np.zeros((size, size))
    difference[10:16, 20:26] = 0.5
    difference[30, 5] = -0.25
    mask = np.zeros((size, size), bool)
    mask[10:16, 20:26] = True
    return RunFigure(clean, clean + difference, difference, units="a.u.", region=mask if region else None,
                     pixel_spacing_mm=spacing, caption=caption, **options)


def test_png_has_print_resolution_and_enough_pixels(tmp_path, brain_run):
    _, result = brain_run
    path = save_figure(figure_from_result(result), tmp_path / "figure.png")
    with Image.open(path) as image:
        assert image.format == "PNG" and image.mode == "RGB"
        assert image.info["dpi"] == pytest.approx((300, 300), abs=0.01)
        assert image.width / 300 >= 6.0  # three panels about 2 inches wide each, at 300 dpi
        image.load()


def test_pdf_is_one_page_of_the_figures_size(tmp_path):
    figure = synthetic()
    path = save_figure(figure, tmp_path / "figure.pdf")
    layout = build_layout(figure)
    parser = PdfParser(str(path))
    try:
        assert len(parser.pages) == 1
        page = parser.read_indirect(parser.pages[0])
        width_pt, height_pt = (float(v) for v in page[b"MediaBox"][2:])
    finally:
        parser.close()
    assert width_pt == pytest.approx(layout.width / 300 * 72, rel=1e-3)  # inches × 72 at the figure's 300 dpi
    assert height_pt == pytest.approx(layout.height / 300 * 72, rel=1e-3)


def test_svg_parses_with_vector_text_and_embedded_images(tmp_path, brain_run):
    _, result = brain_run
    figure = figure_from_result(result)
    root = ET.parse(save_figure(figure, tmp_path / "figure.svg")).getroot()
    assert root.tag == f"{SVG}svg" and root.get("width").endswith("in")
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    words = in_words("region", result.verdict, result.metrics, result.noise_metrics)
    assert words.startswith("Inside the marked region") and "SSIM" in words
    assert words in " ".join(texts)  # the caption is text, not pixels, with the verdict in words
    assert any("zero-filled" in t for t in texts) and any("ε = 5 % ‖y‖" in t for t in texts)
    hrefs = [i.get("href") for i in root.iter(f"{SVG}image")]
    assert len(hrefs) >= 4 and all(h.startswith("data:image/png;base64,") for h in hrefs)
    assert not any(h.startswith("http") for h in hrefs)


def test_colour_bar_pixels_are_the_lut_from_plus_to_minus(tmp_path):
    figure = synthetic()
    layout = build_layout(figure)
    (bar,) = layout.find("colorbar")
    x0, y0, x1, y1 = bar.box
    with Image.open(save_figure(figure, tmp_path / "f.png")) as image:
        column = np.asarray(image.convert("RGB"))[y0:y1, (x0 + x1) // 2]
    lut = [tuple(int(v) for v in entry) for entry in diverging_lut()]
    indices = [lut.index(tuple(int(v) for v in pixel)) for pixel in column]  # every pixel is a table entry
    assert indices[0] == N_DIVERGING - 1 and indices[-1] == 0  # +limit red at the top, −limit blue at the bottom
    assert all(a >= b for a, b in zip(indices, indices[1:]))
    assert (N_DIVERGING - 1) // 2 in indices  # 0 (grey) on the way
    assert len(set(indices)) > N_DIVERGING * 0.8  # the whole table, not a few bands
    # the difference panel: every pixel coloured by the same table at the bar's limit
    (panel,) = layout.find("difference")
    expected = diverging_rgb(figure.difference, figure.limit())
    factor = panel.rgb.shape[0] // figure.difference.shape[0]
    np.testing.assert_array_equal(panel.rgb[::factor, ::factor][~_outline_pixels(panel, factor)],
                                  expected[~_outline_pixels(panel, factor)])


def _outline_pixels(panel, factor):
    """Pixels where the region outline was painted (accent), at the image's own resolution."""
    accent = np.array([0xff, 0xb0, 0x00])
    return (panel.rgb == accent).all(axis=-1)[::factor, ::factor]


def test_ct_colour_bar_is_in_hu(tmp_path, ct_run):
    _, result = ct_run
    figure = figure_from_result(result)
    assert figure.units == "HU"
    np.testing.assert_allclose(figure.difference, (result.perturbed - result.clean) * 1000, rtol=1e-6, atol=1e-3)
    np.testing.assert_allclose(figure.clean, result.clean * 1000 - 1000, rtol=1e-6, atol=1e-3)  # water = 0 HU
    (label,) = build_layout(figure).find("colorbar-label")
    assert label.text == "HU"
    root = ET.parse(save_figure(figure, tmp_path / "ct.svg")).getroot()
    assert [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "colorbar-label"] == ["HU"]


def test_scale_bar_is_a_round_length_in_mm():
    layout = build_layout(synthetic(size=40, spacing=(0.5, 0.5)))  # 20 mm wide: a 2 mm bar (≤ a fifth)
    (bar,) = layout.find("scalebar")
    (label,) = layout.find("scalebar-label")
    factor = layout.find("clean")[0].rgb.shape[1] // 40
    assert label.text == "2 mm" and bar.width == pytest.approx(2 / 0.5 * factor)
    assert not build_layout(synthetic(spacing=None)).find("scalebar")


def test_inset_magnifies_the_region():
    layout = build_layout(synthetic())
    top = layout.find("perturbed")[0].rgb
    inset = layout.find("inset-perturbed")[0].rgb
    assert inset.shape[0] > top.shape[0] // 2  # the region's square is drawn large
    assert not build_layout(synthetic(region=False)).find("inset-perturbed")
    assert not build_layout(synthetic(inset=False)).find("inset-perturbed")


def test_transfer_runs_say_so_in_the_caption():
    _, result = finished_run(surrogate="tv", steps=1)
    caption = " ".join(figure_from_result(result).caption)
    assert "transfer from tv" in caption


def test_raster_text_spells_out_what_the_font_lacks(tmp_path):
    figure = synthetic(caption=("ε = 2 % ‖y‖, Δ 3×",))
    assert save_figure(figure, tmp_path / "f.png").stat().st_size > 0
    from halluview.core.figure_layout import raster_text

    assert raster_text("ε = 2 % ‖y‖, 3×") == "eps = 2 % ||y||, 3x"


def test_unknown_format_is_refused(tmp_path):
    with pytest.raises(ValueError, match="png"):
        save_figure(synthetic(), tmp_path / "figure.jpg")
    assert not list(tmp_path.iterdir())


def _decode(href):
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(href.split(",", 1)[1]))).convert("RGB"))


def test_svg_and_png_show_the_same_images(tmp_path):
    figure = synthetic()
    layout = build_layout(figure)
    root = ET.parse(save_figure(figure, tmp_path / "f.svg")).getroot()
    images = {(int(float(i.get("x"))), int(float(i.get("y")))): _decode(i.get("href"))
              for i in root.iter(f"{SVG}image")}
    for item in layout.items:
        if hasattr(item, "rgb"):
            np.testing.assert_array_equal(images[(item.x, item.y)], item.rgb)
