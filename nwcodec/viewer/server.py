"""The viewer's HTTP server (stdlib ``http.server``, localhost only).

``GET /`` the page; ``GET /stream`` the ``.nwc`` bytes in chunks at a set rate (as a network would deliver them);
``POST /append?sid=`` the page echoes each chunk it received, so the server decodes exactly what the page holds;
``GET /render?sid=&level=&az=&el=&dist=&px=`` a PNG of that level from that orbit camera (409 before it arrived).
"""
from __future__ import annotations

import html
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from .page import PAGE
from .render import png_bytes, view_pixels
from .session import Session

MAX_SESSIONS = 64


class ViewerServer(ThreadingHTTPServer):
    """Serves one scene stream (and optional pack base) to any number of local pages."""

    daemon_threads = True

    def __init__(self, scene: bytes, base: bytes | None = None, *, name: str = "scene", host: str = "127.0.0.1",
                 port: int = 0, rate: float = 1e6, chunk: int = 4096, size: int = 128) -> None:
        super().__init__((host, port), _Handler)
        self.scene, self.base, self.name = scene, base, name
        self.rate, self.chunk, self.size = float(rate), int(chunk), int(size)
        self.sessions: dict[str, Session] = {}
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://{self.server_address[0]}:{self.server_address[1]}/"

    def session(self, sid: str, create: bool = False) -> Session | None:
        with self.lock:
            if sid not in self.sessions and create:
                if len(self.sessions) >= MAX_SESSIONS:
                    self.sessions.pop(next(iter(self.sessions)))
                self.sessions[sid] = Session(len(self.scene), self.base)
            return self.sessions.get(sid)


class _Handler(BaseHTTPRequestHandler):
    server: ViewerServer

    def log_message(self, *args) -> None:   # quiet
        pass

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (BrokenPipeError, ConnectionResetError):   # the page went away mid-response
            self.close_connection = True

    def _send(self, code: int, body: bytes, ctype: str, headers: dict | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/":
            s = self.server
            page = (PAGE.replace("__NAME__", html.escape(s.name)).replace("__TOTAL__", str(len(s.scene)))
                    .replace("__DIST__", "4.0").replace("__DISPLAY__", str(max(256, 2 * s.size))).replace("__SIZE__", str(s.size)))
            self._send(200, page.encode(), "text/html; charset=utf-8")
        elif url.path == "/stream":
            self._stream()
        elif url.path == "/render":
            self._render(q)
        else:
            self._send(404, b"not found", "text/plain")

    def _stream(self) -> None:
        s = self.server
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(s.scene)))
        self.end_headers()
        start = time.perf_counter()
        for pos in range(0, len(s.scene), s.chunk):
            part = s.scene[pos:pos + s.chunk]
            delay = start + (pos + len(part)) / s.rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            self.wfile.write(part)
            self.wfile.flush()

    def _render(self, q: dict) -> None:
        sess = self.server.session(q.get("sid", ""))
        try:
            level = int(q["level"])
            az, el, dist = float(q["az"]), float(q["el"]), float(q["dist"])
            px = min(max(int(q.get("px", self.server.size)), 16), self.server.size)
        except (KeyError, ValueError):
            self._send(400, b"bad parameters", "text/plain")
            return
        if sess is None or level not in sess.models:
            self._send(409, b"level not received yet", "text/plain")
            return
        pixels = view_pixels(sess.models[level], sess.camera, az, el, dist, px)
        self._send(200, png_bytes(pixels), "image/png", {"X-Level": str(level)})

    def do_POST(self) -> None:
        url = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        n = int(self.headers.get("Content-Length", "0"))
        if url.path != "/append" or not q.get("sid") or n > len(self.server.scene):
            self._send(400, b"bad request", "text/plain")
            return
        body = self.rfile.read(n)
        try:
            status = self.server.session(q["sid"], create=True).append(body)
        except Exception as exc:   # a decoding fault is reported to the page, never crashes the server
            self._send(422, json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode(), "application/json")
            return
        self._send(200, json.dumps(status).encode(), "application/json")


def start_viewer(scene: bytes, base: bytes | None = None, **kw) -> tuple[ViewerServer, threading.Thread]:
    """A running server in a daemon thread (``server.url``); ``server.shutdown()`` stops it."""
    server = ViewerServer(scene, base, **kw)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


def _is_delta(data: bytes) -> bool:
    from ..codec import parse

    try:
        return parse(data).base_sha256 is not None
    except Exception:
        return False


def view_command(streams: list[str], port: int = 8765, rate: float = 1e6, chunk: int = 4096, size: int = 128) -> None:
    """``nwcodec view SCENE.nwc [BASE.nwc]``: serve until interrupted."""
    from pathlib import Path

    from ..files import read_bytes
    from ..errors import InputError

    if len(streams) not in (1, 2):
        raise InputError(f"give SCENE.nwc or SCENE.nwc BASE.nwc, got {len(streams)} files")
    scene = read_bytes(streams[0])
    base = read_bytes(streams[1]) if len(streams) == 2 else None
    if base is not None and _is_delta(base) and not _is_delta(scene):   # given as BASE SCENE (as `render`)
        scene, base = base, scene
        streams = streams[::-1]
    server = ViewerServer(scene, base, name=Path(streams[0]).name, port=port, rate=rate, chunk=chunk, size=size)
    print(f"nwcodec view: {server.url} ({len(scene):,} bytes at {rate:,.0f} B/s; Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
