#!/usr/bin/env bash
# Run, continue or collect the CPU benchmark (conf/experiment/amazon_benchmark_cpu.yaml): every strategy ×
# 4 Amazon pairs × 3 seeds on 2 CPU cores, hours of training, resumable across machines and days.
#   bash scripts/benchmark_cpu.sh            # restore the committed runs, train the missing cells, collect
#   bash scripts/benchmark_cpu.sh collect    # only collect what has finished (safe while it trains)
#   bash scripts/benchmark_cpu.sh run strategy=fine_tune,dann seed=1   # narrower (overrides go to train.py)
# Finished runs are committed under benchmarks/results/amazon_benchmark_cpu/runs/<job>/ (results.json,
# run_identity.json, predictions/): restored into the sweep folder first, a rerun skips them (same config and
# data: the run identity must match) and trains only what is missing.
# The sweeps that go with it run the same way, each into benchmarks/results/<experiment>/:
#   EXPERIMENT=validator_variety bash scripts/benchmark_cpu.sh   # + the benchmark's runs: validator_meta/
#   EXPERIMENT=learning_curves bash scripts/benchmark_cpu.sh     # curves and plateau steps
#   EXPERIMENT=precision_fp32 bash scripts/benchmark_cpu.sh      # the fp32 side of the bf16 accuracy check
#     (each strategy's fp32 runs pooled with its bf16-mixed benchmark runs: <strategy>/results_*.md, compare.md)
#   EXPERIMENT=tune_lora bash scripts/benchmark_cpu.sh           # LoRA's r × lr on the development pairs
#   EXPERIMENT=tune_da_weights bash scripts/benchmark_cpu.sh     # DANN/CDAN/MMD weights (then CORAL's:
#     … run strategy=coral strategy.domain_loss_weight=3000.0,10000.0,30000.0), each with tuning.md
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
EXPERIMENT=${EXPERIMENT:-amazon_benchmark_cpu}
SWEEP=${NLP_TRANSFER_LOGS:-logs}/sentiment/multiruns/$EXPERIMENT
OUT=${BENCHMARK_OUT:-benchmarks/results/$EXPERIMENT}
BENCHMARK_RUNS=benchmarks/results/amazon_benchmark_cpu/runs
mode=${1:-all}
[[ $mode == run || $mode == collect || $mode == all ]] && shift || true

restore() {
  mkdir -p "$SWEEP"
  for run in "$OUT"/runs/*/; do
    [[ -d $run ]] || continue
    dest="$SWEEP/$(basename "$run")"
    [[ -f $dest/results.json ]] && continue
    mkdir -p "$dest" && cp -r "$run"/. "$dest"/
  done
}

collect() {
  mkdir -p "$OUT/runs"
  for result in "$SWEEP"/*/results.json; do
    [[ -f $result ]] || continue
    run=$(dirname "$result")
    grep -q '"status": "ok"' "$result" || continue
    dest="$OUT/runs/$(basename "$run")"
    mkdir -p "$dest"
    cp "$result" "$run/run_identity.json" "$dest"/
    [[ -d $run/predictions ]] && cp -r "$run/predictions" "$dest"/
  done
  report
}

report() {
  case $EXPERIMENT in
    amazon_benchmark_cpu)
      "$PY" -m nlp_transfer.results "$OUT/runs" --out "$OUT" --allow-incomplete || true
      "$PY" -m nlp_transfer.cli compare "$OUT/runs" --baseline fine_tune --out "$OUT/compare.md" || true
      "$PY" -m nlp_transfer.cli validators "$OUT/runs" --out "$OUT" || true ;;
    validator_variety)  # pooled with the benchmark's runs: the validators' meta-evaluation
      "$PY" -m nlp_transfer.cli validators "$BENCHMARK_RUNS" "$OUT/runs" --out benchmarks/results/validator_meta \
        || true ;;
    learning_curves)
      "$PY" -m nlp_transfer.cli curves "$OUT/runs" --out "$OUT" || true ;;
    precision_fp32)  # each strategy's fp32 runs beside its bf16-mixed benchmark runs of the same cells
      for strategy in fine_tune dann; do
        compgen -G "$OUT/runs/${strategy}_*" > /dev/null || continue
        pool=$(mktemp -d)
        for run in "$OUT"/runs/"$strategy"_*/; do
          [[ -d $run ]] || continue
          cp -r "$run" "$pool/fp32_$(basename "$run")"
          [[ -d $BENCHMARK_RUNS/$(basename "$run") ]] && cp -r "$BENCHMARK_RUNS/$(basename "$run")" "$pool/"
        done
        "$PY" -m nlp_transfer.results "$pool" --out "$OUT/$strategy" --allow-incomplete || true
        "$PY" -m nlp_transfer.cli compare "$pool" --baseline "$strategy [trainer.precision=bf16-mixed]" \
          --out "$OUT/$strategy/compare.md" --no-plots || true
        rm -rf "$pool"
      done ;;
    tune_*)  # defaults chosen on source validation of the development pairs (tuning.md)
      "$PY" -m nlp_transfer.results "$OUT/runs" --out "$OUT" --allow-incomplete || true
      "$PY" -m nlp_transfer.cli tune "$OUT/runs" --out "$OUT" || true ;;
    *)
      "$PY" -m nlp_transfer.results "$OUT/runs" --out "$OUT" --allow-incomplete || true ;;
  esac
}

if [[ $mode != collect ]]; then
  restore
  start=$(date +%s)
  "$PY" train.py -m experiment="$EXPERIMENT" "$@" || echo "some jobs failed (see runs.csv)"
  mkdir -p "$OUT"
  echo "$(date -u +%FT%TZ) $* : $(( $(date +%s) - start )) s" | tee -a "$OUT/wall_times.log"
fi
collect
