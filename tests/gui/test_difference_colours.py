"""One colour table everywhere: a difference pixel has the same colour in the app's panel, the exported figure
and the HTML report, at the same scale."""
import base64
import io
import re

import numpy as np
import pytest
from PIL import Image
from run_fixture import finished_run

from halluview.core.display import robust_limit
from halluview.core.figure import build_layout, figure_from_result
from halluview.core.report import write_html
from halluview.gui.views import ImagePanels


@pytest.fixture(scope="module")
def result():
    return finished_run(steps=3)[1]


def test_app_figure_and_report_colour_a_difference_alike(qtbot, tmp_path, result):
    difference = result.perturbed - result.clean
    limit = robust_limit(difference)
    # a few pixels: the largest rise, the largest fall, an unchanged-looking one, one near ±limit / 2
    flat = difference.ravel()
    picks = [int(np.argmax(flat)), int(np.argmin(flat)), int(np.argmin(np.abs(flat))),
             int(np.argmin(np.abs(flat - limit / 2))), int(np.argmin(np.abs(flat + limit / 2)))]
    pixels = [np.unravel_index(i, difference.shape) for i in picks]

    panels = ImagePanels()
    qtbot.addWidget(panels)
    panels.set_difference_limit(limit)
    panels.set_images(difference=difference)
    item = panels.images["difference"]
    item.render()
    app = [item.qimage.pixelColor(int(c), int(r)).getRgb()[:3] for r, c in pixels]

    (panel,) = build_layout(figure_from_result(result)).find("difference")  # no region given: no outline
    factor = panel.rgb.shape[0] // difference.shape[0]
    figure = [tuple(int(v) for v in panel.rgb[r * factor, c * factor]) for r, c in pixels]

    page = write_html(result, tmp_path).read_text(encoding="utf-8")
    src = re.search(r"alt='Difference' src='data:image/png;base64,([^']+)'", page).group(1)
    report_rgb = np.asarray(Image.open(io.BytesIO(base64.b64decode(src))).convert("RGB"))
    report = [tuple(int(v) for v in report_rgb[r, c]) for r, c in pixels]

    assert app == figure == report
    assert len(set(app)) >= 4  # the pixels really differ in colour: red, blue, grey, in between
    if abs(flat[picks[2]]) < limit / 255:  # within the middle entry: the neutral grey
        assert app[2] == (128, 128, 128)
