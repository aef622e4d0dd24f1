"""Progressive scenes: the committed layered scene vector renders coarse-to-fine, each level at the PSNR its
LEVL chunk records (re-rendered here against freshly generated ground truth), from prefixes alone."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from nwcodec.codec.levels_info import layered_info
from nwcodec.errors import IncompleteLevelError
from nwcodec.scene.levels import complete_levels, decode_scene_level, layered_scene_header

ROOT = Path(__file__).resolve().parents[1]
VECTOR = ROOT / "bitstreams" / "layered" / "scene.nwc"


def test_levels_render_at_recorded_psnr() -> None:
    import sys

    sys.path.insert(0, str(ROOT))
    from bitstreams.make_layered_vectors import scene_psnr

    torch.set_num_threads(1)
    data = VECTOR.read_bytes()
    info = layered_info(data)
    ends = complete_levels(data)
    assert ends == [r["end"] for r in info["levels"]] and len(ends) == 3
    got = [scene_psnr(decode_scene_level(data[:end])) for end in ends]
    recorded = [r["metrics"]["psnr"] for r in info["levels"]]
    assert got == pytest.approx(recorded, abs=0.05)
    assert got[0] < got[1] < got[2] and got[0] > 15


def test_header_from_level_zero_and_cuts() -> None:
    data = VECTOR.read_bytes()
    ends = complete_levels(data)
    assert layered_scene_header(data[:ends[0]])["model"]["coarse"]["width"] == 64
    assert complete_levels(data[:ends[0] - 1]) == []
    assert complete_levels(data[:ends[1] + 7]) == ends[:2]
    with pytest.raises(IncompleteLevelError):
        decode_scene_level(data[:ends[1] + 7], level=2)
