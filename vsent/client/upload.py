"""A multipart/form-data body for S3's presigned POST, streamed from disk with progress."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO


class MultipartBody:
    """Form fields, then the file, read lazily so a large video is never held in memory.

    It has a length and a position, so requests sends Content-Length rather than chunks
    (S3 refuses chunked POST uploads).
    """

    def __init__(
        self,
        fields: dict[str, str],
        path: Path,
        progress: Callable[[int], None] | None = None,
        content_type: str = "application/octet-stream",
    ) -> None:
        boundary = uuid.uuid4().hex
        self.content_type = f"multipart/form-data; boundary={boundary}"
        head = io.StringIO()
        for name, value in fields.items():
            head.write(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            )
        file_type = fields.get("Content-Type", content_type)
        head.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{path.name}"\r\nContent-Type: {file_type}\r\n\r\n'
        )
        first = head.getvalue().encode("utf-8")
        last = f"\r\n--{boundary}--\r\n".encode()
        self._parts: list[IO[bytes]] = [io.BytesIO(first), path.open("rb"), io.BytesIO(last)]
        self._length = len(first) + path.stat().st_size + len(last)
        self._progress = progress
        self._position = 0

    def __len__(self) -> int:
        return self._length

    def tell(self) -> int:
        """Bytes read so far."""
        return self._position

    def read(self, size: int = -1) -> bytes:
        """The next bytes of the body, across its parts."""
        chunks = []
        wanted = size if size >= 0 else self._length
        while self._parts and wanted > 0:
            chunk = self._parts[0].read(wanted)
            if not chunk:
                self._parts.pop(0).close()
                continue
            chunks.append(chunk)
            wanted -= len(chunk)
        data = b"".join(chunks)
        self._position += len(data)
        if self._progress and data:
            self._progress(len(data))
        return data

    def close(self) -> None:
        """Close the file."""
        for part in self._parts:
            part.close()
        self._parts = []
