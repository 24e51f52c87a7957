"""Photographed signboards and plates: a board typeset flat, then pasted into a blurry scene in
perspective, its line boxes warped with it."""

from __future__ import annotations

import random

import cv2
import numpy as np

from model.synth.corpus import Corpus
from model.synth.pages.colours import grey, luminance, readable_on, scene
from model.synth.pages.core import Kit, Line, Sheet, clamp, quad
from model.synth.pages.text import fit, short
from model.synth.pages.typefaces import Type
from model.synth.render import Colour, hsv


def sign_page(kit: Kit, rng: random.Random) -> Sheet:
    """A photographed signboard or plate in a blurry scene: a coloured board with one to three large
    lines (name, phone number, hours), sometimes outlined lettering, sometimes an upright board with
    a vertical line. The board is typeset flat, then pasted into the scene in perspective."""
    long_side = rng.randint(600, 1400)
    ratio = rng.uniform(0.55, 0.9)
    height, width = (
        (round(long_side * ratio), long_side) if rng.random() < 0.7 else (long_side, round(long_side * ratio))
    )
    sheet = Sheet(scene(rng, height, width), (255, 255, 255), kit.charset, defects=False)
    if rng.random() < 0.75:
        board = hsv(rng.random(), rng.uniform(0.5, 1.0), rng.uniform(0.3, 0.85))
    else:
        board = grey(rng.choice([rng.randint(10, 40), rng.randint(220, 250)]))
    lettering = readable_on(board, rng) if rng.random() < 0.7 else hsv(rng.uniform(0.1, 0.17), 0.9, 1.0)
    if abs(luminance(lettering) - luminance(board)) < 80:
        lettering = readable_on(board, rng)
    flat = Sheet(np.zeros((height, width, 3), np.float32), lettering, kit.charset, defects=False)
    if rng.random() < 0.25:
        corners = _upright_board(flat, kit, rng, board, lettering)
    else:
        corners = _wide_board(flat, kit, rng, board, lettering)
    _paste_in_perspective(sheet, flat, corners, rng)
    return sheet


def _wide_board(flat: Sheet, kit: Kit, rng: random.Random, board: Colour, lettering: Colour) -> np.ndarray:
    """A landscape board with its lines centred, the main one as large as the board allows;
    returns the board's corners."""
    bw, bh = flat.width * rng.uniform(0.45, 0.85), flat.height * rng.uniform(0.3, 0.7)
    bx, by = (flat.width - bw) * rng.random(), (flat.height - bh) * rng.random()
    flat.fill(bx, by, bx + bw, by + bh, board)
    if rng.random() < 0.4:  # a frame inset in the board
        inset = min(bw, bh) * 0.05
        flat.rule(bx + inset, by + inset, bx + bw - inset, by + inset, lettering, rng.randint(1, 4))
        flat.rule(bx + inset, by + bh - inset, bx + bw - inset, by + bh - inset, lettering, rng.randint(1, 4))
    texts = [_sign_text(kit.corpus, rng)] + [_sign_extra(kit.corpus, rng) for _ in range(rng.randint(0, 2))]
    lang = "en" if all(t.isascii() for t in texts) else "zh"
    face = kit.fonts.pick(rng, lang, 40, weight="bold" if rng.random() < 0.6 else "any").face
    effect = (readable_on(lettering, rng), rng) if rng.random() < 0.2 else None
    inner = bw * 0.85
    shares = [1.0] + [rng.uniform(0.3, 0.55) for _ in texts[1:]]
    sizes = [
        min(bh * 0.55 * share, inner * 100 / max(1.0, Type(face, 100).width(t))) for t, share in zip(texts, shares)
    ]
    sizes = [sizes[0]] + [min(size, sizes[0] * share) for size, share in zip(sizes[1:], shares[1:])]
    ascent, descent = Type(face, 100).font.getmetrics()
    leading = (ascent + descent) / 100 * 1.05  # line pitch per pixel of type size
    scale = min(1.0, bh * 0.9 / (leading * sum(sizes)))
    y = by + (bh - leading * scale * sum(sizes)) / 2
    for text, size in zip(texts, sizes):
        kind = Type(face, max(14, int(size * scale)))
        text = fit(text, kind, inner)
        flat.write(text, kind, bx + (bw - kind.width(text)) / 2, y, "sign", lettering, effect=effect)
        y += kind.size * leading
    return quad(bx, by, bx + bw, by + bh)


def _upright_board(flat: Sheet, kit: Kit, rng: random.Random, board: Colour, lettering: Colour) -> np.ndarray:
    """A tall board with two to six characters stacked on it, as shop signs hang beside doors."""
    text = kit.corpus.shop_sign(rng)[: rng.randint(2, 6)]
    step = rng.uniform(1.0, 1.15)
    size = clamp(min(flat.height * 0.8 / (step * len(text) + 1), flat.width * 0.4), 24, 220)
    kind = kit.fonts.pick(rng, "zh", size, weight="bold" if rng.random() < 0.6 else "any")
    bw, bh = size * rng.uniform(1.4, 1.9), size * (step * len(text) + 1)
    bx, by = (flat.width - bw) * rng.random(), (flat.height - bh) * rng.random()
    flat.fill(bx, by, bx + bw, by + bh, board)
    flat.write_vertical(text, kind, bx + (bw - size) / 2, by + size / 2, size * step, "sign", lettering)
    return quad(bx, by, bx + bw, by + bh)


def _paste_in_perspective(sheet: Sheet, flat: Sheet, corners: np.ndarray, rng: random.Random) -> None:
    """Pastes the board typeset on ``flat`` (black outside the board) into the scene, turned and seen
    at an angle; its lines join the sheet's with their boxes warped alike. The board stays in view."""
    centre = corners.mean(axis=0)
    angle = np.deg2rad(rng.uniform(-12, 12))
    turn = np.float32([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    reach = rng.uniform(0.0, 0.15) * float(np.ptp(corners, axis=0).min())
    target = (corners - centre) @ turn.T + centre
    target += np.float32([[rng.uniform(-reach, reach), rng.uniform(-reach, reach)] for _ in range(4)])
    low, high = target.min(axis=0), target.max(axis=0)
    room = np.float32([sheet.width - 1, sheet.height - 1])
    shrink = min(1.0, float(np.min(room / (high - low))))
    target = (target - low) * shrink + np.clip(low, 0, room - (high - low) * shrink)
    matrix = cv2.getPerspectiveTransform(corners, target.astype(np.float32))
    size = (sheet.width, sheet.height)
    cover = np.zeros((sheet.height, sheet.width), np.float32)
    cv2.fillConvexPoly(cover, np.int32(np.round(corners)), 1.0)
    cover = cv2.warpPerspective(cover, matrix, size, flags=cv2.INTER_LINEAR)
    board = cv2.warpPerspective(flat.image, matrix, size, flags=cv2.INTER_LINEAR)
    sheet.image = sheet.image * (1.0 - cover[:, :, None]) + board
    for line in flat.lines:
        box = cv2.perspectiveTransform(line.box.reshape(-1, 1, 2).astype(np.float64), matrix).reshape(4, 2)
        sheet.lines.append(Line(line.text, box.astype(np.float32), line.vertical, line.kind))


def _sign_text(corpus: Corpus, rng: random.Random) -> str:
    """The main line of a sign: a shop name, a licence plate or a few upper-case English words."""
    roll = rng.random()
    if roll < 0.55:
        return corpus.shop_sign(rng)
    if roll < 0.7:
        return corpus.plate(rng)
    return " ".join(w.upper() for w in corpus.english_words(rng, rng.randint(1, 3)))


def _sign_extra(corpus: Corpus, rng: random.Random) -> str:
    """A smaller line under it: a phone number, opening hours or a few words."""
    roll = rng.random()
    if roll < 0.4:
        prefix = f"{rng.choice(['电话', 'TEL', 'Tel'])}{rng.choice(['：', ':', ' '])}"
        return f"{prefix}{rng.choice(['13', '15', '18'])}{rng.randint(10**8, 10**9 - 1)}"
    if roll < 0.6:
        return f"{rng.randint(6, 10)}:00-{rng.randint(17, 23)}:{rng.choice(['00', '30'])}"
    return short(corpus, rng, "mix", 3)
