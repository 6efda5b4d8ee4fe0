#!/bin/bash
# The study sharded on one machine with GNU parallel (Debian's `parallel`): one shard per GPU, or per group of cores,
# the generators shared through a local folder, then the merge. From the repository's root:
#
#   examples/cluster/study_parallel.sh                       # 4 shards of the paper preset on 4 GPUs (cuda:0-3)
#   SHARDS=2 DEVICE=cpu PRESET=demo examples/cluster/study_parallel.sh    # 2 CPU shards of the demo
#
# A shard that fails stops nothing else; run the script again and every shard resumes where it stopped.
set -euo pipefail

SHARDS=${SHARDS:-4}
PRESET=${PRESET:-paper}
OUT=${OUT:-$PRESET-shards}
FERGEN=${FERGEN:-build/release/fergen}
DEVICE=${DEVICE:-cuda}              # cuda: shard i on cuda:i; cpu: the shards share the cores
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(( ($(nproc) + SHARDS - 1) / SHARDS ))}
export FERGEN PRESET OUT DEVICE SHARDS
mkdir -p "$OUT"

# {} is the shard index; --lb passes each shard's lines through as they come; --joblog records each exit status.
parallel --jobs "$SHARDS" --lb --tagstring 'shard {}' --joblog "$OUT/jobs.txt" \
  '"$FERGEN" study --preset "$PRESET" --shard {}/"$SHARDS" --generators "$OUT/generators" \
     --device "$([ "$DEVICE" = cuda ] && echo cuda:{} || echo "$DEVICE")" --out "$OUT/shard-{}"' \
  ::: $(seq 0 $((SHARDS - 1)))

"$FERGEN" merge --out "$OUT/merged" $(for i in $(seq 0 $((SHARDS - 1))); do echo "$OUT/shard-$i"; done)
