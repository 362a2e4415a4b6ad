"""What a person does with the page, in Chromium against a local stack: sign up and in, upload
a video watching the progress bar, read the finished job beside its video, make and revoke an
API key, and not see another user's videos. One uploaded job is shared by the module's tests,
which run in file order (deleting it comes last)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from browser_support import DESKTOP, PHONE
from playwright.sync_api import Browser, BrowserContext, Page, expect

from vsent.local.users import new_password, sign_up
from vsent.local_info import StackInfo

UPLOAD_BYTES_PER_S = 256 * 1024
COMPLETED_TIMEOUT_MS = 180_000


@dataclass(frozen=True)
class Account:
    email: str
    password: str


def _account(stack: StackInfo) -> Account:
    """A confirmed user of the local pool (signed up as the page does)."""
    email = f"user-{uuid.uuid4().hex[:8]}@example.com"
    password = new_password()
    sign_up(
        stack.aws_client("cognito-idp"),
        stack.user_pool_id,
        stack.user_pool_client_id,
        email,
        password,
    )
    return Account(email, password)


def sign_in(page: Page, stack: StackInfo, account: Account) -> None:
    """Sign in through the page's form."""
    page.goto(f"{stack.web_url}#/signin")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your videos")).to_be_visible()


def id_token(page: Page) -> str:
    """The signed-in user's ID token, as the page keeps it."""
    return page.evaluate("JSON.parse(sessionStorage.getItem('vsent.tokens')).idToken")


def _percent(p: float) -> str:
    """As the page writes a probability (JavaScript's Math.round: halves round up)."""
    return f"{int(p * 100 + 0.5)}%"


def api_get(stack: StackInfo, path: str, token: str) -> requests.Response:
    return requests.get(
        f"{stack.api_url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


@dataclass
class Upload:
    """The shared job: who made it, in which page, what the progress bar showed."""

    account: Account
    context: BrowserContext
    page: Page
    job_id: str
    progress_seen: list[int]


@pytest.fixture(scope="module")
def upload(
    browser: Browser, web_stack: StackInfo, sample_video: tuple[Path, Path]
) -> Iterator[Upload]:
    """A user uploads the sample video and its transcript through the page, with the upload
    throttled so the progress bar is seen moving, and waits for the job to complete."""
    account = _account(web_stack)
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(15_000)
    page = context.new_page()
    sign_in(page, web_stack, account)
    video, transcript = sample_video
    page.set_input_files("#video-file", str(video))
    page.set_input_files("#transcript-file", str(transcript))
    expect(page.locator("#chosen")).to_contain_text("talk.mp4 (12 s)")
    expect(page.get_by_role("button", name="Upload and analyse")).to_be_enabled()

    network = context.new_cdp_session(page)
    network.send("Network.enable")
    network.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 0,
            "downloadThroughput": -1,
            "uploadThroughput": UPLOAD_BYTES_PER_S,
        },
    )
    page.get_by_role("button", name="Upload and analyse").click()
    progress = page.locator("#upload-progress")
    seen: list[int] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        value = int(progress.evaluate("bar => bar.hidden ? -1 : bar.value"))
        if value >= 0 and (not seen or value != seen[-1]):
            seen.append(value)
        if value == 100:
            break
        time.sleep(0.05)
    network.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    expect(page.locator("#upload-status")).to_contain_text("Uploaded talk.mp4")
    job_link = page.locator("#upload-status a")
    job_id = job_link.get_attribute("href").rsplit("/", 1)[1]
    row = page.locator(f"tr[data-job-id='{job_id}']")
    expect(row).to_have_attribute("data-status", "COMPLETED", timeout=COMPLETED_TIMEOUT_MS)
    yield Upload(account, context, page, job_id, seen)
    context.close()


def test_sign_up_confirm_and_sign_in(page: Page, web_stack: StackInfo) -> None:
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    password = new_password()
    page.goto(f"{web_stack.web_url}#/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Confirm your account")).to_be_visible()
    page.get_by_label("Confirmation code").fill("123456")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value(email)
    page.get_by_label("Password").fill("Wrong-password-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your videos")).to_be_visible()
    expect(page.locator("#who")).to_have_text(email)
    expect(page.locator("#no-jobs")).to_be_visible()
    # Signing out forgets the tokens: the next visit lands on the form again.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(f"{web_stack.web_url}#/jobs")
    expect(page).to_have_url(f"{web_stack.web_url}#/signin")


def test_what_the_api_would_refuse_is_said_before_uploading(
    page: Page, web_stack: StackInfo, tmp_path: Path
) -> None:
    sign_in(page, web_stack, _account(web_stack))
    not_video = tmp_path / "notes.txt"
    not_video.write_text("hello", encoding="utf-8")
    page.set_input_files("#video-file", str(not_video))
    expect(page.locator("#upload-message")).to_contain_text("is not a video")
    expect(page.get_by_role("button", name="Upload and analyse")).to_be_disabled()
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    page.set_input_files("#video-file", str(empty))
    expect(page.locator("#upload-message")).to_contain_text("is empty")
    expect(page.get_by_role("button", name="Upload and analyse")).to_be_disabled()


def test_upload_shows_its_progress_and_the_job_completes(upload: Upload) -> None:
    assert upload.progress_seen[-1] == 100
    partial = [value for value in upload.progress_seen if 0 < value < 100]
    assert len(partial) >= 2, f"the progress bar never moved: {upload.progress_seen}"
    assert partial == sorted(partial)
    row = upload.page.locator(f"tr[data-job-id='{upload.job_id}']")
    expect(row).to_contain_text("talk.mp4")
    expect(row).to_contain_text("completed")
    expect(row.locator("time")).to_be_visible()


def test_job_page_matches_the_api_result(upload: Upload, web_stack: StackInfo) -> None:
    page = upload.page
    page.goto(f"{web_stack.web_url}#/jobs/{upload.job_id}")
    expect(page.locator("#timeline")).to_be_visible()
    job = api_get(web_stack, f"/jobs/{upload.job_id}", id_token(page)).json()
    result = job["result"]
    utterances = result["utterances"]
    assert utterances, "the sample's transcript has utterances"

    emotion_bands = page.locator(".lane-emotion .band")
    sentiment_bands = page.locator(".lane-sentiment .band")
    expect(emotion_bands).to_have_count(len(utterances))
    expect(sentiment_bands).to_have_count(len(utterances))
    rows = page.locator("#utterances > tbody > tr")
    expect(rows).to_have_count(len(utterances))
    for index, utterance in enumerate(utterances):
        emotion = utterance["emotion"]["label"]
        sentiment = utterance["sentiment"]["label"]
        expect(emotion_bands.nth(index)).to_have_attribute("data-label", emotion)
        # The band carries its label as text, not colour alone.
        expect(emotion_bands.nth(index)).to_contain_text(emotion)
        expect(sentiment_bands.nth(index)).to_contain_text(sentiment)
        start = float(emotion_bands.nth(index).get_attribute("data-start"))
        assert start == pytest.approx(utterance["start_s"])
        row = rows.nth(index)
        expect(row.locator("td.text")).to_have_text(utterance["text"])
        confidence = _percent(utterance["emotion"]["confidence"])
        expect(row.locator(":scope > td").nth(2)).to_contain_text(f"{emotion} {confidence}")
        expect(row.locator(":scope > td").nth(3)).to_contain_text(sentiment)

    # The full 7 + 3 distributions on expand.
    first = rows.nth(0)
    first.locator(":scope > td").nth(2).locator("summary").click()
    emotion_scores = first.locator(":scope > td").nth(2).locator(".distribution tbody tr")
    expect(emotion_scores).to_have_count(7)
    for label, score in utterances[0]["emotion"]["scores"].items():
        expect(emotion_scores.filter(has_text=label)).to_contain_text(_percent(score))
    first.locator(":scope > td").nth(3).locator("summary").click()
    expect(first.locator(":scope > td").nth(3).locator(".distribution tbody tr")).to_have_count(3)

    expect(page.locator("#summary-text")).to_contain_text(f"{len(utterances)} utterances")
    expect(page.locator("#model-line")).to_contain_text(result["model"]["name"])
    expect(page.locator("#model-line")).to_contain_text("modalities:")
    assert result["model"]["demo"] is True
    expect(page.locator("#demo-label")).to_have_text("DEMO MODEL")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download result JSON").click()
    saved = Path(download.value.path()).read_text(encoding="utf-8")
    assert '"job_id": "' + upload.job_id + '"' in saved


def test_clicking_an_utterance_seeks_and_playing_highlights_it(
    upload: Upload, web_stack: StackInfo
) -> None:
    page = upload.page
    page.goto(f"{web_stack.web_url}#/jobs/{upload.job_id}")
    player = page.locator("#player")
    page.wait_for_function("document.getElementById('player').readyState >= 1")
    bands = page.locator(".lane-emotion .band")
    last = bands.count() - 1
    start = float(bands.nth(last).get_attribute("data-start"))
    bands.nth(last).click()
    assert player.evaluate("video => video.currentTime") == pytest.approx(start, abs=0.05)
    expect(bands.nth(last)).to_have_attribute("aria-current", "true")
    expect(page.locator("#utterances > tbody > tr").nth(last)).to_have_class("current")

    # The table's time buttons seek too, from the keyboard.
    first_time = page.locator("#utterances > tbody > tr").nth(0).get_by_role("button")
    first_time.focus()
    page.keyboard.press("Enter")
    first_start = float(bands.nth(0).get_attribute("data-start"))
    assert player.evaluate("video => video.currentTime") == pytest.approx(first_start, abs=0.05)

    # Playing moves the highlight with the video.
    player.evaluate("video => { video.muted = true; video.currentTime = 0; return video.play(); }")
    page.wait_for_function(
        "() => { const v = document.getElementById('player');"
        " const b = document.querySelector('.lane-emotion .band.current');"
        " return b && v.currentTime >= Number(b.dataset.start); }",
        timeout=15_000,
    )
    player.evaluate("video => video.pause()")


def test_job_page_screenshots_at_desktop_and_phone_width(
    upload: Upload, web_stack: StackInfo, browser: Browser, output_dir: Path
) -> None:
    page = upload.page
    page.goto(f"{web_stack.web_url}#/jobs/{upload.job_id}")
    page.wait_for_function("document.getElementById('player').readyState >= 2")
    page.locator("#utterances > tbody > tr").nth(1).locator("button").click()
    page.screenshot(path=str(output_dir / "job-page-desktop.png"), full_page=True)

    page.set_viewport_size(PHONE)
    try:
        # Nothing is wider than the phone's screen: no sideways scrolling.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page is {width} px wide at {PHONE['width']} px"
        expect(page.locator(".lane-emotion .band").first).to_be_visible()
        expect(page.get_by_role("button", name="Delete")).to_be_visible()
        page.screenshot(path=str(output_dir / "job-page-phone.png"), full_page=True)
    finally:
        page.set_viewport_size(DESKTOP)


def test_make_use_and_revoke_an_api_key(upload: Upload, web_stack: StackInfo) -> None:
    page = upload.page
    page.goto(f"{web_stack.web_url}#/keys")
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()
    expect(page.locator("#usage")).to_contain_text("requests a month")
    page.get_by_label("Name").fill("nightly batch")
    page.get_by_role("button", name="Create key").click()
    value = page.get_by_label("API key value").input_value()
    assert value
    row = page.locator("#keys-table tbody tr", has_text="nightly batch")
    expect(row).to_be_visible()
    key_id = row.get_attribute("data-key-id")
    # Never kept by the page: the value is only in the one-time field.
    stored = page.evaluate("JSON.stringify(sessionStorage) + JSON.stringify(localStorage)")
    assert value not in stored

    listed = requests.get(f"{web_stack.api_url}/jobs", headers={"x-api-key": value}, timeout=10)
    assert listed.status_code == 200
    assert upload.job_id in {job["job_id"] for job in listed.json()["jobs"]}
    page.reload()
    used = page.locator(f"#usage-table tr[data-key-id='{key_id}'] td").nth(1)
    expect(used).to_have_text("1")

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"#keys-table tr[data-key-id='{key_id}']").get_by_role("button").click()
    expect(page.locator(f"#keys-table tr[data-key-id='{key_id}']")).to_have_count(0)
    refused = requests.get(f"{web_stack.api_url}/jobs", headers={"x-api-key": value}, timeout=10)
    assert refused.status_code in (401, 403)


def test_a_second_user_cannot_see_the_first_users_jobs(
    upload: Upload, page: Page, web_stack: StackInfo
) -> None:
    sign_in(page, web_stack, _account(web_stack))
    expect(page.locator("#no-jobs")).to_be_visible()
    expect(page.locator(f"tr[data-job-id='{upload.job_id}']")).to_have_count(0)
    page.goto(f"{web_stack.web_url}#/jobs/{upload.job_id}")
    expect(page.get_by_role("heading", name="No such video")).to_be_visible()
    assert api_get(web_stack, f"/jobs/{upload.job_id}", id_token(page)).status_code == 404


def test_delete_a_job_after_confirming(upload: Upload, web_stack: StackInfo) -> None:
    page = upload.page
    page.goto(f"{web_stack.web_url}#/jobs/{upload.job_id}")
    page.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Keep it").click()
    expect(dialog).to_be_hidden()
    assert api_get(web_stack, f"/jobs/{upload.job_id}", id_token(page)).status_code == 200

    page.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page).to_have_url(f"{web_stack.web_url}#/jobs")
    expect(page.locator("#notice")).to_contain_text("Deleted talk.mp4")
    expect(page.locator(f"tr[data-job-id='{upload.job_id}']")).to_have_count(0)
    assert api_get(web_stack, f"/jobs/{upload.job_id}", id_token(page)).status_code == 404


def test_older_videos_are_a_click_away(page: Page, web_stack: StackInfo) -> None:
    sign_in(page, web_stack, _account(web_stack))
    token = id_token(page)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    created = []
    for index in range(51):
        body = {"filename": f"clip-{index:02d}.mp4", "content_type": "video/mp4", "size_bytes": 10}
        for _ in range(20):
            response = session.post(f"{web_stack.api_url}/uploads", json=body, timeout=10)
            if response.status_code != 429:
                break
            time.sleep(0.2)
        assert response.status_code == 201, response.text
        created.append(response.json()["job_id"])
    page.reload()
    rows = page.locator("#jobs-table > tbody > tr")
    expect(rows).to_have_count(50)
    # Newest first: the first video made is the one left for the next page.
    expect(rows.first).to_have_attribute("data-job-id", created[-1])
    page.get_by_role("button", name="Show older videos").click()
    expect(rows).to_have_count(51)
    expect(rows.last).to_have_attribute("data-job-id", created[0])
    expect(page.get_by_role("button", name="Show older videos")).to_have_count(0)
