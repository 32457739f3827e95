#!/usr/bin/env bash
# The real-size benchmark table on one H100/H200 (about 8-10 minutes; every command has its own time limit,
# so a hang or an out-of-memory costs at most that command):
#   train:    3 families (Qwen2-VL-7B, Llama-3.2-11B-Vision, LLaVA-1.6-Mistral-7B; random bf16 weights built
#             on the GPU) x gradient checkpointing off/on x vlmadapt/baseline (both arms in one command)
#   generate: the same 3 families, batch sizes 1..64, 32 new tokens per sample
#   collate:  Qwen2-VL's real processor at Flickr sizes, samples/s per core
# Tables go to stdout and $OUT/*.txt, results to $OUT/*.json, stderr to $OUT/*.err.
#   bash benchmarks/gpu_suite.sh            (OUT=bench-results PY=.venv/bin/python by default)
#   ABLATE=1 bash benchmarks/gpu_suite.sh   (also vlmadapt with fused AdamW, SDPA, bucketing, workers undone)
# LLaVA-1.6 runs at batch 4: its any-resolution tiles make ~2,000-2,900 tokens per Flickr image, and 16 of
# them without checkpointing need more activation memory than 141 GB. The recipes train it in 4 bit
# (QLoRA); this table measures bf16 LoRA for all three.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-bench-results}
PY=${PY:-.venv/bin/python}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"

run() {  # run NAME LIMIT_S ARGS...
  local name=$1 limit=$2
  shift 2
  echo "== $name"
  local start=$SECONDS
  if ! timeout "$limit" "$PY" -m vlmadapt.cli bench "$@" --json "$OUT/$name.json" \
      2>"$OUT/$name.err" | tee "$OUT/$name.txt"; then
    echo "FAILED or timed out after $((SECONDS - start)) s: $name (see $OUT/$name.err)" | tee -a "$OUT/failed.txt"
  fi
  echo "($((SECONDS - start)) s)"
}

declare -A BATCH=([qwen2_vl]=16 [mllama]=16 [llava_next]=4)
for family in qwen2_vl mllama llava_next; do
  for gc in no-gradient-checkpointing gradient-checkpointing; do
    run "train-$family-$gc" 120 train --family "$family" --size real --device cuda \
      --steps 8 --warmup 3 --batch-size "${BATCH[$family]}" --workers 4 --"$gc"
  done
done
for family in qwen2_vl mllama llava_next; do
  run "generate-$family" 100 generate --family "$family" --size real --device cuda \
    --batch-sizes 1,2,4,8,16,32,64 --batches 1 --max-new-tokens 32
done
run collate 60 collate --n 128 --batch-size 16
if [ "${ABLATE:-0}" = 1 ]; then  # +3-4 min: each of vlmadapt's speed settings undone, one at a time
  run ablate-qwen2_vl 300 train --family qwen2_vl --size real --device cuda --steps 8 --warmup 3 \
    --batch-size 16 --workers 4 --gradient-checkpointing --arms vlmadapt --variant optim=adamw_torch \
    --variant attn=eager --variant group_by_length=false --variant workers=0
fi
echo "total: $SECONDS s; results in $OUT/"
