"""Run in a fresh interpreter by the export tests: predict with an exported folder and `transformers` only.

    python fresh_transformers.py <job.json>   # {"folder", "level", "inputs": [texts] or [[words]]}

Prints a JSON list: `[label, [probabilities]]` per text, or the tag of each word per sentence (its first
sub-token's). Each input goes through the model alone (no batching, no padding), with `truncation=True`
at the tokenizer's own `model_max_length`. It fails if anything of nlp-transfer was imported.
"""

import json
import sys

import torch
from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification, AutoTokenizer


def predict_alone(folder: str, level: str, inputs: list) -> list:
    """Each input through the model alone: `[label, probabilities]`, or a tag per word (token level)."""
    tokenizer = AutoTokenizer.from_pretrained(folder)
    token = level == "token"
    auto = AutoModelForTokenClassification if token else AutoModelForSequenceClassification
    model = auto.from_pretrained(folder).eval()
    names = model.config.id2label
    out = []
    for item in inputs:
        encoded = tokenizer(item, is_split_into_words=token, truncation=True, return_tensors="pt")
        with torch.no_grad():
            logits = model(**encoded).logits[0]
        if not token:
            probs = logits.softmax(-1)
            out.append([names[int(probs.argmax())], probs.tolist()])
            continue
        tags, seen = [], set()
        for position, word in enumerate(encoded.word_ids(0)):
            if word is not None and word not in seen:
                seen.add(word)
                tags.append(names[int(logits[position].argmax())])
        out.append(tags)
    return out


def main(job_path: str) -> None:
    with open(job_path, encoding="utf-8") as handle:
        job = json.load(handle)
    out = predict_alone(job["folder"], job["level"], job["inputs"])
    leaked = sorted({m.split(".")[0] for m in sys.modules} & {"nlp_transfer", "pytorch_lightning", "hydra"})
    assert not leaked, f"imported {leaked}"
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
