"""The image step: plain Pillow, run in the image workers on every derivative, after the
resize and before the encode."""

from PIL import Image, ImageDraw, ImageFont

POSITIONS = ("bottom-right", "bottom-left", "top-right", "top-left", "center")


def text_origin(position, box, text_size, margin):
    """The top-left corner of text of ``text_size`` placed at ``position`` in ``box``."""
    (width, height), (text_width, text_height) = box, text_size
    left, top = margin, margin
    right, bottom = width - text_width - margin, height - text_height - margin
    return {
        "top-left": (left, top),
        "top-right": (right, top),
        "bottom-left": (left, bottom),
        "bottom-right": (right, bottom),
        "center": ((width - text_width) // 2, (height - text_height) // 2),
    }[position]


def draw_text(image, spec, *, text, opacity, position, min_width):
    """``image`` with ``text`` drawn in white, when it is at least ``min_width`` wide."""
    if image.width < min_width:
        return image
    font = ImageFont.load_default(size=max(12, image.width // 24))
    left, top, right, bottom = font.getbbox(text)
    margin = image.width // 40
    x, y = text_origin(position, image.size, (right - left, bottom - top), margin)
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    ImageDraw.Draw(overlay).text(
        (x - left, y - top), text, font=font, fill=(255, 255, 255, round(255 * opacity))
    )
    marked = Image.alpha_composite(image.convert("RGBA"), overlay)
    if image.mode != "RGBA":
        marked = marked.convert(image.mode)
    marked.info = dict(image.info)  # the colour profile and EXIF the encoder writes back
    return marked
