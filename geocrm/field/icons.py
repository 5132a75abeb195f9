"""Draw the field app icons (a white map pin with a tick on the theme blue).

Run `python -m geocrm.field.icons` after changing the design; the PNGs are committed.
"""

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "static" / "field" / "icons"

BLUE = (11, 83, 148, 255)
WHITE = (255, 255, 255, 255)


def draw(size: int, maskable: bool) -> Image.Image:
    s = 4 * size  # supersample, then downscale for smooth edges
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    if maskable:
        d.rectangle([0, 0, s, s], fill=BLUE)
        scale = 0.62  # keep the pin inside the 80 % safe zone
    else:
        r = s // 5
        d.rounded_rectangle([0, 0, s - 1, s - 1], radius=r, fill=BLUE)
        scale = 0.8
    cx, cy = s / 2, s / 2
    h = s * scale
    head_r = h * 0.32
    head_c = (cx, cy - h * 0.14)
    tip = (cx, cy + h * 0.42)
    d.ellipse(
        [head_c[0] - head_r, head_c[1] - head_r, head_c[0] + head_r, head_c[1] + head_r], fill=WHITE
    )
    d.polygon(
        [
            (cx - head_r * 0.86, head_c[1] + head_r * 0.5),
            (cx + head_r * 0.86, head_c[1] + head_r * 0.5),
            tip,
        ],
        fill=WHITE,
    )
    w = max(2, int(head_r * 0.22))
    a = (head_c[0] - head_r * 0.45, head_c[1] + head_r * 0.02)
    b = (head_c[0] - head_r * 0.1, head_c[1] + head_r * 0.38)
    c = (head_c[0] + head_r * 0.5, head_c[1] - head_r * 0.35)
    d.line([a, b, c], fill=BLUE, width=w, joint="curve")
    return img.resize((size, size), Image.LANCZOS)


def main() -> None:
    """Write the three PNGs."""
    for name, size, maskable in (
        ("icon-192.png", 192, False),
        ("icon-512.png", 512, False),
        ("maskable-512.png", 512, True),
    ):
        draw(size, maskable).save(OUT / name, optimize=True)


if __name__ == "__main__":
    main()
