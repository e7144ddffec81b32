#!/usr/bin/env bash
# bench:gpu — the GPU paths measured for real, on a machine with an NVIDIA GPU:
#   1. bench:serving with FLYWHEEL_ONNX_PROVIDERS=cuda,cpu (the inference server on the CUDA provider),
#   2. bench:batch with the same (the batch workflow's workers score on the CUDA provider),
#   3. the PyTorch command trainer (examples/pytorch) run straight and SIGKILLed at ~60% then resumed.
# Each part's own summary line is printed as it ends; the last line is `bench:gpu key=value ...`.
# Needs: nvidia-smi, onnxruntime-node's CUDA provider installed (the Dockerfile's gpu target, or
# ONNXRUNTIME_NODE_INSTALL=cuda12 npm install --allow-scripts=onnxruntime-node), the shared
# servers the two Node benchmarks start themselves, and a python3 with torch + numpy for part 3
# (BENCH_GPU_PYTHON, default python3).
#
#   bash bench/gpu/run.sh            # the benchmarks' default sizes
#   bash bench/gpu/run.sh --quick    # smoke sizes
set -uo pipefail
cd "$(dirname "$0")/../.."

QUICK=()
[ "${1:-}" = "--quick" ] && QUICK=(--quick)
PYTHON="${BENCH_GPU_PYTHON:-python3}"

if ! command -v nvidia-smi >/dev/null 2>&1; then
  echo "bench:gpu needs an NVIDIA GPU: nvidia-smi is not on PATH, so nothing was measured (the CPU benchmarks are npm run bench:serving / bench:batch)" >&2
  exit 3
fi
if ! GPU="$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -1)" || [ -z "$GPU" ]; then
  echo "bench:gpu: nvidia-smi found no GPU (is the driver loaded?)" >&2
  exit 3
fi
echo "bench:gpu — GPU: $GPU"

export FLYWHEEL_ONNX_PROVIDERS=cuda,cpu
# Fail early and clearly when the CUDA provider does not load (the benchmarks would fall back to cpu).
if ! LOADED="$(node --import tsx -e "
  const { chooseOnnxProviders } = await import('./lib/onnx/provider-select.ts');
  const c = await chooseOnnxProviders(['cuda', 'cpu']);
  if (c.skipped.length) { console.error('the CUDA provider did not load: ' + c.skipped[0].reason); process.exit(1); }
  console.log(c.loaded.join(','));
" 2>&1 | tail -1)" || [ "$LOADED" != "cuda,cpu" ]; then
  echo "bench:gpu: $LOADED — install onnxruntime-node's CUDA build (docs/gpu.md)" >&2
  exit 4
fi
echo "ONNX Runtime providers: $LOADED"

declare -A RESULT
status=0

# Runs one part, echoes its output, and keeps its summary line's keys under a prefix.
part() {
  local prefix="$1" name="$2"; shift 2
  local log line
  log="$(mktemp)"
  echo "== $name"
  if "$@" 2>&1 | tee "$log"; then
    line="$(grep -E "^(bench:$name|\{)" "$log" | tail -1)"
    RESULT[$prefix]="$line"
  else
    echo "bench:gpu: $name failed (see above)" >&2
    RESULT[$prefix]="failed"
    status=1
  fi
  rm -f "$log"
}

part serving serving npm run --silent bench:serving -- "${QUICK[@]}"
part batch batch npm run --silent bench:batch -- "${QUICK[@]}"
if "$PYTHON" -c 'import torch, numpy' 2>/dev/null; then
  part torch pytorch "$PYTHON" bench/gpu/pytorch_resume.py "${QUICK[@]}"
else
  echo "bench:gpu: $PYTHON has no torch/numpy: the PyTorch kill-and-resume part was skipped (set BENCH_GPU_PYTHON)" >&2
  RESULT[torch]="skipped"
  status=1
fi

# One summary line: each part's keys, prefixed (serving_*, batch_*, torch_*).
summary="bench:gpu gpu=\"${GPU%%,*}\" providers=$LOADED"
for prefix in serving batch; do
  line="${RESULT[$prefix]:-}"
  if [[ "$line" == bench:* ]]; then
    for kv in ${line#* }; do summary+=" ${prefix}_${kv}"; done
  else
    summary+=" ${prefix}=${line:-missing}"
  fi
done
line="${RESULT[torch]:-}"
if [[ "$line" == \{* ]]; then
  summary+=" $("$PYTHON" -c 'import json,sys; d=json.loads(sys.argv[1]); print(" ".join(f"torch_{k}={v}" for k,v in d.items() if k in ("device","straight_s","extra_wall_s","repeated_work_ratio","max_prediction_diff")))' "$line")"
else
  summary+=" torch=${line:-missing}"
fi
echo "$summary"
exit $status
