#!/usr/bin/env bash
# The recipe sweep of bench/imdb_sweep.py on the lent GPU machine (device tool), validation only:
#   run(command="bash bench/imdb_sweep_gpu.sh", carry=[".gpu/sweep"], timeout_s=420)      round 1
#   run(command="ROUND=2 bash bench/imdb_sweep_gpu.sh", carry=[".gpu/sweep"], timeout_s=360)   round 2
#   run(command="ROUND=3 bash bench/imdb_sweep_gpu.sh", carry=[".gpu/sweep"], timeout_s=300)   round 3
# .gpu/sweep: IMDB as xz JSONL (imdb/) and the GloVe subset glove_imdb.npz (see neural.export_glove).
set -u
mkdir -p /tmp/data/imdb
for f in .gpu/sweep/imdb/*.xz; do xz -dc "$f" > /tmp/data/imdb/$(basename "$f" .xz); done
nvidia-smi --query-gpu=name --format=csv,noheader
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD/src PIZARRA_DATA=/tmp/data OMP_NUM_THREADS=2
G=.gpu/sweep/glove_imdb.npz
run() { python3 bench/imdb_sweep.py --device cuda --glove $G --out "$OUT/sweep.jsonl" "$@" > "$OUT/log_$2_${4//,/-}_${6:-s}.txt" 2>&1 & }
ROUND=${ROUND:-1}
if [ "$ROUND" = 1 ]; then
  for part in 0,7,14 1,8,15 2,9,16 3,10,17 4,11,18 5,12,19 6,13; do run --model transformer --only $part; done
  run --model lstm --only 0,1,2
elif [ "$ROUND" = 2 ]; then  # indices 20-27, two seeds each
  for i in 20 21 22 23 24 25 26 27; do run --model transformer --only $i --seeds 1337,1; done
else  # round 3: indices 28-31, three seeds each
  for i in 28 29 30 31; do for s in 1337 1 2; do run --model transformer --only $i --seeds $s; done; done
fi
wait
wc -l "$OUT/sweep.jsonl"
