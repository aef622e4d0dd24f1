"""Applications built on the library (``make demo`` / ``nwcodec demo``). The library never imports them."""
