"""Training throughput at tiny (CPU) or real size (GPU): vlmadapt against a plain transformers Trainer.

Step time, samples/s, tokens/s, MFU and peak memory of both arms, their ratio, the padding share with and
without length bucketing, and the machine (see `vlmadapt.bench.train`).

    .venv/bin/python benchmarks/train_throughput.py [--family qwen2_vl] [--steps 6] [--batch-size 4]
    .venv/bin/python benchmarks/train_throughput.py --size real --device cuda --steps 8 --batch-size 16 \\
        [--gradient-checkpointing] [--workers 4] [--peak-tflops 989]

The same as `vlmadapt bench train`.
"""

from __future__ import annotations

import sys

from vlmadapt.cli import main

if __name__ == "__main__":
    main(["bench", "train", *sys.argv[1:]])
