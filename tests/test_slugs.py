"""Slugs: lower-case ASCII names for albums and pictures, unique among their siblings."""

from __future__ import annotations

import itertools
import os
import random
import re
import time

import pytest

from gallery_builder.slugs import MAX_SLUG, album_paths, name_hash, slugify, unique_slugs

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
#: a slug of the site: a plain slug, or one with a hash of its name (``cat--3f2a9c1b``)
SITE_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*(--[0-9a-f]{8,})?$")


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


def picture_slugs(names: list[str]) -> dict[str, str]:
    return unique_slugs(names, "picture", text=stem)


def suffixed(base: str, name: str) -> str:
    return f"{base}--{name_hash(name)}"


def test_a_lone_name_keeps_todays_slug() -> None:
    for name, slug in [
        ("Istanbul 2024.jpg", "istanbul-2024"),
        ("çay & simit.jpg", "cay-simit"),
        ("IMG_0042.JPG", "img-0042"),
        ("sun🌅set.png", "sun-set"),
        ("picture.jpg", "picture"),
    ]:
        assert picture_slugs([name, "other.jpg"]) == {name: slug, "other.jpg": "other"}


def test_colliding_names_keep_the_slug_for_the_nearest_and_suffix_the_others() -> None:
    names = ["Cat.jpg", "cat.jpg", "cat.png", "cat!.jpg", "CAT!.JPG"]
    slugs = picture_slugs(names)
    assert slugs["cat.jpg"] == "cat"  # its stem already is the slug
    for name in ["Cat.jpg", "cat.png", "cat!.jpg", "CAT!.JPG"]:
        assert slugs[name] == suffixed("cat", name)
    # without a name that is its own slug: capitals only before anything else
    assert picture_slugs(["cat!.jpg", "Cat.jpg"]) == {
        "Cat.jpg": "cat",
        "cat!.jpg": suffixed("cat", "cat!.jpg"),
    }
    # between equals, the first name in code-point order
    assert picture_slugs(["cat.png", "cat.jpg", "cat.jpeg"])["cat.jpeg"] == "cat"


def test_a_name_with_nothing_to_slug_gets_a_hash_of_itself() -> None:
    alone = picture_slugs(["日本.jpg"])
    assert alone == {"日本.jpg": suffixed("picture", "日本.jpg")}
    many = picture_slugs(["日本.jpg", "中国.jpg", "😀.png", "😀.jpg", "picture.jpg"])
    assert many["日本.jpg"] == alone["日本.jpg"]  # whatever else is there
    assert many["picture.jpg"] == "picture"
    assert len(set(many.values())) == 5
    assert all(SITE_SLUG.match(slug) for slug in many.values())


def test_unique_slugs_do_not_depend_on_order() -> None:
    names = ["img.jpg", "img.png", "img-2.jpg", "IMG.JPEG", "img 2.gif", "Img_3.png", "日本.jpg"]
    expected = picture_slugs(names)
    assert len(set(expected.values())) == len(names)
    for order in itertools.permutations(names):
        assert unique_slugs(order, "picture", text=stem) == expected


@pytest.mark.parametrize(
    "names",
    [
        ["東京 1.jpg", "大阪 1.jpg", "中国1.jpg"],  # a number is all that is left of each
        ["Ελλάδα 2024.jpg", "Κρήτη 2024.jpg"],
        ["😀 1.png", "🌅 1.png", "★ 1.png"],
    ],
)
def test_a_name_that_keeps_no_letter_gets_a_hash_of_itself(names: list[str]) -> None:
    own = slugify(stem(names[0]))
    for name in names:
        assert picture_slugs([name]) == {name: suffixed(own, name)}  # alone, or not
    assert picture_slugs(names) == {name: suffixed(own, name) for name in names}
    # a name made of ASCII digits and punctuation loses nothing: it keeps its own slug
    assert picture_slugs([*names, f"{own}.jpg"])[f"{own}.jpg"] == own


def test_a_suffix_is_never_another_names_own_slug() -> None:
    # files named as the suffixed slugs of their siblings would be, with one dash or two
    taken = name_hash("cat.png")
    names = ["cat.jpg", "cat.png", f"cat-{taken}.jpg", f"cat--{taken}.jpg", f"cat {taken}.png"]
    slugs = picture_slugs(names)
    assert len(set(slugs.values())) == len(names)
    assert slugs["cat.png"] == picture_slugs(["cat.jpg", "cat.png"])["cat.png"]
    assert slugs[f"cat-{taken}.jpg"] == f"cat-{taken}"
    assert slugs["cat.png"] == f"cat--{taken}"


def test_two_suffixes_sharing_their_hash_start_both_grow() -> None:
    # two names whose SHA-256 share the first 8 hex digits (found by search)
    first, second = "cat!&#!(!!!.jpg", "cat!##&!#!!.jpg"
    assert name_hash(first) == name_hash(second)
    slugs = picture_slugs([first, second, "cat.jpg"])
    assert slugs["cat.jpg"] == "cat"
    assert slugs[first] == f"cat--{name_hash(first, 16)}"
    assert slugs[second] == f"cat--{name_hash(second, 16)}"
    assert slugs[first] != slugs[second]


def test_a_long_name_is_cut_at_a_word_and_keeps_a_hash_of_the_whole() -> None:
    start = "the long walk along the river " * 6  # 180 characters
    names = [start + "in May.jpg", start + "in June.jpg", "x" * 250 + ".png", "é" * 120 + ".jpg"]
    slugs = picture_slugs(names)
    assert len(set(slugs.values())) == len(names)
    for name, slug in slugs.items():
        assert len(slug.encode()) <= MAX_SLUG and SITE_SLUG.match(slug), slug
        assert slug.endswith(name_hash(name))
    may = slugs[start + "in May.jpg"]
    assert may.startswith("the-long-walk-along-the-river-the-long")
    assert may.rpartition("--")[0].endswith(("the", "long", "walk", "along", "river"))
    assert slugs["é" * 120 + ".jpg"].startswith("e" * 80)
    # a slug of exactly the limit is kept whole
    assert picture_slugs(["a" * MAX_SLUG + ".jpg"]) == {"a" * MAX_SLUG + ".jpg": "a" * MAX_SLUG}


def test_unique_slugs_of_nothing() -> None:
    assert unique_slugs([], "picture") == {}


#: stems chosen to collide: case, punctuation, nothing to slug, another's suffixed slug
#: stems that keep no letter of their own: always suffixed
UNSPELLABLE = ["日本", "😀", "東京 2", "写真2", "Ωμέγα 2"]
STEMS = ["cat", "Cat", "CAT", "cat!", "cat 2", "cat-2", "Cat_2", "2", "2 !", "çay", "cay", "Çay",
         "picture", "Picture!", f"cat-{name_hash('cat.png')}", "x" * 120, "x" * 121,
         "Tokyo 東京", "tokyo", *UNSPELLABLE]  # fmt: skip
EXTENSIONS = [".jpg", ".png", ".JPG", ".jpeg"]


def rank(text: str, name: str, own: str) -> tuple[int, str]:
    """docs/building.md: nearest to its slug (it is, it is but for capitals, other), then
    code-point order of the whole name."""
    return (0 if text == own else 1 if text.lower() == own else 2, name)


def may_move(siblings: list[str], change: str, text=stem) -> set[str]:
    """The documented exception to stable slugs, when ``change`` comes or goes among
    ``siblings``: the sibling holding the slug ``change`` would have, if ``change`` ranks
    before it (it gives the slug up, or takes it back)."""
    own = slugify(text(change))
    group = [n for n in siblings if slugify(text(n)) == own and text(n) not in UNSPELLABLE]
    if not own or len(own) > MAX_SLUG or not group or text(change) in UNSPELLABLE:
        return set()
    holder = min(group, key=lambda n: rank(text(n), n, own))
    return {holder} if rank(text(change), change, own) < rank(text(holder), holder, own) else set()


def test_adding_or_removing_a_name_moves_no_other_slug() -> None:
    pool = [s + e for s in STEMS for e in EXTENSIONS]
    rng = random.Random(8)
    moved = 0
    for _ in range(2000):
        change = rng.choice(pool)
        siblings = [n for n in rng.sample(pool, rng.randint(0, 14)) if n != change]
        without, with_it = picture_slugs(siblings), picture_slugs([*siblings, change])
        assert len(set(with_it.values())) == len(with_it)
        changed = {n for n in siblings if with_it[n] != without[n]}
        assert changed <= may_move(siblings, change), (siblings, change)
        moved += len(changed)
    assert moved  # the exception happens, and only as documented


def test_sixteen_thousand_colliding_names_are_slugged_fast() -> None:
    punctuation = "!#$%&()+"
    names = [
        "cat" + "".join(punctuation[(i >> (3 * k)) & 7] for k in range(5)) + ".jpg"
        for i in range(16_000)
    ]
    assert {slugify(stem(n)) for n in names} == {"cat"}
    started = time.perf_counter()
    slugs = picture_slugs(names)
    folders = album_paths(f"trip/{stem(n)}" for n in names)
    assert time.perf_counter() - started < 2
    assert len(set(slugs.values())) == 16_000
    assert len(set(folders.values())) == 16_002


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
    assert paths["a-b"] == "a-b"  # its name already is the slug
    assert paths["A b"] == f"a-b--{name_hash('A b')}"
    assert paths["A B"] == f"a-b--{name_hash('A B')}"
    assert paths["A B/x"] == paths["A B"] + "/x"
    assert paths["trip/A b"] == f"trip/a-b--{name_hash('A b')}"
    assert paths["trip/a-b"] == "trip/a-b"


def test_same_names_in_different_parents_do_not_collide() -> None:
    paths = album_paths(["2023/Summer", "2024/Summer"])
    assert paths["2023/Summer"] == "2023/summer"
    assert paths["2024/Summer"] == "2024/summer"


def test_album_paths_do_not_depend_on_order() -> None:
    folders = ["A b", "a-b", "A b/Çay", "a-b/cay", "🌅", "🌊"]
    expected = album_paths(folders)
    for order in itertools.permutations(folders):
        assert album_paths(order) == expected
    assert expected["🌅"] == f"album--{name_hash('🌅')}"
    assert all(
        SITE_SLUG.match(part) for path in expected.values() if path for part in path.split("/")
    )


def test_adding_or_removing_a_folder_moves_no_other_album() -> None:
    pool = [f"{parent}{name}" for parent in ["", "trip/"] for name in STEMS]
    rng = random.Random(15)
    moved = 0
    for _ in range(1000):
        change = rng.choice(pool)
        folders = [f for f in rng.sample(pool, rng.randint(0, 12)) if f != change]
        without, with_it = album_paths(folders), album_paths([*folders, change])
        parent, _, name = change.rpartition("/")
        siblings = [f.rpartition("/")[2] for f in without if f and f.rpartition("/")[0] == parent]
        exempt = {f"{parent}/{s}" if parent else s for s in may_move(siblings, name, str)}
        changed = {f for f in without if with_it[f] != without[f]}
        # a moved album takes the albums below it along
        assert all(any(f == e or f.startswith(f"{e}/") for e in exempt) for f in changed)
        moved += len(changed)
    assert moved
