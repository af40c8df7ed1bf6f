#!/usr/bin/env bash
# Call 2 of 2 (see imdb_gpu_1.sh): MiniLM frozen + LR and fine-tuned end to end (rows e, f), then
# collect what call 1's detached jobs wrote. $OUT: ft/metrics.json, ft/log.txt, imdb_gpu.tar.
# Stops (exit 1) before any training when MiniLM's reassembled weights fail their checksum.
# MINILM (default /root/minilm) and WORK (default /tmp, where call 1 wrote art/ rep/ out/) can be
# moved, which is how tests/test_shipped_values.py runs this script on a laptop.
set -euo pipefail
MINILM=${MINILM:-/root/minilm}
WORK=${WORK:-/tmp}
export PYTHONUNBUFFERED=1 PYTHONPATH=src PIZARRA_DATA=$WORK/data
mkdir -p "$MINILM"
cp .gpu/minilm/* "$MINILM"/
cat "$MINILM"/model.part0 "$MINILM"/model.part1 > "$MINILM"/model.safetensors
if ! (cd "$MINILM" && sha256sum -c minilm.sha256); then
  echo "checksum mismatch: $MINILM/model.safetensors is not the file minilm.sha256 names;" \
       "nothing was trained (copy both weight parts again: call 1 brings model.part1, call 2 model.part0)" >&2
  exit 1
fi
# a fine-tuning that fails or runs out of time must not lose call 1's results: note it and collect them
timeout 330 python3 -m pizarra.sentiment.finetune --encoder "$MINILM" --out "$OUT/ft" > "$OUT/ft.log" 2>&1 \
  || echo "fine-tuning stopped with exit status $? (see ft.log)"
for _ in $(seq 1 40); do [ -f "$WORK/out/bg.done" ] && break; sleep 3; done
tar -C "$WORK" -cf "$OUT/imdb_gpu.tar" art rep out
tail -4 "$WORK"/out/*.log || true
tail -5 "$OUT/ft.log" || true
ls -la "$WORK/art"
