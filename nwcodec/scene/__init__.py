"""Scene bitstreams: a neural scene's field, render settings and camera conventions in one stream."""
from .stream import decode_scene, encode_scene, scene_header

__all__ = ["encode_scene", "decode_scene", "scene_header"]
