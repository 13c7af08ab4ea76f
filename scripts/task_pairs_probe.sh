#!/usr/bin/env bash
# For every task: MiniLM fine_tune on its default cross-domain pair and on the source's in-domain diagonal,
# with experiment=cpu_probe (30 steps). Prints the headline target metric and wall time of each run.
#   bash scripts/task_pairs_probe.sh [extra Hydra overrides...]
set -euo pipefail
cd "$(dirname "$0")/.."
out=logs/task_pairs/$(date +%Y-%m-%d_%H-%M-%S)
declare -A pairs=([sentiment]="books kitchen" [emotion]="tweets reddit" [topic]="agnews bbc" [ner]="news politics")
for task in sentiment emotion topic ner; do
  read -r source target <<<"${pairs[$task]}"
  for tgt in "$target" "$source"; do
    .venv/bin/python train.py experiment=cpu_probe logger=csv strategy=fine_tune task=$task \
      domain.source="$source" domain.target="$tgt" hydra.run.dir="$out/${task}_${source}-${tgt}" "$@" >/dev/null
  done
done
.venv/bin/python - "$out" <<'PY'
import json, pathlib, sys
headline = {"sentiment": "acc", "emotion": "macro_f1", "topic": "acc", "ner": "f1"}
for run in sorted(pathlib.Path(sys.argv[1]).iterdir()):
    r = json.loads((run / "results.json").read_text())
    c, m = r["config"], r["metrics"]
    name = headline[c["task"]]
    print(f"{c['task']:10s} {c['source']:>8s} → {c['target']:8s} source/val/{name} {m[f'source/val/{name}']:.4f}  "
          f"target/test/{name} {m[f'target/test/{name}']:.4f}  wall {r['cost']['wall_seconds']:6.1f}s")
PY
