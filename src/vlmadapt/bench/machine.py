"""The machine a benchmark ran on, peak memory, and the peak bf16 throughput used for MFU."""

from __future__ import annotations

import contextlib
import os
import platform
import resource
from pathlib import Path
from typing import Any

# Dense bf16 tensor-core peak in TFLOP/s from the vendors' data sheets (no sparsity). The first name found
# in `torch.cuda.get_device_name()` wins, so the more specific names come first.
PEAK_TFLOPS: dict[str, float] = {
    "H100 PCIe": 756.0,
    "H100": 989.4,  # SXM
    "H200": 989.4,
    "GH200": 989.4,
    "B200": 2250.0,
    "A100": 312.0,
    "L40S": 362.1,
    "L4": 121.0,
    "A10": 125.0,
    "RTX 4090": 165.2,
}


def describe(device: str) -> dict[str, Any]:
    """Platform, CPU count, torch version and threads, and the GPU's name when `device` is CUDA."""
    import torch

    out: dict[str, Any] = {
        "platform": platform.platform(),
        "cpu": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
    }
    if device.startswith("cuda"):
        out["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return out


def machine_line(info: dict[str, Any]) -> str:
    gpu = f", GPU {info['gpu']}" if "gpu" in info else ""
    return (
        f"machine: {info['platform']}, {info['cpu']}, {info['cpus']} CPUs{gpu}, torch {info['torch']} "
        f"({info['threads']} threads), Python {info['python']}"
    )


def peak_tflops(device: str, given: float | None) -> float | None:
    """The peak to compute MFU against: the one given, the table's for this GPU, or None (CPU, unknown)."""
    if given is not None:
        return given
    if not device.startswith("cuda"):
        return None
    import torch

    name = torch.cuda.get_device_name(torch.device(device))
    return next((v for k, v in PEAK_TFLOPS.items() if k in name), None)


def mfu(params: int, tokens_per_s: float, peak: float | None) -> float | None:
    """Model FLOPs utilisation of LoRA training: 4 * N * tokens / (time * peak).

    Frozen weights cost a forward (2N per token) and the gradient with respect to the activations (2N);
    the LoRA weight gradients are negligible and gradient-checkpointing recomputation is not counted.
    """
    if peak is None:
        return None
    return 4.0 * params * tokens_per_s / (peak * 1e12)


def reset_peak_memory(device: str) -> None:
    """Start a new peak: CUDA's allocator counter, or the process's resident-set high-water mark."""
    if device.startswith("cuda"):
        import torch

        torch.cuda.reset_peak_memory_stats(torch.device(device))
        return
    clear = Path("/proc/self/clear_refs")
    if clear.exists():
        with contextlib.suppress(OSError):
            clear.write_text("5")  # Linux: reset VmHWM to the current RSS


def peak_memory(device: str) -> tuple[int, str]:
    """(bytes, what was measured): `torch.cuda.max_memory_allocated` on GPU, the peak RSS on CPU."""
    if device.startswith("cuda"):
        import torch

        return int(torch.cuda.max_memory_allocated(torch.device(device))), "cuda max allocated"
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024, "peak RSS"
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024, "peak RSS (process lifetime)"


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize(torch.device(device))
