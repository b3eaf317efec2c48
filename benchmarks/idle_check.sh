#!/usr/bin/env bash
# Issue 15's idle-machine check, in ONE command, from a fresh clone (~12-18 min on 2 idle cores,
# at most ~25 min):
#
#   bash benchmarks/idle_check.sh OUTDIR            # OUTDIR must not exist yet, or be empty
#
# (a) benchmarks/engine_step/run.py on the demo's batch, side by side in one process with
#     repetitions interleaved: the lean plain-torch update, the engine's update (demo config) at
#     the micro-batch size `auto` picks here and at one pass, and the bf16 matmul probe;
# (b) the issue's acceptance run, a 3-step demo run
#     (--set train.max_steps=3 --set eval.before=false --set eval.after=false),
#     and per step its update_s / (completion_length x samples) next to the lean loop's
#     ms per completion token from (a);
# (b2) (IDLE_CHECK_SHAPES=0 skips it) the lean loop and the engine on each later step's own shape:
#     the same prompts and samples as (a), completions cut to that step's mean completion_length;
# (c) (IDLE_CHECK_DECODE=0 skips it) generation of the demo's batch with a dynamic KV cache (the
#     engine now), a static one, and a static one with a compiled decode forward, interleaved.
# Everything it writes is under OUTDIR: uptime samples, the bench's Markdown + JSON, the run
# directory, and summary.md (the table to paste into benchmarks/results/engine_step.md).
# It does not run the README main job (timed separately).  Knobs for a small test:
# IDLE_CHECK_REPS (default 2), IDLE_CHECK_STEPS (3), IDLE_CHECK_THREADS (2),
# IDLE_CHECK_MICRO (bench micro-batch sizes, default "auto,64"),
# IDLE_CHECK_EXTRA_SET (extra --set for both parts' demo config, e.g. for a tiny scale test).
set -euo pipefail

out=${1:?usage: bash benchmarks/idle_check.sh OUTDIR}
if [ -e "$out" ] && [ -n "$(ls -A "$out" 2>/dev/null)" ]; then
  echo "idle_check: $out exists and is not empty; give a new directory" >&2
  exit 2
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$(dirname "$0")/.."
reps=${IDLE_CHECK_REPS:-2}
steps=${IDLE_CHECK_STEPS:-3}
threads=${IDLE_CHECK_THREADS:-2}
micro=${IDLE_CHECK_MICRO:-auto,64}
extra=${IDLE_CHECK_EXTRA_SET:-}
t_all=$(date +%s)
stamp() { echo "$(date -u +%FT%TZ) $1: $(uptime)" | tee -a "$out/load.txt"; }

{
  echo "commit $(git rev-parse HEAD 2>/dev/null || echo unknown)"
  echo "host $(uname -srm), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2)"
  grep -E 'MemTotal|MemAvailable' /proc/meminfo 2>/dev/null || true
} > "$out/machine.txt"
stamp start

if [ ! -x .venv/bin/ttrl-kit ]; then
  t0=$(date +%s)
  bash scripts/install.sh > "$out/install.log" 2>&1
  echo "install: $(( $(date +%s) - t0 )) s" | tee -a "$out/load.txt"
fi

# (a) the side-by-side bench
stamp "bench start"
t0=$(date +%s)
# shellcheck disable=SC2086  # $extra is a list of --set words on purpose
.venv/bin/python benchmarks/engine_step/run.py --threads "$threads" --reps "$reps" --skip-generation \
  --micro-batches "$micro" --out "$out/engine_step.md" --json "$out/engine_step.json" $extra \
  > "$out/engine_step.log" 2>&1
echo "bench: $(( $(date +%s) - t0 )) s" | tee -a "$out/load.txt"
stamp "bench end"

# (b) the acceptance run: the demo config as a user runs it, 3 steps
stamp "run start"
t0=$(date +%s)
# shellcheck disable=SC2086
.venv/bin/ttrl-kit train configs/demo/ttrl_add1.yaml --output "$out/run" --set train.max_steps="$steps" \
  --set eval.before=false --set eval.after=false $extra > "$out/run.log" 2>&1
echo "run: $(( $(date +%s) - t0 )) s" | tee -a "$out/load.txt"
stamp "run end"

# (b2) the lean loop (and the engine) on each later step's own shape: the same prompts and samples
# as (a), completions cut to that step's mean completion_length, side by side in one process
if [ "${IDLE_CHECK_SHAPES:-1}" = 1 ]; then
  stamp "shapes start"
  t0=$(date +%s)
  micro_run=$(.venv/bin/python -c "import json,sys; print(json.load(open(sys.argv[1]))['micro_batch_size'])" "$out/run/run.json")
  for st in $(seq 2 "$steps"); do
    len=$(.venv/bin/python -c "import json,sys; rows=[json.loads(l) for l in open(sys.argv[1])]; print(next(r['completion_length'] for r in rows if r['step']==int(sys.argv[2])))" "$out/run/metrics.jsonl" "$st" 2>/dev/null || true)
    [ -n "$len" ] || continue
    # shellcheck disable=SC2086
    .venv/bin/python benchmarks/engine_step/run.py --threads "$threads" --reps "$reps" --skip-generation \
      --micro-batches "$micro_run" --completion-mean "$len" --out "$out/shape_step$st.md" --json "$out/shape_step$st.json" \
      $extra > "$out/shape_step$st.log" 2>&1 || echo "shape bench for step $st failed: see $out/shape_step$st.log"
  done
  echo "shapes: $(( $(date +%s) - t0 )) s" | tee -a "$out/load.txt"
  stamp "shapes end"
fi

.venv/bin/python - "$out" <<'EOF' | tee "$out/summary.md"
import json, sys
from pathlib import Path

import yaml

out = Path(sys.argv[1])
bench = json.loads((out / "engine_step.json").read_text())
cfg = yaml.safe_load((out / "run" / "config.yaml").read_text())
samples = cfg["train"]["prompts_per_step"] * cfg["ttrl"]["n_train"]
run = json.loads((out / "run" / "run.json").read_text())
lean = bench["lean_loop_ms_per_completion_token"]
print(f"Lean plain-torch loop (a): {lean:.1f} ms per completion token ({bench['completion_tokens']} completion "
      f"tokens of {bench['samples']} samples, {bench['threads']} threads, load {bench['load_start']:.2f} -> "
      f"{bench['load_end']:.2f}).")
for name, sec in bench["updates_s"].items():
    print(f"- (a) {name}: {sec:.2f} s = {1000 * sec / bench['completion_tokens']:.1f} ms per completion token "
          f"= {sec / bench['lean_loop_s']:.2f}x the loop")
print()
steps = (out / "run" / "metrics.jsonl").read_text().splitlines()
print(f"{len(steps)}-step demo run (b): torch threads at start {run.get('torch_threads')}, micro-batch "
      f"{run.get('micro_batch_size')}, {samples} samples per step.")
print()
print("| step | update_s | completion_length | update ms per completion token | x lean loop (a) "
      "| lean loop at this step's shape, ms per completion token | x lean loop at this step's shape "
      "| engine / lean loop on that batch, side by side | threads | generate_s |")
print("|---|---|---|---|---|---|---|---|---|---|")
for line in steps:
    m = json.loads(line)
    per_tok = 1000 * m["update_s"] / (m["completion_length"] * samples)
    own = out / f"shape_step{m['step']}.json"
    shape = json.loads(own.read_text()) if own.exists() else (bench if m["step"] == 1 else None)
    if shape is not None:
        lean_own = shape["lean_loop_ms_per_completion_token"]
        label = f"micro-batch {run['micro_batch_size']} "  # the run's size, as the bench names it
        engine_s = next((v for k, v in shape["updates_s"].items() if label in k), None)
        side = f"{engine_s / shape['lean_loop_s']:.2f}" if engine_s else ""
        cols = f"{lean_own:.1f} | {per_tok / lean_own:.2f} | {side}"
    else:
        cols = " | | "
    print(f"| {m['step']} | {m['update_s']:.1f} | {m['completion_length']:.1f} | {per_tok:.1f} | {per_tok / lean:.2f} "
          f"| {cols} | {m.get('threads')} | {m['generate_s']:.1f} |")
EOF
# (c) generation, last (issue 15 item 2; never measured idle): the engine's sampler with a dynamic
# vs a static KV cache vs a static cache + compiled decode forward, interleaved, same batch
if [ "${IDLE_CHECK_DECODE:-1}" = 1 ]; then
  stamp "decode start"
  t0=$(date +%s)
  # shellcheck disable=SC2086
  timeout "${IDLE_CHECK_DECODE_TIMEOUT:-600}" .venv/bin/python benchmarks/engine_step/run.py --decode --compile \
    --threads "$threads" --reps "$reps" \
    --out "$out/decode.md" $extra > "$out/decode.log" 2>&1 || echo "decode bench failed: see $out/decode.log"
  echo "decode: $(( $(date +%s) - t0 )) s" | tee -a "$out/load.txt"
  cat "$out/decode.md" 2>/dev/null || true
fi
stamp end
echo "idle_check: total $(( $(date +%s) - t_all )) s; outputs in $out (summary.md)" | tee -a "$out/load.txt"
