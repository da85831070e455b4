"""Small server-side SVG charts (no JavaScript, no CDN): readable on screen, in print and by screen readers.

Each chart carries a <title> and a <desc> naming every value, and prints its numbers as text, so
nothing depends on colour alone.
"""
import itertools

from markupsafe import Markup, escape

_ids = itertools.count(1)
PALETTE = ("#1f5fa8", "#c0392b", "#2e7d32", "#8e44ad", "#b9770e")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2")  # the line style tells series apart in black-and-white print


def _fmt(v):
    if v is None:
        return "–"
    return f"{v:g}" if isinstance(v, float) else str(v)


def _short(label, limit=20):
    """A bar's label that fits beside it (the whole name is the element's title, and in the description)."""
    if len(label) <= limit:
        return label
    cut = label[:limit - 1]
    if " " in cut[limit // 2:]:  # end at a word's end when one is near, not mid-word
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip() + "…"


def bar_chart(title, items, width=520, bar_height=20, label_width=170, unit=""):
    """Horizontal bars: items is [(label, value)]."""
    cid = f"chart{next(_ids)}"
    items = list(items)
    top = max([v or 0 for _, v in items] + [1])
    height = 30 + len(items) * (bar_height + 6) + 4
    plot = width - label_width - 60
    desc = "; ".join(f"{label}: {_fmt(v)}{unit}" for label, v in items) or "—"
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
             f'width="100%" aria-labelledby="{cid}-t {cid}-d">',
             f'<title id="{cid}-t">{escape(title)}</title><desc id="{cid}-d">{escape(desc)}</desc>',
             f'<text x="0" y="18" class="chart-title" font-size="16" font-weight="bold">{escape(title)}</text>']
    for i, (label, v) in enumerate(items):
        y = 30 + i * (bar_height + 6)
        w = 0 if not v else max(1, round(plot * v / top))
        parts.append(f'<text x="{label_width - 6}" y="{y + bar_height * 0.72:.0f}" text-anchor="end" '
                     f'font-size="14"><title>{escape(str(label))}</title>{escape(_short(str(label)))}</text>')
        parts.append(f'<rect x="{label_width}" y="{y}" width="{w}" height="{bar_height}" fill="{PALETTE[0]}" '
                     f'stroke="#000" stroke-width="0.5"/>')
        parts.append(f'<text x="{label_width + w + 4}" y="{y + bar_height * 0.72:.0f}" font-size="14">'
                     f'{escape(_fmt(v))}{escape(unit)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(title, x_labels, series, width=520, height=230, unit=""):
    """Lines over days: series is [(name, [values])]; None values are gaps."""
    cid = f"chart{next(_ids)}"
    left, right, top_pad, bottom = 52, 24, 30, 40
    legend_h = 18 * len(series)
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    values = [v for _, vs in series for v in vs if v is not None]
    top = max(values + [1])
    n = max(len(x_labels) - 1, 1)

    def xy(i, v):
        return left + plot_w * i / n, top_pad + plot_h * (1 - v / top)

    desc = " ".join(f"{name}: " + ", ".join(f"{x} {_fmt(v)}{unit}" for x, v in zip(x_labels, vs, strict=False))
                    + "." for name, vs in series)
    total_h = height + legend_h
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {total_h}" '
             f'width="100%" aria-labelledby="{cid}-t {cid}-d">',
             f'<title id="{cid}-t">{escape(title)}</title><desc id="{cid}-d">{escape(desc)}</desc>',
             f'<text x="0" y="18" font-size="16" font-weight="bold">{escape(title)}</text>']
    for frac in (0, 0.5, 1):  # gridlines with their values
        y = top_pad + plot_h * (1 - frac)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#bbb" '
                     f'stroke-width="0.5"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="13">'
                     f'{escape(_fmt(round(top * frac, 1) if unit else round(top * frac)))}{escape(unit)}</text>')
    step = max(1, (len(x_labels) + 6) // 7)
    last = len(x_labels) - 1
    for i, x in enumerate(x_labels):
        if (last - i) % step == 0:  # counted from the latest day, so it always has its label
            px, _ = xy(i, 0)
            parts.append(f'<text x="{px:.1f}" y="{top_pad + plot_h + 16}" text-anchor="middle" font-size="13">'
                         f'{escape(str(x))}</text>')
    for k, (name, vs) in enumerate(series):
        colour, dash = PALETTE[k % len(PALETTE)], DASHES[k % len(DASHES)]
        points = [xy(i, v) for i, v in enumerate(vs) if v is not None]
        if points:
            pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2" '
                         f'stroke-dasharray="{dash}"/>')
            lx, ly = points[-1]
            parts.append(f'<circle cx="{lx:.1f}" cy="{ly:.1f}" r="3" fill="{colour}"/>')
        ly = height + 18 * k + 4
        parts.append(f'<line x1="{left}" x2="{left + 24}" y1="{ly}" y2="{ly}" stroke="{colour}" stroke-width="2" '
                     f'stroke-dasharray="{dash}"/>')
        last = next((v for v in reversed(vs) if v is not None), None)
        parts.append(f'<text x="{left + 30}" y="{ly + 4}" font-size="14">{escape(name)} '
                     f'({escape(_fmt(last))}{escape(unit)})</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
