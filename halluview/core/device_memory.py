"""Memory free for new tensors on a device: what batches and gradient checkpointing are sized against."""
from __future__ import annotations

import torch


def available_memory_bytes(device: torch.device | str) -> int | None:
    """CUDA's free memory plus what torch's cache holds unused; on the CPU ``MemAvailable`` of /proc/meminfo, else
    psutil's; None when it cannot be found (other devices, or neither source)."""
    device = torch.device(device)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free + torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device))
    if device.type != "cpu":
        return None
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil
    except ImportError:
        return None
    return int(psutil.virtual_memory().available)
