"""What one page has received so far, and the scene model of the best complete level in it."""
from __future__ import annotations

import threading
from typing import Any

from ..codec.levels_frame import is_layered


class Session:
    """Bytes a page has echoed back; decodes each newly completed level once (coarse first)."""

    def __init__(self, total: int, base: bytes | None) -> None:
        self.total, self.base = total, base
        self.received = bytearray()
        self.ends: list[int] = []
        self.models: dict[int, Any] = {}
        self.camera: dict = {}
        self.lock = threading.Lock()

    def append(self, data: bytes) -> dict:
        with self.lock:
            if len(self.received) + len(data) > self.total:
                raise ValueError("more bytes than the stream has")
            self.received += data
            self._update()
            return self.status()

    def _update(self) -> None:
        from ..scene.levels import complete_levels, decode_scene_level, layered_scene_header

        data = bytes(self.received)
        if is_layered(data):
            ends = complete_levels(data)
            for k in range(len(self.ends), len(ends)):
                self.models[k] = decode_scene_level(data[:ends[k]], k)
                self.camera = layered_scene_header(data[:ends[0]]).get("camera") or {}
            self.ends = ends
        elif len(data) == self.total and not self.ends:
            from ..scene.stream import decode_scene, scene_header

            if self.base is None:
                self.models[0] = decode_scene(data)
                self.camera = scene_header(data).get("camera") or {}
            else:
                from ..scene.pack import decode_pack_scene

                self.models[0] = decode_pack_scene(self.base, data)
                self.camera = scene_header(data).get("camera") or {}
            self.ends = [len(data)]

    def status(self) -> dict:
        return {"bytes": len(self.received), "total": self.total, "levels": list(self.ends),
                "level": len(self.ends) - 1}
