"""Collation throughput (samples/s per core): vlmadapt's training collator against a per-sample loop.

Qwen2-VL's real processor settings on Flickr-sized images; target >= 50 samples/s per core (see
`vlmadapt.bench.collate`).

    .venv/bin/python benchmarks/collate_throughput.py [--n 64] [--batch-size 16] [--repeats 3]

The same as `vlmadapt bench collate`.
"""

from __future__ import annotations

import sys

from vlmadapt.cli import main

if __name__ == "__main__":
    main(["bench", "collate", *sys.argv[1:]])
