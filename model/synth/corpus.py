"""Seeded text generator for training lines.

Chinese comes as word sequences sampled by real word frequency (jieba's dictionary), English as words
by frequency (wordfreq), and business strings (amounts, dates, phone numbers, codes, plates, addresses)
from small templates. A share of lines draws characters uniformly from the charset so that rare
GB2312 characters are seen often enough to be learnt.
"""

from __future__ import annotations

import bisect
import itertools
import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from model.inference.charset import Charset, latin_marks

CN_PUNCT_INNER = "，，，、、；："
CN_PUNCT_END = "。。。！？"
# Enumerations that open lines of standards, contracts, laws and forms.
LIST_MARKERS = [
    "{n}.",
    "{n}、",
    "{n})",
    "({n})",
    "（{n}）",
    "{a}）",
    "{a})",
    "{a}.",
    "（{cn}）",
    "{cn}、",
    "第{cn}条",
    "第{cn}章",
    "{n}.{m}",
    "{n}.{m}.{k}",
    "{n}.{m}.{k}.{n}",
    "表{a_up}.{n}",
    "图{n}",
]
CN_NUMERALS = "一二三四五六七八九十"
HALF_WIDTH = str.maketrans("，。：；！？（）", ",.:;!?()")
HALF_WIDTH_SPACED = str.maketrans({"，": ", ", "。": ". ", "：": ": ", "；": "; ", "！": "! ", "？": "? "})
STANDARD_PREFIXES = ["GB", "GB/T", "GB/Z", "JB/T", "YY/T", "ISO", "IEC", "QC/T", "HJ", "DB11/T"]
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
UNITS = ["元", "件", "个", "kg", "g", "m", "cm", "mm", "pcs", "箱", "台", "套", "次", "人", "%"]
TOP_DOMAINS = ["com", "com", "cn", "com.cn", "org", "net", "edu.cn", "me", "io", "gov.cn"]
STREET_SUFFIX = ["路", "街", "大道", "巷", "号", "弄", "村", "区", "镇"]
# Western European languages whose accented letters the charset holds, and how each quotes.
EUROPEAN_QUOTES = {
    "de": ["„“", "»«"],
    "fr": ["« »", "«»", "“”"],
    "es": ["«»", "“”"],
    "it": ["«»", "“”"],
    "pt": ["“”", "«»"],
}
# Lines of any kind printed as items of a bulleted list (CVs, slides, web pages).
BULLET_SHARE = 0.02


@dataclass(frozen=True)
class WeightedWords:
    """Words with cumulative frequencies for fast weighted sampling."""

    words: list[str]
    cumulative: list[float]

    @classmethod
    def from_pairs(cls, pairs: list[tuple[str, float]]) -> WeightedWords:
        words = [w for w, _ in pairs]
        cumulative = list(itertools.accumulate(f for _, f in pairs))
        return cls(words, cumulative)

    def sample(self, rng: random.Random) -> str:
        x = rng.random() * self.cumulative[-1]
        return self.words[bisect.bisect_left(self.cumulative, x)]


def load_chinese_words(charset: Charset, limit: int = 200_000) -> WeightedWords:
    """jieba's dictionary (word, count) restricted to words written entirely in the charset."""
    import jieba  # training-only dependency

    path = Path(jieba.__file__).with_name("dict.txt")
    pairs = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            word, count, *_ = line.split()
            if all(c in charset for c in word):
                # Dampen the head of the distribution a little so mid-frequency words show up too.
                pairs.append((word, float(count) ** 0.75))
    pairs.sort(key=lambda p: -p[1])
    return WeightedWords.from_pairs(pairs[:limit])


def load_english_words(charset: Charset, limit: int = 50_000) -> WeightedWords:
    """English words by frequency from wordfreq, with their Zipf-like weights."""
    from wordfreq import top_n_list, word_frequency  # training-only dependency

    pairs = []
    for word in top_n_list("en", limit):
        if word.isascii() and all(c in charset for c in word):
            pairs.append((word, word_frequency(word, "en") ** 0.6))
    return WeightedWords.from_pairs(pairs)


def load_european_words(charset: Charset, limit: int = 20_000) -> dict[str, WeightedWords]:
    """Per language of EUROPEAN_QUOTES, its words by frequency from wordfreq."""
    from wordfreq import top_n_list, word_frequency  # training-only dependency

    def words(lang: str) -> list[str]:
        return [w for w in top_n_list(lang, limit) if w.isalpha() and all(c in charset for c in w)]

    return {
        lang: WeightedWords.from_pairs([(w, word_frequency(w, lang) ** 0.6) for w in words(lang)])
        for lang in EUROPEAN_QUOTES
    }


def rare_first(hanzi: list[str], words: WeightedWords) -> WeightedWords:
    """Hanzi weighted against their share of the word stream, so that lines of random hanzi spend
    their characters on the ones that words alone would show too rarely to be learnt."""
    share = dict.fromkeys(hanzi, 0.0)
    previous = 0.0
    for word, cumulative in zip(words.words, words.cumulative):
        for char in word:
            if char in share:
                share[char] += cumulative - previous
        previous = cumulative
    total = sum(share.values()) or 1.0
    return WeightedWords.from_pairs([(c, 1.0 / (1.0 + len(hanzi) * share[c] / total)) for c in hanzi])


class Corpus:
    """Draws one line of text at a time; every call depends only on the ``rng`` passed in."""

    def __init__(self, charset: Charset) -> None:
        self.charset = charset
        self.zh = load_chinese_words(charset)
        self.en = load_english_words(charset)
        self.european_words = load_european_words(charset)
        self.hanzi = [c for c in charset.chars if ord(c) >= 0x4E00]
        self.rare_hanzi = rare_first(self.hanzi, self.zh)
        # Marks, symbols, circled numbers, arrows: everything that is neither a letter, a digit nor hanzi.
        self.symbols = [
            c for c in charset.chars if not (c.isalpha() or c.isascii() and c.isdigit() or c == " " or ord(c) >= 0x4E00)
        ]
        self.generators: list[tuple[float, Callable[[random.Random], str]]] = [
            (0.23, self.chinese_sentence),
            (0.13, self.english_sentence),
            (0.05, self.european),
            (0.10, self.mixed),
            (0.11, self.business),
            (0.08, self.document_line),
            (0.06, self.receipt_line),
            (0.04, self.short_token),
            (0.09, self.random_hanzi),
            (0.01, self.form),
            (0.02, self.random_chars),
            (0.03, self.plate),
            (0.06, self.shop_sign),
            (0.02, self.web),
        ]

    def line(self, rng: random.Random) -> str:
        return self.labelled_line(rng)[1]

    def labelled_line(self, rng: random.Random) -> tuple[str, str]:
        """(kind, text): the kind names the generator, e.g. ``receipt_line``, for per-kind scores."""
        weights = [weight for weight, _ in self.generators]
        generate = rng.choices([g for _, g in self.generators], weights)[0]
        text = generate(rng)
        if rng.random() < BULLET_SHARE:
            text = rng.choice(["• ", "•"]) + text
        text = latin_marks(" ".join(text.split()))  # no leading, trailing or doubled spaces
        return generate.__name__, self.charset.filter(text) or "0"

    def chinese_sentence(self, rng: random.Random, max_chars: int | None = None) -> str:
        max_chars = max_chars or rng.randint(2, 24)
        parts: list[str] = []
        length = 0
        while length < max_chars:
            word = self.zh.sample(rng)
            parts.append(word)
            length += len(word)
            if rng.random() < 0.12 and length < max_chars - 1:
                parts.append(rng.choice(CN_PUNCT_INNER))
        roll = rng.random()
        if roll < 0.3:
            parts.append(rng.choice(CN_PUNCT_END))
        elif roll < 0.45:  # lines wrapped mid-sentence end on any mark
            parts.append(rng.choice(CN_PUNCT_INNER))
        text = "".join(parts)
        if rng.random() < 0.08:
            text = f"{rng.choice('“（《【「')}{text}{rng.choice('”）》】」')}"
        if rng.random() < 0.1:
            # Chinese typeset with Latin marks (LaTeX, web pages), or with the marks squeezed to half
            # width: a narrow comma or colon between hanzi is still one.
            text = text.translate(HALF_WIDTH_SPACED if rng.random() < 0.5 else HALF_WIDTH)
        return text

    def english_words(self, rng: random.Random, count: int) -> list[str]:
        words = [self.en.sample(rng) for _ in range(count)]
        style = rng.random()
        if style < 0.15:
            words = [w.upper() for w in words]
        elif style < 0.35:
            words = [w.capitalize() for w in words]
        elif words:
            words[0] = words[0].capitalize()
        return words

    def english_sentence(self, rng: random.Random) -> str:
        """Half are lines cut from running prose (``english_prose``), half stand alone: titles,
        headings, labels, a short sentence."""
        if rng.random() < 0.5:
            return self.english_prose(rng)
        words = self.english_words(rng, rng.randint(1, 14))
        for i in range(len(words) - 1):
            if rng.random() < 0.08:
                words[i] += rng.choice(",,;:")
        text = " ".join(words)
        if rng.random() < 0.3:
            text += rng.choice(".!?.")
        if rng.random() < 0.06:
            opening, closing = rng.choice(["()", '""', "[]"])
            text = f"{opening}{text}{closing}"
        return text

    def english_prose(self, rng: random.Random) -> str:
        """A line of a paragraph of English: running text wraps wherever a line is full, so the line
        starts mid-sentence (in lower case) more often than not, may hold the end of one sentence and
        the start of the next, and may end on a hyphenated break (ex-) of its last word."""
        words = [self.en.sample(rng) for _ in range(rng.randint(3, 14))]
        sentence_start = rng.random() < 0.3
        out = []
        for i, word in enumerate(words):
            roll = rng.random()
            if roll < 0.03:
                word = str(rng.randint(1, 2030))
            elif roll < 0.07:  # compounds: two-dimensional, GPS-derived
                word = f"{word}-{self.en.sample(rng)}"
            elif roll < 0.08:  # a dash set off by spaces, or a range: pp. 12–15
                word = rng.choice([f"– {word}", f"{rng.randint(1, 99)}–{rng.randint(100, 999)}"])
            if sentence_start:
                word = word[:1].upper() + word[1:]
            sentence_start = False
            if rng.random() < 0.03 and i < len(words) - 1:  # a parenthesis of a word or two
                closing = min(len(words) - 1, i + rng.randint(0, 2))
                word = f"({word}" + (")" if closing == i else "")
                if closing > i:
                    words[closing] += ")"
            mark = rng.random()
            if mark < 0.08:
                word += rng.choice(".?.!") if mark < 0.07 else ":"
                sentence_start = word[-1] != ":"
            elif mark < 0.16:
                word += rng.choice(",,,;")
            out.append(word)
        if rng.random() < 0.08 and len(out[-1]) > 4 and out[-1].isalpha():
            out[-1] = out[-1][: rng.randint(2, len(out[-1]) - 2)] + "-"
        return " ".join(out)

    def european(self, rng: random.Random) -> str:
        """A line of German, French, Spanish, Italian or Portuguese text: running prose with its
        quotes and accented capitals, a heading in capitals, or an amount in euros or pounds."""
        lang = rng.choice(list(EUROPEAN_QUOTES))
        words = [self.european_words[lang].sample(rng) for _ in range(rng.randint(2, 12))]
        if lang == "de":  # German capitalises its nouns: about a third of the words
            words = [w.capitalize() if rng.random() < 0.35 else w for w in words]
        words[0] = words[0].capitalize()
        roll = rng.random()
        if roll < 0.12:
            return " ".join(words).upper()
        if roll < 0.2:
            amount = f"{rng.uniform(0, 10 ** rng.randint(1, 4)):,.2f}".replace(",", " ").replace(".", ",")
            price = rng.choice([f"{amount} €", f"€{amount}", f"£{amount}", f"{amount} EUR"])
            return f"{' '.join(words[:3])} {price}"
        if rng.random() < 0.25:
            start = rng.randrange(len(words))
            end = min(len(words), start + rng.randint(1, 4))
            quotes = rng.choice(EUROPEAN_QUOTES[lang])
            opening, closing, spaced = quotes[0], quotes[-1], quotes[1:-1]  # French sets « » apart
            words[start] = f"{opening}{spaced}{words[start]}"
            words[end - 1] += f"{spaced}{closing}"
        for i in range(len(words) - 1):
            if rng.random() < 0.08:
                words[i] += rng.choice([",", ",", ";", ":", " –"])
        if lang == "es" and rng.random() < 0.15:
            words[0] = rng.choice("¿¡") + words[0]
        return " ".join(words) + (rng.choice(".?!.") if rng.random() < 0.4 else "")

    def mixed(self, rng: random.Random) -> str:
        parts = []
        for _ in range(rng.randint(2, 4)):
            roll = rng.random()
            if roll < 0.45:
                parts.append(self.chinese_sentence(rng, rng.randint(2, 8)))
            elif roll < 0.75:
                parts.append(" ".join(self.english_words(rng, rng.randint(1, 3))))
            else:
                parts.append(self.number(rng))
            if rng.random() < 0.1:  # Chinese typesetting brackets Latin and numbers in full-width marks
                opening, closing = rng.choice(["（）", "（）", "()", "《》", "“”"])
                parts[-1] = f"{opening}{parts[-1]}{closing}"
        joiner = rng.choice(["", " ", "", rng.choice(self.symbols)])
        text = joiner.join(parts)
        return text + rng.choice(CN_PUNCT_END + CN_PUNCT_INNER) if rng.random() < 0.25 else text

    def number(self, rng: random.Random) -> str:
        roll = rng.random()
        if roll < 0.3:
            return str(rng.randint(0, 10 ** rng.randint(1, 6)))
        if roll < 0.6:
            number = f"{rng.uniform(0, 10 ** rng.randint(1, 5)):.{rng.choice([1, 2, 2])}f}"
            return number.replace(".", ",") if rng.random() < 0.15 else number  # European decimals
        if roll < 0.8:
            return f"{rng.randint(1, 999)}{rng.choice(UNITS)}"
        return f"{rng.randint(1, 100)}%"

    def business(self, rng: random.Random) -> str:
        y, m, d = rng.randint(1990, 2030), rng.randint(1, 12), rng.randint(1, 28)
        hh, mm, ss = rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)
        amount = f"{rng.uniform(0, 10 ** rng.randint(1, 6)):,.2f}"
        choices = [
            lambda: f"{y}年{m}月{d}日",
            lambda: f"{y}-{m:02d}-{d:02d} {hh:02d}:{mm:02d}:{ss:02d}",
            lambda: f"{d:02d}/{m:02d}/{y}",
            lambda: f"{hh:02d}:{mm:02d}",
            lambda: (  # periods as CVs and contracts print them
                f"{y}{rng.choice(['', '.' + str(m).zfill(2), f' 年 {m} 月', f'年{m}月'])}"
                f"{rng.choice(['–', ' – ', '-', ' - ', '—', ' 至 ', '~'])}"
                f"{rng.choice([str(y + rng.randint(1, 5)), '至今', 'present', 'now'])}"
            ),
            lambda: (
                f"{rng.choice(['金额', '合计', '总计', '价税合计', '实付', 'TOTAL', 'Amount', '小计'])}"
                f"{rng.choice(['：', ':', ' '])}{rng.choice(['￥', '¥', 'RM', '$', ''])}{amount}"
            ),
            lambda: (
                f"{rng.choice(['电话', 'Tel', 'TEL', '手机'])}{rng.choice(['：', ':'])}"
                f"{rng.choice(['13', '15', '18', '010-', '021-', '0755-'])}{rng.randint(10**7, 10**9 - 1)}"
            ),
            lambda: f"{rng.randint(10**16, 10**17 - 1)}{rng.choice('0123456789X')}",
            lambda: (
                f"{rng.choice(['发票代码', '发票号码', 'No.', 'Invoice No', '订单号', '单号'])}"
                f"{rng.choice(['：', ':', ' '])}{rng.randint(10**7, 10**12)}"
            ),
            lambda: self.address(rng),
            lambda: f"{rng.choice(['数量', 'QTY', '单价', 'Qty'])} {rng.randint(1, 99)} x {amount}",
            lambda: "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(rng.randint(6, 18))),
            lambda: f"{self.chinese_sentence(rng, rng.randint(2, 6))}{rng.choice(['：', ':'])}{self.number(rng)}",
        ]
        return rng.choice(choices)()

    def document_line(self, rng: random.Random) -> str:
        """A line of a typeset document: list marker, clause text, references to standards and units."""
        n, m, k = rng.randint(1, 12), rng.randint(1, 9), rng.randint(1, 9)
        marker = rng.choice(LIST_MARKERS).format(
            n=n, m=m, k=k, a=rng.choice("abcdefgh"), a_up=rng.choice("ABCDE"), cn=rng.choice(CN_NUMERALS)
        )
        body = self.chinese_sentence(rng, rng.randint(4, 20))
        roll = rng.random()
        if roll < 0.25:
            standard = f"{rng.choice(STANDARD_PREFIXES)} {rng.randint(100, 40000)}"
            if rng.random() < 0.6:  # standards are typeset with an em dash before the year as often as not
                standard += f"{rng.choice('-—')}{rng.randint(1990, 2024)}"
            body = (
                f"{body[: len(body) // 2]}{rng.choice(['应符合 ', '见 ', '按 ', ''])}{standard}{body[len(body) // 2 :]}"
            )
        elif roll < 0.4:
            body += f"{rng.randint(1, 500)}{rng.choice(['min', 's', 'h', 'km/h', 'mm', 'kPa', 'V', 'mA', '℃', 'Hz'])}"
            body += rng.choice(["", "", "；", "。", "，", ")", "）"])
        return f"{marker}{rng.choice(['', ' ', ' '])}{body}"

    def form(self, rng: random.Random) -> str:
        """A line of a form: options behind ballot boxes (some ticked or crossed), a note under a
        reference mark, or an item ticked off."""
        zh = rng.random() < 0.7

        def phrase() -> str:
            if zh:
                return self.chinese_sentence(rng, rng.randint(1, 6)).rstrip(CN_PUNCT_END + CN_PUNCT_INNER)
            return " ".join(self.english_words(rng, rng.randint(1, 3)))

        roll = rng.random()
        if roll < 0.6:
            gap = rng.choice([" ", "  ", "   "])
            boxes = [rng.choice("☐☐☐☑☒") for _ in range(rng.randint(1, 5))]
            options = gap.join(f"{box}{rng.choice(['', ' '])}{phrase()}" for box in boxes)
            label = f"{phrase()}{'：' if zh else ':'} " if rng.random() < 0.4 else ""
            return label + options
        if roll < 0.8:
            note = self.chinese_sentence(rng, rng.randint(6, 24)) if zh else self.english_prose(rng)
            return f"※{rng.choice(['', ' '])}{note}"
        mark = rng.choice("√✓✔✗")
        return f"{mark} {phrase()}" if rng.random() < 0.7 else f"{phrase()} {mark}"

    def receipt_line(self, rng: random.Random) -> str:
        """Upper-case till-roll lines: items, quantities, prices, totals and tax notes."""
        names = [w.upper() for w in self.english_words(rng, rng.randint(1, 4))]
        # Till rolls join some names with marks: WATER / TEA, CHICKEN & RICE, FISH - FRIED.
        item = "".join(w + rng.choice([" "] * 8 + [" / ", "/", " & ", " - "]) for w in names[:-1]) + names[-1]
        price = f"{rng.uniform(0, 10 ** rng.randint(1, 3)):.2f}"
        choices = [
            lambda: item,
            lambda: f"{item} {rng.randint(1, 48)} X "
            f"{rng.randint(1, 999)}{rng.choice(['ML', 'G', 'KG', 'L', 'PCS', ''])}",
            lambda: f"{item} @{price}",
            lambda: f"{rng.randint(1, 20)} {item} {price}",
            lambda: f"{rng.choice(['TOTAL', 'SUBTOTAL', 'CASH', 'CHANGE', 'ROUNDING', 'GST', 'TAX', 'NET TOTAL'])}"
            f"{rng.choice([':', ' :', '', ' (RM):'])} {rng.choice(['RM', '$', '', '€', '£'])}{price}",
            lambda: f"{price}{rng.choice(['-', '', ' SR', ' ZR', ' *'])}",
            lambda: f"{rng.choice(['TAX INVOICE', 'INVOICE NO', 'RECEIPT NO', 'GST REG NO', 'CASHIER', 'TABLE'])}"
            f"{rng.choice([': ', ' : ', ' '])}{rng.randint(1, 10 ** rng.randint(2, 12))}",
            lambda: f"{rng.choice('SZ')}={' '.join(w.upper() for w in self.english_words(rng, 2))}",
            lambda: f"NO. {rng.randint(1, 99)}{rng.choice(['', 'G', 'A', '-1'])}, JALAN {item}",
        ]
        return rng.choice(choices)()

    def short_token(self, rng: random.Random) -> str:
        """One to three characters: a digit, a letter, a hanzi, a code; tight crops of single fields.
        A quarter are amounts as price tags and till rolls print them alone: $7.97, 1.80-, .69-."""
        if rng.random() < 0.25:
            price = f"{rng.uniform(0, 10 ** rng.randint(1, 3)):.2f}"
            return rng.choice([f"${price}", f"{price}-", f"{price[price.index('.') :]}-", f"RM{price}", f"￥{price}"])
        pool = rng.choice([string.digits, string.ascii_uppercase, string.ascii_letters + string.digits, self.hanzi])
        return "".join(rng.choice(pool) for _ in range(rng.randint(1, 3)))

    def web(self, rng: random.Random) -> str:
        """Web and e-mail addresses as letterheads, business cards, CVs and footers print them, alone
        or run together with a phone number by separators."""

        def word() -> str:  # a dictionary word, or letters as in initials and brand names
            if rng.random() < 0.3:
                return "".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 8)))
            return self.en.sample(rng).lower()

        host = ".".join([*(["www"] if rng.random() < 0.5 else []), word(), rng.choice(TOP_DOMAINS)])
        path = "".join(f"/{word()}" for _ in range(rng.choice([0, 0, 1, 2, 3])))
        url = f"{rng.choice(['https://', 'http://', ''])}{host}{path}"
        name = rng.choice([word(), f"{word()}.{word()}", f"{word()}{rng.randint(1, 99)}", f"{word()}_{word()}"])
        email = f"{name}@{word()}.{rng.choice(TOP_DOMAINS)}"
        phone = f"{rng.choice(['(+86) ', '+86 ', ''])}{rng.randint(130, 189)}-{rng.randint(1000, 9999)}-"
        phone += str(rng.randint(1000, 9999))
        if rng.random() < 0.7:
            label = f"{rng.choice(['网址', 'Web', '邮箱', 'E-mail', 'Email'])}{rng.choice(['：', ': '])}"
            return rng.choice([url, email, f"{label}{rng.choice([url, email])}"])
        return rng.choice([" · ", " | ", " ", " / "]).join(rng.sample([url, email, phone], rng.randint(2, 3)))

    def address(self, rng: random.Random) -> str:
        place = self.chinese_sentence(rng, 2)[:3]
        road = self.chinese_sentence(rng, 2)[:2]
        return f"{place}市{road}{rng.choice(STREET_SUFFIX)}{rng.randint(1, 999)}号"

    def random_hanzi(self, rng: random.Random) -> str:
        return "".join(self.rare_hanzi.sample(rng) for _ in range(rng.randint(2, 16)))

    def random_chars(self, rng: random.Random) -> str:
        return "".join(rng.choice(self.charset.chars) for _ in range(rng.randint(2, 16)))

    def plate(self, rng: random.Random) -> str:
        tail = "".join(
            rng.choice(string.ascii_uppercase.replace("I", "").replace("O", "") + string.digits) for _ in range(5)
        )
        return f"{rng.choice(PROVINCES)}{rng.choice(string.ascii_uppercase)}{tail}"

    def shop_sign(self, rng: random.Random) -> str:
        name = self.chinese_sentence(rng, rng.randint(2, 4)).rstrip(CN_PUNCT_END)
        kind = rng.choice(
            ["超市", "饭店", "药房", "便利店", "酒店", "银行", "书店", "餐厅", "理发店", "茶馆", "面馆", "公司"]
        )
        return f"{name}{kind}"
