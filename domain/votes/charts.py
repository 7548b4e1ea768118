"""Bar charts of poll results as PNG (matplotlib, Agg backend), readable on a phone.

Chinese needs a CJK font. The one we rely on comes from pip: the ``pylopdf-fonts-zh-cn``
package ships Noto Sans SC (SIL Open Font License), so a fresh machine draws Chinese with
no system fonts. Failing that, any CJK font matplotlib can find on the system is used.
With none at all, the picture labels the bars "1", "2", … and the text that goes with it
(always sent) carries the option names.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

logger = logging.getLogger(__name__)

SYSTEM_CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
                       "WenQuanYi Micro Hei", "Droid Sans Fallback", "SimHei", "Microsoft YaHei", "PingFang SC")
BAR_COLOUR = "#c0392b"  # a warm red, clear on white
TEXT_COLOUR = "#222222"
LABEL_WRAP = 12  # characters per line of an option label
TITLE_WRAP = 20  # characters per line of the title


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its count and the text printed at its end."""

    label: str
    count: int
    note: str


def wrap(text: str, width: int) -> str:
    """Break text every ``width`` characters (Chinese has no spaces to break at)."""
    return "\n".join(text[i:i + width] for i in range(0, len(text), width)) or text


@lru_cache(maxsize=1)
def cjk_font_path() -> str | None:
    """A font file that can draw simplified Chinese, or None when there is none."""
    try:
        import pylopdf_fonts_zh_cn

        path = Path(pylopdf_fonts_zh_cn.sans_path())
        if path.is_file():
            return str(path)
    except ImportError:
        logger.info("pylopdf-fonts-zh-cn not installed; looking for a system CJK font")
    from matplotlib import font_manager

    for family in SYSTEM_CJK_FAMILIES:
        try:
            path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
        except ValueError:
            continue
        return str(path)
    logger.warning("no CJK font found: charts label bars by number only")
    return None


def bar_chart_png(title: str, bars: list[Bar], footer: str) -> bytes:
    """A horizontal bar chart, first bar on top, as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    font_path = cjk_font_path()
    font = font_manager.FontProperties(fname=font_path) if font_path else font_manager.FontProperties()
    if font_path is None:  # no Chinese glyphs: numbers only, the text reply names the options
        title, footer = "", ""
        bars = [Bar(str(i), b.count, str(b.count)) for i, b in enumerate(bars, start=1)]
    labels = [wrap(b.label, LABEL_WRAP) for b in bars]
    height = 1.6 + 0.75 * len(bars) + 0.25 * sum(label.count("\n") for label in labels)
    fig = Figure(figsize=(7.2, height), dpi=150)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    positions = list(range(len(bars)))[::-1]
    ax.barh(positions, [b.count for b in bars], color=BAR_COLOUR, height=0.6)
    ax.set_yticks(positions, labels)
    most = max([b.count for b in bars] + [1])
    ax.set_xlim(0, most * 1.45)
    for position, bar in zip(positions, bars, strict=True):
        ax.text(bar.count + most * 0.03, position, bar.note, va="center", fontproperties=font, fontsize=13,
                color=TEXT_COLOUR)
    for tick in ax.get_yticklabels():
        tick.set_fontproperties(font)
        tick.set_fontsize(14)
    ax.set_xticks([])
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    if title:
        fig.suptitle(wrap(title, TITLE_WRAP), fontproperties=font, fontsize=16, color=TEXT_COLOUR)
    if footer:
        fig.text(0.5, 0.02, footer, ha="center", fontproperties=font, fontsize=12, color="#555555")
    fig.tight_layout(rect=(0, 0.06 if footer else 0, 1, 0.98))
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
