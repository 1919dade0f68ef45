"""What halluview-cli prints after an attack: a few lines a person reads, numbers included (report.json has all)."""
from __future__ import annotations


def attack_summary(result) -> str:
    """What the CLI prints after an attack: what was attacked, the verdict in words and its warnings, the numbers."""
    from .core.choices import attacked_line

    attack, noise = result.metrics["vs_clean"], result.noise_metrics["vs_clean"]
    n = result.norms
    region = (f"in the region: SSIM {attack['ssim_in']:.4f} (noise {noise['ssim_in']:.4f}), "
              f"‖Δ‖₂ {n['recon_change_l2_in']:.4g} (noise {n['noise_recon_change_l2_in_mean']:.4g}); "
              if "ssim_in" in attack else "")
    surrogate = result.config.get("surrogate")
    label = f"transfer attack from {surrogate}" if surrogate else "attack"
    lines = [attacked_line(result.config), result.verdict.headline]
    lines += [f"warning: {w}" for w in result.verdict.warnings]
    lines.append(f"{label}: SSIM {attack['ssim']:.4f}, PSNR {attack['psnr']:.2f} dB vs clean "
                 f"(equal-norm noise: SSIM {noise['ssim']:.4f}, PSNR {noise['psnr']:.2f} dB); {region}"
                 f"‖f(y+δ) − f(y)‖₂ = {n['recon_change_l2']:.4g} vs noise {n['noise_recon_change_l2_mean']:.4g}")
    lines.append(f"δ: ‖·‖₂ {n['delta_l2']:.4g}, ‖·‖∞ {n['delta_linf']:.4g}, ε realised {n['realised_eps']:.4g} of "
                 f"{result.config['threat']['eps']:g}; noise: ‖·‖₂ {n['noise_l2']:.4g}, ‖·‖∞ {n['noise_linf']:.4g}")
    lines += clinical_lines(result)
    if result.test_time:
        from .core.recon.test_time import test_time_lines

        lines += test_time_lines(result.test_time)
    if result.precision:
        from .core.attacks.precision import precision_line

        lines.append(precision_line(result.precision))
    if result.refit_spread:
        spread = result.refit_spread
        lines.append(f"the same measurement reconstructed from other random seeds (refits or samples) changes "
                     f"the clean reconstruction by "
                     f"{spread['recon_change_l2_mean']:.4g} (mean of {spread['refits']}); the attack's change is "
                     f"{spread['attack_change_ratio']:.3g}× that")
    return "\n".join(lines)


def _clinical_numbers(values: dict, noise: dict, suffix: str = "") -> str:
    parts = []
    if "vif" in values and not suffix:
        parts.append(f"VIF {values['vif']:.4f} (noise {noise['vif']:.4f})")
    parts.append(f"MeanSRMSE {values['srmse_mean' + suffix]:.4g}, MaxSRMSE {values['srmse_max' + suffix]:.4g} "
                 f"(noise {noise['srmse_mean' + suffix]:.4g}, {noise['srmse_max' + suffix]:.4g})")
    parts.append(f"RFS {values['rfs' + suffix]:.4f} (noise {noise['rfs' + suffix]:.4f})")
    return ", ".join(parts)


def clinical_lines(result) -> list[str]:
    """VIF, segment RMSE and RFS per comparison (noise in brackets), where MaxSRMSE is, and the high-frequency
    share of the changes; nothing for a result without them."""
    clinical = result.clinical or {}
    if not clinical:
        return []
    segmentation = clinical["segmentation"]
    lines = [f"clinical metrics over {segmentation['segments']} segments ({segmentation['method']}):"]
    for anchor, values in result.metrics.items():
        if "srmse_max" not in values:
            continue
        noise, where = result.noise_metrics[anchor], clinical["worst_segment"].get(anchor)
        at = f"; MaxSRMSE at row {where['row']:.0f}, column {where['column']:.0f}" if where else ""
        region = f"; segments touching the region: {_clinical_numbers(values, noise, '_in')}" \
            if "srmse_max_in" in values else ""
        lines.append(f"  {anchor.replace('_', ' ')}: {_clinical_numbers(values, noise)}{at}{region}")
    n = result.norms
    if "change_hf_share" in n:
        lines.append(f"share of the change above half the Nyquist frequency: attack {n['change_hf_share']:.2f}, "
                     f"noise {n['noise_change_hf_share_mean']:.2f} (white noise ≈ 0.80; structure: near 0)")
    return lines


def volume_summary(volume, experiment) -> str:
    """What the CLI prints after a volume attack: what was attacked, how many slices gave a worst case, and
    fastMRI's volume metrics."""
    from .core.choices import attacked_line

    def numbers(values: dict) -> str:
        return f"SSIM {values['ssim']:.4f}, PSNR {values['psnr']:.2f} dB, NMSE {values['nmse']:.4g}"

    m = volume.metrics
    found = sum(bool(r.verdict and r.verdict.found) for r in volume.results)
    lines = [attacked_line(experiment.to_dict()),
             f"{len(volume.slices)} slices ({', '.join(map(str, volume.slices))}): a worst case beyond noise in "
             f"{found} of them ({'side by side as one batch' if volume.side_by_side else 'one after another'}, "
             f"{volume.seconds:.1f} s)",
             f"fastMRI volume metrics, attack vs clean: {numbers(m['attack_vs_clean'])} (equal-norm noise: "
             f"{numbers(m['noise_vs_clean'])})"]
    if "attack_vs_reference" in m:
        lines.append(f"vs reference: attack {numbers(m['attack_vs_reference'])}; clean "
                     f"{numbers(m['clean_vs_reference'])}")
    return "\n".join(lines)
