"""Decode and render scene streams in a fresh Python process (the receiver side of a bit-exactness check:
nothing decoded or built in the test's own process can leak into the result)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

_SCRIPT = r'''
import sys
import numpy as np
import torch
torch.set_num_threads(1)
import nwcodec
from nwcodec.nerf.rays import get_rays
from nwcodec.scene.pack import decode_pack_scene
out, rays, n_rays, stream = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
data = open(stream, "rb").read()
model = decode_pack_scene(open(sys.argv[5], "rb").read(), data) if len(sys.argv) > 5 else nwcodec.decode_scene(data)
z = np.load(rays)
origins, dirs = get_rays(torch.as_tensor(z["poses"][:1]), int(z["H"]), int(z["W"]), float(z["focal"]))
with torch.no_grad():
    rgb = model.eval()(origins.reshape(-1, 3)[:n_rays], dirs.reshape(-1, 3)[:n_rays])["rgb"]
np.save(out, rgb.numpy())
'''


def render_fresh(tmp: Path, stream: bytes, ds, n_rays: int, base: bytes | None = None) -> np.ndarray:
    """RGB of the first ``n_rays`` rays of ``ds``'s first view, rendered by a fresh process's receiver."""
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "s.nwc").write_bytes(stream)
    np.savez(tmp / "rays.npz", poses=np.asarray(ds.poses), H=ds.H, W=ds.W, focal=ds.focal)
    args = [str(tmp / "rgb.npy"), str(tmp / "rays.npz"), str(n_rays), str(tmp / "s.nwc")]
    if base is not None:
        (tmp / "base.nwc").write_bytes(base)
        args.append(str(tmp / "base.nwc"))
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", _SCRIPT, *args], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return np.load(tmp / "rgb.npy")
