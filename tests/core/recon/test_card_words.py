"""A card's numbers in words, as the CLI's `models` and the app's model panel show them."""
from halluview.core.recon.card_words import card_lines


def test_real_slices_come_first_with_the_verdict_then_phantoms():
    card = {"real_metrics": {"held_out_slices": 2, "ssim": 0.81, "psnr": 31.37, "baseline_ssim": 0.65,
                             "baseline_psnr": 28.39, "verdict": "beats its baseline on average",
                             "scored": "inside the circle",
                             "slices": [{"size": [512, 512]}, {"size": [128, 128]}]},
            "clean_metrics": {"held_out_images": 32, "ssim": 0.94, "psnr": 32.46, "baseline_ssim": 0.64,
                              "baseline_psnr": 28.05}}
    lines = dict(card_lines(card))
    assert list(lines) == ["Real scans", "Verdict", "Scored", "Phantoms"]
    assert lines["Real scans"] == ("SSIM 0.810 vs 0.650 baseline, PSNR 31.4 dB vs 28.4 dB baseline on 2 held-out "
                                   "slices of other volumes, at their own sizes (512×512, 128×128)")
    assert lines["Phantoms"].endswith("on 32 held-out phantoms")


def test_a_card_without_real_slices_says_why():
    lines = dict(card_lines({"real_metrics": {"held_out_slices": 0, "not_installed": ["x.dcm (pip install y)"]}}))
    assert lines == {"Real scans": "not evaluated: x.dcm (pip install y)"}
