"""Inline SVG bar charts: the geometry is computed here, the template only draws it (no JS library)."""

from dataclasses import dataclass

BAR_HEIGHT = 20
GAP = 6
LABEL_WIDTH = 180
BAR_AREA = 420
MAX_BARS = 60


@dataclass
class Bar:
    label: str
    value: int
    clean: int
    y: int
    width: float
    clean_width: float
    low: bool


@dataclass
class BarChart:
    bars: list[Bar]
    height: int
    width: int = LABEL_WIDTH + BAR_AREA + 120
    label_width: int = LABEL_WIDTH
    hidden: int = 0


def class_distribution(counts: dict[str, int], clean: dict[str, int], small: list[str]) -> BarChart:
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    shown, hidden = ordered[:MAX_BARS], max(0, len(ordered) - MAX_BARS)
    top = max((v for _, v in shown), default=1) or 1
    bars = [Bar(label, value, clean.get(label, 0), i * (BAR_HEIGHT + GAP), BAR_AREA * value / top,
                BAR_AREA * clean.get(label, 0) / top, label in small)
            for i, (label, value) in enumerate(shown)]
    return BarChart(bars, height=max(1, len(bars)) * (BAR_HEIGHT + GAP), hidden=hidden)
