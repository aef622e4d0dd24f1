"""Model ↔ bitstream: post-training and EPR encoding, torch-free decoding."""
from .decoder import ParsedStream, decode, decode_entry, parse
from .encoder import encode, encode_delta, encode_latent_model
from .latent_spec import LatentTensor, PriorSpec

__all__ = ["encode", "encode_delta", "encode_latent_model", "decode", "decode_entry", "parse", "ParsedStream",
           "LatentTensor", "PriorSpec"]
