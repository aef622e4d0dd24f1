"""Readers that turn a scene directory into a :class:`SceneDataset`."""
from nwcodec.nerf.dataparsers.blender import SceneDataset, load_blender

__all__ = ["SceneDataset", "load_blender"]
