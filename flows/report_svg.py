"""The plots of report.html, as inline SVG: static, no script, no network, readable without the page's CSS."""

from __future__ import annotations

import math
from html import escape

WIDTH, HEIGHT, PAD = 360, 220, 36
INK, MUTED, PASSED, FAILED = "#333", "#999", "#2e7d32", "#c62828"


def _frame(body: str, title: str, width: int = WIDTH, height: int = HEIGHT) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>{body}</svg>'
    )


def _text(x: float, y: float, text: str, anchor: str = "start", size: int = 11, color: str = INK) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" font-family="sans-serif" text-anchor="{anchor}" '
        f'fill="{color}">{escape(text)}</text>'
    )


def bars(rows: list[tuple[str, float, float | None, bool]], title: str, unit: str) -> str:
    """One horizontal bar per row (label, value, whisker or None, passed), e.g. latency median with its p90."""
    rows = [r for r in rows if r[1] is not None and math.isfinite(r[1])]
    if not rows:
        return ""
    top = max(max(value, whisker or 0) for _, value, whisker, _ in rows) or 1.0
    label_width, line = 130, 22
    height = PAD + line * len(rows) + 10
    body = [_text(8, 18, title, size=12)]
    for index, (label, value, whisker, passed) in enumerate(rows):
        y = PAD + index * line
        length = (WIDTH - label_width - 70) * value / top
        body.append(_text(label_width - 6, y + 13, label, anchor="end"))
        body.append(
            f'<rect x="{label_width}" y="{y + 3}" width="{max(length, 1):.1f}" height="14" '
            f'fill="{PASSED if passed else FAILED}" opacity="0.75"/>'
        )
        if whisker is not None:
            end = label_width + (WIDTH - label_width - 70) * whisker / top
            body.append(
                f'<line x1="{label_width + length:.1f}" y1="{y + 10}" x2="{end:.1f}" y2="{y + 10}" '
                f'stroke="{INK}"/><line x1="{end:.1f}" y1="{y + 5}" x2="{end:.1f}" y2="{y + 15}" '
                f'stroke="{INK}"/>'
            )
        body.append(
            _text(
                label_width + max(length, 1) + 4
                if whisker is None
                else label_width + (WIDTH - label_width - 70) * whisker / top + 4,
                y + 13,
                f"{value:.3g} {unit}",
            )
        )
    return _frame("".join(body), title, height=height)


def scatter(points: list[list[float]], title: str, passed: bool) -> str:
    """The artifact's values against the source's, with the line they should lie on."""
    if not points:
        return ""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    low, high = min(xs + ys), max(xs + ys)
    span = (high - low) or 1.0

    def at(value: float, size: int) -> float:
        return PAD + (size - 2 * PAD) * (value - low) / span

    body = [
        _text(8, 16, title, size=12),
        f'<line x1="{at(low, WIDTH):.1f}" y1="{HEIGHT - at(low, HEIGHT):.1f}" x2="{at(high, WIDTH):.1f}" '
        f'y2="{HEIGHT - at(high, HEIGHT):.1f}" stroke="{MUTED}" stroke-dasharray="4 3"/>',
    ]
    body += [
        f'<circle cx="{at(x, WIDTH):.1f}" cy="{HEIGHT - at(y, HEIGHT):.1f}" r="2" '
        f'fill="{PASSED if passed else FAILED}" opacity="0.6"/>'
        for x, y in zip(xs, ys, strict=True)
    ]
    body += [
        _text(WIDTH / 2, HEIGHT - 6, "source", anchor="middle", color=MUTED),
        _text(10, HEIGHT / 2, "artifact", color=MUTED),
        _text(PAD, HEIGHT - PAD + 14, f"{low:.3g}", color=MUTED),
        _text(WIDTH - PAD, HEIGHT - PAD + 14, f"{high:.3g}", anchor="end", color=MUTED),
    ]
    return _frame("".join(body), title)


def histogram(counts: list[int], decades: list[int], title: str) -> str:
    """How many values fall at each absolute error: exactly 0, then per decade up to 10^last, then above."""
    if not counts or not sum(counts):
        return ""
    labels = ["0"] + [f"1e{d}" for d in decades] + [f">1e{decades[-1]}"]
    top = max(counts)
    width = (WIDTH - 2 * PAD) / len(counts)
    body = [_text(8, 16, title, size=12)]
    for index, (label, count) in enumerate(zip(labels, counts, strict=True)):
        height = (HEIGHT - 2 * PAD - 10) * count / top
        x = PAD + index * width
        body.append(
            f'<rect x="{x + 1:.1f}" y="{HEIGHT - PAD - height:.1f}" width="{width - 2:.1f}" '
            f'height="{height:.1f}" fill="#5c6bc0"/>'
        )
        if index % 2 == 0:
            body.append(_text(x + width / 2, HEIGHT - PAD + 13, label, anchor="middle", size=9, color=MUTED))
    body.append(_text(WIDTH / 2, HEIGHT - 6, "absolute error (≤)", anchor="middle", color=MUTED))
    return _frame("".join(body), title)


def curve(points: list[list], limit: float, title: str) -> str:
    """Each layer's relative error in graph order (log scale), and the threshold a layer is held to."""
    values = [max(float(p[1]), 1e-12) for p in points if p[1] is not None]
    if not values:
        return ""
    low, high = math.log10(min(values + [limit])), math.log10(max(values + [limit]))
    span = (high - low) or 1.0

    def y(value: float) -> float:
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * (math.log10(max(value, 1e-12)) - low) / span

    step = (WIDTH - 2 * PAD) / max(1, len(values) - 1)
    path = " ".join(f"{'M' if i == 0 else 'L'}{PAD + i * step:.1f},{y(v):.1f}" for i, v in enumerate(values))
    dots = (
        "".join(
            f'<circle cx="{PAD + i * step:.1f}" cy="{y(v):.1f}" r="2.5" fill="#5c6bc0"/>' for i, v in enumerate(values)
        )
        if len(values) <= 60
        else ""
    )
    body = [
        _text(8, 16, title, size=12),
        f'<path d="{path}" fill="none" stroke="#5c6bc0"/>{dots}',
        f'<line x1="{PAD}" y1="{y(limit):.1f}" x2="{WIDTH - PAD}" y2="{y(limit):.1f}" stroke="{FAILED}" '
        f'stroke-dasharray="4 3"/>',
        _text(WIDTH - PAD, y(limit) - 4, f"threshold {limit:.2g}", anchor="end", color=FAILED),
        _text(WIDTH / 2, HEIGHT - 6, "layers, in graph order", anchor="middle", color=MUTED),
        _text(4, PAD - 6, f"{10**high:.2g}", color=MUTED),
        _text(4, HEIGHT - PAD, f"{10**low:.2g}", color=MUTED),
    ]
    return _frame("".join(body), title)
