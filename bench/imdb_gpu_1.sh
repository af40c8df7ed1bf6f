#!/usr/bin/env bash
# IMDB rows that need more than a busy 2-core CPU, on the lent GPU machine (device tool), in two
# calls issued back to back (what travels is limited to 64 MiB a call):
#   call 1: run(command="bash bench/imdb_gpu_1.sh", carry=[".gpu/imdb"])   this file
#   call 2: run(command="bash bench/imdb_gpu_2.sh", carry=[".gpu/minilm"], timeout_s=480)
# .gpu/imdb: IMDB as xz JSONL, a GloVe subset (glove_imdb.npz), the 2nd part of MiniLM's fp16 weights.
# .gpu/minilm: MiniLM's tokenizer/config and the 1st part of its weights.
# Call 1 unpacks the data and starts the from-scratch models and the linear baselines in a detached
# session (same `pizarra bench imdb` code, on the GPU for the neural ones), which goes on during call 2.
set -u
mkdir -p /tmp/data/imdb /tmp/art /tmp/rep /tmp/out /root/minilm
cp .gpu/imdb/model.part1 .gpu/imdb/minilm.sha256 /root/minilm/
for f in .gpu/imdb/imdb/*.xz; do xz -dc "$f" > /tmp/data/imdb/$(basename "$f" .xz); done
cp -r src /tmp/src && cp .gpu/imdb/glove_imdb.npz /tmp/glove_imdb.npz
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
cd /tmp && PYTHONPATH=/tmp/src python3 -c "import pizarra.sentiment.bench, pizarra.sentiment.neural, pizarra.sentiment.linear, pizarra.train, sklearn; print('imports ok')"
cat > /tmp/bg.sh <<'EOS'
export PYTHONUNBUFFERED=1 PYTHONPATH=/tmp/src PIZARRA_DATA=/tmp/data PIZARRA_ARTIFACTS=/tmp/art OMP_NUM_THREADS=4
cd /tmp
python3 -c "from pizarra.sentiment.bench import run
run('lstm', device='cuda', glove='/tmp/glove_imdb.npz', report_file='/tmp/rep/lstm.json')
run('transformer', device='cuda', glove='/tmp/glove_imdb.npz', report_file='/tmp/rep/transformer.json')" > /tmp/out/nn.log 2>&1 &
python3 -c "from pizarra.sentiment.bench import run; run('tfidf-lr', report_file='/tmp/rep/tfidf.json')" > /tmp/out/tfidf.log 2>&1 &
python3 -c "from pizarra.sentiment.bench import run; run('nbsvm', report_file='/tmp/rep/nbsvm.json')" > /tmp/out/nbsvm.log 2>&1 &
wait
touch /tmp/out/bg.done
EOS
setsid nohup bash /tmp/bg.sh > /tmp/out/bg.log 2>&1 < /dev/null &
sleep 2; ls /tmp/data/imdb | wc -l; ls -la /root/minilm
