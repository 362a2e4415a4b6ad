"""Media features on generated videos of known content."""

import re
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from media_files import cut_in_half, remux

from vs_model.audio_features import log_mel
from vs_model.media import extract, load_audio, sample_frames
from vs_model.video_file import MediaError
from vs_model.video_probe import probe
from vsent.local.synthetic import (
    EMOTION_COLOURS,
    IDLE_COLOUR,
    SyntheticUtterance,
    make_speech_video,
)

PALETTE = {**EMOTION_COLOURS, "idle": IDLE_COLOUR}


def shown(frame: torch.Tensor) -> str:
    """Which palette colour a sampled [3, H, W] frame shows (its median colour, the disc aside)."""
    median = frame.reshape(3, -1).float().median(dim=1).values.numpy()
    return min(PALETTE, key=lambda name: float(np.abs(median - np.array(PALETTE[name])).sum()))


def write_halves(path: Path, rotation: int) -> Path:
    """A 1 s clip whose left half is white and right half black, with rotation metadata."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        stream.set_display_rotation(rotation)
        image = np.zeros((120, 160, 3), np.uint8)
        image[:, :80] = 255
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 10)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def test_probe_reports_the_generated_video(speech_video):
    info = probe(speech_video.path)
    assert info.duration_s == pytest.approx(8.0, abs=0.15)
    assert info.fps == pytest.approx(10.0)
    assert (info.width, info.height, info.rotation) == (160, 120, 0)
    assert info.has_audio
    assert info.frame_count == 80
    assert info.to_dict()["width"] == 160


def test_frames_of_each_window_show_what_was_on_screen(speech_video, tiny_cfg):
    windows = [(u.start_s, u.end_s) for u in speech_video.utterances] + [(2.1, 2.9), (7.2, 7.9)]
    frames = sample_frames(speech_video.path, windows, 5, 64)
    assert frames.shape == (5, 5, 3, 64, 64) and frames.dtype == torch.uint8
    expected = [u.emotion for u in speech_video.utterances] + ["idle", "idle"]
    for clip, emotion in zip(frames, expected, strict=True):
        assert [shown(f) for f in clip] == [emotion] * 5


def test_window_order_and_overlap_do_not_change_the_samples(speech_video):
    windows = [(3.0, 4.5), (0.5, 2.0), (1.0, 3.5)]
    together = sample_frames(speech_video.path, windows, 3, 48)
    for i, window in enumerate(windows):
        assert torch.equal(together[i], sample_frames(speech_video.path, [window], 3, 48)[0])


def test_frames_are_spread_across_the_window(speech_video):
    # A window straddling idle picture and the joy utterance samples both, in time order.
    frames = sample_frames(speech_video.path, [(0.0, 1.0)], 4, 32)[0]
    assert [shown(f) for f in frames] == ["idle", "idle", "joy", "joy"]


def test_windows_past_the_end_repeat_the_last_frame(silent_video):
    frames = sample_frames(silent_video.path, [(2.5, 6.0), (10.0, 12.0)], 4, 32)
    last = frames[1, 0]
    assert all(torch.equal(f, last) for f in frames[1])
    assert torch.equal(frames[0, -1], last)
    assert shown(last) == "idle"


def test_audio_is_mono_16k_with_speech_only_in_spoken_windows(speech_video):
    audio = load_audio(speech_video.path, 16000)
    assert audio.dtype == torch.float32 and audio.dim() == 1
    assert audio.numel() == pytest.approx(8.0 * 16000, rel=0.02)

    def rms(start: float, end: float) -> float:
        return float(audio[int(start * 16000) : int(end * 16000)].pow(2).mean().sqrt())

    silence = max(rms(0.0, 0.45), rms(2.1, 2.9), rms(4.6, 5.4), rms(7.1, 7.9))
    for utt in speech_video.utterances:
        assert rms(utt.start_s, utt.end_s) > 20 * silence


def test_log_mel_shapes_and_energy(speech_video, tiny_cfg):
    audio = load_audio(speech_video.path, tiny_cfg.sample_rate)
    windows = [(0.5, 2.0), (2.1, 2.9), (0.0, 8.0), (9.0, 10.0)]
    mel = log_mel(audio, windows, tiny_cfg)
    assert mel.shape == (4, tiny_cfg.n_mels, tiny_cfg.mel_frames) and mel.dtype == torch.float32
    assert torch.isfinite(mel).all()
    assert mel[0].mean() > mel[1].mean() + 20  # speech is louder than silence, in dB
    # A window past the end of the audio is pure digital silence: flat at the dB floor.
    assert float(mel[3].std()) == 0.0
    assert log_mel(audio, [], tiny_cfg).shape == (0, tiny_cfg.n_mels, tiny_cfg.mel_frames)


def test_long_windows_keep_their_first_audio_seconds(speech_video, tiny_cfg):
    audio = load_audio(speech_video.path, tiny_cfg.sample_rate)
    long, head = log_mel(audio, [(0.0, 8.0), (0.0, tiny_cfg.audio_seconds)], tiny_cfg)
    assert torch.allclose(long, head)


def test_extract_matches_the_separate_functions(speech_video, tiny_cfg):
    windows = [(u.start_s, u.end_s) for u in speech_video.utterances]
    features = extract(speech_video.path, windows, tiny_cfg)
    assert features.info == probe(speech_video.path)
    assert torch.equal(
        features.frames,
        sample_frames(speech_video.path, windows, tiny_cfg.video_frames, tiny_cfg.frame_size),
    )
    audio = load_audio(speech_video.path, tiny_cfg.sample_rate)
    assert torch.equal(features.audio, audio)
    assert torch.equal(features.mel, log_mel(audio, windows, tiny_cfg))
    again = extract(speech_video.path, windows, tiny_cfg, audio=audio)
    assert torch.equal(again.frames, features.frames) and torch.equal(again.mel, features.mel)


def test_video_without_audio(silent_video, tiny_cfg):
    assert not probe(silent_video.path).has_audio
    audio = load_audio(silent_video.path, 16000)
    assert audio.shape == (0,) and audio.dtype == torch.float32
    features = extract(silent_video.path, [(1.0, 2.0)], tiny_cfg)
    assert shown(features.frames[0, 0]) == "fear"
    assert features.mel.shape == (1, tiny_cfg.n_mels, tiny_cfg.mel_frames)
    assert float(features.mel.std()) == 0.0


def test_clip_shorter_than_the_window(tmp_path, tiny_cfg):
    path = make_speech_video(
        tmp_path / "short.mp4",
        [SyntheticUtterance("Wow!", 0.0, 0.4, "surprise")],
        seconds=0.4,
        fps=10,
    )
    features = extract(path, [(0.0, 3.0)], tiny_cfg)
    assert features.frames.shape == (1, tiny_cfg.video_frames, 3, 64, 64)
    assert all(shown(f) == "surprise" for f in features.frames[0])
    assert features.info.duration_s == pytest.approx(0.4, abs=0.05)


@pytest.mark.parametrize(("rotation", "white"), [(90, "bottom"), (270, "top"), (180, "right")])
def test_rotation_metadata_is_applied(tmp_path, rotation, white):
    path = write_halves(tmp_path / f"rot{rotation}.mp4", rotation)
    info = probe(path)
    assert info.rotation == rotation
    assert (info.width, info.height) == ((120, 160) if rotation % 180 else (160, 120))
    frame = sample_frames(path, [(0.0, 1.0)], 1, 64)[0, 0].float().mean(dim=0)
    halves = {
        "top": frame[:28].mean(),
        "bottom": frame[36:].mean(),
        "left": frame[:, :28].mean(),
        "right": frame[:, 36:].mean(),
    }
    assert halves[white] > 200
    assert min(halves.values()) < 50


def test_odd_frame_rate(tmp_path):
    utterances = [SyntheticUtterance("I am really scared.", 1.0, 2.0, "fear")]
    path = make_speech_video(tmp_path / "ntsc.mp4", utterances, fps=30000 / 1001, seconds=3.0)
    assert probe(path).fps == pytest.approx(29.97, abs=0.01)
    frames = sample_frames(path, [(0.0, 0.9), (1.05, 1.95), (2.05, 3.0)], 3, 32)
    assert [shown(clip[1]) for clip in frames] == ["idle", "fear", "idle"]


def test_not_a_video(tmp_path, tiny_cfg):
    text = tmp_path / "notes.mp4"
    text.write_text("these are my notes, not a video\n")
    with pytest.raises(MediaError, match="not a video file"):
        probe(text)
    empty = tmp_path / "empty.mp4"
    empty.touch()
    with pytest.raises(MediaError, match=re.escape("not a video file: empty.mp4 is empty")):
        extract(empty, [(0.0, 1.0)], tiny_cfg)
    with pytest.raises(MediaError, match="not found"):
        load_audio(tmp_path / "missing.mp4", 16000)


def test_still_image_is_not_a_video(tmp_path):
    path = tmp_path / "photo.png"
    with av.open(str(path), "w", format="image2") as container:
        stream = container.add_stream("png", rate=1)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "rgb24"
        image = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
        container.mux(stream.encode(image))
        container.mux(stream.encode(None))
    with pytest.raises(MediaError, match="still image"):
        probe(path)


def test_audio_only_file_has_no_video_stream(tmp_path):
    path = tmp_path / "voice.m4a"
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=16000, layout="mono")
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
        )
        frame.sample_rate, frame.pts = 16000, 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with pytest.raises(MediaError, match=re.escape("no video stream: voice.m4a is an audio file")):
        probe(path)


def test_truncated_and_corrupt_videos(tmp_path, speech_video):
    data = speech_video.path.read_bytes()
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(data[: len(data) // 3])
    with pytest.raises(MediaError, match=re.escape("corrupt or truncated video: truncated.mp4")):
        sample_frames(truncated, [(0.0, 8.0)], 4, 32)
    garbled = tmp_path / "garbled.mp4"
    garbled.write_bytes(data[:32] + bytes(len(data) - 32))
    with pytest.raises(MediaError, match=re.escape("corrupt or truncated video: garbled.mp4")):
        probe(garbled)


def test_reversed_window_is_a_programming_error(speech_video):
    with pytest.raises(ValueError, match="ends before it starts"):
        sample_frames(speech_video.path, [(2.0, 1.0)], 2, 32)


def test_a_file_cut_in_half_reports_what_can_be_read(tmp_path, speech_video, tiny_cfg):
    # Index at the front (as phones and "faststart" write it): the header still claims 8 s.
    whole = remux(speech_video.path, tmp_path / "whole.mp4", movflags="faststart")
    assert probe(whole).warnings == ()
    half = cut_in_half(speech_video.path, tmp_path / "half.mp4")
    info = probe(half)
    assert 2.0 < info.duration_s < 6.5
    assert info.frame_count < 80
    assert len(info.warnings) == 1
    assert re.fullmatch(
        rf"the video file looks truncated or damaged: only its first {info.duration_s:.1f} s"
        r" of the 8\.0 s its header claims could be read, and the result covers that part",
        info.warnings[0],
    )
    assert "half.mp4" not in info.warnings[0]  # the endpoint's file name is a temporary one
    features = extract(half, [(0.5, 2.0), (6.5, 7.5)], tiny_cfg)
    assert features.info == info
    assert shown(features.frames[0, -1]) == "joy"
    # Past the readable part, the last readable frame is held; the sound there is silence.
    assert torch.equal(features.frames[1, 0], features.frames[1, -1])
    assert features.audio.numel() <= info.duration_s * tiny_cfg.sample_rate + 2048
    assert torch.equal(load_audio(half, tiny_cfg.sample_rate), features.audio)


def test_a_file_cut_before_its_first_frame_is_an_error(tmp_path, speech_video):
    whole = remux(speech_video.path, tmp_path / "whole.mp4", movflags="faststart")
    with av.open(str(whole)) as container:
        first = next(p for p in container.demux(video=0) if p.size)
        cut = first.pos + first.size // 2
    stub = tmp_path / "stub.mp4"
    stub.write_bytes(whole.read_bytes()[:cut])
    with pytest.raises(MediaError, match=re.escape("corrupt or truncated video: stub.mp4")):
        probe(stub)


def test_sound_past_the_picture_sets_the_duration(tmp_path, speech_video, tiny_cfg):
    path = remux(speech_video.path, tmp_path / "short-picture.mp4", keep_video_until=2.0)
    info = probe(path)
    assert info.duration_s == pytest.approx(8.0, abs=0.1)
    assert info.frame_count == 20
    assert info.warnings == (
        "the sound runs 6.0 s past the end of the picture (2.0 s): utterances after that"
        " are seen with its last frame",
    )
    # The last utterance (5.5 to 7 s) is inside the reported duration and keeps its speech.
    features = extract(path, [(5.5, 7.0)], tiny_cfg)
    assert features.mel[0].mean() > log_mel(torch.zeros(0), [(5.5, 7.0)], tiny_cfg)[0].mean()
    assert shown(features.frames[0, 0]) == "joy"  # the picture's last frame (joy until 2 s)
