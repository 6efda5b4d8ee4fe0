#!/usr/bin/env bash
# The table of docs/generator_recipes.md: each diffusion recipe trained on the procedural faces for 1, 2, 4 and
# 8 minutes (wall time), and after each, judged by the CAS on subjects that neither the generator nor the
# real-trained classifier ever saw.
#
#   scripts/generator-recipes.sh [--fergen PATH] [--out DIR] [--minutes 1,2,4,8] [--seeds 0,1] [NAME=RECIPE ...]
#
# RECIPE is "train-diffusion flags | generate flags", added to the common ones below; with no recipe given, the
# recipes of the docs table run. Every number comes from the tool's own commands, which the script prints as it
# runs them: train-diffusion (then --resume, to the next minute mark), generate, judge (once per --seeds value: the
# classifiers' seed; the table gives the mean). The machine should be otherwise idle: the recipes are compared
# by what they learn in the same wall time.
set -euo pipefail

fergen=build/release/fergen
out=recipes
minutes=1,2,4,8
seeds=0,1
recipes=()
while [ $# -gt 0 ]; do
  case "$1" in
    --fergen) fergen=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --minutes) minutes=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    -*) echo "generator-recipes: unknown option $1" >&2; exit 2 ;;
    *) recipes+=("$1"); shift ;;
  esac
done
if [ ${#recipes[@]} -eq 0 ]; then
  recipes=(
    "every-frame-guided=--lr 2e-3 --min-motion 0 | --guidance 3"
    "motion-guided=--lr 2e-3 --min-motion 0.5 | --guidance 2"
    "motion=--lr 2e-3 --min-motion 0.5 |"
  )
fi
[ -x "$fergen" ] || { echo "generator-recipes: no fergen at $fergen (cmake --workflow --preset release, or --fergen PATH)" >&2; exit 1; }
mkdir -p "$out"

# The generator learns 4 subjects (faces seed 7); the judge's real-trained classifier learns the same frames; both
# classifiers are tested on 8 other subjects (faces seed 8). The demo's own faces (seed 2026) are never used here.
# Every image is 32x32, the generator's size, as in the demo.
train_common=(--procedural --subjects 4 --faces-seed 7 --size 32 --preset demo --steps 100000000 --log-every 100
              --checkpoint-every 0)
generate_common=(--per-class 100 --steps 20 --seed 1)
judge_common=(--procedural --subjects 4 --faces-seed 7 --size 32 --test-procedural --test-subjects 8 --test-faces-seed 8)

run() {
  echo "+ $*" >&2
  "$@"
}

table="$out/table.md"
{
  echo "| recipe | minutes | steps | generation | real-trained | synthetic-trained | CAS ratio |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
} > "$table"
IFS=, read -r -a marks <<< "$minutes"
IFS=, read -r -a judge_seeds <<< "$seeds"
for recipe in "${recipes[@]}"; do
  name=${recipe%%=*}
  flags=${recipe#*=}
  train_flags=${flags%%|*}
  generate_flags=${flags#*|}
  [ "$generate_flags" = "$flags" ] && generate_flags=""
  dir="$out/$name"
  rm -rf "$dir"
  mkdir -p "$dir"
  done_minutes=0
  steps=0
  for mark in "${marks[@]}"; do
    span=$(python3 -c "print($mark - $done_minutes)")
    # shellcheck disable=SC2086
    if [ "$done_minutes" = 0 ]; then
      run "$fergen" train-diffusion "${train_common[@]}" $train_flags --max-minutes "$span" --out "$dir/run" \
        | tee "$dir/train-$mark.log"
    else
      run "$fergen" train-diffusion "${train_common[@]}" --resume --max-minutes "$span" --out "$dir/run" \
        | tee "$dir/train-$mark.log"
    fi
    steps=$((steps + $(sed -n 's/^trained \([0-9]*\) steps.*/\1/p' "$dir/train-$mark.log")))
    done_minutes=$mark
    start=$(date +%s.%N)
    # shellcheck disable=SC2086
    run "$fergen" generate --checkpoint "$dir/run" --out "$dir/gen-$mark" "${generate_common[@]}" $generate_flags \
      > "$dir/generate-$mark.log"
    generation=$(python3 -c "print(round($(date +%s.%N) - $start))")
    for seed in "${judge_seeds[@]}"; do
      run "$fergen" judge "${judge_common[@]}" --synthetic "$dir/gen-$mark" --seed "$seed" \
        --json "$dir/judge-$mark-seed$seed.json" > "$dir/judge-$mark-seed$seed.log"
    done
    row=$(python3 - "$dir" "$mark" "${judge_seeds[@]}" <<'EOF'
import json, sys
d, mark, seeds = sys.argv[1], sys.argv[2], sys.argv[3:]
js = [json.load(open(f"{d}/judge-{mark}-seed{s}.json")) for s in seeds]
real = sum(j["real_trained"]["accuracy"] for j in js) / len(js)
synth = sum(j["synthetic_trained"]["accuracy"] for j in js) / len(js)
print(f"{100 * real:.1f} % | {100 * synth:.1f} % | {synth / real:.2f}")
EOF
)
    echo "| $name | $mark | $steps | ${generation} s | $row |" | tee -a "$table"
  done
done
echo "wrote $table" >&2
