"""The running local stack's connection details, kept in its state folder as stack.json."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import boto3

STACK_FILE = "stack.json"
PID_FILE = "vsent-up.pid"
LOG_FILE = "stack.log"
LEDGER_FILE = "invocations.jsonl"
# The model server's current process (its supervisor restarts it under a new id).
MODEL_SERVER_PID_FILE = "model-server.pid"
# Credentials moto accepts; nothing in the local stack can reach AWS.
LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def local_session(region: str) -> boto3.session.Session:
    """A boto3 session with the local stack's credentials, which only its moto accepts."""
    return boto3.session.Session(
        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=region,
    )


@dataclass(frozen=True)
class StackInfo:
    """How to reach a running local stack, and what it serves."""

    api_url: str
    web_url: str
    # A ready user (signed up and confirmed) and an API key of theirs.
    api_key: str
    api_key_id: str
    user_email: str
    user_password: str
    user_pool_id: str
    user_pool_client_id: str
    # Cognito's endpoint: moto (the same as aws_endpoint_url).
    cognito_endpoint_url: str
    aws_endpoint_url: str
    sagemaker_runtime_url: str
    model_server_url: str
    region: str
    stack_name: str
    bucket: str
    endpoint_name: str
    model: str
    demo_model: bool
    pid: int
    state_dir: str

    def aws_client(self, service: str) -> Any:
        """A boto3 client of this stack's moto (S3, DynamoDB, SQS, Cognito …)."""
        return local_session(self.region).client(service, endpoint_url=self._endpoint(service))

    def aws_resource(self, service: str) -> Any:
        """A boto3 resource of this stack's moto (a DynamoDB table, say)."""
        return local_session(self.region).resource(service, endpoint_url=self._endpoint(service))

    def _endpoint(self, service: str) -> str:
        return self.cognito_endpoint_url if service == "cognito-idp" else self.aws_endpoint_url

    @property
    def ledger(self) -> Path:
        """The endpoint's invocation ledger (one JSON object a line)."""
        return Path(self.state_dir) / LEDGER_FILE

    def write(self) -> None:
        """Publish the details atomically (readers never see half a file)."""
        path = Path(self.state_dir) / STACK_FILE
        staged = path.with_suffix(".tmp")
        staged.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        staged.replace(path)

    @classmethod
    def read(cls, state_dir: Path) -> StackInfo | None:
        """The details of the stack whose state folder this is, if it is running."""
        path = state_dir / STACK_FILE
        try:
            info = cls(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None
        return info if process_alive(info.pid) else None


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
