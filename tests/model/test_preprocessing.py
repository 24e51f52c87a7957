import io
import tracemalloc

import cv2
import numpy as np
import pytest
from PIL import Image

from model.inference.config import PreprocessConfig
from model.inference.contract import InputError
from model.inference.preprocessing import decode_image, pad_batch, preprocess, quantiles, read_header, to_8bit

CONFIG = PreprocessConfig()
# A limit far above these small test images.
MAX_PIXELS = 1_000_000


def line(width: int = 200, height: int = 50, ink: int = 20, paper: int = 235) -> np.ndarray:
    image = np.full((height, width), paper, np.uint8)
    cv2.putText(image, "Text 12", (5, height - 12), cv2.FONT_HERSHEY_SIMPLEX, height / 40, ink, 2)
    return image


def encode(image: np.ndarray, ext: str = ".png") -> bytes:
    ok, data = cv2.imencode(ext, image)
    assert ok
    return data.tobytes()


def test_shape_keeps_aspect_ratio():
    out = preprocess(line(400, 100), CONFIG)
    assert out.dtype == np.float32 and out.shape == (1, 32, 128)


def test_width_is_padded_to_multiple():
    out = preprocess(line(203, 64), CONFIG)
    assert out.shape[2] % CONFIG.width_multiple == 0
    assert out.shape[2] == 104  # round(203 / 2) = 102, padded to 104
    assert np.all(out[:, :, 102:] == 0)


def test_width_limits():
    assert preprocess(line(10, 100), CONFIG).shape[2] == CONFIG.min_width
    assert preprocess(line(20000, 32), CONFIG).shape[2] == CONFIG.max_width


def test_ink_is_one_background_zero_whatever_the_polarity():
    dark_on_light = preprocess(line(ink=20, paper=235), CONFIG)
    light_on_dark = preprocess(line(ink=235, paper=20), CONFIG)
    low_contrast = preprocess(line(ink=120, paper=160), CONFIG)
    for out in (dark_on_light, light_on_dark, low_contrast):
        assert 0.0 <= out.min() and out.max() <= 1.0
        assert np.median(out) < 0.1 and out.max() > 0.9
    assert np.abs(dark_on_light - light_on_dark).mean() < 0.05


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".webp"])
def test_bytes_and_array_give_the_same_tensor(ext):
    image = line()
    data = encode(image, ext)
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(preprocess(decode_image(data, MAX_PIXELS), CONFIG), preprocess(decoded, CONFIG))


def test_colour_and_alpha_inputs():
    bgr = cv2.cvtColor(line(), cv2.COLOR_GRAY2BGR)
    bgra = np.dstack([bgr, np.full(bgr.shape[:2], 255, np.uint8)])
    from_bytes = preprocess(decode_image(encode(bgra), MAX_PIXELS), CONFIG)
    np.testing.assert_allclose(from_bytes, preprocess(line(), CONFIG), atol=0.02)


@pytest.mark.parametrize("data", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40])
def test_unreadable_bytes(data):
    with pytest.raises(InputError) as err:
        decode_image(data, MAX_PIXELS)
    assert err.value.code == "invalid_image"


def test_too_many_pixels_refused_before_decoding():
    data = encode(np.zeros((100, 1000), np.uint8))
    with pytest.raises(InputError) as err:
        decode_image(data, max_pixels=50_000)
    assert err.value.code == "image_too_large"


def test_pad_batch():
    a, b = preprocess(line(100, 32), CONFIG), preprocess(line(300, 32), CONFIG)
    batch, widths = pad_batch([a, b])
    assert batch.shape == (2, 1, 32, 300) and widths == [100, 300]
    assert float(batch[0, :, :, 100:].abs().sum()) == 0.0


def test_histogram_quantiles_equal_numpy_percentiles():
    rng = np.random.default_rng(4)
    for shape in [(1, 1), (3, 7), (32, 400), (57, 91)]:
        gray = rng.integers(0, 256, shape, dtype=np.uint8)
        fractions = (0.0, 0.01, 0.5, 0.99, 1.0)
        expected = np.percentile(gray, [100 * f for f in fractions])
        np.testing.assert_allclose(quantiles(gray, fractions), expected, atol=1e-9)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(fmt, orientation):
    """A photo stored sideways (or mirrored) with an EXIF tag saying so decodes upright, whatever the
    format and whichever of the eight orientations."""
    upright = np.full((40, 120), 255, np.uint8)
    upright[5:15, 5:60] = 0  # a mark in the top-left corner tells every turn and mirror apart
    # What a camera stores for each orientation: the upright image turned the other way.
    stored = {
        1: upright,
        2: cv2.flip(upright, 1),
        3: cv2.rotate(upright, cv2.ROTATE_180),
        4: cv2.flip(upright, 0),
        5: cv2.transpose(upright),
        6: cv2.rotate(upright, cv2.ROTATE_90_COUNTERCLOCKWISE),
        7: cv2.flip(cv2.transpose(upright), -1),
        8: cv2.rotate(upright, cv2.ROTATE_90_CLOCKWISE),
    }[orientation]
    picture = Image.fromarray(stored)
    exif = picture.getexif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    picture.save(buffer, fmt, exif=exif, **({"quality": 95} if fmt == "JPEG" else {}))
    decoded = decode_image(buffer.getvalue(), MAX_PIXELS)
    assert decoded.shape == upright.shape
    assert np.abs(decoded.astype(int) - upright).mean() < 3
    # The header alone tells the upright size (the handler chooses line or page from it).
    header = read_header(buffer.getvalue(), MAX_PIXELS)
    assert (header.height, header.width) == upright.shape


def test_wide_images_convert_without_wide_copies():
    """A 16-bit image with alpha becomes 8-bit on white without float copies of the whole image
    (they cost ten times its size), with the same pixels as the plain arithmetic."""
    rng = np.random.default_rng(0)
    bgra = rng.integers(0, 65536, size=(1500, 2000, 4), dtype=np.uint16)
    tracemalloc.start()
    try:
        converted = to_8bit(bgra)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # The input is 24 MB, the output 9 MB; converting the whole image at once peaked at 108 MB.
    assert peak < 1.5 * bgra.nbytes
    eight = (bgra / 257).astype(np.uint8)
    alpha = eight[:, :, 3:4].astype(np.float32) / 255.0
    np.testing.assert_array_equal(converted, (eight[:, :, :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8))


@pytest.mark.parametrize(
    "data",
    [
        b"II*\x00" + b"\xff" * 64,  # a TIFF header that claims things and parses as nothing
        b"\xff\xd8\xff" + b"\x00" * 64,  # a JPEG that stops after its marker
    ],
)
def test_headers_that_cannot_be_read_are_refused(data):
    with pytest.raises(InputError) as err:
        decode_image(data, MAX_PIXELS)
    assert err.value.code == "invalid_image"


def test_too_large_message_is_ours():
    """Pillow's own refusal speaks of a 'DOS attack'; clients get the limit instead."""
    data = encode(np.zeros((100, 1000), np.uint8))
    with pytest.raises(InputError) as err:
        decode_image(data, max_pixels=50_000)
    assert "50,000" in err.value.message and "attack" not in err.value.message
