"""Field type -> its spec module (``check_bounds(model_dict, limits)``, ``shapes(ModelConfig)``)."""
from __future__ import annotations

from types import ModuleType

from nwcodec.nerf.specs import kplanes, mlp

SPECS: dict[str, ModuleType] = {"mlp": mlp, "kplanes": kplanes}
