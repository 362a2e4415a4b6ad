"""Speech recognition with a Whisper model folder, giving timed utterances with their text.

Whisper reads 30 s windows. Rather than slicing the track blindly (cutting words in half and
making Whisper hallucinate over silence), the voice-activity windows are packed into chunks of at
most 30 s, each chunk is transcribed with timestamp tokens in one batched ``generate`` call, and
the timestamp pairs become utterances shifted to the chunk's place in the video.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torchaudio
from tokenizers import pre_tokenizers
from transformers import (
    GenerationConfig,
    WhisperConfig,
    WhisperFeatureExtractor,
    WhisperForConditionalGeneration,
    WhisperProcessor,
    WhisperTokenizer,
)

from vs_model.transcripts import Utterance
from vs_model.vad import Window

WHISPER_CHUNK_S = 30.0
TIME_PRECISION_S = 0.02


class AsrError(RuntimeError):
    """The speech recognition model folder cannot be used."""


@dataclass(frozen=True)
class Chunk:
    """A stretch of audio sent to Whisper, and the speech windows it holds."""

    start_s: float
    end_s: float
    windows: tuple[Window, ...]


def pack_chunks(windows: list[Window], max_s: float = WHISPER_CHUNK_S) -> list[Chunk]:
    """Group consecutive speech windows into chunks spanning at most ``max_s`` seconds.

    A window longer than ``max_s`` is cut into pieces, since Whisper never sees more than 30 s.
    """
    pieces: list[Window] = []
    for start, end in windows:
        while end - start > max_s:
            pieces.append((start, start + max_s))
            start += max_s
        pieces.append((start, end))
    chunks: list[Chunk] = []
    group: list[Window] = []
    for piece in pieces:
        if group and piece[1] - group[0][0] > max_s:
            chunks.append(Chunk(group[0][0], group[-1][1], tuple(group)))
            group = []
        group.append(piece)
    if group:
        chunks.append(Chunk(group[0][0], group[-1][1], tuple(group)))
    return chunks


def timestamp_segments(
    token_ids: list[int], timestamp_begin: int, special_ids: set[int]
) -> list[tuple[float, float | None, list[int]]]:
    """(start_s, end_s, text token ids) for each timestamp-delimited segment of one generation.

    Whisper writes ``<|t0|> words <|t1|>`` per segment; a final segment whose closing timestamp was
    not generated gets ``end_s=None``.
    """
    segments: list[tuple[float, float | None, list[int]]] = []
    start: float | None = None
    text: list[int] = []
    for token in token_ids:
        if token >= timestamp_begin:
            seconds = (token - timestamp_begin) * TIME_PRECISION_S
            if start is not None and text:
                segments.append((start, seconds, text))
                start, text = None, []
            else:
                start = seconds
        elif token not in special_ids and start is not None:
            text.append(token)
    if start is not None and text:
        segments.append((start, None, text))
    return segments


class SpeechRecognizer:
    """A Whisper model and its processor, loaded once from a local folder."""

    def __init__(
        self,
        model: WhisperForConditionalGeneration,
        processor: WhisperProcessor,
        device: torch.device,
        language: str | None = None,
        batch_size: int = 8,
    ) -> None:
        self.model = model.eval()
        self.processor = processor
        self.device = device
        self.language = language
        self.batch_size = batch_size
        generation = model.generation_config
        if getattr(generation, "no_timestamps_token_id", None) is None:
            raise AsrError("the Whisper generation config has no no_timestamps_token_id")
        self.timestamp_begin = generation.no_timestamps_token_id + 1
        self.special_ids = set(processor.tokenizer.all_special_ids)

    @classmethod
    def load(
        cls, folder: str | Path, device: str | torch.device = "cpu", language: str | None = None
    ) -> SpeechRecognizer:
        """Load a Whisper model folder (model, processor and generation config) for inference."""
        folder = Path(folder)
        if not (folder / "config.json").is_file():
            raise AsrError(f"{folder} is not a Whisper model folder (no config.json)")
        device = torch.device(device)
        dtype = torch.float16 if device.type == "cuda" else torch.float32
        model = WhisperForConditionalGeneration.from_pretrained(folder, dtype=dtype).to(device)
        processor = WhisperProcessor.from_pretrained(folder)
        return cls(model, processor, device, language)

    @property
    def sample_rate(self) -> int:
        """The sampling rate the feature extractor expects."""
        return int(self.processor.feature_extractor.sampling_rate)

    def transcribe(
        self,
        audio: torch.Tensor,
        sample_rate: int,
        speech: list[Window],
        language: str | None = None,
    ) -> list[Utterance]:
        """Utterances with text for the speech windows of ``audio`` (mono float32).

        ``language`` (e.g. "en") overrides the recognizer's default; None lets Whisper detect it.
        """
        if sample_rate != self.sample_rate:
            audio = torchaudio.functional.resample(audio, sample_rate, self.sample_rate)
        chunks = pack_chunks(speech)
        utterances: list[Utterance] = []
        for first in range(0, len(chunks), self.batch_size):
            batch = chunks[first : first + self.batch_size]
            generated = self._generate(audio, batch, language or self.language)
            for chunk, tokens in zip(batch, generated, strict=True):
                utterances.extend(self._utterances(chunk, tokens))
        return utterances

    @torch.inference_mode()
    def _generate(
        self, audio: torch.Tensor, chunks: list[Chunk], language: str | None
    ) -> list[list[int]]:
        rate = self.sample_rate
        clips = [
            audio[round(chunk.start_s * rate) : round(chunk.end_s * rate)].numpy()
            for chunk in chunks
        ]
        inputs = self.processor.feature_extractor(
            clips, sampling_rate=rate, return_tensors="pt", return_attention_mask=True
        )
        generated = self.model.generate(
            inputs.input_features.to(self.device, self.model.dtype),
            attention_mask=inputs.attention_mask.to(self.device),
            return_timestamps=True,
            task="transcribe",
            language=language,
        )
        sequences = generated if isinstance(generated, torch.Tensor) else generated["sequences"]
        return [row.tolist() for row in sequences.cpu()]

    def _utterances(self, chunk: Chunk, tokens: list[int]) -> list[Utterance]:
        decode = self.processor.tokenizer.decode
        length = chunk.end_s - chunk.start_s
        found = []
        for start, end, text_ids in timestamp_segments(
            tokens, self.timestamp_begin, self.special_ids
        ):
            text = " ".join(decode(text_ids, skip_special_tokens=True).split())
            begin = chunk.start_s + min(start, length)
            finish = chunk.start_s + min(length if end is None else end, length)
            if text and finish > begin:
                found.append(Utterance(round(begin, 3), round(finish, 3), text))
        if found:
            return found
        # No usable timestamps: keep the speech itself, with whatever text came out for the chunk.
        text_ids = [t for t in tokens if t < self.timestamp_begin and t not in self.special_ids]
        text = " ".join(decode(text_ids, skip_special_tokens=True).split())
        return [Utterance(start, end, text) for start, end in chunk.windows]


def _special_tokens() -> list[str]:
    """Whisper's special tokens in its id order, ending with ``<|notimestamps|>`` (English only)."""
    return [
        "<|endoftext|>",
        "<|startoftranscript|>",
        "<|en|>",
        "<|translate|>",
        "<|transcribe|>",
        "<|startoflm|>",
        "<|startofprev|>",
        "<|nospeech|>",
        "<|notimestamps|>",
    ]


def write_random_whisper(folder: str | Path, seed: int = 0) -> Path:
    """Write a tiny, randomly initialised Whisper model folder, built without any download.

    The tokenizer is a byte-level BPE over the 256 byte symbols (no merges) with Whisper's special
    and timestamp tokens in their usual order, so generation, timestamps and decoding work as with
    a real checkpoint. Meant for tests and offline smoke runs: its transcripts are noise.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    tokenizer = WhisperTokenizer(vocab={symbol: i for i, symbol in enumerate(alphabet)}, merges=[])
    specials = _special_tokens()
    tokenizer.add_special_tokens({"additional_special_tokens": specials[1:]})
    tokenizer.add_tokens([f"<|{i * TIME_PRECISION_S:.2f}|>" for i in range(1501)])
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in specials}
    eot = ids["<|endoftext|>"]
    config = WhisperConfig(
        vocab_size=len(tokenizer),
        num_mel_bins=80,
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_source_positions=1500,
        max_target_positions=448,
        pad_token_id=eot,
        bos_token_id=eot,
        eos_token_id=eot,
        decoder_start_token_id=ids["<|startoftranscript|>"],
    )
    torch.manual_seed(seed)
    model = WhisperForConditionalGeneration(config)
    model.generation_config = GenerationConfig(
        decoder_start_token_id=ids["<|startoftranscript|>"],
        bos_token_id=eot,
        eos_token_id=eot,
        pad_token_id=eot,
        no_timestamps_token_id=ids["<|notimestamps|>"],
        prev_sot_token_id=ids["<|startofprev|>"],
        lang_to_id={"<|en|>": ids["<|en|>"]},
        task_to_id={"transcribe": ids["<|transcribe|>"], "translate": ids["<|translate|>"]},
        is_multilingual=True,
        max_initial_timestamp_index=50,
        max_length=64,
    )
    model.save_pretrained(folder)
    WhisperProcessor(WhisperFeatureExtractor(feature_size=80), tokenizer).save_pretrained(folder)
    return folder
