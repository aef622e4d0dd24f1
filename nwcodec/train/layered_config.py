"""Strict config of layered training (``task: layered``): rate-scalable QAT (``method: qat``) or LCS (``lcs``)."""
from __future__ import annotations

import copy
from typing import Any

from nwcodec.errors import ConfigError
from nwcodec.train.config import SECTIONS, _bool, _choice, _int, _number, _opt, _str
from nwcodec.train.models import MODELS


def _floats(key: str, v: Any) -> list[float]:
    if not isinstance(v, list) or not v:
        raise ConfigError(f"{key}: expected a non-empty list of numbers, got {v!r}")
    return [_number(key, x, minimum=0.0) for x in v]


def _fractions(key: str, v: Any) -> list[float]:
    out = _floats(key, v)
    if any(x >= 1.0 for x in out):
        raise ConfigError(f"{key}: sparsities must be below 1")
    return out


def _ints(key: str, v: Any) -> list[int]:
    if not isinstance(v, list) or not v:
        raise ConfigError(f"{key}: expected a non-empty list of integers, got {v!r}")
    return [_int(key, x, 1) for x in v]


TOP = {
    "method": (_choice("qat", "lcs"), "qat"),
    "model": (_choice(*MODELS), "lenet5"),
    "epochs": (lambda k, v: _int(k, v, 1), 1),
    "max_steps": (_opt(lambda k, v: _int(k, v, 1)), None),
    "batch_size": (lambda k, v: _int(k, v, 1), 128),
    "eval_batch_size": (lambda k, v: _int(k, v, 1), 1000),
    "lr": (lambda k, v: _number(k, v, positive=True), 1e-3),
    "seed": (_int, 0),
    "out_dir": (_str, "runs/layered"),
    "warm_start": (_opt(_str), None),
    "threads": (lambda k, v: _int(k, v, 1), 2),
    "progress": (_bool, False),
}
PARTS = {
    "data": SECTIONS["data"],
    "qat": {
        "quality": (lambda k, v: _number(k, v, positive=True), 20.0),
        "factor": (lambda k, v: _int(k, v, 1), 2),
        "sparsity": (_fractions, [0.0, 0.0, 0.0]),
        "lam": (_floats, [0.0, 0.0, 0.0]),
        "task_weight": (_opt(_floats), None),
    },
    "lcs": {
        "subspace": (_choice("line", "point"), "line"),
        "compress": (_choice("sparsity", "bits"), "sparsity"),
        "sparsity": (_fractions, [0.95, 0.9, 0.5, 0.0]),
        "bits": (_ints, [3, 4, 5, 6, 7, 8]),
        "beta": (lambda k, v: _number(k, v, minimum=0.0), 1.0),
        "quality": (lambda k, v: _number(k, v, positive=True), 60.0),
    },
}


def validate_layered(raw: dict[str, Any]) -> dict[str, Any]:
    """A complete config (defaults filled in); ConfigError names any bad or unknown key."""
    for key in raw:
        if key not in TOP and key not in PARTS:
            raise ConfigError(f"{key}: unknown key (known: {', '.join([*TOP, *PARTS])})")
    cfg = {k: check(k, raw.get(k, copy.deepcopy(d))) for k, (check, d) in TOP.items()}
    for part, schema in PARTS.items():
        sec = raw.get(part) or {}
        if not isinstance(sec, dict):
            raise ConfigError(f"{part}: expected a mapping")
        for key in sec:
            if key not in schema:
                raise ConfigError(f"{part}.{key}: unknown key (known: {', '.join(schema)})")
        cfg[part] = {k: check(f"{part}.{k}", sec.get(k, copy.deepcopy(d))) for k, (check, d) in schema.items()}
    q = cfg["qat"]
    if len(q["lam"]) != len(q["sparsity"]) or (q["task_weight"] and len(q["task_weight"]) != len(q["sparsity"])):
        raise ConfigError("qat: lam, sparsity (and task_weight) need one entry per level")
    if sorted(cfg["lcs"]["sparsity"], reverse=True) != cfg["lcs"]["sparsity"]:
        raise ConfigError("lcs.sparsity: levels go from the sparsest to the densest")
    if sorted(cfg["lcs"]["bits"]) != cfg["lcs"]["bits"] or not all(2 <= b <= 16 for b in cfg["lcs"]["bits"]):
        raise ConfigError("lcs.bits: increasing bit widths in 2..16")
    return cfg
