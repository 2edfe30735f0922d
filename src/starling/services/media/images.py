"""Images: decode safely, apply orientation, copy the pixels into a fresh image, re-encode.

Why a fresh image: every piece of metadata a file can carry (EXIF with GPS, camera serial and
MakerNote, the embedded EXIF thumbnail, XMP, IPTC, PNG text and time chunks, GIF comments) lives
beside the pixels, in ``Image.info`` or in chunks the encoder may copy along. Copying only the
pixel bytes into a new ``Image`` and encoding that, with nothing but an ICC colour profile passed to
the encoder, leaves no path for any of it to reach a stored file. Tests check each stored file with
``exiftool``.

Safety: only the allow-listed decoders are tried (``Image.open(formats=...)``), images over the pixel
limit are refused before decoding (Pillow's decompression-bomb warning is an error here), truncated
files fail instead of being padded, and animated images are bounded in total decoded pixels.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import blurhash  # type: ignore[import-untyped]
from PIL import Image, ImageFile, ImageOps, ImageSequence, UnidentifiedImageError

from starling.domain.errors import Unprocessable

try:  # HEIC/HEIF through libheif; without it those files are refused as unsupported.
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_AVAILABLE = True
except ImportError:  # pragma: no cover - pillow-heif is a declared dependency
    HEIF_AVAILABLE = False

ALLOWED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "HEIF")
ImageFile.LOAD_TRUNCATED_IMAGES = False

# Encoder settings: what each source format becomes.
_OUTPUT = {"JPEG": "JPEG", "HEIF": "JPEG", "PNG": "PNG", "WEBP": "WEBP", "GIF": "PNG"}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
JPEG_QUALITY = 90
WEBP_QUALITY = 90
BLURHASH_COMPONENTS = (4, 4)


@dataclass
class Encoded:
    data: bytes
    format: str  # JPEG, PNG, WEBP or GIF
    width: int
    height: int

    @property
    def ext(self) -> str:
        return EXTENSIONS[self.format]

    def meta(self) -> dict[str, Any]:
        return dimensions_meta(self.width, self.height)


@dataclass
class ProcessedImage:
    original: Encoded
    small: Encoded
    blurhash: str | None
    extra_meta: dict[str, Any] = field(default_factory=dict)


def dimensions_meta(width: int, height: int) -> dict[str, Any]:
    return {"width": width, "height": height, "size": f"{width}x{height}",
            "aspect": round(width / height, 6) if height else 0}


# Pillow warns about images over MAX_IMAGE_PIXELS and only refuses those over twice that; this
# server refuses both. The filter is added for the whole process, never toggled off (filters are not
# thread-safe to toggle, and images are decoded in threads); adding it again is idempotent, and
# ``_guarded`` does so in case a surrounding ``catch_warnings`` dropped it.
def _bomb_warning_is_an_error() -> None:
    warnings.filterwarnings("error", category=Image.DecompressionBombWarning)


_bomb_warning_is_an_error()


@contextmanager
def _guarded(max_pixels: int) -> Iterator[None]:
    """Decoding under the pixel limit, the decompression-bomb warning being an error.

    ``MAX_IMAGE_PIXELS`` is process-wide: it is set, not restored, so concurrent decodes never see
    Pillow's laxer default. Every caller also checks the header's size against ``max_pixels`` itself.
    """
    Image.MAX_IMAGE_PIXELS = max_pixels
    _bomb_warning_is_an_error()
    try:
        yield
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise Unprocessable(f"Validation failed: the image is larger than {max_pixels} pixels", field="file") \
            from None


def _open(source: Path | bytes) -> Image.Image:
    fp: Any = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        return Image.open(fp, formats=ALLOWED_FORMATS)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise Unprocessable(f"Validation failed: the file is not a valid image ({_reason(exc)})", field="file") \
            from None


def _reason(exc: BaseException) -> str:
    """A short cause for the client, never naming a path on the server."""
    if isinstance(exc, OSError) and exc.filename is not None:
        return exc.strerror or type(exc).__name__
    text = str(exc).split("\n")[0][:120]
    return text or type(exc).__name__


def inspect_image(source: Path | bytes, max_pixels: int) -> tuple[str, int, int]:
    """Format and size from the header only: cheap enough for the upload request."""
    with _guarded(max_pixels):
        im = _open(source)
        with im:
            width, height = im.size
            fmt = im.format or ""
    if fmt not in ALLOWED_FORMATS:
        raise Unprocessable("Validation failed: this image format is not supported", field="file")
    if width < 1 or height < 1:
        raise Unprocessable("Validation failed: the image has no pixels", field="file")
    if width * height > max_pixels:
        raise Unprocessable(f"Validation failed: the image is larger than {max_pixels} pixels", field="file")
    return fmt, width, height


def _normalise(im: Image.Image) -> tuple[Image.Image, bool]:
    """A mode every encoder takes, and whether the ICC profile still describes the pixels."""
    mode = im.mode
    if mode in ("RGB", "RGBA", "L", "LA"):
        return im, True
    if mode == "P" or mode == "PA":
        has_alpha = mode == "PA" or "transparency" in im.info
        return im.convert("RGBA" if has_alpha else "RGB"), True
    if mode == "1":
        return im.convert("L"), True
    if mode.startswith("I"):
        return im.convert("I").point(lambda v: v / 256).convert("L"), False
    if mode == "CMYK":
        return im.convert("RGB"), False
    return im.convert("RGBA" if "A" in mode else "RGB"), False


def _fresh(im: Image.Image) -> Image.Image:
    """The same pixels in a new image that has no ``info``, no EXIF, no chunks: nothing but pixels.

    ``paste`` without a mask copies every band (alpha too) and nothing else.
    """
    fresh = Image.new(im.mode, im.size)
    fresh.paste(im)
    return fresh


def _encode(im: Image.Image, fmt: str, icc: bytes | None) -> bytes:
    out = io.BytesIO()
    kwargs: dict[str, Any] = {}
    if icc:
        kwargs["icc_profile"] = icc
    if fmt == "JPEG":
        if im.mode not in ("RGB", "L"):
            im = _flatten(im)
        im.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True, **kwargs)
    elif fmt == "PNG":
        im.save(out, "PNG", optimize=False, compress_level=6, **kwargs)
    elif fmt == "WEBP":
        if im.mode not in ("RGB", "RGBA"):
            im = im.convert("RGBA" if "A" in im.mode else "RGB")
        im.save(out, "WEBP", quality=WEBP_QUALITY, method=4, **kwargs)
    else:
        raise ValueError(f"unexpected output format {fmt}")
    return out.getvalue()


def _flatten(im: Image.Image) -> Image.Image:
    """Alpha composited on white, for encoders without transparency (JPEG)."""
    if "A" not in im.mode:
        return im.convert("RGB")
    rgba = im.convert("RGBA")
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def _blurhash(im: Image.Image) -> str | None:
    small = _flatten(im) if "A" in im.mode else im.convert("RGB")
    small.thumbnail((64, 64), Image.Resampling.BILINEAR)
    try:
        return str(blurhash.encode(small.copy(), x_components=BLURHASH_COMPONENTS[0],
                                   y_components=BLURHASH_COMPONENTS[1]))
    except Exception:  # a hash is a nicety: never fail an upload over it
        return None


def _fit(im: Image.Image, box: tuple[int, int]) -> Image.Image:
    copy = im.copy()
    copy.thumbnail(box, Image.Resampling.LANCZOS)
    return copy


def _crop_to(im: Image.Image, box: tuple[int, int]) -> Image.Image:
    """Centre-crop to the box's aspect ratio, then shrink (never enlarge) into it."""
    width, height = im.size
    target = box[0] / box[1]
    if width / height > target:
        new_w = max(1, round(height * target))
        left = (width - new_w) // 2
        im = im.crop((left, 0, left + new_w, height))
    elif width / height < target:
        new_h = max(1, round(width / target))
        top = (height - new_h) // 2
        im = im.crop((0, top, width, top + new_h))
    return _fit(im, box)


def process_image(
    source: Path | bytes,
    *,
    max_pixels: int,
    preview_size: int,
    crop: tuple[int, int] | None = None,
    output_format: str | None = None,
) -> ProcessedImage:
    """Decode, orient, strip and re-encode one image; make its preview and blurhash.

    ``crop`` (avatars and headers) centre-crops to that aspect ratio and shrinks into that box;
    ``output_format`` (JPEG for video posters) overrides the format a still image is written in.
    Raises ``Unprocessable`` for anything that is not a whole, allowed, small-enough image.
    """
    with _guarded(max_pixels):
        fmt, _, _ = inspect_image(source, max_pixels)
        im = _open(source)
        try:
            frames = getattr(im, "n_frames", 1)
            if fmt == "GIF" and frames > 1:
                return _process_animated(im, max_pixels=max_pixels, preview_size=preview_size, crop=crop)
            try:
                im.load()
                icc = im.info.get("icc_profile")
                ImageOps.exif_transpose(im, in_place=True)  # in place: one decoded copy less at the peak
            except (OSError, SyntaxError, ValueError, EOFError) as exc:
                raise Unprocessable(
                    f"Validation failed: the image could not be decoded ({_reason(exc)})", field="file"
                ) from None
            pixels, icc_valid = _normalise(im)
            clean = _fresh(pixels)
            del pixels
        finally:
            im.close()
    profile = icc if isinstance(icc, bytes) and icc and icc_valid else None
    if crop is not None:
        clean = _crop_to(clean, crop)
    out_fmt = output_format or _OUTPUT[fmt]
    original = Encoded(_encode(clean, out_fmt, profile), out_fmt, clean.width, clean.height)
    preview = _fit(clean, (preview_size, preview_size))
    small = Encoded(_encode(preview, out_fmt, profile), out_fmt, preview.width, preview.height)
    return ProcessedImage(original=original, small=small, blurhash=_blurhash(preview))


def _process_animated(
    im: Image.Image, *, max_pixels: int, preview_size: int, crop: tuple[int, int] | None
) -> ProcessedImage:
    """Every frame of an animated GIF, each copied into a fresh image; durations and looping kept."""
    width, height = im.size
    n_frames = int(getattr(im, "n_frames", 1))
    if width * height * n_frames > max_pixels:
        raise Unprocessable(
            f"Validation failed: the animation has more than {max_pixels} pixels in all its frames", field="file"
        )
    frames: list[Image.Image] = []
    durations: list[int] = []
    try:
        for frame in ImageSequence.Iterator(im):
            durations.append(int(frame.info.get("duration", 100) or 100))
            rgba = _fresh(frame.convert("RGBA"))
            frames.append(_crop_to(rgba, crop) if crop is not None else rgba)
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise Unprocessable(
            f"Validation failed: the image could not be decoded ({_reason(exc)})", field="file"
        ) from None
    loop = im.info.get("loop", 0)
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=durations,
                   loop=int(loop) if isinstance(loop, int) else 0, disposal=2, optimize=False)
    first = frames[0]
    original = Encoded(out.getvalue(), "GIF", first.width, first.height)
    poster = _fit(first, (preview_size, preview_size))
    small = Encoded(_encode(poster, "PNG", None), "PNG", poster.width, poster.height)
    total_ms = sum(durations)
    extra = {"duration": round(total_ms / 1000, 3), "frames": len(frames)}
    return ProcessedImage(original=original, small=small, blurhash=_blurhash(poster), extra_meta=extra)
