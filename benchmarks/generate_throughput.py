"""Generation throughput at batch sizes 1 to 64 on RoQA-shaped data, against batch size 1.

Runs the predict stage's batched generation (transformers, or vLLM with --backend vllm on CUDA); see
`vlmadapt.bench.generate`.

    .venv/bin/python benchmarks/generate_throughput.py [--batch-sizes 1,2,4,8,16,32,64] [--max-new-tokens 16]
    .venv/bin/python benchmarks/generate_throughput.py --size real --device cuda --family mllama

The same as `vlmadapt bench generate`.
"""

from __future__ import annotations

import sys

from vlmadapt.cli import main

if __name__ == "__main__":
    main(["bench", "generate", *sys.argv[1:]])
