"""Two runs side by side: their perturbed reconstructions, differences and numbers."""
from __future__ import annotations

from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QVBoxLayout

from .views import ImagePanels


def _summary(record) -> str:
    result = record.result
    if result is None:
        return f"{record.label}\n(no result)"
    attack, noise = result.metrics["vs_clean"], result.noise_metrics["vs_clean"]
    return (f"{record.label}\nSSIM vs clean {attack['ssim']:.4f} (noise {noise['ssim']:.4f}) · "
            f"PSNR {attack['psnr']:.2f} dB · ‖f(y+δ) − f(y)‖ {result.norms['recon_change_l2']:.4g}")


class CompareDialog(QDialog):
    def __init__(self, run_a, run_b, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Compare runs")
        layout = QHBoxLayout(self)
        for record in (run_a, run_b):
            column = QVBoxLayout()
            panels = ImagePanels()
            if record.result is not None:
                result = record.result
                difference = result.perturbed - result.clean
                panels.set_levels(float(result.clean.min()), float(result.clean.max()))
                panels.set_difference_limit(max(float(abs(difference).max()), 1e-6))
                panels.set_images(clean=result.clean, perturbed=result.perturbed, difference=difference)
                panels.set_region_mask(record.region)
            column.addWidget(panels, 1)
            column.addWidget(QLabel(_summary(record)))
            layout.addLayout(column)
        self.resize(1400, 520)
