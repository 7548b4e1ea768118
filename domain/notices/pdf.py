"""A public notice as a printable A4 page for the village notice board, with a WeChat QR code.

The QR code encodes the URL WeChat returned for the scene n_<invite>_<seq>: scanning it follows the account,
binds the scanner to the organisation and shows the same notice, so paper and chat point at one record.
"""

from __future__ import annotations

import io
from datetime import datetime, tzinfo
from xml.sax.saxutils import escape

import qrcode
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from domain.notices.texts import display_title, fmt_day, fmt_until, notice_ref
from models import Notice, Organisation

FONT = "STSong-Light"  # a CJK font built into reportlab (no font file needed)
QR_SIZE = 42 * mm
SCENE_PREFIX = "n_"


def qr_scene(org: Organisation, notice: Notice) -> str:
    """The QR scene of a notice: n_<invite code>_<number> (binds like b_<invite>, then shows the notice)."""
    return f"{SCENE_PREFIX}{org.invite_code}_{notice.seq}"


def _styles() -> dict[str, ParagraphStyle]:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    base = ParagraphStyle("base", fontName=FONT, fontSize=14, leading=24, wordWrap="CJK", firstLineIndent=28)
    return {
        "org": ParagraphStyle("org", parent=base, fontSize=16, alignment=TA_CENTER, firstLineIndent=0),
        "kind": ParagraphStyle("kind", parent=base, fontSize=30, leading=40, alignment=TA_CENTER, firstLineIndent=0),
        "title": ParagraphStyle("title", parent=base, fontSize=18, leading=28, alignment=TA_CENTER,
                                firstLineIndent=0, spaceAfter=10),
        "body": base,
        "meta": ParagraphStyle("meta", parent=base, fontSize=12, leading=20, alignment=TA_RIGHT, firstLineIndent=0),
        "small": ParagraphStyle("small", parent=base, fontSize=11, leading=17, firstLineIndent=0),
    }


def _qr_image(url: str) -> Image:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=2)
    code.add_data(url)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image(fill_color="black", back_color="white").save(buffer, format="PNG")
    buffer.seek(0)
    return Image(buffer, width=QR_SIZE, height=QR_SIZE)


def render_notice_pdf(notice: Notice, org: Organisation, *, qr_url: str | None, tz: tzinfo,
                      printed_at: datetime) -> bytes:
    """The notice on one A4 page (more if long): heading, text, public window, number and QR code."""
    styles = _styles()
    ref = notice_ref(notice, org)
    story = [
        Paragraph(escape(org.name), styles["org"]),
        Paragraph(escape(notice.kind.label), styles["kind"]),
        Paragraph(escape(display_title(notice)), styles["title"]),
    ]
    for paragraph in (notice.body or "").splitlines() or [""]:
        if paragraph.strip():
            story.append(Paragraph(escape(paragraph.strip()), styles["body"]))
    story.append(Spacer(1, 8 * mm))
    published = notice.public_from or notice.created_at
    if notice.public_until is not None:
        window = f"公示期：{fmt_day(published, tz)}至{fmt_until(notice.public_until, tz)}"
        story.append(Paragraph(escape(window), styles["meta"]))
    story.append(Paragraph(escape(f"{org.name}　{fmt_day(published, tz)}"), styles["meta"]))
    story.append(Spacer(1, 10 * mm))
    guide = [
        Paragraph("微信扫一扫右侧二维码：关注“有事好商量”公众号，", styles["small"]),
        Paragraph(escape(f"自动加入{org.name}，并在手机上看到这条通知。"), styles["small"]),
        Paragraph(escape(f"已关注的，直接发送“通知 {ref}”也能查看。"), styles["small"]),
        Paragraph(escape(f"编号：{org.name} 通知 {ref}　打印于 {fmt_day(printed_at, tz)}"), styles["small"]),
    ]
    qr = _qr_image(qr_url) if qr_url else Paragraph("（二维码暂缺）", styles["small"])
    table = Table([[guide, qr]], colWidths=[120 * mm, QR_SIZE + 6 * mm])
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("BOX", (0, 0), (-1, -1), 0.6, "#888888"),
        ("LEFTPADDING", (0, 0), (-1, -1), 8),
    ]))
    story.append(table)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=22 * mm, rightMargin=22 * mm, topMargin=20 * mm,
                            bottomMargin=18 * mm, title=f"{org.name} {notice.kind.label} {ref}",
                            author=org.name)
    doc.build(story)
    return buffer.getvalue()
