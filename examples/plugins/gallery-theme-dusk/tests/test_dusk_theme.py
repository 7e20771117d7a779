"""The dusk theme, installed as a package and picked by name in gallery.toml."""

from html.parser import HTMLParser
from importlib.metadata import entry_points

from gallery_builder.testing import build_gallery, plugin_manager, run_cli


class HeadLinks(HTMLParser):
    """The stylesheets a page links, in order, and its theme-color."""

    def __init__(self):
        super().__init__()
        self.stylesheets = []
        self.theme_color = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link" and attrs.get("rel") == "stylesheet":
            self.stylesheets.append(attrs["href"].rpartition("/")[2])
        if tag == "meta" and attrs.get("name") == "theme-color":
            self.theme_color = attrs["content"]


def head_of(page):
    parser = HeadLinks()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def test_the_theme_is_a_plugin_of_its_own_distribution():
    (entry_point,) = [ep for ep in entry_points(group="gallery_builder") if ep.name == "theme_dusk"]
    assert entry_point.dist.name == "gallery-theme-dusk"
    assert plugin_manager().has_plugin("theme_dusk")


def test_gallery_themes_lists_dusk_extending_default():
    result = run_cli(["themes"])
    assert result.exit_code == 0, result.output
    assert "dusk -> default" in result.output
    assert "dark in any light" in result.output


def test_every_page_links_dusk_css_after_the_default_stylesheet(photos, tmp_path):
    (photos / "gallery.toml").write_text('[gallery]\ntheme = "dusk"\n', encoding="utf-8")
    out = tmp_path / "site"
    build_gallery(photos, out)  # no plugin passed: the installed theme_dusk is the one used

    pages = sorted(out.rglob("*.html"))
    assert {p.relative_to(out).as_posix() for p in pages} >= {
        "index.html",
        "sea/index.html",
        "error.html",
    }
    for page in pages:
        head = head_of(page)
        names = [name.split(".")[0] for name in head.stylesheets]
        assert "style" in names and names[-1] == "dusk", (page, head.stylesheets)
        assert head.theme_color == "#15131f", page
    (dusk_css,) = out.glob("_static/dusk.*.css")
    assert "--bg: #15131f" in dusk_css.read_text(encoding="utf-8")


def test_the_default_theme_is_untouched_by_the_installed_dusk(photos, tmp_path):
    out = tmp_path / "site"
    build_gallery(photos, out)
    head = head_of(out / "index.html")
    assert not any(name.startswith("dusk.") for name in head.stylesheets)
    assert head.theme_color is None
    assert not list(out.glob("_static/dusk.*"))
