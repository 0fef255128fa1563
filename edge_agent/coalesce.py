"""Coalescing a profile's points into as few read requests as the 125-register limit allows."""

from __future__ import annotations

from dataclasses import dataclass, field

from config.profile import MAX_REGISTERS_PER_READ, DeviceProfile, Point


@dataclass
class ReadBlock:
    table: str
    start: int
    count: int
    points: list[Point] = field(default_factory=list)
    #: scale-factor registers (SunSpec) read in this block: address -> True
    sf_addresses: list[int] = field(default_factory=list)

    @property
    def end(self) -> int:
        return self.start + self.count


def plan_reads(profile: DeviceProfile, limit: int = MAX_REGISTERS_PER_READ) -> list[ReadBlock]:
    """Greedy merge of register spans sorted by address: optimal for spans on one line.

    Each point (and each scale-factor register it names) is a span; spans of one table are merged
    while the merged request stays within ``limit`` registers.
    """
    spans: list[tuple[str, int, int, Point | None]] = []
    for p in profile.points:
        spans.append((p.table, p.address, p.end, p))
        if p.scale_factor is not None:
            sf = p.scale_factor
            spans.append((sf.table, sf.address, sf.address + 1, None))
    spans.sort(key=lambda s: (s[0], s[1]))
    blocks: list[ReadBlock] = []
    for table, start, end, point in spans:
        last = blocks[-1] if blocks else None
        if last is not None and last.table == table and max(last.end, end) - last.start <= limit:
            last.count = max(last.end, end) - last.start
        else:
            last = ReadBlock(table, start, end - start)
            blocks.append(last)
        if point is not None:
            last.points.append(point)
        else:
            last.sf_addresses.append(start)
    return blocks
