"""Scene-pack bitstreams: one shared BASE stream and one small delta stream per scene.

The base is an ordinary scene stream (kind ``scene``, format 1.0) whose ``latent`` tensors are the
shared latents ``L`` with the shared affine decoders and priors, plus the mean scene's float tensors,
so it renders by itself. A scene stream (format 1.1) names the base by SHA-256 and carries the
scene's integer residuals (``residual`` coding, one table from the scene's residual prior) and its
float tensors (lossless). See ``bitstreams/FORMAT.md`` sections 6.11 and 6.12.
"""
from __future__ import annotations

import numpy as np

from nwcodec.codec import LatentTensor, PriorSpec, decode, encode_delta, encode_latent_model, parse
from nwcodec.codec.decoder import decode_entry, latent_of_entry
from nwcodec.errors import InputError, MalformedError
from nwcodec.scene.stream import camera_info, load_scene_weights, scene_header

RESIDUAL_PRIOR = "residual"
TABLE_MODES = ("prior", "auto")


def _pmf_spec(prior, values: list[np.ndarray]) -> PriorSpec:
    lo = min(int(v.min()) for v in values)
    hi = max(int(v.max()) for v in values)
    return PriorSpec(pmf=prior.pmf(lo, hi).cpu().numpy().astype(np.float64), lo=lo)


def _scene_extra(pack, camera: dict | None, role: str) -> dict:
    cfg = pack.model_config.to_dict()
    cam = camera or camera_info(cfg["render"]["near"], cfg["render"]["far"])
    return {"scene": {"model": cfg, "camera": cam}, "pack": {"role": role}}


def encode_pack_base(pack, camera: dict | None = None) -> bytes:
    """The base stream of a trained (not frozen) pack: shared latents under their learned priors.

    Each prior's table and the cheapest fitted table are both tried; the smaller stream is kept
    (both decode to the same tensors).
    """
    if pack.frozen:
        raise InputError("this pack's base is frozen: reuse the existing base stream")
    latents, priors = [], {}
    for t in pack.shared:
        q = t.integer_latent()
        latents.append(LatentTensor(t.name, q, "affine", t.numpy_params(), t.name, tuple(q.shape)))
        priors[t.name] = _pmf_spec(t.prior, [q])
    plain = dict(zip(pack.float_names, pack.base_floats()))
    extra = _scene_extra(pack, camera, "base")
    return min((encode_latent_model(latents, priors, plain, kind="scene", extra=extra, table_mode=m)
                for m in TABLE_MODES), key=len)


def encode_pack_scene(pack, s: int, base: bytes, camera: dict | None = None) -> bytes:
    """Delta stream of scene ``s`` on ``base``: its integer residuals and its float tensors."""
    slot = pack.scenes[s]
    res = slot.integer_residuals()
    residuals = [LatentTensor(t.name, r, "", {}, RESIDUAL_PRIOR, tuple(r.shape)) for t, r in zip(pack.shared, res)]
    priors = {RESIDUAL_PRIOR: _pmf_spec(slot.prior, res)}
    plain = {n: f.detach().cpu().float().numpy().copy() for n, f in zip(pack.float_names, slot.floats)}
    extra = _scene_extra(pack, camera, "scene")
    return min((encode_delta(residuals, priors, plain, base, kind="scene", extra=extra, table_mode=m)
                for m in TABLE_MODES), key=len)


def decode_pack_scene(base: bytes, scene: bytes):
    """The eval-mode :class:`SceneModel` of a pack scene: ``scene`` decoded on ``base``.

    A wrong or damaged base raises :class:`BaseMismatchError`; a ``scene`` that is not a delta
    stream (e.g. the two arguments swapped) raises :class:`InputError`.
    """
    from nwcodec.nerf.model import SceneModel
    from nwcodec.scene.stream import checked_scene_header

    scene_header(scene)
    if parse(scene).base_sha256 is None:
        raise InputError("SCENE is not a pack delta stream (no BASE chunk): pass BASE first, then SCENE")
    _, cfg = checked_scene_header(scene)
    model = SceneModel(cfg)
    return load_scene_weights(model, decode(scene, base=base))


def pack_from_base(base: bytes, prior: str = "deep"):
    """A frozen :class:`ScenePack` (no scenes yet) rebuilt from a base stream, to fit new scenes against."""
    from nwcodec.scene.pack_model import ScenePack, SharedTensor

    header = scene_header(base)
    ps = parse(base)
    if ps.base_sha256 is not None:
        raise InputError("expected a pack base stream, got a delta stream")
    shared, floats, float_names = [], [], []
    for i, t in enumerate(ps.tensors):
        if t["coding"] == "latent":
            decoder, params, q = latent_of_entry(ps, i)
            if decoder != "affine":
                raise InputError(f"base tensor {t['name']!r} uses decoder {decoder!r}; packs share affine latents")
            shared.append(SharedTensor.frozen(t["name"], q, params))
        else:
            float_names.append(t["name"])
            floats.append(np.asarray(decode_entry(ps, i), dtype=np.float32))
    if not shared:
        raise InputError("the base stream has no latent tensors to share")
    return ScenePack(header["model"], shared, float_names, prior, base_floats=floats)
