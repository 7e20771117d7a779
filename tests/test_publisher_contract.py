"""The publisher conformance kit (gallery_builder.testing.PublisherContract), run on the
built-in publishers: file:// and s3:// (the moto server)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from s3env import MotoServer

from gallery_builder.testing import PublisherContract


class TestFilePublisher(PublisherContract):
    @pytest.fixture
    def target(self, tmp_path: Path) -> str:
        return (tmp_path / "www").as_uri()


class TestS3Publisher(PublisherContract):
    @pytest.fixture
    def target(self, s3: Any) -> str:
        bucket = f"contract-{uuid.uuid4().hex[:12]}"
        s3.create_bucket(Bucket=bucket)
        return f"s3://{bucket}/photos"

    @pytest.fixture
    def publisher_options(self, s3_server: MotoServer) -> dict[str, Any]:
        return {"endpoint_url": s3_server.endpoint}

    @pytest.fixture
    def cli_options(self, s3_server: MotoServer) -> list[str]:
        return ["--endpoint-url", s3_server.endpoint]
