#!/usr/bin/env bash
# Every strategy on one pair under one budget and seed (experiment=strategy_table), then one table:
# wall time, source validation, target test at the source-val checkpoint, what each label-free validator
# would pick, and the oracle.
#   bash scripts/strategy_table.sh [source] [target] [extra Hydra overrides...]
set -euo pipefail
cd "$(dirname "$0")/.."
source_domain=${1:-books}
target_domain=${2:-kitchen}
shift $(( $# > 2 ? 2 : $# )) || true
out=logs/strategy_table/$(date +%Y-%m-%d_%H-%M-%S)
strategies="fine_tune feature_extraction gradual_unfreeze lora udalm dann cdan mmd coral"
for strategy in $strategies; do
  extra=()
  # 8 layer groups of MiniLM over 60 steps: unfreeze one every 6 steps (all trainable from step 48)
  [ "$strategy" = gradual_unfreeze ] && extra=(strategy.unfreeze_every_n_steps=6)
  .venv/bin/python train.py experiment=strategy_table logger=csv strategy=$strategy seed=42 \
    domain.source="$source_domain" domain.target="$target_domain" hydra.run.dir="$out/$strategy" \
    "${extra[@]}" "$@" || echo "$strategy failed (see $out/$strategy/results.json)"
done
.venv/bin/python - "$out" $strategies <<'PY'
import json, sys, pathlib
out, names = pathlib.Path(sys.argv[1]), sys.argv[2:]
print(f"\n{out}")
print("| strategy | wall s | fit s | source/val/acc | target/test/acc | entropy pick | info_max pick | dev pick | oracle |")
print("|---|---|---|---|---|---|---|---|---|")
for name in names:
    path = out / name / "results.json"
    if not path.is_file():
        print(f"| {name} | missing |"); continue
    r = json.loads(path.read_text())
    if r["status"] != "ok":
        print(f"| {name} | failed: {r.get('error', '')[:80]} |"); continue
    m, c, s = r["metrics"], r["cost"], r["selection"]
    key = s.get("target_metric", "target/test/acc")
    picks = [s.get("validators", {}).get(v, {}).get(key) for v in ("entropy", "info_max", "dev")]
    oracle = s.get("oracle", {}).get(key)
    cells = [f"{x:.4f}" if isinstance(x, float) else "–" for x in (*picks, oracle)]
    print(f"| {name} | {c['wall_seconds']:.0f} | {c['fit_seconds']:.0f} | {m['source/val/acc']:.4f} | "
          f"{m['target/test/acc']:.4f} | " + " | ".join(cells) + " |")
PY
