"""End-to-end latency of one page through the real service (part of `make bench`).

The target: an A4 scan at 150 dpi with about 30 printed lines is read in at most 0.6 s, median,
through the gateway on 2 cores (1 s before issue 15). This renders such a page (1240 x 1754 px: a
title, a date line, Chinese and English paragraphs in Noto Serif CJK SC and DejaVu Serif, a signature; light scanner
noise; saved as a scanner would, JPEG quality 90), starts TorchServe and the gateway from the built
.mar (as `tests.bench.service` does), sends the page a few times untimed, then
times ``--requests`` sequential POSTs of ``{"image": <base64 JPEG>, "mode": "page"}`` to /api/v1/ocr
and prints the median and p95 seconds, how many lines came back, and the page's character accuracy
against the rendered text (a fast answer that reads nothing would be no answer).
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import requests
from PIL import Image, ImageDraw, ImageFont

from tests.bench.pages import PageMeter
from tests.live import build_mar, run_service

A4_150_DPI = (1240, 1754)  # width, height: 210 x 297 mm at 150 dpi
TARGET_S = 0.6
JPEG_QUALITY = 90
CJK_FONT = ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2)  # face 2: Noto Serif CJK SC
CJK_BOLD = ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc", 2)
LATIN_FONT = ("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", 0)
MARGIN = 130  # px left and right, about 22 mm
BODY_PX = 22  # 10.5 pt at 150 dpi
LEADING = 1.7
TITLE = "关于2024年度设备采购与维护服务的通知"
DATE_LINE = "文号：采购〔2024〕第017号    日期：2024年3月15日"
# (language, paragraph): wrapped to the text width; with the title, the date and the signature they
# make 29 lines.
PARAGRAPHS = [
    (
        "zh",
        (
            "各部门：为保障日常办公与生产系统的稳定运行，经研究决定，自2024年4月1日起对全公司计算机、打印机、"
            "网络交换机及不间断电源等设备开展集中采购与年度维护。现将有关事项通知如下，请认真组织实施。"
        ),
    ),
    (
        "zh",
        (
            "一、采购范围。本次采购包括台式计算机120台、激光打印机35台、千兆交换机16台以及配套线缆和备件，"
            "预算总额为人民币1,860,000元（含税）。各部门应于3月25日前提交需求清单，逾期视为无新增需求。"
        ),
    ),
    (
        "en",
        (
            "Scope of maintenance: all servers in rooms B2 and B3, the core switches, and 48 UPS units will be "
            "inspected every quarter. The contractor must respond to a fault report within 4 hours and restore "
            "service within 24 hours; spare parts are kept on site."
        ),
    ),
    (
        "zh",
        (
            "二、维护要求。服务商须每季度进行一次全面巡检，并在故障报修后4小时内响应、24小时内修复；"
            "重要系统停机超过2小时的，应书面说明原因及整改措施。巡检记录由信息中心统一归档，保存期限不少于三年。"
        ),
    ),
    (
        "en",
        (
            "Payment terms: 30% on signing, 60% after acceptance of the delivered equipment, and the remaining "
            "10% at the end of the one-year warranty period. Invoices must quote the order number CG-2024-017."
        ),
    ),
    (
        "zh",
        (
            "三、验收程序。设备到货后，由使用部门会同信息中心在5个工作日内完成开箱检验和通电测试，"
            "核对型号、序列号及数量，并填写《设备验收单》。验收不合格的，供应商应在7日内无偿更换。"
        ),
    ),
    (
        "en",
        (
            "Delivery: Lot 1 (desktops and printers) by 30 April 2024 to Building A, Floor 3; Lot 2 (switches, "
            "cables and spares) by 15 May 2024 to the data centre. Each delivery note lists the serial numbers."
        ),
    ),
    (
        "zh",
        (
            "四、联系方式。如有疑问，请联系信息中心王工，电话：010-6523 8891，邮箱：it-support@example.com。"
            "本通知自发布之日起施行，由综合管理部负责解释。"
        ),
    ),
    (
        "zh",
        (
            "五、其他事项。各部门不得自行采购同类设备；确有特殊需要的，须经分管领导批准后报信息中心备案。"
            "旧设备由资产管理科统一回收处置，硬盘数据须经专业擦除并登记。"
        ),
    ),
    ("zh", "附件：1. 设备需求清单（模板）  2. 设备验收单  3. 维护服务考核表"),
]
SIGNATURE = ["信息中心", "2024年3月15日"]
# Chinese marks that may not start a line: they stay at the end of the previous one.
NO_LINE_START = set("，。、；：？！）》」』”’〕】％,.;:?!)%")


def load_font(spec: tuple[str, int], size: int) -> ImageFont.FreeTypeFont:
    path, index = spec
    return ImageFont.truetype(path, size, index=index)


def wrap(text: str, font: ImageFont.FreeTypeFont, width: int, words: bool) -> list[str]:
    """Greedy wrapping by measured width: between words for English; for Chinese between characters,
    keeping runs of Latin letters and digits whole and closing marks off the start of a line."""
    units = text.split(" ") if words else re.findall(r"[A-Za-z0-9@._,\-]+|.", text)
    glue = " " if words else ""
    lines, current = [], ""
    for unit in units:
        candidate = f"{current}{glue}{unit}" if current else unit
        if current and font.getlength(candidate) > width and unit[0] not in NO_LINE_START:
            lines.append(current)
            current = unit
        else:
            current = candidate
    return lines + ([current] if current else [])


def render_a4_page() -> tuple[np.ndarray, list[str]]:
    """The page (BGR, 1754 x 1240) and its lines in reading order."""
    width, height = A4_150_DPI
    page = Image.new("L", (width, height), 250)  # off-white paper
    draw = ImageDraw.Draw(page)
    text_width = width - 2 * MARGIN
    lines: list[str] = []

    title_font = load_font(CJK_BOLD, 34)
    y = 150
    draw.text(((width - title_font.getlength(TITLE)) / 2, y), TITLE, font=title_font, fill=20)
    lines.append(TITLE)
    y += 80
    small = load_font(CJK_FONT, 20)
    draw.text((width - MARGIN - small.getlength(DATE_LINE), y), DATE_LINE, font=small, fill=40)
    lines.append(DATE_LINE)
    y += 70

    fonts = {"zh": load_font(CJK_FONT, BODY_PX), "en": load_font(LATIN_FONT, BODY_PX - 1)}
    step = round(BODY_PX * LEADING)
    for language, paragraph in PARAGRAPHS:
        font = fonts[language]
        indent = 2 * BODY_PX if language == "zh" else 0  # two full-width spaces, as Chinese documents indent
        wrapped = wrap(paragraph, font, text_width - indent, words=language == "en")
        for i, line in enumerate(wrapped):
            draw.text((MARGIN + (indent if i == 0 else 0), y), line, font=font, fill=25)
            lines.append(line)
            y += step
        y += step // 2
    y += step
    for line in SIGNATURE:
        draw.text((width - MARGIN - 2 * BODY_PX - fonts["zh"].getlength(line), y), line, font=fonts["zh"], fill=25)
        lines.append(line)
        y += step
    if y > height - MARGIN:
        raise RuntimeError("the text does not fit on the page")
    # A scanner's light noise and softness, so the page is not unnaturally clean.
    image = np.asarray(page, np.float32)
    image += np.random.default_rng(0).normal(0, 4, image.shape)
    image = cv2.GaussianBlur(np.clip(image, 0, 255).astype(np.uint8), (3, 3), 0.6)
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=15, help="timed requests, one at a time")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests first")
    parser.add_argument("--save", type=Path, help="also write the page (JPEG) here, to look at")
    args = parser.parse_args(argv)
    image, reference = render_a4_page()
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise RuntimeError("cannot encode the page")
    data = encoded.tobytes()
    if args.save:
        args.save.write_bytes(data)
    body = {"image": base64.b64encode(data).decode(), "mode": "page"}
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        mar = build_mar(work / "mar")
        (work / "live").mkdir()
        with run_service(mar, work / "live") as service:
            url = f"{service.gateway_url}/api/v1/ocr"

            def post() -> tuple[float, dict]:
                start = time.perf_counter()
                response = requests.post(url, json=body, timeout=60)
                elapsed = time.perf_counter() - start
                if response.status_code != 200:
                    raise RuntimeError(f"HTTP {response.status_code}: {response.text[:500]}")
                return elapsed, response.json()

            for _ in range(args.warmup):
                post()
            timed = [post() for _ in range(args.requests)]
    seconds = [elapsed for elapsed, _ in timed]
    answer = timed[-1][1]
    returned = answer.get("lines")
    meter = PageMeter()
    meter.add(str(answer.get("text", "")), "\n".join(reference))
    median = statistics.median(seconds)
    p95 = statistics.quantiles(seconds, n=20, method="inclusive")[18] if len(seconds) > 1 else seconds[0]
    print(
        f"A4 page at 150 dpi ({A4_150_DPI[0]}x{A4_150_DPI[1]} px, {len(reference)} lines, "
        f"JPEG {len(data) / 1024:.0f} KiB), "
        f"{args.requests} sequential requests through the gateway after {args.warmup} untimed:"
    )
    print(f"page latency s: median {median:.3f}  p95 {p95:.3f}  min {min(seconds):.3f}  max {max(seconds):.3f}")
    print(
        f"lines returned: {len(returned) if isinstance(returned, list) else 'no lines field'} of {len(reference)}; "
        f"character accuracy {100 * meter.accuracy:.1f} %"
    )
    verdict = "met" if median <= TARGET_S else "NOT met"
    print(
        f"target median <= {TARGET_S} s: {verdict} ({os.cpu_count()} cores, 1-minute load average at the "
        f"start {load:.2f})"
    )


if __name__ == "__main__":
    main()
