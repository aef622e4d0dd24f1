"""Building blocks of fields: factorized feature planes, direction encodings."""
from nwcodec.nerf.field_components.planes import PLANE_AXES, Plane, PlaneStack
from nwcodec.nerf.field_components.sh import sh_dim, sh_encode

__all__ = ["PLANE_AXES", "Plane", "PlaneStack", "sh_dim", "sh_encode"]
