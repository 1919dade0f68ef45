"""Clinical image-quality metrics beyond SSIM / PSNR (issue 14): VIF, segment RMSE, radiomic feature similarity,
and the spectral share that says whether a change looks like noise or like structure. Qt-free."""
from .clinical import CLINICAL_NAMES, clinical_metrics, worst_segment
from .segments import Segmentation, auto_segments, load_segments
from .spectral import high_frequency_share, radial_power

__all__ = ["CLINICAL_NAMES", "Segmentation", "auto_segments", "clinical_metrics", "high_frequency_share",
           "load_segments", "radial_power", "worst_segment"]
