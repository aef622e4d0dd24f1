"""``nwcodec train`` for ``task: layered``: train (QAT or LCS) and export one layered stream (format 1.4)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from nwcodec.train.layered_config import validate_layered


def _data(cfg: dict[str, Any]):
    from nwcodec.train.classify import load_data, to_tensors

    train, test, source = load_data({"data": cfg["data"], "seed": cfg["seed"]})
    return to_tensors(train).tensors, to_tensors(test).tensors, source


def run_layered(raw: dict[str, Any], config_dir: Path | None = None) -> dict[str, Any]:
    """Train per the config, write ``out_dir/model.nwc`` and ``summary.json``; returns the summary."""
    from nwcodec.train.classify import build_base_model, resolve_path
    from nwcodec.train.layered_common import export_levels

    cfg = validate_layered(raw)
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(cfg["seed"])
    train, test, source = _data(cfg)
    model = build_base_model({"model": cfg["model"], "warm_start": cfg["warm_start"]}, torch.device("cpu"))
    out = resolve_path(cfg["out_dir"]) if not Path(cfg["out_dir"]).is_absolute() else Path(cfg["out_dir"])
    if cfg["method"] == "qat":
        from nwcodec.train.layered_qat import qat_encode_kw, qat_specs, train_qat

        ladder, _ = train_qat(model, train, cfg)
        specs, kw = qat_specs(cfg), qat_encode_kw(ladder)
    else:
        from nwcodec.train.layered_lcs import lcs_specs, train_lcs

        sub = train_lcs(model, train, cfg)
        specs, kw = lcs_specs(model, sub, cfg)
    summary = export_levels(model, specs, test, cfg["eval_batch_size"], out, **kw)
    summary.update(method=cfg["method"], model=cfg["model"], data=source)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    if cfg["progress"]:
        print(json.dumps(summary, indent=1))
    return summary
