"""Ruled tables: invoice lines, schedules, price lists, one text line per cell."""

from __future__ import annotations

import random
import string

from model.synth.pages.colours import paper_sheet
from model.synth.pages.core import LONG_SIDE_MAX, Kit, Sheet, clamp
from model.synth.pages.documents import flow, heading
from model.synth.pages.text import amount, fit, language, short

TABLE_HEADERS = {
    "index": (["序号", "编号", "No."], ["No.", "#", "Item"]),
    "name": (["名称", "项目", "商品名称", "品名", "内容"], ["Item", "Description", "Name", "Product"]),
    "qty": (["数量", "件数"], ["Qty", "Quantity", "Units"]),
    "price": (["单价", "单价(元)", "价格"], ["Price", "Unit Price", "Rate"]),
    "amount": (["金额", "合计", "总价(元)", "小计"], ["Amount", "Total", "Subtotal"]),
    "date": (["日期", "时间", "开票日期"], ["Date", "Due", "Time"]),
    "code": (["代码", "单号", "规格型号"], ["Code", "Ref", "SKU"]),
    "note": (["备注", "说明", "负责人"], ["Note", "Remarks", "Owner"]),
}


def _table_cell(kit: Kit, rng: random.Random, column: str, row: int, lang: str) -> str:
    if column == "index":
        return str(row + 1)
    if column == "name":
        return short(kit.corpus, rng, lang, 3)
    if column == "qty":
        return str(rng.randint(1, 500)) if rng.random() < 0.6 else kit.corpus.number(rng)
    if column in ("price", "amount"):
        return amount(rng, rng.choice(["", "", "¥", "$"]))
    if column == "date":
        y, m, d = rng.randint(2000, 2030), rng.randint(1, 12), rng.randint(1, 28)
        return rng.choice([f"{y}-{m:02d}-{d:02d}", f"{y}/{m}/{d}", f"{y}年{m}月{d}日", f"{d:02d}.{m:02d}.{y}"])
    if column == "code":
        return "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(rng.randint(4, 10)))
    return "" if rng.random() < 0.35 else short(kit.corpus, rng, lang, 2)


def table_page(kit: Kit, rng: random.Random) -> Sheet:
    """A ruled table (invoice lines, a schedule, a price list): one text line per cell; reading
    order goes row by row, left to right."""
    width = rng.randint(700, LONG_SIDE_MAX)
    height = clamp(width * rng.uniform(0.6, 1.42), 600, LONG_SIDE_MAX)
    sheet = paper_sheet(rng, height, width, kit.charset)
    lang = language(rng)
    margin = width * rng.uniform(0.04, 0.1)
    columns = (
        (["index"] if rng.random() < 0.5 else [])
        + ["name"]
        + rng.sample(["qty", "price", "amount", "date", "code", "note"], rng.randint(1, 5))
    )
    size = clamp((width - 2 * margin) / len(columns) / rng.uniform(6, 11), 12, 26)
    sheet.body_size = size
    body = kit.fonts.pick(rng, lang, size, weight="regular")
    bold = kit.fonts.pick(rng, lang, size, weight="bold") if rng.random() < 0.6 else body
    y = heading(sheet, kit, rng, lang, margin, width - margin, margin, size) if rng.random() < 0.6 else margin
    row_height = size * rng.uniform(1.7, 2.5)
    rows = min(rng.randint(3, 30), int((height - margin - y) / row_height) - 1)
    if rows < 1:
        return sheet
    header = [rng.choice(TABLE_HEADERS[c][lang == "en"]) for c in columns]
    cells = [[_table_cell(kit, rng, c, r, lang) for c in columns] for r in range(rows)]
    pad = size * 0.5
    wanted = [max([bold.width(h)] + [body.width(row[i]) for row in cells]) + 2 * pad for i, h in enumerate(header)]
    scale = (width - 2 * margin) / sum(wanted)
    if scale > 1 and rng.random() < 0.4:
        scale = 1.0  # a table narrower than the page
    widths = [w * scale for w in wanted]
    x_left = margin if scale < 1 or rng.random() < 0.5 else (width - sum(widths)) / 2
    edges = [x_left + sum(widths[:i]) for i in range(len(widths) + 1)]
    ascent, descent = body.font.getmetrics()
    _table_rules(sheet, rng, edges, y, row_height, rows + 1)
    # Figures flush right, words flush left; headings follow their column or are all centred.
    align = ["right" if c in ("qty", "price", "amount") else "left" for c in columns]
    header_align = ["centre"] * len(columns) if rng.random() < 0.5 else align
    for r, row in enumerate([header, *cells]):
        top = y + r * row_height + (row_height - ascent - descent) / 2
        kind = bold if r == 0 else body
        row_align = header_align if r == 0 else align
        for i, text in enumerate(row):
            text = fit(text, kind, widths[i] - 2 * pad)
            x = edges[i + 1] - pad - kind.width(text) if row_align[i] == "right" else edges[i] + pad
            if row_align[i] == "centre":
                x = (edges[i] + edges[i + 1] - kind.width(text)) / 2
            sheet.write(text, kind, x, top, "table")
    y += (rows + 1) * row_height + size * rng.uniform(1.0, 2.5)
    if rng.random() < 0.6:  # notes, terms or a signature block under the table
        flow(sheet, kit, rng, lang, body, size * rng.uniform(1.35, 1.8), margin, width - margin, y, height - margin)
    return sheet


def _table_rules(sheet: Sheet, rng: random.Random, edges: list[float], y: float, row_height: float, rows: int) -> None:
    """Full grid, open (horizontal rules only), or unruled with shaded alternate rows."""
    style = rng.choice(["grid", "grid", "open", "shaded"])
    bottom = y + rows * row_height
    shade = tuple(max(0, int(c) - rng.randint(12, 35)) for c in sheet.image[int(y), int(edges[0])])
    if style == "shaded" or rng.random() < 0.3:
        sheet.fill(edges[0], y, edges[-1], y + row_height, shade)
    if style == "shaded":
        for r in range(2, rows, 2):
            sheet.fill(edges[0], y + r * row_height, edges[-1], y + (r + 1) * row_height, shade)
        return
    thickness = rng.choice([1, 1, 2])
    for r in range(rows + 1):
        if style == "grid" or r in (0, 1, rows):
            sheet.rule(edges[0], y + r * row_height, edges[-1], y + r * row_height, thickness=thickness)
    if style == "grid":
        for x in edges:
            sheet.rule(x, y, x, bottom, thickness=thickness)
