"""The endpoint handlers: manifests from S3 and raw video bytes in, the result document out."""

import json
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import boto3
import inference
import jsonschema
import numpy as np
import pytest
from moto import mock_aws

from vs_common.manifests import Manifest as SubmittedManifest
from vs_common.manifests import ManifestOptions
from vs_model.checkpoint import save_model
from vs_model.network import MultimodalSentimentModel
from vs_model.predictor import InvalidInput, Predictor, PredictorSettings
from vs_model.vad import fixed_windows
from vsent.local.synthetic import SyntheticUtterance, make_speech_video

BUCKET = "videos"
LINES = [
    SyntheticUtterance("What a wonderful surprise, thank you", 0.5, 3.0, "joy"),
    SyntheticUtterance("I really hate waiting like this", 4.0, 6.5, "anger"),
]
SRT = """1
00:00:00,500 --> 00:00:03,000
What a wonderful surprise, thank you

2
00:00:04,000 --> 00:00:06,500
I really hate waiting like this
"""
VTT = """WEBVTT

00:00.500 --> 00:03.000
What a wonderful surprise,
thank you

00:04.000 --> 00:06.500 line:90%
<v Ross>I really hate waiting like this
"""
EXPECTED = [(0.5, 3.0, LINES[0].text), (4.0, 6.5, LINES[1].text)]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tiny_cfg, tiny_tokenizer) -> Path:
    folder = tmp_path_factory.mktemp("model")
    return save_model(folder, MultimodalSentimentModel(tiny_cfg), tiny_tokenizer, tiny_cfg)


@pytest.fixture(scope="module")
def predictor(model_dir: Path) -> Predictor:
    # Without speech recognition, so raw videos take the voice-activity path (test_asr covers ASR).
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VS_ASR_MODEL", "none")
        return inference.model_fn(str(model_dir))


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    return make_speech_video(tmp_path_factory.mktemp("video") / "talk.mp4", LINES, seconds=7.0)


@pytest.fixture(scope="module")
def schema(repo_root: Path) -> jsonschema.Draft202012Validator:
    path = repo_root / "layers/common/vs_common/schemas/result.schema.json"
    return jsonschema.Draft202012Validator(json.loads(path.read_text()))


@pytest.fixture
def s3(monkeypatch):
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture(autouse=True)
def private_tmp(tmp_path, monkeypatch) -> Path:
    """Temporary files land in a folder of the test's own, so leftovers can be seen."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def invoke(predictor: Predictor, body: bytes | str, content_type: str) -> dict:
    request = inference.input_fn(body, content_type)
    return json.loads(inference.output_fn(inference.predict_fn(request, predictor), "*/*"))


def manifest(**fields) -> str:
    return json.dumps({"video": f"s3://{BUCKET}/uploads/job1/talk.mp4", **fields})


@pytest.mark.parametrize(("name", "content"), [("talk.srt", SRT), ("talk.vtt", VTT)])
def test_manifest_with_a_sidecar_gives_its_utterances(
    s3, predictor, video, schema, private_tmp, name, content
) -> None:
    s3.upload_file(str(video), BUCKET, "uploads/job1/talk.mp4")
    s3.put_object(Bucket=BUCKET, Key=f"uploads/job1/{name}", Body=content.encode())
    # Built by the submit function's own model, so the two sides of the contract cannot drift.
    body = SubmittedManifest(
        video=f"s3://{BUCKET}/uploads/job1/talk.mp4",
        transcript=f"s3://{BUCKET}/uploads/job1/{name}",
        job_id="job1",
    ).to_json()

    result = invoke(predictor, body, "application/json")

    schema.validate(result)
    assert result["job_id"] == "job1"
    assert result["segmentation"] == "transcript"
    assert [(u["start_s"], u["end_s"], u["text"]) for u in result["utterances"]] == EXPECTED
    assert result["video"]["duration_s"] == pytest.approx(7.0, abs=0.1)
    assert result["video"]["has_audio"] is True
    assert result["model"]["name"] == "video-sentiment-tiny"
    assert result["model"]["demo"] is True
    assert set(result["timings_ms"]) == {"decode", "segment", "model", "total"}
    for utterance in result["utterances"]:
        assert sum(utterance["emotion"]["scores"].values()) == pytest.approx(1.0, abs=1e-3)
        assert utterance["emotion"]["confidence"] == max(utterance["emotion"]["scores"].values())
    assert sum(result["summary"]["sentiment"].values()) == pytest.approx(1.0, abs=1e-3)
    assert list(private_tmp.iterdir()) == []


def test_raw_video_bytes_are_segmented_by_voice_activity(predictor, video, schema) -> None:
    result = invoke(predictor, video.read_bytes(), "video/mp4")

    schema.validate(result)
    assert result["segmentation"] == "vad"
    spans = [(u["start_s"], u["end_s"]) for u in result["utterances"]]
    assert len(spans) == 2
    assert spans[0][0] == pytest.approx(0.5, abs=0.3)
    assert spans[1][0] == pytest.approx(4.0, abs=0.3)
    assert all(u["text"] == "" for u in result["utterances"])


def test_options_choose_fixed_windows(s3, predictor, video, schema) -> None:
    s3.upload_file(str(video), BUCKET, "uploads/job1/talk.mp4")
    body = manifest(options={"segmentation": "fixed", "window_s": 2.0})

    result = invoke(predictor, body, "application/json; charset=utf-8")

    schema.validate(result)
    assert result["segmentation"] == "fixed"
    spans = [(u["start_s"], u["end_s"]) for u in result["utterances"]]
    assert spans == fixed_windows(result["video"]["duration_s"], 2.0)
    assert len(spans) == 4


def test_the_endpoint_reads_the_version_the_manifest_names(s3, predictor, video, schema) -> None:
    # A second upload through the same presigned POST after submit checked the first one.
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    key = "uploads/job1/talk.mp4"
    checked = s3.put_object(Bucket=BUCKET, Key=key, Body=video.read_bytes())
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"not the video that was checked")
    body = SubmittedManifest(
        video=f"s3://{BUCKET}/{key}",
        video_version_id=checked["VersionId"],
        job_id="job1",
        options=ManifestOptions(segmentation="fixed"),
    ).to_json()

    result = invoke(predictor, body, "application/json")

    schema.validate(result)
    assert result["video"]["duration_s"] == pytest.approx(7.0, abs=0.1)


@pytest.mark.parametrize("with_audio", [False, True], ids=["no-audio-track", "silence"])
def test_a_video_without_speech_says_so_and_scores_the_picture(
    predictor, tmp_path, schema, with_audio
) -> None:
    silent = make_speech_video(tmp_path / "silent.mp4", [], seconds=6.0, with_audio=with_audio)
    result = invoke(predictor, silent.read_bytes(), "video/mp4")
    schema.validate(result)
    assert result["segmentation"] == "none"
    assert result["utterances"] == []
    assert result["video"]["has_audio"] is with_audio
    why = "the video has no audio track" if not with_audio else "none was detected in the audio"
    assert (
        f"no speech: {why}; emotion and sentiment come from the picture alone"
        in (result["warnings"])
    )
    spans = [(w["start_s"], w["end_s"]) for w in result["picture"]]
    assert spans == fixed_windows(result["video"]["duration_s"], 5.0)
    assert all(window["text"] == "" for window in result["picture"])
    assert set(result["summary"]["emotion"]) == set(result["picture"][0]["emotion"]["scores"])


def audio_only_file(path: Path) -> Path:
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("aac", rate=16000, layout="mono")
        tone = (0.1 * np.sin(np.arange(16000) / 5)).astype(np.float32)[None, :]
        for first in range(0, tone.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(tone[:, first : first + 1024]), format="fltp", layout="mono"
            )
            frame.sample_rate, frame.pts, frame.time_base = 16000, first, Fraction(1, 16000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def test_each_bad_video_has_its_own_message(predictor, video, tmp_path, private_tmp) -> None:
    cases = {
        "not a video file": b"this is a plain text file, not a video" * 20,
        "no video stream": audio_only_file(tmp_path / "voice.m4a").read_bytes(),
        "corrupt or truncated video": video.read_bytes()[: video.stat().st_size // 2],
    }
    for message, body in cases.items():
        with pytest.raises(InvalidInput, match=f"^invalid input: {message}"):
            invoke(predictor, body, "video/mp4")
    assert list(private_tmp.iterdir()) == []


def test_videos_over_the_limit_are_refused(model_dir, video) -> None:
    short_limit = Predictor(model_dir, PredictorSettings(device="cpu", max_video_seconds=5))
    with pytest.raises(InvalidInput, match=r"lasts 7\.0 s, longer than the 5 s"):
        invoke(short_limit, video.read_bytes(), "video/mp4")


def test_limit_and_device_come_from_the_environment(model_dir, monkeypatch) -> None:
    monkeypatch.setenv("MAX_VIDEO_SECONDS", "300")
    monkeypatch.setenv("VS_DEVICE", "cpu")
    monkeypatch.setenv("VS_BATCH_SIZE", "4")
    monkeypatch.setenv("VS_ASR_MODEL", "none")
    settings = PredictorSettings.from_env(model_dir)
    assert settings == PredictorSettings(device="cpu", batch_size=4, max_video_seconds=300.0)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", r"bad manifest \(manifest: Invalid JSON"),
        ("{}", r"bad manifest \(video: Field required"),
        ('{"video": "https://example.com/a.mp4"}', r"bad manifest \(video: String should match"),
        (manifest(options={"segmentation": "magic"}), r"options\.segmentation: Input should be"),
        (manifest(options={"window_s": 0}), r"options\.window_s: Input should be greater"),
        (manifest(colour="red"), r"colour: Extra inputs are not permitted"),
    ],
)
def test_bad_manifests_are_explained(body: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        inference.input_fn(body, "application/json")


def test_missing_objects_and_bad_transcripts(s3, predictor, video) -> None:
    with pytest.raises(InvalidInput, match=r"s3://videos/uploads/job1/talk\.mp4 does not exist"):
        invoke(predictor, manifest(), "application/json")
    s3.upload_file(str(video), BUCKET, "uploads/job1/talk.mp4")
    s3.put_object(Bucket=BUCKET, Key="uploads/job1/talk.srt", Body=b"1\nnot a timing\nhi\n")
    with pytest.raises(InvalidInput, match=r"transcript 'talk.srt': SRT line 2"):
        body = manifest(transcript=f"s3://{BUCKET}/uploads/job1/talk.srt")
        inference.input_fn(body, "application/json")
    late = "1\n00:01:00,000 --> 00:01:02,000\ntoo late\n"
    s3.put_object(Bucket=BUCKET, Key="uploads/job1/late.srt", Body=late.encode())
    body = manifest(transcript=f"s3://{BUCKET}/uploads/job1/late.srt")
    with pytest.raises(InvalidInput, match="no cue of the transcript falls within the video"):
        invoke(predictor, body, "application/json")


def test_accept_types(predictor, video) -> None:
    request = inference.input_fn(video.read_bytes(), "video/mp4")
    prediction = inference.predict_fn(request, predictor)
    for accept in (None, "application/json", "text/html, application/json;q=0.9", "*/*"):
        assert json.loads(inference.output_fn(prediction, accept))["job_id"] == prediction.job_id
    with pytest.raises(InvalidInput, match="unsupported accept type 'text/csv'"):
        inference.output_fn(prediction, "text/csv")


def test_requests_the_endpoint_cannot_take(s3, predictor, video) -> None:
    with pytest.raises(InvalidInput, match="unsupported content type 'text/csv'"):
        inference.input_fn(b"a,b", "text/csv")
    with pytest.raises(InvalidInput, match="the request body is empty"):
        inference.input_fn(b"", "video/mp4")
    s3.upload_file(str(video), BUCKET, "uploads/job1/talk.mp4")
    with pytest.raises(InvalidInput, match="segmentation 'asr' was requested"):
        invoke(predictor, manifest(options={"segmentation": "asr"}), "application/json")
