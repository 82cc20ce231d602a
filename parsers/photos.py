"""Photos: whether a unit's picture is a JPEG or PNG that fully decodes, and its size.

Takes hostile input (any file a unit attached) and never raises: a problem comes back as a
`PhotoError` in `PhotoInfo.error`; the rule PHOTO_UNREADABLE words it for the unit.
"""

from __future__ import annotations

import io
import logging
import threading
import warnings

from PIL import Image, ImageFile, UnidentifiedImageError

from parsers.model import PhotoError, PhotoInfo
from parsers.sniff import image_format

log = logging.getLogger(__name__)

ACCEPTED_PHOTO_FORMATS = ("JPEG", "PNG")

# Image.open's bomb check reports through the process-global warnings filter, and
# warnings.catch_warnings is not thread-safe before Python 3.14: serialise just that header step.
_OPEN_LOCK = threading.Lock()


def probe_photo(data: bytes, max_pixels: int = 50_000_000) -> PhotoInfo:
    """Fully decode a photo; only JPEG and PNG pass.

    The effective pixel cap is the lower of `max_pixels` and Pillow's `Image.MAX_IMAGE_PIXELS`
    (whose warning is turned into a refusal here). Never raises.
    """
    if not data:
        return PhotoInfo(error=PhotoError.EMPTY)
    # Formats units really send instead of JPG/PNG (iPhone HEIC above all) are recognised by
    # their magic so the notice can say what the file is rather than "unreadable".
    sniffed = image_format(data)
    if sniffed is None:
        return PhotoInfo(error=PhotoError.UNREADABLE)
    if sniffed not in ACCEPTED_PHOTO_FORMATS:
        return PhotoInfo(format=sniffed, error=PhotoError.WRONG_FORMAT)

    # verify() passes a truncated JPEG and LOAD_TRUNCATED_IMAGES=True would let load() pass it
    # too (grey-filled); another module may have flipped it, so pin the strict default.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with _OPEN_LOCK, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # formats= keeps Pillow's other plugins (FITS, EPS, …) away from untrusted bytes.
            im = Image.open(io.BytesIO(data), formats=ACCEPTED_PHOTO_FORMATS)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        return PhotoInfo(format=sniffed, error=PhotoError.BOMB)
    except UnidentifiedImageError:
        return PhotoInfo(format=sniffed, error=PhotoError.UNREADABLE)
    except Exception as exc:  # any parser failure on hostile bytes is "unreadable"
        log.debug("photo header failed: %r", exc)
        return PhotoInfo(format=sniffed, error=PhotoError.CORRUPT)

    with im:
        width, height = im.size
        # Checked on the header, before load() allocates width × height pixels.
        if width * height > max_pixels:
            return PhotoInfo(sniffed, width, height, PhotoError.BOMB)
        try:
            im.load()
        except Exception as exc:
            log.debug("photo decode failed: %r", exc)
            text = str(exc).lower()
            error = PhotoError.TRUNCATED if "truncated" in text else PhotoError.CORRUPT
            return PhotoInfo(sniffed, width, height, error)
    return PhotoInfo(sniffed, width, height)
