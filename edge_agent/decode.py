"""Register words <-> values, by type and word order (DESIGN.md §3).

Within a register the bytes are big-endian (Modbus); ``word_order`` says which 16-bit word of a
32/64-bit value comes first: ``big`` the high word, ``little`` the low word.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

_FORMAT = {"int16": "h", "uint16": "H", "int32": "i", "uint32": "I", "float32": "f", "float64": "d"}
_WORDS = {"int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2, "float64": 4}
_WORDS_STRUCT = {n: struct.Struct(f">{n}H") for n in (1, 2, 4)}
_VALUE_STRUCT = {t: struct.Struct(f">{f}") for t, f in _FORMAT.items()}


def decode(words: Sequence[int], dtype: str, word_order: str = "big") -> float:
    """The raw number held by ``words`` (len = the type's register count)."""
    n = _WORDS[dtype]
    ordered = words[:n] if word_order == "big" else list(reversed(words[:n]))
    value: float = _VALUE_STRUCT[dtype].unpack(_WORDS_STRUCT[n].pack(*ordered))[0]
    return value


def encode(value: float, dtype: str, word_order: str = "big") -> list[int]:
    """Register words for a raw number; integers are rounded, out-of-range values raise."""
    n = _WORDS[dtype]
    number: float | int = value if _FORMAT[dtype] in "fd" else round(value)
    try:
        raw = _VALUE_STRUCT[dtype].pack(number)
    except struct.error as exc:
        raise ValueError(f"{value} does not fit {dtype}") from exc
    words = list(_WORDS_STRUCT[n].unpack(raw))
    return words if word_order == "big" else list(reversed(words))


def scaled(raw: float, scale: float, offset: float, sf: int | None = None) -> float:
    """value = raw × scale × 10^sf + offset (sf: SunSpec scale-factor register, when present)."""
    factor = scale * (10.0**sf) if sf is not None else scale
    return raw * factor + offset
