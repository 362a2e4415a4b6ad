"""A local SageMaker asynchronous endpoint in front of the local model server.

It does what SageMaker's async front end does for an invocation: reads the input named by
InputLocation from S3, posts it to the container's POST /invocations, writes the response to
the output path (or the error body to the failure path) and publishes SageMaker's notification
to the success or error topic. Invocations wait in a queue worked by as many threads as the
endpoint config allows concurrent invocations per instance.

The queue outlives the process: the ledger records every accepted invocation in full, and a
restarted endpoint takes up those not yet processed. While the model server is down (it is
restarted by its supervisor), an invocation waits for it and is sent again, as SageMaker's
front end holds requests for a container that is being replaced; only after `retry_budget_s`
does it fail, as unavailable.
"""

from __future__ import annotations

import base64
import json
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from vs_common.keys import parse_s3_uri
from vsent.local.spec import ACCOUNT_ID, EndpointSpec

log = logging.getLogger(__name__)

_SEE_LOGS = (
    "See https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logEventViewer:"
    "group=/aws/sagemaker/Endpoints/{name} in account {account} for more information."
)


@dataclass(frozen=True)
class Invocation:
    """One accepted InvokeEndpointAsync call."""

    inference_id: str
    input_location: str | None
    body: bytes | None
    content_type: str
    accept: str | None
    output_location: str
    failure_location: str
    received_time: str
    timeout_s: int


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _join(prefix: str, name: str) -> str:
    return prefix.rstrip("/") + "/" + name


class Ledger:
    """An append-only JSON-lines record of invocations, so tests and users can count them."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()

    def append(self, event: str, **fields: Any) -> None:
        """Record one event."""
        line = json.dumps({"event": event, "time": _now(), **fields})
        with self._lock, self._path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    def _entries(self) -> list[dict[str, Any]]:
        # A torn last line (a stop mid-write) is skipped.
        with self._lock:
            lines = self._path.read_text(encoding="utf-8").splitlines()
        entries = []
        for line in lines:
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue
        return entries

    def counts(self, event: str) -> Counter[str]:
        """How often each job (inference id) has had ``event`` ("invoked", "processed")."""
        return Counter(e.get("inference_id") for e in self._entries() if e.get("event") == event)

    def pending(self) -> list[Invocation]:
        """Invocations accepted, not yet processed, oldest first."""
        waiting: dict[str, Invocation] = {}
        for entry in self._entries():
            if entry.get("event") == "invoked" and "invocation" in entry:
                invocation = dict(entry["invocation"])
                body = invocation.pop("body_b64", None)
                invocation["body"] = base64.b64decode(body) if body is not None else None
                waiting[entry["inference_id"]] = Invocation(**invocation)
            elif entry.get("event") == "processed":
                waiting.pop(entry.get("inference_id"), None)
        return list(waiting.values())


class ModelUnavailable(RuntimeError):
    """The model server did not answer within the endpoint's retry budget."""


class Interrupted(RuntimeError):
    """The endpoint is stopping; the invocation stays pending for the next start."""


class AsyncEndpoint:
    """The endpoint's queue, its workers and the SageMaker side effects of each invocation."""

    def __init__(
        self,
        spec: EndpointSpec,
        region: str,
        s3: Any,
        sns: Any,
        model_url: str,
        ledger: Ledger,
        wait_ready: Callable[[float], bool],
        retry_budget_s: float = 600.0,
    ) -> None:
        self.spec = spec
        self._region = region
        self._s3 = s3
        self._sns = sns
        self._model_url = model_url.rstrip("/")
        self._ledger = ledger
        self._wait_ready = wait_ready
        self._retry_budget_s = retry_budget_s
        self._stopping = threading.Event()
        self._queue: queue.Queue[Invocation | None] = queue.Queue()
        self._workers = [
            threading.Thread(target=self._work, name=f"endpoint-{index}", daemon=True)
            for index in range(max(1, spec.max_concurrent_invocations))
        ]

    def start(self) -> int:
        """Take up the invocations a previous run left pending, start the workers; how many."""
        pending = self._ledger.pending()
        for invocation in pending:
            self._ledger.append("resumed", inference_id=invocation.inference_id)
            self._queue.put(invocation)
        if pending:
            log.info("resuming %d invocation(s) accepted before the last stop", len(pending))
        for worker in self._workers:
            worker.start()
        return len(pending)

    def stop(self, grace_s: float = 20.0) -> None:
        """Give the workers `grace_s` to finish what they hold; whatever is left, waiting or
        cut off, stays pending in the ledger and runs again at the next start."""
        self._stopping.set()
        for _ in self._workers:
            self._queue.put(None)
        deadline = time.monotonic() + grace_s
        for worker in self._workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        busy = sum(worker.is_alive() for worker in self._workers)
        if busy:
            log.warning(
                "%d invocation(s) cut off by the stop; they run again at the next start", busy
            )

    def accept(
        self,
        inference_id: str,
        input_location: str | None,
        body: bytes | None,
        content_type: str,
        accept: str | None,
        timeout_s: int,
    ) -> Invocation:
        """Queue an invocation; returns where its output or failure will be written."""
        invocation = Invocation(
            inference_id=inference_id,
            input_location=input_location,
            body=body,
            content_type=content_type,
            accept=accept,
            output_location=_join(self.spec.output_path, f"{inference_id}.out"),
            failure_location=_join(self.spec.failure_path, f"{inference_id}-error.out"),
            received_time=_now(),
            timeout_s=timeout_s,
        )
        record = asdict(invocation)
        body = record.pop("body")
        record["body_b64"] = base64.b64encode(body).decode() if body is not None else None
        self._ledger.append(
            "invoked", inference_id=inference_id, input=input_location, invocation=record
        )
        self._queue.put(invocation)
        return invocation

    def _work(self) -> None:
        while (invocation := self._queue.get()) is not None:
            if self._stopping.is_set():
                return
            try:
                self._process(invocation)
            except Interrupted:
                return
            except Exception:  # one broken invocation must not stop the endpoint
                log.exception("invocation %s", invocation.inference_id)

    def _post(self, invocation: Invocation, payload: bytes) -> requests.Response:
        """POST to the container, waiting out its restarts within the retry budget."""
        deadline = time.monotonic() + self._retry_budget_s
        attempt = 0
        while True:
            attempt += 1
            try:
                response = requests.post(
                    f"{self._model_url}/invocations",
                    data=payload,
                    headers={
                        "Content-Type": invocation.content_type,
                        "Accept": invocation.accept or "application/json",
                    },
                    timeout=invocation.timeout_s,
                )
                if response.status_code not in (502, 503, 504):
                    return response
                problem = f"it answered {response.status_code}"
            except requests.ConnectionError as exc:
                problem = f"no connection ({type(exc).__name__})"
            left = deadline - time.monotonic()
            if left <= 0:
                raise ModelUnavailable(f"{problem}, for {self._retry_budget_s:.0f} s")
            log.warning(
                "invocation %s: the model server is unavailable (%s); sending it again once the"
                " server is back (attempt %d)",
                invocation.inference_id,
                problem,
                attempt,
            )
            self._wait_ready(min(left, 60.0))
            if self._stopping.wait(min(0.5 * attempt, 5.0)):
                raise Interrupted(invocation.inference_id)

    def _process(self, invocation: Invocation) -> None:
        started = time.monotonic()
        try:
            payload = self._input(invocation)
            response = self._post(invocation, payload)
        except ModelUnavailable as exc:
            log.error("invocation %s failed: the model server was unavailable: %s",
                      invocation.inference_id, exc)  # fmt: skip
            self._fail(
                invocation,
                f"ServiceUnavailable: the model container was unavailable ({exc})",
                str(exc).encode(),
            )
            self._ledger.append("processed", inference_id=invocation.inference_id, status=503)
            return
        except (requests.RequestException, ValueError) as exc:
            self._fail(invocation, f"ClientError: {exc}", str(exc).encode())
            self._ledger.append("processed", inference_id=invocation.inference_id, status=None)
            return
        if response.ok:
            bucket, key = parse_s3_uri(invocation.output_location)
            content_type = response.headers.get("Content-Type", "application/json")
            self._s3.put_object(
                Bucket=bucket, Key=key, Body=response.content, ContentType=content_type
            )
            self._notify(invocation, "Completed", {"outputLocation": invocation.output_location})
        else:
            kind = "client" if response.status_code < 500 else "server"
            reason = (
                f"ClientError: Received {kind} error ({response.status_code}) from primary with "
                f'message "{response.text}". '
                + _SEE_LOGS.format(region=self._region, name=self.spec.name, account=ACCOUNT_ID)
            )
            self._fail(invocation, reason, response.content)
        self._ledger.append(
            "processed",
            inference_id=invocation.inference_id,
            status=response.status_code,
            seconds=round(time.monotonic() - started, 3),
        )

    def _input(self, invocation: Invocation) -> bytes:
        if invocation.body is not None:
            return invocation.body
        bucket, key = parse_s3_uri(invocation.input_location or "")
        return self._s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    def _fail(self, invocation: Invocation, reason: str, body: bytes) -> None:
        bucket, key = parse_s3_uri(invocation.failure_location)
        self._s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/plain")
        self._notify(invocation, "Failed", {"failureLocation": invocation.failure_location}, reason)

    def _notify(
        self,
        invocation: Invocation,
        status: str,
        response_parameters: dict[str, str],
        failure_reason: str | None = None,
    ) -> None:
        topic = self.spec.success_topic_arn if status == "Completed" else self.spec.error_topic_arn
        if not topic:
            return
        request_parameters = {
            "contentType": invocation.content_type,
            "endpointName": self.spec.name,
        }
        if invocation.input_location:
            request_parameters["inputLocation"] = invocation.input_location
        message: dict[str, Any] = {
            "awsRegion": self._region,
            "eventTime": _now(),
            "receivedTime": invocation.received_time,
            "invocationStatus": status,
            "requestParameters": request_parameters,
            "responseParameters": {"contentType": "application/json", **response_parameters},
            "inferenceId": invocation.inference_id,
            "eventVersion": "1.0",
            "eventSource": "aws:sagemaker",
            "eventName": "InferenceResult",
        }
        if failure_reason is not None:
            message["failureReason"] = failure_reason
        self._sns.publish(TopicArn=topic, Message=json.dumps(message))
