"""Write ``primitives_grid.nwc`` (+ ``.sha256``, ``.psnr.json``): the default grid-field stream of
``../shared/data/scenes/primitives``, i.e. what ``nwcodec train configs/scene_default.yaml`` writes.

Usage: ``python bitstreams/scenes/make_primitives_grid.py [--run-dir runs/scene_default]`` runs (or
resumes from the checkpoints in ``--run-dir``) the default pipeline; ``--stream FILE`` takes an
already written stream of that config instead (e.g. the benchmark's
``out/scene_bench/cells/primitives/epr-grid_0.005/scene.nwc``). The digest is FORMAT.md section 6.9's
over the decoded tensors; the PSNR record is over all 20 test views (``bitstreams/record_psnr.py``).
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from nwcodec import decode  # noqa: E402
from nwcodec.codec.digest import tensor_digest  # noqa: E402

CONFIG = HERE.parents[1] / "configs" / "scene_default.yaml"
NAME = "primitives_grid"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run-dir", default="runs/scene_default")
    ap.add_argument("--stream", type=Path, default=None, help="an existing stream of configs/scene_default.yaml")
    args = ap.parse_args(argv)
    if args.stream is None:
        from nwcodec.scene.pipeline import run_scene
        from nwcodec.train.dispatch import apply_overrides, load_yaml, task_of

        cfg = apply_overrides(load_yaml(CONFIG), [f"output.dir={args.run_dir}"])
        task_of(cfg)
        args.stream = Path(run_scene(cfg, config_dir=CONFIG.parent)["stream"])
    nwc = HERE / f"{NAME}.nwc"
    shutil.copyfile(args.stream, nwc)
    (HERE / f"{NAME}.sha256").write_text(tensor_digest(decode(nwc.read_bytes())) + "\n")
    from bitstreams.record_psnr import PATH_VECTORS, record_path_vector

    rec = record_path_vector(f"scenes/{NAME}.nwc", PATH_VECTORS[f"scenes/{NAME}.nwc"])
    print(f"{nwc}: {nwc.stat().st_size:,} bytes, {rec['mean_psnr']:.2f} dB over {rec['views']} test views")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
