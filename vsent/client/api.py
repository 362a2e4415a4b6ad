"""An HTTP client of the video-sentiment REST API (the same for a deployed and a local stack)."""

from __future__ import annotations

import mimetypes
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from vsent.client.upload import MultipartBody

RETRY_STATUSES = frozenset({429, 502, 503, 504})
TERMINAL_STATES = frozenset({"COMPLETED", "FAILED"})


class ApiError(RuntimeError):
    """The API answered with an error; `code` and `message` come from its JSON body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{message} (HTTP {status}, {code})")
        self.status = status
        self.code = code
        self.message = message


def video_content_type(path: Path) -> str:
    """The MIME type to declare for a video file."""
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed if guessed and guessed.startswith("video/") else "video/mp4"


def api_retry(retries: int = 5, backoff_s: float = 0.5) -> Retry:
    """Retry throttling and gateway errors with exponential backoff (at most 8 s apart, or what
    Retry-After asks). Every method is retried: a repeated POST /uploads at worst leaves an
    unused upload behind, which expires with the job table's TTL."""
    return Retry(
        status=retries,
        # Only answers are retried: an API that does not answer fails at once, not after backoff.
        connect=0,
        read=0,
        backoff_factor=backoff_s,
        backoff_max=8,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=None,
        # The last answer comes back as it is, so its JSON error body reaches ApiError.
        raise_on_status=False,
    )


class ApiClient:
    """Calls the API, retrying throttling and gateway errors.

    The caller is an API key (`x-api-key`), or `auth`: a signed-in user's token, or SigV4 for
    the operator, who reads the jobs of direct uploads on the operator routes.
    """

    def __init__(
        self,
        api_url: str,
        api_key: str | None = None,
        session: requests.Session | None = None,
        retry: Retry | None = None,
        timeout_s: float = 30,
        auth: requests.auth.AuthBase | None = None,
        operator: bool = False,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._session = session or requests.Session()
        if api_key:
            self._session.headers["x-api-key"] = api_key
        self._session.auth = auth
        self._jobs = "/operator/jobs" if operator else "/jobs"
        adapter = HTTPAdapter(max_retries=retry or api_retry())
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._timeout_s = timeout_s

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = self._session.request(
            method, f"{self.api_url}{path}", timeout=self._timeout_s, **kwargs
        )
        if response.status_code >= 400:
            raise _error_of(response)
        return response

    def create_upload(
        self,
        filename: str,
        content_type: str,
        size_bytes: int,
        transcript_filename: str | None = None,
    ) -> dict[str, Any]:
        """POST /uploads: a job id, its object key and a presigned POST for the video.

        With `transcript_filename`, also `transcript_upload`: a presigned POST for the sidecar.
        """
        body: dict[str, Any] = {
            "filename": filename,
            "content_type": content_type,
            "size_bytes": size_bytes,
        }
        if transcript_filename is not None:
            body["transcript_filename"] = transcript_filename
        return self._request("POST", "/uploads", json=body).json()

    def get_job(self, job_id: str) -> dict[str, Any]:
        """GET /jobs/{job_id}: the job, with its result once COMPLETED."""
        return self._request("GET", f"{self._jobs}/{job_id}").json()

    def list_jobs(self, limit: int = 20) -> Iterator[dict[str, Any]]:
        """The caller's jobs, newest first, following pagination."""
        token: str | None = None
        while True:
            params: dict[str, Any] = {"limit": limit}
            if token:
                params["next_token"] = token
            page = self._request("GET", self._jobs, params=params).json()
            yield from page["jobs"]
            token = page.get("next_token")
            if not token:
                return

    def find_by_key(self, key: str) -> list[dict[str, Any]]:
        """GET /jobs?key=: the job(s) of an object uploaded straight to S3."""
        return self._request("GET", self._jobs, params={"key": key}).json()["jobs"]

    def delete_job(self, job_id: str) -> None:
        """DELETE /jobs/{job_id}."""
        self._request("DELETE", f"/jobs/{job_id}")

    def create_key(self, name: str) -> dict[str, Any]:
        """POST /keys: a new API key of the signed-in user; its `value` is shown only now."""
        return self._request("POST", "/keys", json={"name": name}).json()

    def list_keys(self) -> list[dict[str, Any]]:
        """GET /keys: the caller's keys (ids and names)."""
        return self._request("GET", "/keys").json()["keys"]

    def revoke_key(self, key_id: str) -> None:
        """DELETE /keys/{key_id}: the key stops working at once; its jobs stay the user's."""
        self._request("DELETE", f"/keys/{key_id}")

    def usage(self) -> dict[str, Any]:
        """GET /usage: the usage plan's limits and this month's requests per key."""
        return self._request("GET", "/usage").json()

    def result(self, job: dict[str, Any]) -> dict[str, Any] | None:
        """The result document of a COMPLETED job, inline or from its presigned link."""
        if "result" in job:
            return job["result"]
        if "result_url" in job:
            response = requests.get(job["result_url"], timeout=self._timeout_s)
            response.raise_for_status()
            return response.json()
        return None

    def wait(
        self,
        job_id: str,
        on_change: Callable[[dict[str, Any]], None] | None = None,
        timeout_s: float = 1800,
        first_delay_s: float = 0.5,
        max_delay_s: float = 15,
    ) -> dict[str, Any]:
        """Poll the job with exponential backoff until it is COMPLETED or FAILED."""
        deadline = time.monotonic() + timeout_s
        delay, last_status = first_delay_s, None
        while True:
            job = self.get_job(job_id)
            if job["status"] != last_status:
                last_status = job["status"]
                delay = first_delay_s
                if on_change:
                    on_change(job)
            if job["status"] in TERMINAL_STATES:
                return job
            if time.monotonic() + delay > deadline:
                raise TimeoutError(f"job {job_id} is still {job['status']} after {timeout_s:.0f} s")
            time.sleep(delay)
            delay = min(delay * 2, max_delay_s)


def upload_presigned_post(
    upload: dict[str, Any], path: Path, progress: Callable[[int], None] | None = None
) -> None:
    """Send the file with a presigned POST (form fields, then the file), streaming it."""
    body = MultipartBody(upload["fields"], path, progress)
    response = requests.post(
        upload["url"],
        data=body,
        headers={"Content-Type": body.content_type, "Content-Length": str(len(body))},
        timeout=None,
    )
    if response.status_code >= 300:
        raise ApiError(response.status_code, "upload_failed", _s3_message(response.text))


def _s3_message(text: str) -> str:
    start, end = text.find("<Message>"), text.find("</Message>")
    if start >= 0 and end > start:
        return "the upload was refused: " + text[start + len("<Message>") : end]
    return "the upload was refused: " + (text.strip()[:300] or "no reason given")


def _error_of(response: requests.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        return ApiError(response.status_code, "http_error", response.text.strip()[:300])
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return ApiError(response.status_code, error.get("code", "error"), error.get("message", ""))
    message = body.get("message", "") if isinstance(body, dict) else str(body)
    return ApiError(response.status_code, "http_error", message)
