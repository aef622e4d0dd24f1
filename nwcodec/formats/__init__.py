"""Tensor file formats read and written without torch: safetensors, npz, Hugging Face model dirs.

Torch checkpoints (``.pt``/``.pth``/``.bin``) are read with ``torch.load(weights_only=True)`` only
(:mod:`nwcodec.formats.checkpoint`). Nothing here imports the codec.
"""
from .bf16 import bf16_bits_to_f32, f32_to_bf16_bits
from .checkpoint import unwrap_checkpoint
from .safetensors import read_safetensors, write_safetensors
from .tensor_files import read_tensor_file, write_tensor_file

__all__ = ["bf16_bits_to_f32", "f32_to_bf16_bits", "read_safetensors", "write_safetensors", "unwrap_checkpoint",
           "read_tensor_file", "write_tensor_file"]
