"""Byte-level container of nwcodec: chunk framing, strict JSON, bounds-checked binary fields, decoder limits."""
from nwcodec.bitstream import strict_json
from nwcodec.bitstream.binary import Reader, Writer
from nwcodec.bitstream.container import (END_TYPE, FORMAT_MAJOR, FORMAT_MINOR, MAGIC, Chunk, Container, chunk_crc,
                                         pack, unpack)
from nwcodec.bitstream.limits import DEFAULT_LIMITS, Limits

__all__ = ["MAGIC", "FORMAT_MAJOR", "FORMAT_MINOR", "END_TYPE", "Chunk", "Container", "pack", "unpack", "chunk_crc",
           "Reader", "Writer", "Limits", "DEFAULT_LIMITS", "strict_json"]
