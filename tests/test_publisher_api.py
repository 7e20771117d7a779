"""The publisher API (gallery_builder.publisher): a plugin's publisher that lacks a member,
or has half an optional protocol, is refused as soon as its factory returns, naming the plugin,
before any request; the built-ins are what their protocols say; the conformance kit fails a
publisher that breaks a rule, saying which."""

from __future__ import annotations

import contextlib
import textwrap
from pathlib import Path
from typing import Any

import pytest
from gallery_builder.plugins.file_publisher import FilePublisher, file_publisher

from gallery_builder import hookimpl
from gallery_builder.errors import GalleryError
from gallery_builder.publisher import (
    BasePublisher,
    Confines,
    HoldsGalleries,
    Invalidates,
    Publisher,
    SeesNeighbours,
    SetsUpHosting,
    Verifiable,
    check_publisher,
)
from gallery_builder.testing import run_cli

pytest_plugins = ["pytester"]


class Incomplete:
    """A duck-typed publisher written against the member names alone: no ``commit``."""

    def __init__(self, log: list[str]) -> None:
        self.location = "half://store/"
        self.log = log

    def read(self, key: str) -> Any:
        self.log.append(f"read {key}")

    def existing(self, entries: Any, *, headers: bool = True) -> set[str]:
        self.log.append("existing")
        return set()

    def upload(self, key: str, file: Path, entry: Any, **kw: Any) -> None:
        self.log.append(f"upload {key}")

    def retag(self, key: str, entry: Any, **kw: Any) -> None:
        self.log.append(f"retag {key}")

    def delete(self, keys: list[str]) -> None:
        self.log.append("delete")

    @contextlib.contextmanager
    def lease(self, prefix: str) -> Any:
        self.log.append("lease")
        yield


class HalfHosting(Incomplete, BasePublisher):
    """Every required member, and set_up_hosting without its fingerprint."""

    def commit(self, key: str, data: bytes, base_etag: str | None) -> str:
        self.log.append(f"commit {key}")
        return ""

    def set_up_hosting(self, prefix: str, record: Any = None) -> list[str]:
        self.log.append("set_up_hosting")
        return []


def plugin_for(make: Any) -> Any:
    class HalfPlugin:
        __name__ = "halfpub"

        @hookimpl
        def gallery_publishers(self) -> dict[str, Any]:
            return {"half": lambda target, **options: make()}

    return HalfPlugin()


def test_a_publisher_without_commit_is_refused_before_any_request(site: Path) -> None:
    log: list[str] = []
    result = run_cli(
        ["publish", "half://store/trip", "--site", site], plugin_for(lambda: Incomplete(log))
    )
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and result.output.startswith("Error: ")
    assert "plugin 'halfpub'" in result.output and "lacks commit" in result.output
    assert "--block halfpub" in result.output and "Traceback" not in result.output
    assert log == []  # not even the manifest's read


def test_half_the_hosting_protocol_is_refused(site: Path) -> None:
    log: list[str] = []
    result = run_cli(
        ["publish", "half://store/trip", "--site", site], plugin_for(lambda: HalfHosting(log))
    )
    assert result.exit_code == 1, result.output
    assert "plugin 'halfpub'" in result.output
    assert "has set_up_hosting" in result.output and "hosting_fingerprint" in result.output
    assert "SetsUpHosting" in result.output and log == []


@pytest.mark.parametrize("command", [["verify", "half://store/trip", "--api-only"],
                                     ["unpublish", "half://store/trip", "-d", "trip"]])  # fmt: skip
def test_every_command_checks_the_publisher(command: list[str]) -> None:
    log: list[str] = []
    result = run_cli(command, plugin_for(lambda: Incomplete(log)))
    assert result.exit_code == 1 and "lacks commit" in result.output, result.output
    assert log == []


def test_a_placeholder_of_base_publisher_is_missing() -> None:
    class Lazy(BasePublisher):
        location = "lazy://"

    with pytest.raises(GalleryError, match=r"plugin 'lazy' .*lacks read, existing, upload"):
        check_publisher(Lazy(), "lazy")


def test_the_builtins_are_what_their_protocols_say(tmp_path: Path) -> None:
    publisher = file_publisher((tmp_path / "www").as_uri())
    check_publisher(publisher, "file_publisher")
    assert isinstance(publisher, FilePublisher | BasePublisher)
    assert isinstance(publisher, Publisher)
    for protocol in (Confines, HoldsGalleries, SeesNeighbours, Verifiable):
        assert isinstance(publisher, protocol), protocol
    assert not isinstance(publisher, SetsUpHosting | Invalidates)
    assert publisher.website_url() is None  # BasePublisher's default


INNER = """
import pytest
from gallery_builder import hookimpl
from gallery_builder.plugins.file_publisher import FilePublisher, folder_of
from gallery_builder.testing import PublisherContract
import contextlib, hashlib

class Careless(FilePublisher):
    def commit(self, key, data, base_etag):  # never conditional
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return hashlib.md5(data).hexdigest()

    @contextlib.contextmanager
    def lease(self, prefix):  # not exclusive
        yield

class CarelessPlugin:
    __name__ = "careless"

    @hookimpl
    def gallery_publishers(self):
        def factory(target, **options):
            return Careless(folder_of(target.replace("careless", "file", 1)))

        return {"careless": factory}

class TestCareless(PublisherContract):
    @pytest.fixture
    def target(self, tmp_path):
        return "careless://" + str(tmp_path / "www")

    @pytest.fixture
    def publisher_plugins(self):
        return [CarelessPlugin()]
"""


def test_the_kit_names_the_rule_a_publisher_breaks(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_careless=textwrap.dedent(INNER))
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", "-k", "commit or lease")
    result.assert_outcomes(passed=1, failed=3)  # the retried commit passes: it is unconditional
    text = result.stdout.str()
    assert "rule: commit(key, data, None) writes only where no object is" in text
    assert "rule: commit(key, data, base_etag) writes only if the object's ETag is" in text
    assert "rule: lease(prefix) is exclusive" in text
