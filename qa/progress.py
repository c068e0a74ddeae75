"""A progress callback that draws tqdm bars on stderr, one per stage."""
from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, int, int], None]
_BYTES = 1 << 20  # totals this large are byte counts


def quiet(stage: str, done: int, total: int) -> None:
    pass


def bars() -> Progress:
    from tqdm import tqdm

    open_bars: dict[str, tqdm] = {}

    def report(stage: str, done: int, total: int) -> None:
        bar = open_bars.get(stage)
        if bar is None:
            big = total >= _BYTES
            bar = open_bars[stage] = tqdm(total=total, desc=stage, unit="B" if big else "it", unit_scale=big,
                                          leave=False, dynamic_ncols=True)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()
            del open_bars[stage]

    return report
