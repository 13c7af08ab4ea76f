#!/usr/bin/env bash
# Compare source-only fine-tuning with DANN on one Amazon pair, same settings and seed.
#   bash scripts/fine_tune_vs_dann.sh [source] [target] [extra Hydra overrides...]
# Prints wall time and accuracies of each run from its results.json.
set -euo pipefail
cd "$(dirname "$0")/.."
source_domain=${1:-books}
target_domain=${2:-kitchen}
shift $(( $# > 2 ? 2 : $# )) || true
out=logs/compare/$(date +%Y-%m-%d_%H-%M-%S)
for strategy in fine_tune dann; do
  .venv/bin/python train.py experiment=cpu_quick logger=csv strategy=$strategy seed=42 \
    domain.source="$source_domain" domain.target="$target_domain" hydra.run.dir="$out/$strategy" "$@"
done
.venv/bin/python - "$out" <<'PY'
import json, sys, pathlib
for run in sorted(pathlib.Path(sys.argv[1]).iterdir()):
    r = json.loads((run / "results.json").read_text())
    m, c = r["metrics"], r["cost"]
    print(f"{run.name:10s} wall {c['wall_seconds']:7.1f}s  fit {c['fit_seconds']:7.1f}s  "
          f"source/val/acc {m['source/val/acc']:.4f}  target/test/acc {m['target/test/acc']:.4f}  "
          f"target/test/macro_f1 {m['target/test/macro_f1']:.4f}")
PY
