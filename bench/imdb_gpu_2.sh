#!/usr/bin/env bash
# Call 2 of 2 (see imdb_gpu_1.sh): MiniLM frozen + LR and fine-tuned end to end (rows e, f), then
# collect what call 1's detached jobs wrote. $OUT: ft/metrics.json, ft/log.txt, imdb_gpu.tar.
set -u
export PYTHONUNBUFFERED=1 PYTHONPATH=src PIZARRA_DATA=/tmp/data
cp .gpu/minilm/* /root/minilm/
cat /root/minilm/model.part0 /root/minilm/model.part1 > /root/minilm/model.safetensors
(cd /root/minilm && sha256sum -c minilm.sha256) || echo "WEIGHTS DO NOT MATCH"
timeout 330 python3 -m pizarra.sentiment.finetune --encoder /root/minilm --out $OUT/ft > $OUT/ft.log 2>&1
for i in $(seq 1 40); do [ -f /tmp/out/bg.done ] && break; sleep 3; done
tar -C /tmp -cf $OUT/imdb_gpu.tar art rep out
tail -4 /tmp/out/*.log; tail -5 $OUT/ft.log; ls -la /tmp/art
