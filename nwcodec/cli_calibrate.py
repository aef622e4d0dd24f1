"""``encode --calibration DATA.npz --arch NAME``: sensitivities measured on calibration images (data-driven
allocation). The distortion is the KL divergence of the model's predictions on the first ``N`` training images
(``x_train``), never the test split. Needs ``nwcodec[torch]``."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .codec.sources import Source
from .errors import InputError

PROBE_REL_ERROR = 0.3      # a low-rate probe: size targets such as 40KB are low-rate


def calibration_sensitivity(src: Source, names: list[str], arch: str, data: str, n: int) -> dict[str, float]:
    from .extras import require

    torch = require("torch", "torch")
    from .codec.allocate import probe_sensitivities
    from .train.models import build_model

    p = Path(data)
    if not p.is_file():
        raise InputError(f"no such calibration file: {p}")
    try:
        with np.load(p, allow_pickle=False) as z:
            if "x_train" not in z.files:
                raise InputError(f"{p}: a calibration .npz needs the key x_train")
            x = z["x_train"][:n]
    except ValueError as exc:
        raise InputError(f"cannot read {p} ({exc})") from None
    net = build_model(arch).eval()
    own = net.state_dict()
    full = {k: src.arrays[src.aliases.get(k, k)] for k in src.order}
    missing = [k for k in own if k not in full]
    if missing:
        raise InputError(f"the model does not fit --arch {arch}: missing {missing[:3]}")
    net.load_state_dict({k: torch.from_numpy(np.array(full[k], order="C")).to(own[k].dtype) for k in own})
    xc = torch.from_numpy(x.astype(np.float32) / 255.0)
    xc = xc[:, None] if xc.ndim == 3 else xc
    with torch.no_grad():
        ref = torch.log_softmax(net(xc), 1)

    def kl(m) -> float:
        with torch.no_grad():
            return float(torch.nn.functional.kl_div(torch.log_softmax(m(xc), 1), ref, log_target=True,
                                                    reduction="batchmean"))

    return probe_sensitivities(net, kl, names, rel_error=PROBE_REL_ERROR)
