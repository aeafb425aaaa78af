#!/usr/bin/env bash
# Train runs of one reproduction grid side by side on one GPU machine, inside a fixed time budget,
# then the GPU benchmarks if time is left. Each run is its own `disbench reproduce` process (the
# command trains one run after another); the runs share the GPU and the machine's cores.
#
#   RUNS="1:0 5:0 8:1" EXPERIMENT=overlap TIER=extended METHODS=ada-gvae bash reproduction/gpu_runs.sh
#
# RUN_THREADS: torch threads per run (default 2: a dozen runs share the cores). BUDGET_S: seconds from the start by which every run has ended; BENCH_S: seconds after that for the
# benchmarks. RUNS: condition:seed pairs; the first PRIORITY of them get the CPU first (the rest run at nice 19).
# Everything that comes back is under $OUT: records.tar.gz (the records, and each run's curve and
# child log), runs.log (this script's log), and the benchmark results that finished.
# A first smoke-tier run of the same command (SMOKE=0: none) fails fast, before the budget is spent, if the GPU
# path breaks. Finished records are kept when the budget runs out; unfinished runs are stopped.
set -u
OUT=${OUT:?set OUT to the folder that comes back}
EXPERIMENT=${EXPERIMENT:-overlap} TIER=${TIER:-extended} METHODS=${METHODS:-ada-gvae} AVERAGE=${AVERAGE:-fixed}
DEVICE=${DEVICE:-cuda} BUDGET_S=${BUDGET_S:-440} BENCH_S=${BENCH_S:-90} PRIORITY=${PRIORITY:-4} WORK=${WORK:-/tmp/disbench-gpu}
RUNS=${RUNS:?give condition:seed pairs, e.g. RUNS="1:0 5:0"}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
start=$SECONDS
log() { echo "[$((SECONDS - start)) s] $*" | tee -a "$OUT/runs.log"; }
reproduce() {  # seconds nice tier condition seed results-dir
  OMP_NUM_THREADS=${RUN_THREADS:-2} timeout "$1" nice -n "$2" python3 -m disbench.cli reproduce "$EXPERIMENT" --tier "$3" --methods $METHODS --average "$AVERAGE" \
    --conditions "$4" --seeds "$5" --device "$DEVICE" --results-dir "$6" --runs-dir "$WORK/runs" --out "$WORK/report-$4-$5" --quiet
}
pack_up() {  # written whole, then moved into place: a call stopped mid-write still returns the last full archive
  tar -czf "$OUT/.records.tar.gz" -C "$WORK" --exclude='*.pt' results runs logs 2>/dev/null && mv "$OUT/.records.tar.gz" "$OUT/records.tar.gz"
  log "packed: $(tar -tzf "$OUT/records.tar.gz" | grep -c 'seed-[0-9]*\.json$') records"
}
mkdir -p "$WORK/logs" "$WORK/results" "$WORK/runs"
for pair in $RUNS; do
  case $pair in [0-9a-z]*:[0-9]*) ;; *) log "'$pair' is not condition:seed (e.g. 5:0)"; exit 2 ;; esac
done
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; nproc; python3 -c "import torch; print(torch.__version__, torch.cuda.is_available())"; } >> "$OUT/runs.log" 2>&1

first=${RUNS%% *}
if [ "${SMOKE:-1}" = 1 ]; then
log "smoke check: $EXPERIMENT ${first%%:*} seed ${first##*:} at the smoke tier on $DEVICE"
if ! reproduce "$(( BUDGET_S < 180 ? BUDGET_S : 180 ))" 0 smoke "${first%%:*}" "${first##*:}" "$WORK/smoke" > "$WORK/logs/smoke.log" 2>&1; then
  log "the smoke run failed; its log:"; tail -40 "$WORK/logs/smoke.log" | tee -a "$OUT/runs.log"; pack_up; exit 1
fi
log "smoke run passed"
fi

i=0
left=$((BUDGET_S - (SECONDS - start)))
if [ "$left" -lt 1 ]; then  # `timeout 0` would mean no limit at all
  log "no time left of BUDGET_S=$BUDGET_S for the runs"; pack_up; exit 1
fi
for pair in $RUNS; do
  niceness=0; [ "$i" -ge "$PRIORITY" ] && niceness=19
  reproduce "$left" "$niceness" "$TIER" "${pair%%:*}" "${pair##*:}" "$WORK/results" > "$WORK/logs/run-${pair%%:*}-${pair##*:}.log" 2>&1 &
  i=$((i + 1))
done
log "started $i runs ($TIER tier): $RUNS"
while [ -n "$(jobs -rp)" ] && [ $((SECONDS - start)) -lt "$BUDGET_S" ]; do
  sleep 5
  done_now=$(find "$WORK/results" -name 'seed-*.json' | wc -l)
  [ "${done_before:-0}" != "$done_now" ] && log "$done_now of $i records written" && pack_up
  done_before=$done_now
done
[ -n "$(jobs -rp)" ] && log "budget spent: the runs still going are stopped (timeout)"
wait
pack_up
nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv >> "$OUT/runs.log" 2>&1

bench() {  # script [arguments]: run it in what is left of BUDGET_S + BENCH_S, if a minute is
  local left=$((BUDGET_S + BENCH_S - (SECONDS - start)))
  [ "$left" -lt 60 ] && { log "no time left for $1"; return; }
  log "$1, $left s left"
  (cd benchmarks && timeout "$left" python3 "$@" --device "$DEVICE") >> "$OUT/runs.log" 2>&1
  cp benchmarks/results/*_"$DEVICE".json "$OUT/" 2>/dev/null
}
bench bench_train.py --steps 100 --pairs 2
bench bench_pack.py --ks 1 4 16 --steps 20 --repeats 3
log "done"
