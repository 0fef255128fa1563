"""A device simulator that also answers with garbage: every register of every read replaced by
one word (0x7F7F: float32 3.4e38, far outside any meter's range; 0xFFFF: float32 NaN). The other
faults (no answer, a late answer, an exception code) are edge_agent.simulate.Faults."""

from __future__ import annotations

from dataclasses import dataclass

from edge_agent.simulate import DeviceSim


@dataclass
class GarbageSim(DeviceSim):
    #: when set, every register read returns this word
    garbage_word: int | None = None
    garbage_reads: int = 0

    def fill(self, table: str, start: int, regs: list[int]) -> None:
        super().fill(table, start, regs)
        if self.garbage_word is not None:
            self.garbage_reads += 1
            regs[:] = [self.garbage_word] * len(regs)
