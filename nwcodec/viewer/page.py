"""The viewer page: fetches the stream in chunks, echoes each chunk to the server, shows renders; drag to orbit,
wheel to zoom; each view comes as a quarter-size preview, then full size. ``window.viewer`` exposes the state (bytes, level, camera, last shown render) for tests."""

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>nwcodec view</title>
<style>body{font-family:sans-serif;background:#222;color:#eee;margin:1em}
#view{width:__DISPLAY__px;height:__DISPLAY__px;image-rendering:pixelated;cursor:grab;background:#000;display:block}
#bar{width:__DISPLAY__px;height:6px;background:#444}#fill{height:6px;width:0;background:#6c6}</style></head>
<body><h3>nwcodec view: __NAME__</h3>
<img id="view" draggable="false" alt="waiting for level 0">
<div id="bar"><div id="fill"></div></div>
<p id="status">connecting…</p>
<p>drag: orbit · wheel: zoom</p>
<canvas id="probe" style="display:none"></canvas>
<script>
const sid = Math.random().toString(36).slice(2);
const v = window.viewer = {sid: sid, bytes: 0, total: __TOTAL__, level: -1, levels: [], az: 30, el: 30,
  dist: __DIST__, renders: 0, shown: null, shownPixels: null, firstImageMs: null, t0: performance.now(), done: false};
const img = document.getElementById('view');
let inflight = false, again = false;
function status() {
  document.getElementById('fill').style.width = (100 * v.bytes / v.total) + '%';
  document.getElementById('status').textContent = 'bytes received: ' + v.bytes.toLocaleString() + ' / ' +
    v.total.toLocaleString() + ' · level ' + (v.level < 0 ? '–' : v.level) + ' of ' + v.levels.length +
    ' complete · az ' + v.az.toFixed(0) + '° el ' + v.el.toFixed(0) + '° dist ' + v.dist.toFixed(2);
}
let pending = null;
function render() {   // a quick quarter-size preview, then the full-size render of the same view
  if (v.level < 0) return;
  if (inflight) { again = true; return; }
  inflight = true;
  const full = pending !== null && pending.az === v.az.toFixed(2) && pending.el === v.el.toFixed(2) &&
    pending.dist === v.dist.toFixed(3) && pending.level === v.level;
  const q = {sid: sid, level: v.level, az: v.az.toFixed(2), el: v.el.toFixed(2), dist: v.dist.toFixed(3),
    px: full ? __SIZE__ : Math.max(16, Math.round(__SIZE__ / 4))};
  pending = full ? null : q;
  const url = '/render?' + new URLSearchParams(q).toString();
  const im = new Image();
  im.onload = () => {
    img.src = url;
    const c = document.getElementById('probe');
    c.width = im.naturalWidth; c.height = im.naturalHeight;
    const g = c.getContext('2d'); g.drawImage(im, 0, 0);
    v.shownPixels = c.toDataURL('image/png');
    v.shown = q; v.renders += 1;
    if (v.firstImageMs === null) v.firstImageMs = performance.now() - v.t0;
    inflight = false;
    if (again) { again = false; render(); } else if (pending !== null) { render(); }
  };
  im.onerror = () => { inflight = false; };
  im.src = url;
}
async function stream() {
  const resp = await fetch('/stream');
  const reader = resp.body.getReader();
  for (;;) {
    const {done, value} = await reader.read();
    if (done) break;
    const r = await fetch('/append?sid=' + sid, {method: 'POST', body: value});
    const s = await r.json();
    v.bytes = s.bytes;
    v.levels = s.levels;
    if (s.level !== v.level) { v.level = s.level; render(); }
    status();
  }
  v.done = true; status();
}
let drag = null;
img.addEventListener('mousedown', e => { drag = [e.clientX, e.clientY]; e.preventDefault(); });
window.addEventListener('mouseup', () => { drag = null; });
window.addEventListener('mousemove', e => {
  if (!drag) return;
  v.az -= 0.5 * (e.clientX - drag[0]);
  v.el = Math.max(-85, Math.min(85, v.el + 0.5 * (e.clientY - drag[1])));
  drag = [e.clientX, e.clientY]; status(); render();
});
img.addEventListener('wheel', e => {
  v.dist = Math.max(1.5, Math.min(12, v.dist * Math.exp(0.001 * e.deltaY)));
  e.preventDefault(); status(); render();
}, {passive: false});
status(); stream();
</script></body></html>
"""
