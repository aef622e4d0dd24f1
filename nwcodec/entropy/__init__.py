"""Integer probability tables and exact ANS coding with constriction (torch-free)."""
from .tables import PRECISION, TOTAL, FreqTable, normalize_weights
from .describe import TableDescription, describe_table, read_description, write_description
from .choose import choose_table, coded_bits, payload_bits, table_bits, table_for_pmf
from .ans import decode_segment, encode_segment, ideal_bits

__all__ = [
    "PRECISION", "TOTAL", "FreqTable", "normalize_weights",
    "TableDescription", "describe_table", "read_description", "write_description",
    "choose_table", "coded_bits", "payload_bits", "table_bits", "table_for_pmf", "encode_segment", "decode_segment", "ideal_bits",
]
