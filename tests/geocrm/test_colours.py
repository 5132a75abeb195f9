"""The one colour rule: hex or a palette colour, the same on the territory map and in the editor."""

from __future__ import annotations

import pytest

from geocrm.accounts.services import AccountFilters
from geocrm.colours import PALETTE, check_colour, safe_colour
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.maps.services import territory_layers
from geocrm.territory_admin.services import editor_data, update_properties


@pytest.mark.parametrize("bad", [None, "", "red", "#12345", "#1234567", "#12345g",
                                 'x" onload="alert(1)', "#fff;background:url(x)"])
def test_only_hex_colours_pass(bad):
    """Anything but #rrggbb becomes a palette colour, so it can never break out of a style."""
    assert safe_colour(bad, 3) == PALETTE[3]
    with pytest.raises(ValidationError, match="color: a colour like #1f77b4"):
        check_colour(bad)


def test_good_colours_are_lowercased():
    """One spelling of a colour: lowercase hex."""
    assert safe_colour("#ABCDEF") == "#abcdef" and check_colour(" #ABCDEF ") == "#abcdef"
    assert safe_colour(None, len(PALETTE) + 1) == PALETTE[1]


def test_map_and_editor_draw_a_territory_in_the_same_colour(app, world):
    """A stored colour that is not hex falls back to the same colour on both pages."""
    world.west.color = "tomato"
    world.east.color = "#ABCDEF"
    db.session.commit()
    on_map = {t.id: t.color for t in territory_layers(world.manager, AccountFilters())}
    in_editor = {f["properties"]["id"]: f["properties"]["color"]
                 for f in editor_data(world.manager)["territories"]["features"]}
    assert on_map[world.west.id] == in_editor[world.west.id] == safe_colour(None, world.west.id)
    assert on_map[world.east.id] == in_editor[world.east.id] == "#abcdef"


def test_recolouring_checks_the_colour(app, world):
    """The editor's recolour refuses a non-hex colour with a 422 naming the field."""
    with pytest.raises(ValidationError, match="color"):
        update_properties(world.manager, world.west.id, color="javascript:1")
