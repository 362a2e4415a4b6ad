"""The local stack's AWS (a moto server) kept across restarts, with DynamoDB's atomicity.

moto keeps everything in memory. The server here snapshots the state of the services the
stack uses into the state folder: when it stops, and every few seconds while it runs (only
after a request that may have changed something). A restart with the same folder loads the
snapshot before serving, so jobs, results, videos, messages waiting in queues and API keys
(with their ids) come back; a crash of the stack process loses at most the last interval.

Every request passes a gate: many at once, but none while a snapshot is taken, so a snapshot
is one consistent instant across services. DynamoDB requests also run one at a time, because
moto does not make a conditional write atomic as DynamoDB does, and the claim that keeps a
job from being invoked twice depends on that.
"""

from __future__ import annotations

import logging
import os
import pickle
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from moto.backends import get_backend
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

from vsent.local.spec import ACCOUNT_ID

log = logging.getLogger(__name__)

SERVICES = ("s3", "sqs", "sns", "dynamodb", "apigateway", "cognito-idp")
SNAPSHOT_FILE = "aws-state.pickle"
_READ_METHODS = ("GET", "HEAD", "OPTIONS")
_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


def _private_key(pem: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def _public_key(pem: bytes) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem)
    assert isinstance(key, rsa.RSAPublicKey)
    return key


class SavedStateError(RuntimeError):
    """The snapshot in the state folder cannot be loaded."""


class _Pickler(pickle.Pickler):
    """Pickles moto's backends: locks come back new and unlocked, keys (Cognito's token
    signing keys) through PEM."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, rsa.RSAPrivateKey):
            pem = obj.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            return _private_key, (pem,)
        if isinstance(obj, rsa.RSAPublicKey):
            pem = obj.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            return _public_key, (pem,)
        if isinstance(obj, _LOCK_TYPES):
            return type(obj), ()
        if isinstance(obj, threading.Condition):
            return threading.Condition, ()
        return NotImplemented


class Gate:
    """A readers-writer lock that lets a waiting writer in first (a snapshot never starves)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0

    @contextmanager
    def shared(self) -> Iterator[None]:
        """Held by each request."""
        with self._cond:
            self._cond.wait_for(lambda: not self._writing and not self._writers_waiting)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Held while a snapshot is taken."""
        with self._cond:
            self._writers_waiting += 1
            self._cond.wait_for(lambda: not self._writing and self._readers == 0)
            self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


class GatedApp:
    """WSGI middleware: the gate for every request, one DynamoDB request at a time."""

    def __init__(self, app: Callable[..., Iterable[bytes]], gate: Gate) -> None:
        self._app = app
        self._gate = gate
        self._dynamodb = threading.Lock()
        self.changes = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        with self._gate.shared():
            if environ.get("REQUEST_METHOD", "GET") not in _READ_METHODS:
                self.changes += 1
            if target.startswith("DynamoDB_"):
                with self._dynamodb:
                    return self._drain(environ, start_response)
            return self._drain(environ, start_response)

    def _drain(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        # The whole response is produced inside the gate, not while the server writes it out.
        result = self._app(environ, start_response)
        try:
            return [b"".join(result)]
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()


class PersistentMotoServer(ThreadedMotoServer):
    """A moto server on 127.0.0.1 whose state lives in `state_dir` across restarts."""

    def __init__(self, state_dir: Path, interval_s: float = 5.0) -> None:
        super().__init__(ip_address="127.0.0.1", port=0, verbose=False)
        self.path = state_dir / SNAPSHOT_FILE
        self._interval_s = interval_s
        self._gate = Gate()
        self._app: GatedApp | None = None
        self._saved_changes = 0
        self._stop = threading.Event()
        self._saver = threading.Thread(
            target=self._save_periodically, name="aws-state", daemon=True
        )
        self.restored = False
        self.last_snapshot: dict[str, float] = {}

    def _server_entry(self) -> None:
        self._app = GatedApp(DomainDispatcherApplication(create_backend_app), self._gate)
        self._server = make_server(
            self._ip_address, self._port, self._app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()

    def start(self) -> None:
        """Load the last snapshot (if any), then serve and keep snapshotting."""
        self.restored = self._restore()
        super().start()
        self._saver.start()

    def stop(self) -> None:
        """Stop serving, then write the final snapshot."""
        self._stop.set()
        self._saver.join()
        super().stop()
        self.snapshot()

    def snapshot(self) -> None:
        """Write the state of every service, atomically (a reader sees the old or the new)."""
        started = time.monotonic()
        staged = self.path.with_suffix(".tmp")
        with self._gate.exclusive():
            changes = self._app.changes if self._app else 0
            state = {
                service: dict(get_backend(service)[ACCOUNT_ID].items()) for service in SERVICES
            }
            with staged.open("wb") as handle:
                _Pickler(handle, protocol=pickle.HIGHEST_PROTOCOL).dump(state)
                handle.flush()
                os.fsync(handle.fileno())
        staged.replace(self.path)
        self._saved_changes = changes
        self.last_snapshot = {
            "seconds": round(time.monotonic() - started, 4),
            "bytes": float(self.path.stat().st_size),
        }

    def _save_periodically(self) -> None:
        while not self._stop.wait(self._interval_s):
            if self._app is None or self._app.changes == self._saved_changes:
                continue
            try:
                self.snapshot()
            except Exception:  # the next interval tries again; the last good file stays
                log.exception("could not snapshot the local AWS state to %s", self.path)

    def _restore(self) -> bool:
        if not self.path.is_file():
            return False
        started = time.monotonic()
        try:
            with self.path.open("rb") as handle:
                state: dict[str, dict[str, Any]] = pickle.load(handle)
        except Exception as exc:  # a snapshot of another moto version, or a damaged file
            raise SavedStateError(
                f"cannot read the saved local AWS state {self.path} ({exc}); move it away to "
                "start with an empty stack"
            ) from exc
        for service, regions in state.items():
            account = get_backend(service)[ACCOUNT_ID]
            for region, backend in regions.items():
                account[region] = backend
        # moto finds a bucket's account in a registry beside the backends.
        s3_backends = get_backend("s3")
        for backend in state.get("s3", {}).values():
            for name in backend.buckets:
                s3_backends.bucket_accounts[name] = (backend.partition, ACCOUNT_ID)
        # Whoever had received a message before the stop is gone: deliver it again now.
        for backend in state.get("sqs", {}).values():
            for queue in backend.queues.values():
                for message in queue._messages:
                    message.visible_at = 0.0
        log.info(
            "local AWS state restored from %s (%d bytes, %.2f s)",
            self.path,
            self.path.stat().st_size,
            time.monotonic() - started,
        )
        return True
