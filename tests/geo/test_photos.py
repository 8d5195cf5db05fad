"""A tip's photo: re-encoded in the sandbox's child without any of the sent file's metadata, and
every hostile or broken file refused with its code. No Flask, no database."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image, PngImagePlugin

from geo import photos

MODEL = "TestPhone-Model-X9Q"
MAKE = "SecretMaker-Corp"
COMMENT = b"comment-that-must-go"
RED, BLUE = (220, 20, 20), (20, 20, 220)


def exif_jpeg(size=(60, 30), orientation: int = 6) -> bytes:
    """A JPEG whose left half is red and right half blue, with GPS, camera and orientation."""
    image = Image.new("RGB", size, RED)
    image.paste(BLUE, (size[0] // 2, 0, size[0], size[1]))
    exif = Image.Exif()
    exif[0x010F] = MAKE
    exif[0x0110] = MODEL
    exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (21.0, 2.0, 3.5), 3: "E", 4: (105.0, 50.0, 1.25)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=COMMENT, quality=95)
    return out.getvalue()


def png(size=(40, 30), text: str | None = None) -> bytes:
    info = None
    if text:
        info = PngImagePlugin.PngInfo()
        info.add_text("Author", text)
    out = io.BytesIO()
    Image.new("RGB", size, BLUE).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(side: int) -> bytes:
    """A valid 1-bit black PNG of side × side pixels: a few hundred KB that decode to much more."""
    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte and the packed bits
    packer = zlib.compressobj(9)
    parts = [packer.compress(row * 100) for _ in range(side // 100)]
    parts.append(packer.compress(row * (side % 100)))
    parts.append(packer.flush())
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", b"".join(parts))
        + _chunk(b"IEND", b"")
    )


def problem(data: bytes, **kwargs) -> str:
    with pytest.raises(photos.PhotoProblem) as caught:
        photos.reencode(data, **kwargs)
    return caught.value.code


def test_a_jpeg_comes_back_upright_without_exif_gps_camera_or_comment():
    sent = exif_jpeg()
    # the file sent does carry what must go
    assert MODEL.encode() in sent and MAKE.encode() in sent and COMMENT in sent
    assert Image.open(io.BytesIO(sent)).getexif().get_ifd(0x8825)

    photo = photos.reencode(sent)

    assert photos.image_format(photo.data) == "JPEG"
    for secret in (MODEL.encode(), MAKE.encode(), COMMENT, b"Exif", b"GPS"):
        assert secret not in photo.data
    image = Image.open(io.BytesIO(photo.data))
    assert image.format == "JPEG"
    assert dict(image.getexif()) == {}
    assert "exif" not in image.info and "icc_profile" not in image.info
    assert "comment" not in image.info
    # orientation 6: the 60 × 30 picture is shown turned a quarter clockwise, 30 × 60, its
    # left (red) half now on top
    assert (photo.width, photo.height) == image.size == (30, 60)
    rgb = image.convert("RGB")
    top, bottom = rgb.getpixel((15, 10)), rgb.getpixel((15, 50))
    assert top[0] > 150 and top[2] < 100, top
    assert bottom[2] > 150 and bottom[0] < 100, bottom


def test_an_upright_jpeg_keeps_its_shape():
    photo = photos.reencode(exif_jpeg(orientation=1))
    assert (photo.width, photo.height) == (60, 30)


def test_a_png_with_text_becomes_a_jpeg_without_it():
    sent = png(text="Nguyen Van Secret 0912345678")
    assert b"0912345678" in sent
    photo = photos.reencode(sent)
    assert photos.image_format(photo.data) == "JPEG"
    assert b"0912345678" not in photo.data and b"Secret" not in photo.data
    assert (photo.width, photo.height) == (40, 30)


def test_a_webp_is_accepted():
    out = io.BytesIO()
    Image.new("RGB", (20, 10), RED).save(out, "WEBP")
    photo = photos.reencode(out.getvalue())
    assert (photo.width, photo.height) == (20, 10)


def test_a_large_photo_is_shrunk_to_the_longest_side_kept():
    out = io.BytesIO()
    Image.new("RGB", (3200, 2000), RED).save(out, "JPEG")
    photo = photos.reencode(out.getvalue())
    assert max(photo.width, photo.height) == photos.DEFAULT_LIMITS.max_side
    assert photo.width / photo.height == pytest.approx(3200 / 2000, rel=0.01)
    assert Image.open(io.BytesIO(photo.data)).size == (photo.width, photo.height)


@pytest.mark.parametrize("side", [8_000, 60_000])
def test_a_decompression_bomb_is_refused_before_decoding(side):
    # 64 million pixels (over our 50 million, under Pillow's own refusal at twice that) and
    # 3.6 billion (over both): a file of kilobytes either way
    data = bomb_png(side)
    assert len(data) < 600_000
    assert problem(data) == "too_many_pixels"


@pytest.mark.parametrize(
    "data",
    [
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
        b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;",
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script>'
        b"</svg>",
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
        b"just some text saying it is a photo.jpg\n",
        b"<!doctype html><html><body><img src=x onerror=alert(1)></body></html>",
        b"II*\x00\x08\x00\x00\x00",  # a TIFF header: a decoder we never open
        b"RIFF\x10\x00\x00\x00AVI LIST",  # RIFF but not WebP
    ],
    ids=["gif", "svg", "pdf", "text", "html", "tiff", "avi"],
)
def test_what_is_not_a_jpeg_png_or_webp_is_refused_whatever_its_name(data):
    assert problem(data) == "not_image"


def test_a_truncated_jpeg_is_refused_unreadable():
    whole = exif_jpeg(size=(400, 300))
    assert problem(whole[: len(whole) // 2]) == "unreadable"


def test_a_header_alone_is_refused_unreadable():
    assert problem(b"\xff\xd8\xff\xe0" + b"\x00" * 40) == "unreadable"
    assert problem(png()[:30]) == "unreadable"


def test_an_empty_file_is_refused():
    assert problem(b"") == "empty_file"


def test_too_many_bytes_are_refused_before_the_child_runs():
    sent = exif_jpeg()
    assert problem(sent, limits=photos.Limits(max_bytes=len(sent) - 1)) == "too_large"
    assert photos.reencode(sent, limits=photos.Limits(max_bytes=len(sent))).width == 30


def test_every_refusal_code_is_a_known_one():
    for code in ("empty_file", "too_large", "not_image", "too_many_pixels", "unreadable"):
        assert code in photos.PROBLEMS
