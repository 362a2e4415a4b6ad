"""The real Lambda handlers of functions/*/app.py, loaded by path and invoked like Lambda does."""

from __future__ import annotations

import importlib.util
import queue
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from vsent.local.spec import ACCOUNT_ID, FunctionSpec

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that Powertools and handlers read."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    timeout_s: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's timeout."""
        return max(0, int((self.timeout_s - (time.monotonic() - self.started)) * 1000))


class LocalFunction:
    """One function of the template with a pool of execution environments.

    Lambda never runs two invocations at once in one environment, and handlers rely on that
    (Powertools' resolver and batch processor keep per-invocation state in module globals).
    So each environment is its own import of the handler module, used by one call at a time;
    concurrent calls take different environments, as concurrent Lambda invocations do.
    """

    def __init__(self, spec: FunctionSpec, region: str, environments: int = 2) -> None:
        self.spec = spec
        self._region = region
        self._free: queue.Queue[Handler] = queue.Queue()
        for index in range(environments):
            self._free.put(_load_handler(spec, index))
        self._lock = threading.Lock()
        self.invocations = 0

    def invoke(self, event: dict[str, Any]) -> Any:
        """Call the handler with a fresh context; exceptions propagate like a failed invoke."""
        with self._lock:
            self.invocations += 1
        context = LambdaContext(
            function_name=self.spec.name,
            memory_limit_in_mb=self.spec.memory_mb,
            invoked_function_arn=(
                f"arn:aws:lambda:{self._region}:{ACCOUNT_ID}:function:{self.spec.name}"
            ),
            timeout_s=self.spec.timeout_s,
            log_group_name=f"/aws/lambda/{self.spec.name}",
        )
        handler = self._free.get()
        try:
            return handler(event, context)
        finally:
            self._free.put(handler)


def _load_handler(spec: FunctionSpec, environment: int) -> Handler:
    """Import `app.py` of the function's CodeUri under a unique module name.

    Every function has a module called `app`; a unique name keeps them apart in one process.
    The function's folder is on sys.path while it imports, as it is in the Lambda runtime, so
    the modules beside app.py import by their plain names: once per process, shared by every
    environment, which is why they hold no settings or clients of their own.
    """
    module_name, _, attribute = spec.handler.rpartition(".")
    path = spec.code_uri / f"{module_name.replace('.', '/')}.py"
    if not path.is_file():
        raise FileNotFoundError(f"{spec.logical_id}: handler file {path} does not exist")
    unique = f"vsent_local_{spec.logical_id}_{environment}_{module_name.replace('.', '_')}"
    module_spec = importlib.util.spec_from_file_location(unique, path)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module: ModuleType = importlib.util.module_from_spec(module_spec)
    sys.path.insert(0, str(spec.code_uri))
    try:
        sys.modules[unique] = module
        module_spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(spec.code_uri))
    return getattr(module, attribute)
