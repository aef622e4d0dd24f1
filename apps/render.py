"""Rendering app: the library's :func:`nwcodec.scene.render_out.render_to_dir` (kept importable here)."""
from nwcodec.scene.render_out import orbit_settings, render_to_dir  # noqa: F401
