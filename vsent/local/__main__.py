"""`python -m vsent.local`: run the local stack in this process until SIGTERM or SIGINT.

`vsent up`, `vsent demo` and the e2e tests start it as a child process (see process.py), so
the functions' environment and log output stay out of the caller's process.
"""

from __future__ import annotations

import argparse
import faulthandler
import logging
import signal
import sys
import threading
from pathlib import Path

from vsent.local.stack import LocalStack
from vsent.local_info import STACK_FILE
from vsent.paths import default_template


def main(argv: list[str] | None = None) -> int:
    """Start the stack, publish stack.json, wait for a signal, stop."""
    parser = argparse.ArgumentParser(prog="python -m vsent.local", description=__doc__)
    parser.add_argument("--model", type=Path, required=True, help="model folder or model.tar.gz")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--template", type=Path, default=default_template())
    parser.add_argument("--api-port", type=int, default=0)
    parser.add_argument("--web-port", type=int, default=0)
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args.state_dir.mkdir(parents=True, exist_ok=True)
    # `kill -USR1 <pid>` writes every thread's stack to the log: the way to see a stuck handler.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with (args.state_dir / "model-server.log").open("ab") as model_log:
        stack = LocalStack(
            args.template,
            args.model,
            args.state_dir,
            model_log,
            args.api_port,
            args.region,
            args.web_port,
        )
        try:
            info = stack.start()
            info.write()
            logging.getLogger("vsent.local").info("local stack ready: %s", info.api_url)
            stop.wait()
        finally:
            (args.state_dir / STACK_FILE).unlink(missing_ok=True)
            stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
