"""The network's forward pass, parameter groups, freezing, and the checkpoint round trip."""

import json

import pytest
import torch
import transformers

from vs_model.checkpoint import load_model, read_config, save_model
from vs_model.labels import EMOTIONS, SENTIMENTS
from vs_model.network import ModelOutput, MultimodalSentimentModel
from vs_model.text import tiny_vocabulary, tokenize

LRS = {"text": 1e-5, "video": 1e-4, "audio": 1e-3, "head": 1e-3}


def test_forward_shapes_and_dtypes(tiny_cfg, tiny_batch):
    torch.manual_seed(0)
    model = MultimodalSentimentModel(tiny_cfg).eval()
    with torch.no_grad():
        out = model(**tiny_batch)
    assert isinstance(out, ModelOutput)
    assert out.emotion_logits.shape == (2, len(EMOTIONS))
    assert out.sentiment_logits.shape == (2, len(SENTIMENTS))
    assert out.emotion_logits.dtype == torch.float32
    assert torch.isfinite(out.emotion_logits).all() and torch.isfinite(out.sentiment_logits).all()


def test_tokenize_gives_fixed_length_int64(tiny_cfg, tiny_tokenizer):
    tokens = tokenize(tiny_tokenizer, ["I am so happy today!", ""], tiny_cfg)
    assert set(tokens) == {"input_ids", "attention_mask"}
    assert tokens["input_ids"].shape == (2, tiny_cfg.text_max_length)
    assert tokens["input_ids"].dtype == torch.int64
    assert tokens["attention_mask"][1].sum() == 2  # [CLS] [SEP] only
    assert int(tokens["input_ids"].max()) < len(tiny_vocabulary())


def test_typographic_punctuation_reads_as_ascii(tiny_cfg, tiny_tokenizer):
    # MELD's subtitles write "don’t"; speech recognition writes "don't".
    subtitle, spoken = ["I don’t know… “Really” — ok"], ['I don\'t know... "Really" - ok']
    assert torch.equal(
        tokenize(tiny_tokenizer, subtitle, tiny_cfg, contexts=["A: it’s"])["input_ids"],
        tokenize(tiny_tokenizer, spoken, tiny_cfg, contexts=["A: it's"])["input_ids"],
    )


def test_a_training_step_reaches_every_part(tiny_cfg, tiny_batch):
    torch.manual_seed(0)
    model = MultimodalSentimentModel(tiny_cfg).train()
    groups = model.param_groups(LRS)
    assert [g["name"] for g in groups] == ["text", "video", "audio", "head"]
    assert [g["lr"] for g in groups] == [LRS[g["name"]] for g in groups]
    grouped = [p for g in groups for p in g["params"]]
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert len(grouped) == len(trainable) == len({id(p) for p in grouped})
    out = model(**tiny_batch)
    (out.emotion_logits.sum() + out.sentiment_logits.sum()).backward()
    for group in groups:
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in group["params"])


@pytest.mark.parametrize("modalities", [("text",), ("text", "video", "audio")])
def test_linear_head_reads_the_encoders_directly(tiny_cfg, tiny_batch, modalities):
    cfg = tiny_cfg.replace(head="linear", modalities=modalities)
    torch.manual_seed(0)
    model = MultimodalSentimentModel(cfg).train()
    fused = cfg.tiny_text_hidden + (cfg.video_dim + cfg.audio_dim if len(modalities) > 1 else 0)
    assert model.emotion_head.in_features == model.sentiment_head.in_features == fused
    assert not [*model.text_proj.parameters(), *model.fusion.parameters()]
    out = model(**tiny_batch)
    assert out.emotion_logits.shape == (2, len(EMOTIONS))
    out.sentiment_logits.sum().backward()
    assert model.text.backbone.embeddings.word_embeddings.weight.grad.abs().sum() > 0


def test_missing_learning_rate_is_an_error(tiny_cfg):
    model = MultimodalSentimentModel(tiny_cfg)
    with pytest.raises(ValueError, match="no learning rate given for: audio"):
        model.param_groups({"text": 1e-5, "video": 1e-4, "head": 1e-3})


def test_frozen_text_encoder_has_no_group_and_stays_in_eval(tiny_cfg, tiny_batch):
    model = MultimodalSentimentModel(tiny_cfg.replace(freeze_text=True)).train()
    assert [g["name"] for g in model.param_groups(LRS)] == ["video", "audio", "head"]
    assert not model.text.backbone.training
    out = model(**tiny_batch)
    out.emotion_logits.sum().backward()
    assert all(p.grad is None for p in model.text.parameters())


def test_only_the_top_text_layers_fine_tune(tiny_cfg):
    model = MultimodalSentimentModel(tiny_cfg.replace(text_train_layers=1))
    layers = model.text.backbone.encoder.layer
    assert not any(p.requires_grad for p in model.text.backbone.embeddings.parameters())
    assert not any(p.requires_grad for p in layers[0].parameters())
    assert all(p.requires_grad for p in layers[-1].parameters())


def test_mean_pooling_ignores_padding(tiny_cfg, tiny_tokenizer):
    cfg = tiny_cfg.replace(text_pooling="mean")
    torch.manual_seed(0)
    encoder = MultimodalSentimentModel(cfg).text.eval()
    short = tokenize(tiny_tokenizer, ["We need more coffee."], cfg)
    long = tokenize(tiny_tokenizer, ["We need more coffee."], cfg.replace(text_max_length=40))
    with torch.no_grad():
        assert torch.allclose(encoder(**short), encoder(**long), atol=1e-5)


def test_checkpoint_round_trip_gives_identical_outputs(
    tmp_path, tiny_cfg, tiny_tokenizer, tiny_batch
):
    torch.manual_seed(0)
    model = MultimodalSentimentModel(tiny_cfg).eval()
    with torch.no_grad():
        before = model(**tiny_batch)
    folder = save_model(tmp_path / "model", model, tiny_tokenizer, tiny_cfg)
    assert {p.name for p in folder.iterdir()} == {
        "model.pt",
        "config.json",
        "tokenizer",
        "text_encoder",
    }
    assert json.loads((folder / "config.json").read_text())["config"]["name"] == "tiny"
    loaded = load_model(folder)
    assert loaded.cfg == tiny_cfg == read_config(folder)
    assert not loaded.model.training
    with torch.no_grad():
        after = loaded.model(**tiny_batch)
    assert torch.equal(before.emotion_logits, after.emotion_logits)
    assert torch.equal(before.sentiment_logits, after.sentiment_logits)
    text = ["I am so happy today!"]
    assert torch.equal(
        tokenize(loaded.tokenizer, text, loaded.cfg)["input_ids"],
        tokenize(tiny_tokenizer, text, tiny_cfg)["input_ids"],
    )


def test_loading_never_downloads(tmp_path, tiny_cfg, tiny_tokenizer, monkeypatch):
    # A paper-like model: a hub text model name and Kinetics weights requested by the config.
    cfg = tiny_cfg.replace(video_encoder="r3d_18", video_pretrained=True)
    model = MultimodalSentimentModel(cfg, load_pretrained=False)
    save_model(tmp_path / "model", torch.nn.parallel.DataParallel(model), tiny_tokenizer, cfg)
    saved = json.loads((tmp_path / "model" / "config.json").read_text())
    saved["config"]["text_model"] = "bert-base-uncased"
    (tmp_path / "model" / "config.json").write_text(json.dumps(saved))

    def refuse(*args, **kwargs):
        raise AssertionError("tried to fetch pretrained weights")

    monkeypatch.setattr(transformers.AutoModel, "from_pretrained", refuse)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    loaded = load_model(tmp_path / "model")
    assert loaded.cfg.text_model == "bert-base-uncased"
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[key], value), key


def test_incomplete_model_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a model folder"):
        load_model(tmp_path)
