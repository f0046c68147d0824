"""Where a chart writes its point labels: each beside its point at the first of four places that overlaps no label
already placed, no point and no fixed text, and stays inside the plot; a label with no such place is not drawn (the
point's tooltip still names it). Deterministic: the labels are placed in the order given, their priority.

Pixel geometry with the origin at the plot's top left, y growing downwards, as Vega draws.
"""

from __future__ import annotations

from dataclasses import dataclass

#: a character's width as a share of the font size: wider than the average glyph of the charts' sans-serif font, so a
#: box estimated from it holds the drawn text
CHAR_WIDTH = 0.62
#: a line's height as a share of the font size (ascent and descent)
LINE_HEIGHT = 1.2
#: pixels between a point's centre and its label, horizontally and vertically
GAP_X, GAP_Y = 7, 2


@dataclass(frozen=True)
class Box:
    left: float
    top: float
    right: float
    bottom: float

    def overlaps(self, other: "Box") -> bool:
        return self.left < other.right and other.left < self.right and self.top < other.bottom and other.top < self.bottom

    def inside(self, width: float, height: float) -> bool:
        return self.left >= 0 and self.top >= 0 and self.right <= width and self.bottom <= height


@dataclass(frozen=True)
class Place:
    """One place beside a point: the text mark's alignment and offset that put it there."""

    name: str
    align: str
    baseline: str
    dx: int
    dy: int

    def box(self, x: float, y: float, text: str, font_size: float) -> "Box":
        """The box ``text`` covers at this place beside the point (x, y)."""
        return text_box(x, y, text, font_size, self.align, self.baseline, self.dx, self.dy)


#: the places a label may take, in order of preference: beside its point (right, then left; above, then below the
#: point's centre), then over or under it, running right from the point's left edge, then left from its right edge
PLACES = (Place("right-above", "left", "bottom", GAP_X, -GAP_Y), Place("right-below", "left", "top", GAP_X, GAP_Y),
          Place("left-above", "right", "bottom", -GAP_X, -GAP_Y), Place("left-below", "right", "top", -GAP_X, GAP_Y),
          Place("over-right", "left", "bottom", -GAP_Y, -GAP_X), Place("under-right", "left", "top", -GAP_Y, GAP_X),
          Place("over-left", "right", "bottom", GAP_Y, -GAP_X), Place("under-left", "right", "top", GAP_Y, GAP_X))


def text_box(x: float, y: float, text: str, font_size: float, align: str = "left", baseline: str = "bottom",
             dx: float = 0, dy: float = 0) -> Box:
    """The box a text mark anchored at (x + dx, y + dy) covers, from its alignment and baseline."""
    width, height = CHAR_WIDTH * font_size * len(text), LINE_HEIGHT * font_size
    left = x + dx - {"left": 0, "center": width / 2, "right": width}[align]
    top = y + dy - {"top": 0, "middle": height / 2, "bottom": height}[baseline]
    return Box(left, top, left + width, top + height)


def point_box(x: float, y: float, radius: float) -> Box:
    return Box(x - radius, y - radius, x + radius, y + radius)


def place_labels(points: list[tuple[float, float]], texts: list[str], width: float, height: float, font_size: float,
                 radius: float, fixed: list[Box] = ()) -> list[Place | None]:
    """Per label (in priority order, beside the point of the same index): its place, or None where every place would
    overlap a label placed before it, any point (a disc of ``radius``) or a ``fixed`` box, or leave the
    ``width`` × ``height`` plot."""
    taken = [*fixed, *(point_box(x, y, radius) for x, y in points)]
    places = []
    for (x, y), text in zip(points, texts):
        chosen = None
        for place in PLACES:
            box = place.box(x, y, text, font_size)
            if box.inside(width, height) and not any(box.overlaps(other) for other in taken):
                chosen = place
                taken.append(box)
                break
        places.append(chosen)
    return places
