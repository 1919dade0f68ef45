"""How many attacks fit in one batch: the activation memory one evaluation keeps for its backward pass, measured
(not guessed) by counting the tensors autograd saves, against the memory the device has free."""
from __future__ import annotations

import torch
from torch import Tensor

from ..device_memory import available_memory_bytes

BATCH_SHARE = 0.5  # a batch may fill at most this share of the free memory (the rest: workspace, fragmentation)


def saved_bytes(problem, delta: Tensor) -> int:
    """Bytes autograd keeps for the backward pass of one evaluation at ``delta`` (one forward, no backward)."""
    seen: dict[int, int] = {}

    def pack(tensor: Tensor) -> Tensor:
        storage = tensor.untyped_storage()
        seen[storage.data_ptr()] = max(seen.get(storage.data_ptr(), 0), storage.nbytes())
        return tensor

    delta = delta.detach().requires_grad_(True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        problem.objective.value(problem.recon(problem.perturbed_measurement(delta))).sum()
    return sum(seen.values())


def items_that_fit(problem, delta: Tensor, wanted: int) -> int:
    """How many of ``wanted`` evaluations like one at ``delta`` fit in one batch (at least 1)."""
    if wanted <= 1:
        return max(wanted, 1)
    free = available_memory_bytes(delta.device)
    if free is None:
        return 1
    per_item = max(saved_bytes(problem, delta), 1)
    return int(max(1, min(wanted, BATCH_SHARE * free // per_item)))
