"""Inline SVG charts: the geometry is computed here, the template only draws it (no JS library)."""

import math
from dataclasses import dataclass, field

BAR_HEIGHT = 14
GAP = 3
LABEL_WIDTH = 150
BAR_AREA = 170
VALUE_WIDTH = 50
MAX_BARS = 120
ROWS_PER_COLUMN = 16  # beyond this many labels the chart wraps into columns instead of growing tall
MAP_MARGIN = 8  # px around the map's drawing area, so that edge points are whole
PALETTE_SIZE = 10     # the most frequent labels get a colour each on the map, the rest share one


@dataclass
class Bar:
    label: str
    value: int
    clean: int
    x: int
    y: int
    width: float
    clean_width: float
    low: bool


@dataclass
class BarChart:
    bars: list[Bar]
    height: int
    width: int
    label_width: int = LABEL_WIDTH
    hidden: int = 0


def class_distribution(counts: dict[str, int], clean: dict[str, int], small: list[str]) -> BarChart:
    """Horizontal bars per label, wrapped into columns of ROWS_PER_COLUMN: 56 labels take 4 short columns."""
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    shown, hidden = ordered[:MAX_BARS], max(0, len(ordered) - MAX_BARS)
    top = max((v for _, v in shown), default=1) or 1
    column_width = LABEL_WIDTH + BAR_AREA + VALUE_WIDTH
    bars = [Bar(label, value, clean.get(label, 0), (i // ROWS_PER_COLUMN) * column_width,
                (i % ROWS_PER_COLUMN) * (BAR_HEIGHT + GAP), BAR_AREA * value / top,
                BAR_AREA * clean.get(label, 0) / top, label in small)
            for i, (label, value) in enumerate(shown)]
    columns = max(1, math.ceil(len(bars) / ROWS_PER_COLUMN))
    rows = min(len(bars), ROWS_PER_COLUMN) or 1
    return BarChart(bars, height=rows * (BAR_HEIGHT + GAP), width=columns * column_width, hidden=hidden)


@dataclass
class Column:
    label: str
    value: int
    x: float
    height: float


@dataclass
class Histogram:
    columns: list[Column]
    width: int
    height: int
    column_width: float
    marker_x: float | None = None  # a threshold line, in pixels
    total: int = 0


def histogram(counts: list[tuple[str, int]], width: int = 320, height: int = 80,
              marker: float | None = None) -> Histogram:
    """Vertical columns; `marker` is a position in [0, 1] along the x axis (e.g. a score threshold)."""
    top = max((v for _, v in counts), default=0) or 1
    step = width / max(1, len(counts))
    columns = [Column(label, value, i * step, (height - 2) * (math.sqrt(value) / math.sqrt(top)) if value else 0)
               for i, (label, value) in enumerate(counts)]
    return Histogram(columns, width, height, step, None if marker is None else marker * width,
                     sum(v for _, v in counts))


def score_histogram(bins: list[int], threshold: float | None) -> Histogram:
    n = len(bins)
    return histogram([(f"{i / n:.2f}–{(i + 1) / n:.2f}", v) for i, v in enumerate(bins)], marker=threshold)


@dataclass
class MapDot:
    example_id: int
    cx: float
    cy: float
    colour: int  # index into the palette; PALETTE_SIZE = any other label or none
    flagged: bool
    label: str | None


@dataclass
class MapCell:
    x: float
    y: float
    opacity: float
    count: int


@dataclass
class MapChart:
    dots: list[MapDot]
    cells: list[MapCell]
    legend: list[tuple[int, str]]
    width: int
    height: int
    cell_width: float
    cell_height: float
    total: int
    explained: float
    sampled: int = field(default=0)


def embedding_map(data, width: int = 720, height: int = 420) -> MapChart:
    """Dots for the sampled examples (coloured by label, ringed when flagged) over density cells for all."""
    columns, rows = data.grid
    inner_w, inner_h = width - 2 * MAP_MARGIN, height - 2 * MAP_MARGIN
    cell_w, cell_h = inner_w / columns, inner_h / rows
    peak = max((n for _, _, n in data.density), default=1)
    cells = [MapCell(MAP_MARGIN + c * cell_w, MAP_MARGIN + inner_h - (r + 1) * cell_h,
                     0.08 + 0.5 * math.log1p(n) / math.log1p(peak), n) for c, r, n in data.density]
    frequency: dict[str, int] = {}
    for point in data.points:
        if point.label:
            frequency[point.label] = frequency.get(point.label, 0) + 1
    top = [label for label, _ in sorted(frequency.items(), key=lambda kv: (-kv[1], kv[0]))[:PALETTE_SIZE]]
    colour = {label: i for i, label in enumerate(top)}
    dots = [MapDot(p.example_id, MAP_MARGIN + p.x * inner_w, MAP_MARGIN + (1 - p.y) * inner_h,
                   colour.get(p.label, PALETTE_SIZE), p.flagged, p.label) for p in data.points]
    legend = [(i, label) for label, i in colour.items()]
    return MapChart(dots, cells, legend, width, height, cell_w, cell_h, data.total, data.explained, len(dots))
