"""The test-time training study in one table: python docs/ttt/summary.py docs/ttt/shift-8x/study.csv

Per reconstruction, means over the slices: the clean SSIM / PSNR against the reference before and after
adaptation, ΔSSIM (clean − perturbed, against the reference) of the attack on the frozen network and of equal-norm
noise, and, for test-time training, ΔSSIM of the network re-adapted on the attacked measurement (deployment).
"""
import csv
import sys
from collections import defaultdict
from statistics import mean


def _float(row: dict, key: str) -> float | None:
    return float(row[key]) if row.get(key) not in (None, "") else None


def _three(group: dict, key: str) -> str:
    """The attack's, the noise's and the re-adapted network's means of ``key`` ("attack…"), "—" where none."""
    keys = (key, f"noise{key[6:]}", f"deployed{key[6:]}")
    return " / ".join(f"{mean(group[k]):.4f}" if group[k] else "—" for k in keys)


def summary(path: str) -> str:
    groups = defaultdict(lambda: defaultdict(list))
    for row in csv.DictReader(open(path)):
        if row["status"] != "done":
            continue
        group, clean = groups[row["recon"]], _float(row, "clean_ssim")
        delta = clean - _float(row, "vs_reference_ssim")
        kind = "noise" if row["kind"] == "noise" else "attack"
        group[kind].append(delta)
        group[kind + "_change"].append(1 - _float(row, "vs_clean_ssim"))
        if row["kind"] == "attack":
            before = _float(row, "ttt_clean_before_ssim")
            group["ssim_before"].append(before if before is not None else clean)
            psnr_before = _float(row, "ttt_clean_before_psnr")
            group["psnr_before"].append(psnr_before if psnr_before is not None else _float(row, "clean_psnr"))
            group["ssim_after"].append(clean)
            group["psnr_after"].append(_float(row, "clean_psnr"))
            deployed = _float(row, "ttt_deployed_vs_reference_ssim")
            if deployed is not None:
                group["deployed"].append(clean - deployed)
                group["deployed_change"].append(1 - _float(row, "ttt_deployed_vs_clean_ssim"))
            group["ratio"].append(_float(row, "noise_ratio"))
    lines = ["| reconstruction | slices | clean SSIM before → after | clean PSNR (dB) before → after | ΔSSIM attack "
             "(frozen) / noise / re-adapted on y + δ | 1 − SSIM vs clean: attack / noise / re-adapted | attack ÷ "
             "noise (‖Δf‖) |", "|---|---|---|---|---|---|---|"]
    for name, g in groups.items():
        lines.append(f"| {name} | {len(g['attack'])} | {mean(g['ssim_before']):.4f} → {mean(g['ssim_after']):.4f} | "
                     f"{mean(g['psnr_before']):.2f} → {mean(g['psnr_after']):.2f} | {_three(g, 'attack')} | "
                     f"{_three(g, 'attack_change')} | {mean(g['ratio']):.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(summary(sys.argv[1]))
