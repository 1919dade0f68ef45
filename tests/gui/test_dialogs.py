"""Error dialogs fit on a 1920×1080 screen whatever they say: long messages wrap (inside a word when a path is longer
than a line) and scroll, and a traceback scrolls in its own box behind a button."""
import pytest

from halluview.gui.dialogs import show_error

FITS = (1920, 1000)  # a 1080-px screen less its task bar and the title bar
TRACEBACK = "Traceback (most recent call last):\n" + "\n".join(
    f'  File "/home/user/project/halluview/module_{i}.py", line {10 * i}, in function_{i}\n    call_{i}(x)'
    for i in range(100))  # 201 lines
MESSAGES = {
    "5000-characters-one-word": "/" + "a" * 4999,
    "5000-characters-of-words": ("the reconstruction failed " * 200)[:5000],
    "traceback-as-message": TRACEBACK,
}


def _fits(size) -> bool:
    return size.width() <= FITS[0] and size.height() <= FITS[1]


@pytest.mark.parametrize("message", MESSAGES.values(), ids=MESSAGES.keys())
def test_a_long_message_fits_and_scrolls(qtbot, message):
    dialog = show_error(None, message)
    qtbot.addWidget(dialog)
    qtbot.waitExposed(dialog)
    assert _fits(dialog.sizeHint()) and _fits(dialog.size()), (dialog.sizeHint(), dialog.size())
    assert dialog.text.toPlainText() == message  # all of it is there, nothing cut
    assert dialog.text.verticalScrollBar().maximum() > 0  # the rest is one scroll away
    assert dialog.text.horizontalScrollBar().maximum() == 0  # wrapped, never wider than the box
    assert dialog.text.width() <= 700


def test_a_200_line_traceback_in_the_details_fits_and_scrolls(qtbot):
    dialog = show_error(None, "Something went wrong: the worker stopped.", TRACEBACK)
    qtbot.addWidget(dialog)
    qtbot.waitExposed(dialog)
    assert not dialog.details_box.isVisible()
    dialog.details_button.click()
    assert dialog.details_box.isVisible() and dialog.details_button.text() == "Hide details"
    assert _fits(dialog.sizeHint()) and _fits(dialog.size()), (dialog.sizeHint(), dialog.size())
    assert dialog.details_box.toPlainText() == TRACEBACK
    assert dialog.details_box.verticalScrollBar().maximum() > 0


def test_a_short_message_makes_a_small_dialog(qtbot):
    dialog = show_error(None, "net.pt: no such file")
    qtbot.addWidget(dialog)
    qtbot.waitExposed(dialog)
    hint = dialog.sizeHint()
    assert hint.width() < 400 and hint.height() < 200
    assert dialog.text.verticalScrollBar().maximum() == 0 and not dialog.details_button.isVisible()
