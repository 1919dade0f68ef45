#!/usr/bin/env bash
# Every benchmark that has a GPU figure, on a CUDA GPU, in one go (about 5 minutes on an H200), into one table:
# benchmarks/results-gpu.md. Run from anywhere, in an environment where torch sees the GPU:
#     bash benchmarks/gpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python - <<'PY'
import sys, torch
if not torch.cuda.is_available():
    sys.exit(f"benchmarks/gpu.sh: torch {torch.__version__} sees no CUDA device; nothing measured")
print(torch.cuda.get_device_name(0), "torch", torch.__version__)
PY
# The 100-step U-Net attack and the GPU overhead ratio, VarNet-12 on a full knee slice (steps per second, peak
# memory), bf16 / compile / channels-last with their effect on SSIM, the engine overhead at 128² and 320².
timeout 290 python benchmarks/run_all.py --device cuda --out benchmarks/results-gpu.md \
    --only gpu memory acceleration overhead
