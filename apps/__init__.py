"""Application entry points built on the nwcodec library (demo, rendering, benchmarks)."""
