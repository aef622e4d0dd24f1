"""Procedural NeRF-Synthetic scenes: shaded primitives ray-traced analytically in numpy.

:func:`generate_scene` writes ``{train,val,test}/r_*.png`` (RGBA, transparent background),
``transforms_{split}.json`` and ``scene_info.json`` in exactly the layout of the Blender
NeRF-Synthetic scenes, so :func:`~nwcodec.nerf.dataparsers.blender.load_blender` reads it.
World z is up; cameras sit on the upper hemisphere at ``radius`` looking at the origin.
"""
from __future__ import annotations

import colorsys
import json
import math
from dataclasses import dataclass
from pathlib import Path

import imageio.v3 as iio
import numpy as np

from nwcodec.errors import InputError
from nwcodec.nerf.rays import rays_from_pose_np
from nwcodec.nerf.video import sphere_pose, to_uint8

EPS = 1e-6
KEY_LIGHT = np.array([0.45, -0.35, 0.82]) / np.linalg.norm([0.45, -0.35, 0.82])
FILL_LIGHT = np.array([-0.6, 0.5, 0.3]) / np.linalg.norm([-0.6, 0.5, 0.3])
AMBIENT = 0.22
GROUND_Z = -1.0


@dataclass
class Primitive:
    """One shape: ``kind`` in {sphere, box, cylinder}; ``size`` = radius / half-extents / (radius, half-height)."""

    kind: str
    center: np.ndarray
    size: np.ndarray
    color: np.ndarray
    specular: float = 0.3
    shininess: float = 32.0
    angle: float = 0.0  # rotation about z (boxes)
    checker: bool = False

    def intersect(self, o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest positive hit distance ``[M]`` (inf on a miss) and world normal ``[M, 3]``."""
        return {"sphere": _hit_sphere, "box": _hit_box, "cylinder": _hit_cylinder}[self.kind](self, o, d)

    def albedo(self, p: np.ndarray) -> np.ndarray:
        if not self.checker:
            return np.broadcast_to(self.color, p.shape)
        parity = (np.floor(p[:, 0] * 4.0) + np.floor(p[:, 1] * 4.0)) % 2
        return self.color * np.where(parity[:, None] > 0, 0.45, 1.0)


def _hit_sphere(s: Primitive, o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    oc = o - s.center
    a = np.sum(d * d, -1)
    b = 2.0 * np.sum(oc * d, -1)
    c = np.sum(oc * oc, -1) - s.size[0] ** 2
    disc = b * b - 4 * a * c
    root = np.sqrt(np.maximum(disc, 0.0))
    t0, t1 = (-b - root) / (2 * a), (-b + root) / (2 * a)
    t = np.where(t0 > EPS, t0, np.where(t1 > EPS, t1, np.inf))
    t = np.where(disc >= 0, t, np.inf)
    p = o + np.where(np.isfinite(t), t, 0.0)[:, None] * d
    return t, (p - s.center) / s.size[0]


def _rot_z(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _hit_box(s: Primitive, o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rot = _rot_z(s.angle)
    ol, dl = (o - s.center) @ rot, d @ rot  # world -> local (rows times R)
    dl = np.where(np.abs(dl) < 1e-12, 1e-12, dl)
    ta, tb = (-s.size - ol) / dl, (s.size - ol) / dl
    tnear, tfar = np.minimum(ta, tb), np.maximum(ta, tb)
    t_enter, t_exit = tnear.max(-1), tfar.min(-1)
    hit = (t_exit >= t_enter) & (t_enter > EPS)
    axis = tnear.argmax(-1)
    normal_l = np.zeros_like(ol)
    rows = np.arange(len(ol))
    normal_l[rows, axis] = -np.sign(dl[rows, axis])
    return np.where(hit, t_enter, np.inf), normal_l @ rot.T


def _hit_cylinder(s: Primitive, o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r, h = s.size
    oc = o - s.center
    a = d[:, 0] ** 2 + d[:, 1] ** 2
    b = 2.0 * (oc[:, 0] * d[:, 0] + oc[:, 1] * d[:, 1])
    c = oc[:, 0] ** 2 + oc[:, 1] ** 2 - r * r
    disc = b * b - 4 * a * c
    safe_a = np.where(a < 1e-12, 1e-12, a)
    t_side = (-b - np.sqrt(np.maximum(disc, 0.0))) / (2 * safe_a)
    z_side = oc[:, 2] + t_side * d[:, 2]
    t_side = np.where((disc >= 0) & (t_side > EPS) & (np.abs(z_side) <= h), t_side, np.inf)
    dz = np.where(np.abs(d[:, 2]) < 1e-12, 1e-12, d[:, 2])
    t_caps, n_caps = np.full(len(o), np.inf), np.zeros_like(o)
    for sign in (1.0, -1.0):
        t_cap = (sign * h - oc[:, 2]) / dz
        q = oc + t_cap[:, None] * d
        ok = (t_cap > EPS) & (q[:, 0] ** 2 + q[:, 1] ** 2 <= r * r) & (t_cap < t_caps)
        t_caps = np.where(ok, t_cap, t_caps)
        n_caps[ok] = (0.0, 0.0, sign)
    p = oc + np.where(np.isfinite(t_side), t_side, 0.0)[:, None] * d
    n_side = np.stack([p[:, 0] / r, p[:, 1] / r, np.zeros(len(o))], -1)
    side_first = t_side < t_caps
    return np.where(side_first, t_side, t_caps), np.where(side_first[:, None], n_side, n_caps)


def _nearest(prims: list[Primitive], o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t_best, n_best = np.full(len(o), np.inf), np.zeros_like(o)
    idx = np.full(len(o), -1)
    for k, prim in enumerate(prims):
        t, n = prim.intersect(o, d)
        closer = t < t_best
        t_best, idx = np.where(closer, t, t_best), np.where(closer, k, idx)
        n_best[closer] = n[closer]
    return t_best, n_best, idx


def shade_rays(prims: list[Primitive], o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ray-trace unit directions ``d``: straight colour ``[M, 3]`` (display-encoded) and coverage ``[M]``."""
    t, n, idx = _nearest(prims, o, d)
    hit = idx >= 0
    rgb = np.zeros_like(o)
    if not hit.any():
        return rgb, hit.astype(np.float64)
    p, n, dv, ids = o[hit] + t[hit, None] * d[hit], n[hit], d[hit], idx[hit]
    n = n / np.linalg.norm(n, axis=-1, keepdims=True)
    n = np.where(np.sum(n * dv, -1, keepdims=True) > 0, -n, n)  # face the viewer
    shadow_t, _, _ = _nearest(prims, p + 1e-4 * n, np.broadcast_to(KEY_LIGHT, p.shape))
    lit = np.isinf(shadow_t).astype(np.float64)
    albedo = np.zeros_like(p)
    ks, shin = np.zeros(len(p)), np.ones(len(p))
    for k, prim in enumerate(prims):
        m = ids == k
        if m.any():
            albedo[m], ks[m], shin[m] = prim.albedo(p[m]), prim.specular, prim.shininess
    diff_key = np.clip(n @ KEY_LIGHT, 0, None) * lit
    diff_fill = 0.35 * np.clip(n @ FILL_LIGHT, 0, None)
    half = KEY_LIGHT - dv
    half /= np.linalg.norm(half, axis=-1, keepdims=True)
    spec = ks * np.clip(np.sum(n * half, -1), 0, None) ** shin * lit
    linear = albedo * (AMBIENT + 0.85 * diff_key + diff_fill)[:, None] + spec[:, None]
    rgb[hit] = np.clip(linear, 0.0, 1.0) ** (1.0 / 2.2)
    return rgb, hit.astype(np.float64)


def render_rgba(prims: list[Primitive], pose: np.ndarray, H: int, W: int, focal: float, supersample: int = 2) -> np.ndarray:
    """Straight-alpha RGBA ``[H, W, 4]`` in [0, 1], anti-aliased with ``supersample``^2 rays per pixel."""
    premult, cover = np.zeros((H * W, 3)), np.zeros(H * W)
    for sy in range(supersample):
        for sx in range(supersample):
            offset = ((sx + 0.5) / supersample, (sy + 0.5) / supersample)
            o, d = rays_from_pose_np(pose, H, W, focal, offset)
            d = d / np.linalg.norm(d, axis=-1, keepdims=True)
            rgb, a = shade_rays(prims, o.reshape(-1, 3), d.reshape(-1, 3))
            premult += rgb * a[:, None]
            cover += a
    cover /= supersample**2
    premult /= supersample**2
    straight = np.where(cover[:, None] > 0, premult / np.maximum(cover[:, None], 1e-12), 0.0)
    return np.concatenate([straight, cover[:, None]], -1).reshape(H, W, 4)


def _random_color(rng: np.random.Generator) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(0.45, 0.9), rng.uniform(0.55, 0.95)))


def random_primitives(seed: int) -> list[Primitive]:
    """A seeded arrangement inside [-1.2, 1.2]^3: a checkered slab, spheres, boxes, maybe a cylinder."""
    rng = np.random.default_rng(seed)
    prims = [Primitive("box", np.array([0.0, 0.0, GROUND_Z - 0.05]), np.array([1.1, 1.1, 0.05]),
                       _random_color(rng) * 0.5 + 0.45, specular=0.05, shininess=8.0, angle=rng.uniform(0, math.pi / 2),
                       checker=True)]
    floor = GROUND_Z

    def spot() -> tuple[float, float]:
        return rng.uniform(-0.65, 0.65), rng.uniform(-0.65, 0.65)

    for _ in range(rng.integers(2, 4)):
        r = rng.uniform(0.2, 0.45)
        x, y = spot()
        prims.append(Primitive("sphere", np.array([x, y, floor + r]), np.array([r]), _random_color(rng),
                               specular=rng.uniform(0.2, 0.7), shininess=rng.uniform(16, 96)))
    for _ in range(rng.integers(1, 3)):
        half = rng.uniform(0.12, 0.35, size=3)
        x, y = spot()
        prims.append(Primitive("box", np.array([x, y, floor + half[2]]), half, _random_color(rng),
                               specular=rng.uniform(0.05, 0.4), shininess=rng.uniform(8, 48), angle=rng.uniform(0, math.pi)))
    if rng.uniform() < 0.7:
        r, h = rng.uniform(0.12, 0.3), rng.uniform(0.2, 0.55)
        x, y = spot()
        prims.append(Primitive("cylinder", np.array([x, y, floor + h]), np.array([r, h]), _random_color(rng),
                               specular=rng.uniform(0.1, 0.5), shininess=rng.uniform(16, 64)))
    return prims


def random_poses(n: int, radius: float, rng: np.random.Generator) -> np.ndarray:
    """``n`` poses on the upper hemisphere (elevation 10-80 degrees, uniform in area) looking at the origin."""
    az = rng.uniform(0, 2 * math.pi, n)
    elev = np.arcsin(rng.uniform(math.sin(math.radians(10)), math.sin(math.radians(80)), n))
    return np.stack([sphere_pose(radius, a, e) for a, e in zip(az, elev)])


def generate_scene(
    out_dir: str | Path, seed: int = 0, resolution: int = 64, n_train: int = 40, n_val: int = 5,
    n_test: int = 10, radius: float = 4.0, camera_angle_x: float = 0.6911112070083618, supersample: int = 2,
) -> Path:
    """Write a seeded procedural scene in NeRF-Synthetic format to ``out_dir``; returns the directory."""
    if resolution < 8 or min(n_train, n_val, n_test) < 1 or supersample < 1:
        raise InputError("need resolution >= 8, at least one view per split and supersample >= 1")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    prims = random_primitives(seed)
    rng = np.random.default_rng([seed, 1])
    focal = 0.5 * resolution / math.tan(0.5 * camera_angle_x)
    counts = {"train": n_train, "val": n_val, "test": n_test}
    for split, n in counts.items():
        (out / split).mkdir(exist_ok=True)
        frames = []
        for i, pose in enumerate(random_poses(n, radius, rng)):
            rgba = render_rgba(prims, pose, resolution, resolution, focal, supersample)
            iio.imwrite(out / split / f"r_{i}.png", to_uint8(rgba))
            frames.append({"file_path": f"./{split}/r_{i}", "rotation": 0.0, "transform_matrix": pose.tolist()})
        meta = {"camera_angle_x": camera_angle_x, "frames": frames}
        (out / f"transforms_{split}.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    info = {
        "scene": f"procedural-{seed}", "renderer": "nwcodec.nerf.procedural (numpy ray tracing)",
        "resolution": [resolution, resolution], "supersample": supersample, "seed": seed,
        "camera_radius": radius, "near": 2.0, "far": 6.0, "aabb": [[-1.2] * 3, [1.2] * 3],
        "camera_angle_x": camera_angle_x, "background": "transparent",
        "color": "display-encoded (gamma 2.2), 8-bit straight-alpha RGBA PNG",
        "views": counts, "objects": [p.kind for p in prims],
    }
    (out / "scene_info.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    return out
