"""The one preprocessing of both networks, shared by training, evaluation and the TorchServe handler:
image bytes decoded within a pixel limit; a line image to the recogniser's input (its settings come
from the checkpoint's ``PreprocessConfig``); a page image to the detector's input.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from PIL import Image

from model.inference.config import PreprocessConfig
from model.inference.contract import InputError

# Network input sides are multiples of the backbone's coarsest stride.
SIDE_MULTIPLE = 32
# Values converted at a time where a conversion needs temporaries (a few MB of them).
BAND_PIXELS = 1 << 18


# EXIF orientation -> what turns the stored pixels upright (as a camera's viewer shows them).
EXIF_ORIENTATION = 0x0112
UPRIGHT = {
    2: lambda image: cv2.flip(image, 1),
    3: lambda image: cv2.rotate(image, cv2.ROTATE_180),
    4: lambda image: cv2.flip(image, 0),
    5: lambda image: cv2.transpose(image),
    6: lambda image: cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE),
    7: lambda image: cv2.flip(cv2.transpose(image), -1),
    8: lambda image: cv2.rotate(image, cv2.ROTATE_90_COUNTERCLOCKWISE),
}


@dataclass(frozen=True)
class ImageHeader:
    """What an image's header says: its size once turned upright, and the EXIF orientation that is
    left to us after OpenCV decodes it (1: nothing to do)."""

    height: int
    width: int
    orientation: int = 1


def read_header(data: bytes, max_pixels: int) -> ImageHeader:
    """Refuse empty, unreadable and oversized images from their header alone, before any pixel is
    decoded."""
    if not data:
        raise InputError("invalid_image", "the image is empty")
    try:
        with Image.open(io.BytesIO(data)) as header:
            width, height = header.size
            # OpenCV's TIFF decoder applies the orientation itself (and Pillow reports a TIFF's size
            # upright already); its JPEG, PNG and WebP decoders, with IMREAD_UNCHANGED, do not.
            left_to_us = 1 if header.format == "TIFF" else _exif_orientation(header)
    except Image.DecompressionBombError:
        raise InputError("image_too_large", f"the image has more than {max_pixels:,} pixels") from None
    except Exception:  # noqa: BLE001 - Pillow raises many types for junk
        # A header nobody can read is refused before OpenCV allocates what it claims (the issue reports
        # a 33 KB TIFF that Pillow could not parse making OpenCV allocate 2.2 GB). Every format served
        # is Pillow's.
        raise InputError("invalid_image", "the data is not a readable image (PNG, JPEG, BMP or WebP)") from None
    if width * height > max_pixels:
        raise InputError("image_too_large", f"image is {width}x{height} pixels; the limit is {max_pixels:,} pixels")
    if left_to_us in (5, 6, 7, 8):  # stored turned a quarter: the sides swap
        width, height = height, width
    return ImageHeader(height, width, left_to_us)


def _exif_orientation(header: Image.Image) -> int:
    """The image's EXIF orientation tag (1: upright)."""
    # A PNG's EXIF chunk counts where it comes before the pixels, as the PNG extension asks and as
    # Pillow writes it: asked for one that is not there, Pillow decodes the whole image to look behind
    # the pixels (a second decode of every PNG, a tenth of a short line's time in the handler).
    if header.format == "PNG" and "exif" not in header.info:
        return 1
    return int(header.getexif().get(EXIF_ORIENTATION, 1))


def decode_image(data: bytes, max_pixels: int) -> np.ndarray:
    """Decode encoded image bytes (PNG, JPEG, BMP, WebP, TIFF...) to 8-bit grayscale. Shape: (H, W)."""
    return to_gray(decode_any(data, max_pixels))


def decode_any(data: bytes, max_pixels: int, header: ImageHeader | None = None) -> np.ndarray:
    """Decode encoded image bytes as they are (gray, BGR or BGRA, 8 or 16 bit), turned upright as
    their EXIF orientation says: a phone's photo is stored sideways with a tag saying so. ``header``:
    what ``read_header`` said of these bytes, if it was asked already."""
    header = header or read_header(data, max_pixels)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None or image.size == 0:
        raise InputError("invalid_image", "the data is not a readable image (PNG, JPEG, BMP or WebP)")
    if image.shape[0] * image.shape[1] > max_pixels:
        raise InputError("image_too_large", f"image has more than {max_pixels:,} pixels")
    upright = UPRIGHT.get(header.orientation)
    return upright(image) if upright else image


def to_8bit(image: np.ndarray) -> np.ndarray:
    """Any OpenCV image (gray, BGR, BGRA, 8 or 16 bit) to 8-bit gray (H, W) or BGR (H, W, 3); alpha is
    laid on white."""
    if image.dtype == np.uint16:
        image = _sixteen_to_eight(image)
    elif image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        image = _on_white(image)
    if image.shape[2] == 1:
        return image[:, :, 0]
    return image


def _sixteen_to_eight(image: np.ndarray) -> np.ndarray:
    """``(image / 257).astype(np.uint8)``, a band of rows at a time in integers: the same values
    without a float64 copy of the whole image (four times its size)."""
    out = np.empty(image.shape, np.uint8)
    rows = max(1, BAND_PIXELS // (image.size // image.shape[0]))
    for top in range(0, image.shape[0], rows):
        np.floor_divide(image[top : top + rows], 257, out=out[top : top + rows], casting="unsafe")
    return out


def _on_white(bgra: np.ndarray) -> np.ndarray:
    """8-bit BGRA laid on white, a band of rows at a time: float temporaries of the whole image
    take several times its size (the same arithmetic, so the same pixels)."""
    out = np.empty((*bgra.shape[:2], 3), np.uint8)
    rows = max(1, BAND_PIXELS // bgra.shape[1])
    for top in range(0, bgra.shape[0], rows):
        band = bgra[top : top + rows]
        alpha = band[:, :, 3:4].astype(np.float32) / 255.0
        out[top : top + rows] = (band[:, :, :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    return out


def to_gray(image: np.ndarray) -> np.ndarray:
    """Any OpenCV image to 8-bit grayscale (see ``to_8bit``)."""
    image = to_8bit(image)
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def normalise_contrast(gray: np.ndarray, config: PreprocessConfig) -> np.ndarray:
    """Stretch to the full 0-255 range and make the text dark on a light background."""
    low, high = quantiles(gray, (config.contrast_low_pct / 100, config.contrast_high_pct / 100))
    if high - low >= 1.0:
        gray = np.clip((gray.astype(np.float32) - low) * (255.0 / (high - low)), 0, 255).astype(np.uint8)
    # The background covers most of a line crop: a dark median means light text on a dark ground.
    if quantiles(gray, (0.5,))[0] < 128:
        gray = 255 - gray
    return gray


def quantiles(gray: np.ndarray, fractions: tuple[float, ...]) -> list[float]:
    """``np.percentile``'s (linear) quantiles of an 8-bit image, read from its histogram: linear in
    the pixel count instead of a partial sort, which matters for big crops and for training."""
    cumulative = np.cumsum(np.bincount(gray.ravel(), minlength=256))
    last = int(cumulative[-1]) - 1
    values = []
    for fraction in fractions:
        position = fraction * last
        below, above = int(np.floor(position)), int(np.ceil(position))
        # The k-th smallest pixel (from 0) is the first grey level whose cumulative count exceeds k.
        low, high = np.searchsorted(cumulative, [below, above], side="right")
        values.append(float(low + (high - low) * (position - below)))
    return values


def resize_to_height(gray: np.ndarray, config: PreprocessConfig) -> np.ndarray:
    """Scale to the model's height keeping the aspect ratio, within [min_width, max_width]."""
    height, width = gray.shape
    new_width = int(round(width * config.height / height))
    new_width = max(config.min_width, min(config.max_width, new_width))
    shrinking = height > config.height
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    return cv2.resize(gray, (new_width, config.height), interpolation=interpolation)


def preprocess(image: np.ndarray, config: PreprocessConfig) -> np.ndarray:
    """A decoded line image (any OpenCV array, see ``to_8bit``) -> float32 (1, height, W) with ink = 1
    and background = 0. W is padded with background up to a multiple of ``config.width_multiple``.
    """
    gray = resize_to_height(normalise_contrast(to_gray(image), config), config)
    ink = 1.0 - gray.astype(np.float32) / 255.0
    pad = -ink.shape[1] % config.width_multiple
    if pad:
        ink = np.pad(ink, ((0, 0), (0, pad)))
    return ink[None]


def pad_batch(images: list[np.ndarray]) -> tuple[torch.Tensor, list[int]]:
    """Stack preprocessed images into one tensor padded to the widest. Shape: (N, 1, H, W_max).

    Returns the tensor and each image's own width, so padding frames can be dropped when decoding.
    """
    widths = [image.shape[-1] for image in images]
    batch = np.zeros((len(images), *images[0].shape[:-1], max(widths)), dtype=np.float32)
    for i, image in enumerate(images):
        batch[i, ..., : image.shape[-1]] = image
    return torch.from_numpy(batch), widths


def as_bgr(image: np.ndarray) -> np.ndarray:
    """Any OpenCV image (see ``to_8bit``) as 8-bit BGR."""
    image = to_8bit(image)
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image


def resize_for_detection(image: np.ndarray, long_side: int) -> tuple[np.ndarray, float]:
    """Scale so the long side is at most ``long_side`` (never enlarged), then pad right and bottom
    with white to multiples of 32. Returns the padded image and the scale applied."""
    h, w = image.shape[:2]
    scale = min(1.0, long_side / max(h, w))
    if scale < 1.0:
        image = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    h, w = image.shape[:2]
    pad_h, pad_w = -h % SIDE_MULTIPLE, -w % SIDE_MULTIPLE
    if pad_h or pad_w:
        image = cv2.copyMakeBorder(image, 0, pad_h, 0, pad_w, cv2.BORDER_CONSTANT, value=(255, 255, 255))
    return image, scale


def page_tensor(images: list[np.ndarray]) -> torch.Tensor:
    """Equal-sized BGR uint8 images -> float tensor (N, 3, H, W) in [0, 1], channels-last in memory
    (as the images are, and as the served detector computes)."""
    batch = np.stack(images).astype(np.float32) / 255.0
    return torch.from_numpy(batch).permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
