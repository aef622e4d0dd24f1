"""``nwcodec view``: a local web viewer that streams a scene bitstream to the page and renders levels as they arrive."""
from .server import ViewerServer, start_viewer

__all__ = ["ViewerServer", "start_viewer"]
