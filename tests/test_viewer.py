"""``nwcodec view`` in headless Chromium: the page streams the committed layered scene in chunks, shows level 0
then the last level, orbits on a mouse drag, zooms on the wheel; every image it shows equals a server-side render
of that level and camera, decoded here from the file independently of the bytes the page echoed back."""
from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest

from tests.cdp import Browser, find_chromium

ROOT = Path(__file__).resolve().parents[1]
VECTOR = ROOT / "bitstreams" / "layered" / "scene.nwc"
EXE = find_chromium()
needs_browser = pytest.mark.skipif(EXE is None, reason="no chromium on PATH (Debian package `chromium`; `make test` "
                                                    "installs it when apt-get is available)")

STATE = "JSON.stringify({level: viewer.level, levels: viewer.levels, bytes: viewer.bytes, done: viewer.done, " \
        "renders: viewer.renders, shown: viewer.shown, first: viewer.firstImageMs, pixels: viewer.shownPixels})"


def _pixels(state: dict) -> np.ndarray:
    """The image the page showed, as it was when ``state`` was read (the same JS evaluation)."""
    import imageio.v3 as iio

    url = state["pixels"]
    return iio.imread(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))[..., :3]


def _expected(shown: dict) -> np.ndarray:
    from nwcodec.scene.levels import decode_scene_level, layered_scene_header
    from nwcodec.viewer.render import view_pixels

    data = VECTOR.read_bytes()
    model = decode_scene_level(data, int(shown["level"]))
    return view_pixels(model, layered_scene_header(data).get("camera") or {}, float(shown["az"]),
                       float(shown["el"]), float(shown["dist"]), int(shown["px"]))


def _state(b: Browser) -> dict:
    return json.loads(b.js(STATE))


@pytest.mark.slow
@needs_browser
def test_viewer_streams_levels_orbits_and_matches_server_renders() -> None:
    from nwcodec.viewer.server import start_viewer

    data = VECTOR.read_bytes()
    size = 64
    server, _ = start_viewer(data, name="scene.nwc", rate=1500, chunk=256, size=size)
    b = Browser(EXE)
    try:
        b.open(server.url)
        first = json.loads(b.wait("viewer.renders >= 1 && " + STATE))
        assert first["shown"]["level"] == 0 and not first["done"]      # level 0 shown before the end
        assert first["bytes"] < len(data)
        assert np.abs(_pixels(first).astype(int) - _expected(first["shown"])).max() <= 1
        last = json.loads(b.wait(f"viewer.done && viewer.shown && viewer.shown.level == viewer.levels.length - 1 && viewer.shown.px == {size}"
                                 f" && {STATE}"))
        assert last["bytes"] == len(data) and len(last["levels"]) == 3
        before = _pixels(last)
        assert np.abs(before.astype(int) - _expected(last["shown"])).max() <= 1
        box = b.js("(() => { const r = document.getElementById('view').getBoundingClientRect();"
                   " return [r.left + r.width / 2, r.top + r.height / 2]; })()")
        n = last["renders"]
        b.mouse("mousePressed", box[0], box[1], button="left", clickCount=1)
        for dx in range(10, 130, 10):
            b.mouse("mouseMoved", box[0] + dx, box[1] + dx / 4, button="left", buttons=1)
        b.mouse("mouseReleased", box[0] + 120, box[1] + 30, button="left", clickCount=1)
        orbit = json.loads(b.wait(f"viewer.renders > {n} && Math.abs(viewer.az - Number(viewer.shown.az)) < 0.01"
                                  f" && Math.abs(viewer.el - Number(viewer.shown.el)) < 0.01 && viewer.shown.px == {size} && " + STATE))
        assert float(orbit["shown"]["az"]) != float(last["shown"]["az"])
        after = _pixels(orbit)
        assert np.abs(after.astype(int) - before.astype(int)).mean() > 1.0      # the view changed
        assert np.abs(after.astype(int) - _expected(orbit["shown"])).max() <= 1
        m = orbit["renders"]
        b.mouse("mouseWheel", box[0], box[1], deltaX=0, deltaY=400)
        zoom = json.loads(b.wait(f"viewer.renders > {m} && Math.abs(viewer.dist - Number(viewer.shown.dist)) < 0.001"
                                 f" && viewer.shown.px == {size} && " + STATE))
        assert float(zoom["shown"]["dist"]) > float(orbit["shown"]["dist"])
        assert np.abs(_pixels(zoom).astype(int) - _expected(zoom["shown"])).max() <= 1
    finally:
        b.close()
        server.shutdown()
        server.server_close()


def test_view_command_serves_page_stream_and_refuses_early_renders() -> None:
    """``nwcodec view`` in a fresh process: page, the exact stream bytes, 409 for a level not yet echoed back."""
    import os
    import subprocess
    import sys
    import urllib.error
    import urllib.request

    proc = subprocess.Popen([sys.executable, "-m", "nwcodec", "view", str(VECTOR), "--port", "0", "--rate", "1e7"],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT,
                            env=dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1"))
    try:
        line = proc.stdout.readline()
        url = line.split()[2]
        assert url.startswith("http://127.0.0.1:")
        assert b"viewer" in urllib.request.urlopen(url, timeout=10).read()
        assert urllib.request.urlopen(url + "stream", timeout=10).read() == VECTOR.read_bytes()
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(url + "render?sid=x&level=0&az=0&el=30&dist=4", timeout=10)
        assert e.value.code == 409
        data = VECTOR.read_bytes()
        req = urllib.request.Request(url + "append?sid=x", data=data[:3000], method="POST")
        assert json.loads(urllib.request.urlopen(req, timeout=30).read())["level"] == 0
        png = urllib.request.urlopen(url + "render?sid=x&level=0&az=0&el=30&dist=4", timeout=30).read()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("files", [["scenes/demo_scene.nwc"], ["packs/scene_0.nwc", "packs/base.nwc"]])
def test_session_decodes_committed_single_level_scenes_when_complete(files: list[str]) -> None:
    """Plain (one-level) scene streams and pack scenes: nothing to show until the last byte, then one level
    that renders the same pixels as the scene decoded directly."""
    from nwcodec.scene.pack import decode_pack_scene
    from nwcodec.scene.stream import decode_scene
    from nwcodec.viewer.render import view_pixels
    from nwcodec.viewer.session import Session

    scene = (ROOT / "bitstreams" / files[0]).read_bytes()
    base = (ROOT / "bitstreams" / files[1]).read_bytes() if len(files) == 2 else None
    s = Session(len(scene), base)
    assert s.append(scene[:-1])["level"] == -1
    assert s.append(scene[-1:])["level"] == 0
    direct = decode_scene(scene) if base is None else decode_pack_scene(base, scene)
    assert np.array_equal(view_pixels(s.models[0], s.camera, 10, 20, 4.0, 24), view_pixels(direct, {}, 10, 20, 4.0, 24))
