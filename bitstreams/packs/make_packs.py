"""Write the scene-pack conformance pair: ``base.nwc`` + ``scene_0.nwc`` and the digests of their tensors.

Run once (``python bitstreams/packs/make_packs.py OUT_DIR``; refuses to overwrite without ``--force``);
tests only decode the committed files, which are never regenerated silently.
A tiny two-scene pack (16x16 procedural scenes, a 2 x 16 field) trained for a few steps.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

import nwcodec
from nwcodec.nerf.config import FieldConfig, ModelConfig, RenderConfig, TrainConfig
from nwcodec.nerf.dataparsers import load_blender
from nwcodec.nerf.procedural import generate_scene
from nwcodec.nerf.train import make_model
from nwcodec.scene.pack import encode_pack_base, encode_pack_scene
from nwcodec.scene.pack_model import ScenePack, fit_shared_priors
from nwcodec.scene.pack_train import train_pack
from nwcodec.codec.digest import tensor_digest

MODEL = ModelConfig(coarse=FieldConfig(depth=2, width=16, skips=(), pos_freqs=3, dir_freqs=1), fine=None,
                    render=RenderConfig(n_coarse=16, n_fine=0))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--force", action="store_true", help="overwrite existing files")
    args = ap.parse_args(argv)
    names = ("base.nwc", "scene_0.nwc", "base.sha256", "scene_0.sha256")
    if any((args.out_dir / n).exists() for n in names) and not args.force:
        print(f"{args.out_dir} already holds the pair; pass --force to overwrite", file=sys.stderr)
        return 1
    torch.manual_seed(0)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        data = [load_blender(generate_scene(Path(tmp) / f"s{k}", seed=k, resolution=16, n_train=3, n_val=1,
                                            n_test=1), "train") for k in (1, 2)]
    init = make_model(MODEL, data[0], seed=0)
    pack = ScenePack.create(init.config, init, 2, min_numel=32)
    fit_shared_priors(pack, 20)
    train_pack(pack, dict(enumerate(data)), TrainConfig(iters=20, batch_rays=64, lr=5e-3, lr_final=1e-3), lam=1.0)
    base = encode_pack_base(pack)
    scene = encode_pack_scene(pack, 0, base)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "base.nwc").write_bytes(base)
    (args.out_dir / "scene_0.nwc").write_bytes(scene)
    (args.out_dir / "base.sha256").write_text(tensor_digest(nwcodec.decode(base)) + "\n")
    (args.out_dir / "scene_0.sha256").write_text(tensor_digest(nwcodec.decode(scene, base=base)) + "\n")
    print(f"base.nwc {len(base)} B, scene_0.nwc {len(scene)} B", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
