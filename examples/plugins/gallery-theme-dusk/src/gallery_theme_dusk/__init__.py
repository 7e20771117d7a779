"""gallery-theme-dusk: a theme package. Its one hook names the folder holding the theme."""

from pathlib import Path

from gallery_builder import hookimpl

THEME_FOLDER = Path(__file__).parent / "dusk"


@hookimpl
def gallery_themes():
    return [THEME_FOLDER]
