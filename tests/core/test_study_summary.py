"""The study's summary from hand-built tidy rows (as read back from study.csv: text, empty or missing values):
the Δ definitions, the verdict, the figures and the HTML page. Expected numbers are worked out by hand."""
import math
import re
import xml.etree.ElementTree as ET

import pytest

from halluview.core.study import summary
from halluview.core.study.figures import accuracy_figure, delta_figure, recon_colours
from halluview.core.study.report import study_page, write_summary

HOSTILE = "<script>alert(1)</script>"


def row(recon, kind, eps, seed=0, status="done", **values):
    """One table row as study.csv gives it back: every value text."""
    return {"key": f"{recon}|{eps}|{seed}", "source": "demo:brain", "slice": "3", "recon": recon, "eps": str(eps),
            "seed": str(seed), "kind": kind, "status": status, "error": "",
            **{k: "" if v is None else str(v) for k, v in values.items()}}


def with_reference(recon, kind, eps, seed, clean_ssim, perturbed_ssim, clean_psnr=30.0, perturbed_psnr=30.0,
                   change=1.0, **values):
    return row(recon, kind, eps, seed, clean_ssim=clean_ssim, vs_reference_ssim=perturbed_ssim,
               clean_psnr=clean_psnr, vs_reference_psnr=perturbed_psnr, vs_clean_ssim=0.5, vs_clean_psnr=40,
               change_l2=change, **values)


def study_rows():
    """Two reconstructions, ε 1 % and 2 %, two seeds; unet loses more to the attack than tv."""
    rows = []
    for recon, clean, drop in (("unet", 0.9, 0.1), ("tv", 0.8, 0.02)):
        for eps in (0.01, 0.02):
            for seed, spread in ((0, 0.0), (1, 0.02)):
                scale = eps / 0.01
                rows.append(with_reference(recon, "attack", eps, seed, clean, clean - scale * drop - spread,
                                           change=10 * scale * drop))
                rows.append(with_reference(recon, "noise", eps, seed, clean, clean - scale * 0.005,
                                           change=scale * 0.1))
    return rows


def test_delta_is_the_accuracy_lost_against_the_reference_where_there_is_one():
    reference = row("unet", "attack", 0.02, clean_ssim=0.9, vs_reference_ssim=0.7, clean_psnr=31.5,
                    vs_reference_psnr=25.0, vs_clean_ssim=0.6, vs_clean_psnr=20)
    assert summary.row_delta(reference, "ssim") == pytest.approx(0.2)  # 0.9 − 0.7, not 1 − 0.6
    assert summary.row_delta(reference, "psnr") == pytest.approx(6.5)  # 31.5 − 25.0 dB
    no_reference = row("unet", "attack", 0.02, clean_ssim="", vs_reference_ssim="", vs_clean_ssim=0.85,
                       vs_clean_psnr=33)
    assert summary.row_delta(no_reference, "ssim") == pytest.approx(0.15)  # 1 − SSIM(perturbed, clean)
    assert math.isnan(summary.row_delta(no_reference, "psnr"))  # no accuracy to lose from: left out
    assert summary.delta_basis([reference]) == summary.REFERENCE
    assert summary.delta_basis([no_reference]) == summary.CLEAN
    assert summary.delta_basis([reference, no_reference]) == summary.MIXED
    assert summary.delta_basis([no_reference], "psnr") == "" and summary.delta_basis([]) == ""


def test_delta_curves_average_over_slices_and_seeds_and_ignore_failed_and_missing_values():
    rows = study_rows() + [row("unet", "attack", 0.01, 9, status="failed", clean_ssim=0.9, vs_reference_ssim=0.0,
                               error="RuntimeError: out of memory"),
                           row("unet", "attack", 0.01, 8, vs_clean_ssim="nan"),  # finished, but no number
                           row("unet", "noise", "", 8, vs_clean_ssim=0.5)]  # no ε
    curves = summary.delta_curves(rows, "ssim")
    attack = curves[("unet", "attack")]
    assert attack["eps"] == [0.01, 0.02] and attack["n"] == [2, 2]
    assert attack["mean"] == pytest.approx([0.11, 0.21])  # seeds lose 0.1 and 0.12; at 2 %, 0.2 and 0.22
    assert attack["low"] == pytest.approx([0.1, 0.2]) and attack["high"] == pytest.approx([0.12, 0.22])
    assert curves[("tv", "noise")]["mean"] == pytest.approx([0.005, 0.01])
    psnr = summary.delta_curves([row("a", "attack", 0.01, vs_clean_ssim=0.9)], "psnr")
    assert psnr == {}  # without a reference there is no ΔPSNR


def test_the_verdict_ratio_means_and_sentence():
    entries = {e["recon"]: e for e in summary.verdict_table(study_rows(), 0.02)}
    unet = entries["unet"]
    # attack change 10 · 2 · 0.1 = 2 on both seeds, noise 2 · 0.1 = 0.2: 10×
    assert unet["ratio"] == pytest.approx(10.0) and unet["n"] == 2 and unet["change"] == "change_l2"
    assert unet["clean_ssim"] == pytest.approx(0.9) and unet["clean_psnr"] == pytest.approx(30.0)
    assert unet["attack_delta_ssim"] == pytest.approx(0.21) and unet["noise_delta_ssim"] == pytest.approx(0.01)
    assert unet["sentence"] == ("unet: the attack changed the reconstruction 10.0× as much as noise of the same size "
                                "at ε = 2 %")
    assert entries["tv"]["ratio"] == pytest.approx(2.0)  # 10 · 2 · 0.02 = 0.4 over 0.2
    assert summary.verdict_lines(study_rows(), 0.01)[1] == "unet: changed 10.0× noise at ε = 1 % (2 cells)"


def test_the_verdict_uses_the_change_inside_the_region_only_when_every_row_has_it():
    rows = [row("unet", "attack", 0.02, change_l2=4, change_l2_in=3), row("unet", "noise", 0.02, change_l2=2,
                                                                          change_l2_in=0.5)]
    (entry,) = summary.verdict_table(rows, 0.02)
    assert entry["ratio"] == pytest.approx(6.0) and entry["change"] == "change_l2_in"
    assert "inside the region 6.0×" in entry["sentence"]
    rows[1]["change_l2_in"] = ""
    (entry,) = summary.verdict_table(rows, 0.02)
    assert entry["ratio"] == pytest.approx(2.0) and entry["change"] == "change_l2"


def test_a_reconstruction_without_a_finished_cell_at_eps_says_so_and_missing_numbers_are_nan():
    rows = [row("unet", "attack", 0.02, change_l2=4), row("unet", "noise", 0.02, change_l2=0),
            row("tv", "attack", 0.02, status="failed", error="boom"), row("tv", "noise", 0.02, status="failed"),
            row("varnet", "attack", 0.01, change_l2=1), row("varnet", "noise", 0.01, change_l2=1)]
    entries = {e["recon"]: e for e in summary.verdict_table(rows, 0.02)}
    assert list(entries) == ["tv", "unet", "varnet"]
    assert entries["tv"]["n"] == 0 and entries["tv"]["sentence"] == "tv: no finished cell at ε = 2 %"
    assert entries["varnet"]["n"] == 0 and math.isnan(entries["varnet"]["ratio"])
    assert math.isinf(entries["unet"]["ratio"]) and "noise of the same size did not" in entries["unet"]["sentence"]
    assert math.isnan(entries["unet"]["clean_ssim"]) and math.isnan(entries["unet"]["clean_psnr"])
    assert summary.verdict_lines(rows, 0.02)[0] == "tv: no finished cell at ε = 2 %"


@pytest.mark.parametrize("values,expected", [
    ((0.0025, 0.005, 0.01, 0.02, 0.025, 0.08), 0.02), ((0.08, 0.015, 0.01), 0.015), ((0.05, 0.08), 0.05), ((), None)])
def test_the_default_verdict_eps(values, expected):
    rows = [row("unet", "attack", eps) for eps in values] + [row("unet", "attack", 0.02, status="failed")]
    assert summary.default_verdict_eps(rows) == expected


def test_accuracy_points_are_clean_ssim_against_attack_delta():
    points = summary.accuracy_points(study_rows(), 0.01)
    assert [p["recon"] for p in points] == ["tv", "unet"] and [p["n"] for p in points] == [2, 2]
    assert points[1]["clean_ssim"] == pytest.approx(0.9) and points[1]["delta_ssim"] == pytest.approx(0.11)
    assert points[0]["clean_ssim"] == pytest.approx(0.8) and points[0]["delta_ssim"] == pytest.approx(0.03)


def _x_of(path_d: str) -> list[float]:
    return [float(x) for x in re.findall(r"[ML](-?[\d.]+),", path_d)]


def test_the_delta_figure_draws_attack_solid_noise_dashed_and_the_band_per_reconstruction():
    svg = delta_figure(study_rows(), "ssim")
    root = ET.fromstring(svg)
    paths = root.findall("path")
    for recon in ("unet", "tv"):
        attack = [p for p in paths if p.get("class") == "attack" and p.get("data-recon") == recon]
        noise = [p for p in paths if p.get("class") == "noise" and p.get("data-recon") == recon]
        bands = [p for p in paths if p.get("class") == "band" and p.get("data-recon") == recon]
        assert len(attack) == 1 and attack[0].get("stroke-dasharray") is None
        assert len(noise) == 1 and noise[0].get("stroke-dasharray")
        assert attack[0].get("stroke") == noise[0].get("stroke")  # the same colour
        assert {b.get("data-kind") for b in bands} == {"attack", "noise"}
        band = next(b for b in bands if b.get("data-kind") == "attack")
        assert band.get("d").endswith("Z") and len(_x_of(band.get("d"))) == 4  # low at both ε, then high back
        assert band.get("fill") == attack[0].get("stroke")
    assert "ΔSSIM vs reference" in svg and "noise of the same norm" in svg and "log scale" in svg
    attack = next(p for p in paths if p.get("class") == "attack")
    assert len(_x_of(attack.get("d"))) == 2


def test_the_eps_axis_is_logarithmic():
    rows = [r for eps in (0.005, 0.01, 0.02) for r in (row("a", "attack", eps, vs_clean_ssim=0.9),
                                                      row("a", "noise", eps, vs_clean_ssim=0.99))]
    path = next(p for p in ET.fromstring(delta_figure(rows)).findall("path") if p.get("class") == "attack")
    x = _x_of(path.get("d"))
    assert x[1] - x[0] == pytest.approx(x[2] - x[1], abs=0.15) and x[1] - x[0] > 10  # each doubling the same step


def test_figures_without_data_say_so_and_are_nan_safe():
    assert "no finished cells yet" in delta_figure([], "ssim")
    assert "no finished cells yet" in accuracy_figure([])
    failed_only = [row("unet", "attack", 0.02, status="failed")]
    assert "no finished cells yet" in delta_figure(failed_only)
    no_reference = [row("unet", "attack", 0.02, vs_clean_ssim=0.9), row("unet", "noise", 0.02, vs_clean_ssim="nan")]
    assert "needs a reference" in delta_figure(no_reference, "psnr")
    assert "needs a reference" in accuracy_figure(no_reference)
    ET.fromstring(delta_figure(no_reference))  # one noise value missing: still a whole figure
    assert "ΔSSIM vs clean" in delta_figure(no_reference)


def test_many_reconstructions_get_distinct_colours_and_the_accuracy_figure_names_each():
    names = [f"recon-{k}" for k in range(9)] + [HOSTILE]
    rows = [with_reference(name, kind, 0.02, 0, 0.5 + 0.04 * k, 0.4) for k, name in enumerate(names)
            for kind in ("attack", "noise")]
    colours = recon_colours(rows)
    assert len({colour for colour, _ in colours.values()}) == 10
    svg = accuracy_figure(rows, 0.02)
    points = ET.fromstring(svg).findall("g")
    assert sorted(p.get("data-recon") for p in points) == sorted(names)
    assert "ε = 2 %" in svg and HOSTILE not in svg and HOSTILE not in delta_figure(rows)


def test_the_page_says_the_verdict_and_escapes_what_users_named(tmp_path):
    rows = study_rows() + [row(HOSTILE, "attack", 0.02, status="failed", error=f"ValueError: {HOSTILE}"),
                           row(HOSTILE, "noise", 0.02, status="failed", error=f"ValueError: {HOSTILE}")]
    rows[0]["source"] = HOSTILE
    rows.append({**rows[0], "status": "failed", "error": "an old failure, since rerun"})  # its cell finished
    config = {"sources": [{"path": HOSTILE}], "slices": None, "recons": ["unet", "tv", HOSTILE],
              "eps": [0.01, 0.02], "seeds": [0, 1], "choices": {"threat": {"norm": "l2"},
                                                                 "objective": {"kind": "untargeted"}}}
    page = study_page(rows, config, {"halluview": "0.1", "torch": HOSTILE})
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "unet: the attack changed the reconstruction 10.0× as much as noise of the same size at ε = 2 %" in page
    assert "12 cells: 8 finished, 1 failed" in page  # 1 scan × 1 slice × 3 recons × 2 ε × 2 seeds
    assert "an old failure" not in page and "ValueError: &lt;script&gt;" in page
    assert "norm l2" in page and "kind untargeted" in page
    assert page.count("<svg") == 4 and "study.csv" in page and "study.parquet" in page
    assert "0.210 / 0.010" in page  # unet's mean ΔSSIM at 2 %: attack / noise


def test_write_summary_writes_the_page_and_standalone_figures(tmp_path):
    (tmp_path / "study.csv").write_text("key\n")
    paths = write_summary(tmp_path, study_rows(), {}, {"halluview": "0.1"})
    assert [p.name for p in paths] == ["study.html", "delta_ssim.svg", "delta_psnr.svg", "accuracy.svg",
                                       "accuracy_psnr.svg"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([p.name for p in paths] + ["study.csv"])
    for path in paths[1:]:
        assert ET.parse(path).getroot().tag == "{http://www.w3.org/2000/svg}svg"
    page = paths[0].read_text()
    assert "href='study.csv'" in page and "study.parquet" not in page  # only the tables that are there
    empty = write_summary(tmp_path / "new", [], {}, {})
    assert "no finished cells yet" in empty[1].read_text() and "No cell has finished yet" in empty[0].read_text()


def test_the_page_counts_a_sources_own_slices_and_names_your_model_by_its_file():
    config = {"sources": [{"demo": "mr-epi", "slices": [6, 8, 10]}, {"demo": "mr-small"}], "slices": None,
              "recons": ["zero-filled", {"name": "checkpoint", "weights": "/models/mine.pt"}],
              "eps": [0.01, 0.02], "seeds": [0]}
    page = study_page(study_rows(), config, {"halluview": "0.1"})
    assert "2 scans, 4 slices in all × 2 reconstructions × 2 ε" in page and "= 16 cells" in page
    assert "checkpoint (mine.pt)" in page


def test_reconstructions_at_the_same_point_share_one_label_and_accuracy_is_also_shown_in_psnr():
    rows = study_rows()
    twins = [{**r, "recon": "twin"} for r in rows if r["recon"] == "tv"]
    svg = accuracy_figure(rows + twins, 0.02)
    labels = [t.text for t in ET.fromstring(svg).iter("text") if t.text and "tv" in t.text]
    assert labels == ["tv = twin"] or labels == ["twin = tv"]
    psnr = accuracy_figure(rows, 0.02, metric="psnr")
    assert "clean PSNR (dB) vs reference" in psnr and "attack ΔPSNR (dB)" in psnr
