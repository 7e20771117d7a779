"""Slugs: lower-case ASCII names for albums and pictures, unique among their siblings."""

from __future__ import annotations

import itertools
import os
import re

import pytest

from gallery_builder.slugs import album_paths, slugify, unique_slugs

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def stem(name: str) -> str:
    return os.path.splitext(name)[0]


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Istanbul 2024", "istanbul-2024"),
        ("çay & simit", "cay-simit"),
        ("Straße", "strasse"),
        ("Łódź Kaliska", "lodz-kaliska"),
        ("Işık İstanbul", "isik-istanbul"),
        ("Ærøskøbing", "aeroskobing"),
        ("Œuvre", "oeuvre"),
        ("Þingvellir", "thingvellir"),
        ("Đà Nẵng", "da-nang"),
        ("São Paulo", "sao-paulo"),
        ("Ñandú", "nandu"),
        ("ﬁle", "file"),  # ligature: decomposed by NFKD
        ("IMG_0042", "img-0042"),
        ("  --Hello,  World!--  ", "hello-world"),
        ("a...b___c", "a-b-c"),
        ("2024", "2024"),
    ],
)
def test_slugify(text: str, slug: str) -> None:
    assert slugify(text) == slug


@pytest.mark.parametrize("text", ["🌅🌊", "日本", "Ελλάδα", "", "   ", "---", "&&&"])
def test_slugify_gives_empty_when_nothing_ascii_remains(text: str) -> None:
    assert slugify(text) == ""


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Paris–London", "paris-london"),  # en dash
        ("Paris—London", "paris-london"),  # em dash
        ("2023–2024", "2023-2024"),
        ("sun🌅set", "sun-set"),
        ("Tom’s trip", "tom-s-trip"),  # same as the ASCII apostrophe below
        ("Tom's trip", "tom-s-trip"),
        ("a·b", "a-b"),
    ],
)
def test_non_ascii_punctuation_separates_words(text: str, slug: str) -> None:
    assert slugify(text) == slug


@pytest.mark.parametrize(
    "text", ["Istanbul 2024", "çay & simit", "<b>bold</b>", "Ünïcödé  ß", "x" * 300, "🌅 a 🌊"]
)
def test_slugify_output_is_lowercase_ascii_words(text: str) -> None:
    slug = slugify(text)
    assert SLUG.match(slug)
    assert slugify(slug) == slug  # idempotent


def test_colliding_pictures_get_distinct_slugs() -> None:
    names = ["img.jpg", "img.png", "img-2.jpg"]
    slugs = unique_slugs(names, "picture", text=stem)
    assert set(slugs) == set(names)
    assert len(set(slugs.values())) == 3
    assert slugs["img-2.jpg"] == "img-2"  # its own name, not someone's suffix
    assert {slugs["img.jpg"], slugs["img.png"]} == {"img", "img-3"}


def test_unique_slugs_do_not_depend_on_order() -> None:
    names = ["img.jpg", "img.png", "img-2.jpg", "IMG.JPEG", "img 2.gif", "Img_3.png"]
    expected = unique_slugs(names, "picture", text=stem)
    assert len(set(expected.values())) == len(names)
    for order in itertools.permutations(names):
        assert unique_slugs(order, "picture", text=stem) == expected


def test_a_name_keeps_its_own_slug_when_others_collide() -> None:
    # img.png collides with img.jpg and needs a suffix; it must not take "img-2", which is
    # img_2.jpg's own slug (adding img.png would otherwise rename img_2.jpg's files)
    before = unique_slugs(["img.jpg", "img_2.jpg"], "picture", text=stem)
    after = unique_slugs(["img.jpg", "img_2.jpg", "img.png"], "picture", text=stem)
    assert before == {"img.jpg": "img", "img_2.jpg": "img-2"}
    assert after["img.jpg"] == "img"
    assert after["img_2.jpg"] == "img-2"
    assert after["img.png"] not in {"img", "img-2"}


def test_unique_slugs_use_the_fallback_for_unsluggable_names() -> None:
    slugs = unique_slugs(["🌅.jpg", "🌊.jpg", "picture.jpg"], "picture", text=stem)
    assert slugs["picture.jpg"] == "picture"
    assert sorted(slugs.values()) == ["picture", "picture-2", "picture-3"]


def test_unique_slugs_of_nothing() -> None:
    assert unique_slugs([], "picture") == {}


def test_album_paths_nest_like_the_folders() -> None:
    paths = album_paths(["Istanbul 2024/Çay bahçesi/Akşam", "Ankara"])
    assert paths == {
        "": "",
        "Ankara": "ankara",
        "Istanbul 2024": "istanbul-2024",
        "Istanbul 2024/Çay bahçesi": "istanbul-2024/cay-bahcesi",
        "Istanbul 2024/Çay bahçesi/Akşam": "istanbul-2024/cay-bahcesi/aksam",
    }


def test_album_paths_of_the_root_only() -> None:
    assert album_paths([""]) == {"": ""}
    assert album_paths([]) == {"": ""}


def test_sibling_albums_with_colliding_slugs_get_distinct_paths() -> None:
    paths = album_paths(["A b", "a-b", "A B/x", "trip/A b", "trip/a-b"])
    assert len({paths["A b"], paths["a-b"], paths["A B"]}) == 3
    assert {paths["A b"], paths["a-b"], paths["A B"]} <= {"a-b", "a-b-2", "a-b-3"}
    assert paths["A B/x"] == paths["A B"] + "/x"
    assert {paths["trip/A b"], paths["trip/a-b"]} == {"trip/a-b", "trip/a-b-2"}


def test_same_names_in_different_parents_do_not_collide() -> None:
    paths = album_paths(["2023/Summer", "2024/Summer"])
    assert paths["2023/Summer"] == "2023/summer"
    assert paths["2024/Summer"] == "2024/summer"


def test_album_paths_do_not_depend_on_order() -> None:
    folders = ["A b", "a-b", "A b/Çay", "a-b/cay", "🌅", "🌊"]
    expected = album_paths(folders)
    for order in itertools.permutations(folders):
        assert album_paths(order) == expected
    assert {expected["🌅"], expected["🌊"]} == {"album", "album-2"}
    assert all(SLUG.match(part) for path in expected.values() if path for part in path.split("/"))
