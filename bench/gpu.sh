#!/usr/bin/env bash
# The CUDA paths on a lent GPU, in one short call (see README, "How the engine stays fast"):
# the suite's CUDA tests (fp16 with a GradScaler and bf16, CNN, LSTM, the text models), the
# engine against a plain loop on the char-LSTM and the char-Transformer in fp32 and bf16, and
# the text presets as they are. Pure-Python wheels it needs (tomli_w, mnist1d) travel in .whl/.
#   device run: bash bench/gpu.sh   (carry .whl)
set -u
export PYTHONUNBUFFERED=1
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD
fi
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(), 'bf16', torch.cuda.is_bf16_supported())"
echo "== CUDA tests"
timeout 150 python3 -m pytest -q -p no:cacheprovider tests/test_tricks.py tests/test_transformer.py -k cuda 2>&1 | tail -5
for precision in false true; do
  echo "== engine vs plain loop, text, mixed precision $precision"
  timeout 150 python3 bench/text.py --device cuda --chars 465000 --repeats 2 --epochs 2 --set tricks.mixed_precision.enabled=$precision 2>&1 | grep -v "^$"
done
for preset in lstm-text transformer-text; do
  echo "== $preset as it is, on CUDA"
  timeout 120 python3 -m tui_trainer train $preset --json --runs-dir "$OUT/runs" 2>&1 | python3 -c "
import json, sys
for line in sys.stdin:
    try:
        e = json.loads(line)
    except ValueError:
        print(line.rstrip()); continue
    if e['event'] == 'epoch_ended' and e['epoch'] % 5 == 0:
        print('epoch', e['epoch'], 'val bpc %.3f' % e['metrics']['val_bits_per_char'], '%.0f tok/s' % e['tokens_per_second'])
    if e['event'] == 'run_ended':
        s = e['summary']
        print(s['status'], s['reason'], s['precision'], 'best val', s['best_val_metrics'], 'test', s['test_metrics'],
              '%.0f s' % s['wall_seconds'], '%.0f tok/s' % s['train_tokens_per_second'])
"
done
