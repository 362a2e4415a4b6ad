"""Frame sampling: which instants of each time window the model sees, and their pictures.

Frames are converted (resized, rotated, cropped) only when a window samples them, and only the
current and previous decoded frame are held, so memory stays bounded on long videos.
"""

from __future__ import annotations

from collections.abc import Sequence

import av
import numpy as np

from vs_model.video_file import normal_rotation

Window = tuple[float, float]

# R3D-18's preset resizes to 128x171 before the 112x112 centre crop; keep those proportions.
_RESIZE_SHORT = 128 / 112
_RESIZE_LONG = 171 / 112


def check_windows(windows: Sequence[Window]) -> list[Window]:
    """The windows as float pairs clipped at zero; ValueError for one that ends before it starts."""
    checked = []
    for start, end in windows:
        if end < start:
            raise ValueError(f"window ends before it starts: ({start}, {end})")
        checked.append((max(0.0, float(start)), max(0.0, float(end))))
    return checked


def sample_times(windows: Sequence[Window], n_frames: int) -> list[float]:
    """Every sampled time: the middle of each of a window's ``n_frames`` equal shares."""
    return [
        start + (k + 0.5) * (end - start) / n_frames
        for start, end in windows
        for k in range(n_frames)
    ]


class FrameSampler:
    """Collects, during one decode pass, `n_frames` evenly spaced frames for every window."""

    def __init__(self, windows: Sequence[Window], n_frames: int, size: int, origin: float) -> None:
        self.size = size
        self.origin = origin
        self.out = np.zeros((len(windows), n_frames, 3, size, size), dtype=np.uint8)
        # Each slot shows the frame on screen at the middle of its 1/n_frames share of the window.
        times = sample_times(windows, n_frames)
        self.targets = sorted((t, i // n_frames, i % n_frames) for i, t in enumerate(times))
        self.next = 0
        self.index = 0
        self.previous: av.VideoFrame | None = None
        self.previous_image: np.ndarray | None = None
        self.rotation = 0
        self.frames_seen = 0

    @property
    def done(self) -> bool:
        """Whether every slot has its frame."""
        return self.next >= len(self.targets)

    def feed(self, frame: av.VideoFrame, fps: float, time_base: float) -> None:
        """Take the next decoded frame, in display order, and fill the slots it ends."""
        if self.frames_seen == 0:
            self.rotation = normal_rotation(frame.rotation)
        self.frames_seen += 1
        # Frames without a timestamp are placed by their index at the stream's rate. The stream's
        # time base, not the frame's: frames drained from the decoder at the end carry none.
        if frame.pts is not None and time_base:
            t = frame.pts * time_base - self.origin
        else:
            t = self.index / (fps or 1.0)
        self.index += 1
        while not self.done and self.targets[self.next][0] < t:
            # A target before the very first frame gets that first frame.
            image = self._image_of_previous() if self.previous is not None else self._convert(frame)
            self._fill(image)
        self.previous, self.previous_image = frame, None

    def finish(self) -> np.ndarray:
        """uint8 [windows, n_frames, 3, size, size], once the pass has fed every frame."""
        # Windows past the end of the video (or a clip shorter than them) repeat the last frame.
        if not self.done and self.previous is not None:
            image = self._image_of_previous()
            while not self.done:
                self._fill(image)
        return self.out

    def _fill(self, image: np.ndarray) -> None:
        _, w, k = self.targets[self.next]
        self.out[w, k] = image
        self.next += 1

    def _image_of_previous(self) -> np.ndarray:
        if self.previous_image is None:
            assert self.previous is not None
            self.previous_image = self._convert(self.previous)
        return self.previous_image

    def _convert(self, frame: av.VideoFrame) -> np.ndarray:
        """Resize (swscale), rotate for display and centre-crop one frame to [3, size, size]."""
        short, long = round(self.size * _RESIZE_SHORT), round(self.size * _RESIZE_LONG)
        quarter_turns = self.rotation // 90
        display_w, display_h = frame.width, frame.height
        if quarter_turns % 2:
            display_w, display_h = display_h, display_w
        out_w, out_h = (long, short) if display_w >= display_h else (short, long)
        coded_w, coded_h = (out_h, out_w) if quarter_turns % 2 else (out_w, out_h)
        rgb = frame.reformat(width=coded_w, height=coded_h, format="rgb24").to_ndarray()
        if quarter_turns:
            rgb = np.rot90(rgb, k=quarter_turns)
        top, left = (out_h - self.size) // 2, (out_w - self.size) // 2
        crop = rgb[top : top + self.size, left : left + self.size]
        return np.ascontiguousarray(crop.transpose(2, 0, 1))
