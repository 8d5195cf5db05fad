"""A photo sent with a tip, re-encoded within limits so that nothing of the sent file is kept.

A photo comes from outside, so it is decoded like a boundary upload or a GPX track: in
geo.sandbox's confined child (no network, CPU, memory and time limits), never in a web worker.
There:

1. the first bytes must be those of a JPEG, PNG or WebP file (what phones send), and Pillow is
   allowed those three decoders only, so a file that says it is a TIFF, an SVG or a PSD is never
   opened by a decoder its content would pick;
2. the size in pixels is read from the header and checked BEFORE any pixel is decoded: a
   "decompression bomb" (a few kilobytes that declare 50,000 × 50,000 pixels) is refused unread;
3. the picture is turned upright by its EXIF orientation, shrunk to at most MAX_SIDE pixels a
   side, and written anew as a JPEG with no metadata at all: no EXIF (GPS position, phone model,
   time), no ICC profile, no comments. Only those new bytes leave the child.

Every refusal is a PhotoProblem with a stable code (PROBLEMS); the portal says each in words.
"""

from __future__ import annotations

import base64
import io
import warnings
from dataclasses import asdict, dataclass

from geo import sandbox

PROBLEMS = (
    "empty_file",
    "too_large",  # more bytes than max_bytes
    "not_image",  # not a JPEG, PNG or WebP by its content
    "too_many_pixels",  # the header declares more pixels than max_pixels (a decompression bomb)
    "unreadable",  # the decoder could not read it (truncated, corrupt)
    # the confined child did not answer (geo.sandbox.SandboxFailure kinds)
    "reader_timeout",
    "reader_memory",
    "reader_crashed",
    "reader_output",
)

SIGNATURES = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
)


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 10 << 20  # a phone's photo is 2–6 MB
    max_pixels: int = 50_000_000  # a 48-megapixel phone camera passes, a bomb does not
    max_side: int = 1600  # what we keep: enough to read a number plate, a tenth of the bytes
    quality: int = 82


DEFAULT_LIMITS = Limits()
PROCESS_LIMITS = sandbox.ProcessLimits(
    cpu_seconds=20,
    wall_seconds=30.0,
    memory_bytes=1 << 30,
    file_bytes=1 << 20,
    output_bytes=8 << 20,
)


class PhotoProblem(Exception):
    def __init__(self, code: str, detail: str = ""):
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Photo:
    """The re-encoded photo: JPEG bytes with no metadata."""

    data: bytes
    width: int
    height: int


def image_format(data: bytes) -> str | None:
    """JPEG, PNG or WEBP by the file's first bytes; None for anything else."""
    for signature, name in SIGNATURES:
        if data.startswith(signature):
            return name
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def first_look(data: bytes, limits: Limits = DEFAULT_LIMITS) -> None:
    """What can be refused without decoding: size, emptiness, what the content says it is."""
    if not data:
        raise PhotoProblem("empty_file")
    if len(data) > limits.max_bytes:
        raise PhotoProblem("too_large", f"{len(data)} > {limits.max_bytes}")
    if image_format(data) is None:
        raise PhotoProblem("not_image")


def reencode(
    data: bytes,
    *,
    limits: Limits = DEFAULT_LIMITS,
    process: sandbox.ProcessLimits = PROCESS_LIMITS,
) -> Photo:
    """The photo re-encoded in geo.sandbox's confined child; PhotoProblem when it is refused."""
    first_look(data, limits)
    try:
        answer = sandbox.run("photo", data, {"limits": asdict(limits)}, limits=process)
    except sandbox.SandboxFailure as exc:
        raise PhotoProblem(exc.kind, exc.detail) from None
    if answer.get("problem"):
        raise PhotoProblem(str(answer["problem"]), str(answer.get("detail", ""))[:200])
    photo = Photo(base64.b64decode(answer["jpeg"]), int(answer["width"]), int(answer["height"]))
    if image_format(photo.data) != "JPEG":  # trust nothing from the child but its shape
        raise PhotoProblem("reader_output", "not a JPEG")
    return photo


def reencode_in_child(data: bytes, args: dict, progress) -> dict:
    """The sandbox task: decode within limits and write a clean JPEG, answered as JSON."""
    sandbox.require_child()
    limits = Limits(**args["limits"])
    try:
        jpeg, width, height = _reencode(data, limits)
    except PhotoProblem as exc:
        return {"problem": exc.code, "detail": exc.detail}
    return {"jpeg": base64.b64encode(jpeg).decode(), "width": width, "height": height}


def _reencode(data: bytes, limits: Limits) -> tuple[bytes, int, int]:
    sandbox.require_child()  # a decoder opens a file from outside only in the confined child
    from PIL import Image, ImageOps

    first_look(data, limits)
    kind = image_format(data)
    # Pillow refuses more than twice MAX_IMAGE_PIXELS itself; we refuse above our own limit
    Image.MAX_IMAGE_PIXELS = limits.max_pixels
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=[kind])
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise PhotoProblem("too_many_pixels", str(exc)[:200]) from None
        except Exception as exc:  # Pillow raises many kinds for a broken header
            raise PhotoProblem("unreadable", str(exc)[:200]) from None
        width, height = image.size
        if width * height > limits.max_pixels or width < 1 or height < 1:
            raise PhotoProblem("too_many_pixels", f"{width}×{height}")
        try:
            if kind == "JPEG":
                image.draft("RGB", (limits.max_side, limits.max_side))  # decode at 1/2…1/8 scale
            image.load()
            upright = ImageOps.exif_transpose(image)
            upright = upright.convert("RGB")
            upright.thumbnail((limits.max_side, limits.max_side))
        except Exception as exc:
            raise PhotoProblem("unreadable", str(exc)[:200]) from None
    out = io.BytesIO()
    # a new image from the pixels alone: no exif, icc_profile or comment is passed on
    clean = Image.new("RGB", upright.size)
    clean.paste(upright)
    clean.save(out, "JPEG", quality=limits.quality, optimize=True)
    return out.getvalue(), clean.width, clean.height
