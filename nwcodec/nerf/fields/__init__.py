"""Radiance fields by type: ``mlp`` (:class:`NeRFField`) and ``kplanes`` (:class:`KPlanesField`)."""
from nwcodec.nerf.fields.kplanes import KPlanesField
from nwcodec.nerf.fields.mlp import DENSITY_SHIFT, NeRFField

__all__ = ["DENSITY_SHIFT", "KPlanesField", "NeRFField"]
