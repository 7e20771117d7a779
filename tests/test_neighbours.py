"""Which keys another gallery near ours owns (gallery_builder.neighbours, pure)."""

from __future__ import annotations

from gallery_builder.manifest import RemoteState
from gallery_builder.neighbours import Neighbour, ancestor_manifests, first_collision


def gallery(*paths: str, creates: tuple[str, ...] = ()) -> RemoteState:
    return RemoteState(files={p: {"md5": "x"} for p in paths}, exists=True,
                       pending_creates=creates)  # fmt: skip


def test_the_galleries_above_a_prefix_are_each_parent_folder_and_the_root() -> None:
    assert ancestor_manifests("trips/2024/may") == [
        "manifest.json", "trips/manifest.json", "trips/2024/manifest.json"
    ]  # fmt: skip
    assert ancestor_manifests("") == []


def test_a_gallery_owns_what_its_manifest_lists_and_what_it_was_creating() -> None:
    trips = Neighbour("trips/manifest.json", gallery("2024/index.html", creates=("n.jpg",)), False)
    assert trips.owned("trips/2024/index.html") and trips.owned("trips/n.jpg")
    assert trips.owned("trips/manifest.json")
    assert not trips.owned("trips/2024/day/index.html") and not trips.owned("trips2/n.jpg")
    root = Neighbour("manifest.json", gallery("trips/index.html"), False)
    assert root.owned("trips/index.html") and not root.owned("trips/other.html")


def test_another_apps_manifest_owns_its_folder_below_us_and_nothing_above() -> None:
    below = Neighbour("trips/app/manifest.json", None, True)
    assert below.owned("trips/app/x.js") and not below.owned("trips/apple.html")
    above = Neighbour("manifest.json", None, False)
    assert not above.owned("trips/index.html")


def test_the_first_collision_is_reported_in_order() -> None:
    year = Neighbour("trips/2024/manifest.json", gallery("index.html", "a.jpg"), True)
    touched = {"trips/index.html", "trips/2024/index.html", "trips/2024/a.jpg"}
    assert first_collision(touched, year) == "trips/2024/a.jpg"
    assert first_collision({"trips/index.html"}, year) is None
