"""Write the prebuilt scene vector ``demo_scene.nwc`` + ``demo_scene.sha256`` into a directory.

Usage: ``python bitstreams/scenes/make_demo_scene.py OUT_DIR [--run-dir out/demo]``. Runs (or resumes,
reusing the checkpoints of ``make demo``) the ``configs/scene_demo.yaml`` pipeline: the procedural
scene (seed 3), a rate-penalized field, its scene bitstream. The digest is FORMAT.md section 6.9's
over the decoded tensors (``nwcodec.codec.digest.tensor_digest``).
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from nwcodec import decode
from nwcodec.codec.digest import tensor_digest
from nwcodec.scene.pipeline import run_scene
from nwcodec.train.dispatch import apply_overrides, load_yaml, task_of

HERE = Path(__file__).resolve().parent

CONFIG = HERE / "demo_scene.yaml"  # frozen copy of the demo config that made the vector


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--run-dir", default="out/demo", help="pipeline output dir (resumed when it holds checkpoints)")
    args = ap.parse_args(argv)
    cfg = apply_overrides(load_yaml(CONFIG), [f"output.dir={args.run_dir}"])
    task_of(cfg)
    summary = run_scene(cfg, config_dir=CONFIG.parent)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    nwc = args.out_dir / "demo_scene.nwc"
    shutil.copyfile(summary["stream"], nwc)
    (args.out_dir / "demo_scene.sha256").write_text(tensor_digest(decode(nwc.read_bytes())) + "\n")
    print(f"{nwc}: {nwc.stat().st_size:,} bytes, test PSNR {summary['test_psnr']:.2f} dB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
