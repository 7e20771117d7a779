"""The unlock shell of an encrypted gallery (gallery_builder/unlock_shell.py): its files, what
they say (nothing of the gallery), and that the worker serves what the clear site is served
with. The browser side is tested in tests/test_encrypted_browser.py, the crypto under Node in
tests/test_unlock_crypto.py."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from gallery_builder.model import REVALIDATE
from gallery_builder.security_headers import CONTENT_SECURITY_POLICY
from gallery_builder.sitefiles import CONTENT_TYPES
from gallery_builder.unlock_shell import shell_files


def test_shell_has_the_pages_the_worker_and_its_files():
    shell = shell_files(lang="en")
    assert {"index.html", "error.html", "_sw.js", "_unlock/unlock.js", "_unlock/unlock.css"} <= set(
        shell
    )
    assert all(
        path in ("index.html", "error.html", "_sw.js") or path.startswith("_unlock/")
        for path in shell
    )
    assert all(cache == REVALIDATE for _, cache in shell.values())


def test_unlock_page_has_a_labelled_password_field_and_a_live_status_and_no_inline_script():
    page = shell_files(lang="tr")["index.html"][0].decode()
    assert '<html lang="tr">' in page
    assert re.search(r'<label for="password">', page)
    assert re.search(r'<input id="password"[^>]*type="password"', page)
    assert 'aria-live="polite"' in page and '<button type="submit">' in page
    # every script is a file (script-src 'self'), none inline, no inline handler
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)
    assert not re.search(r"\son[a-z]+=", page)


def test_error_page_links_its_files_from_the_gallery_path_so_it_works_at_any_depth():
    shell = shell_files(lang="en", base_path="/trips/2026/")
    assert 'src="/trips/2026/_unlock/unlock.js"' in shell["error.html"][0].decode()
    assert 'src="_unlock/unlock.js"' in shell["index.html"][0].decode()
    with pytest.raises(ValueError):
        shell_files(lang="en", base_path="trips")


def test_lang_is_escaped():
    page = shell_files(lang='en"><script>')["index.html"][0].decode()
    assert "<script>" not in page.split("<head>")[0]
    assert "&quot;&gt;&lt;script&gt;" in page


def test_worker_serves_the_content_types_and_policy_of_the_clear_site():
    worker = shell_files(lang="en")["_sw.js"][0].decode()
    config = json.loads(re.search(r"^var CONFIG = (\{.*?\n\});$", worker, re.S | re.M)[1])
    assert config["contentTypes"] == CONTENT_TYPES
    assert config["pageHeaders"]["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    subprocess.run(["node", "--check", "-"], input=worker.encode(), check=True)
