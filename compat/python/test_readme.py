"""The README's Python snippet, taken from README.md and run as written against `ak serve`,
so the README cannot drift from what works."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from descope import DescopeClient

README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "README.md")


def snippet(marker: str, language: str) -> str:
    """The first ```language block after the line `<!-- compat:<marker> ...-->` in README.md."""
    with open(README, encoding="utf-8") as readme:
        text = readme.read()
    match = re.search(
        r"^<!-- compat:" + re.escape(marker) + r"\b[^\n]*-->\n```" + re.escape(language) + r"\n(.*?)^```$",
        text,
        re.S | re.M,
    )
    assert match, f"README.md has no <!-- compat:{marker} --> ```{language} block"
    return match.group(1)


def test_readme_python_snippet_runs(server):
    code = snippet("python", "python")
    env = dict(os.environ, AK_URL=server.url, AK_PROJECT_ID=server.project_id,
               AK_MANAGEMENT_KEY=server.management["cleartext"])
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    printed = re.search(r"python: key (\S+) has roles \['deployer'\]", done.stdout)
    assert printed, done.stdout
    # The key it made is really on the server.
    client = DescopeClient(project_id=server.project_id, management_key=server.management["cleartext"],
                           base_url=server.url)
    key = client.mgmt.access_key.load(printed.group(1))["key"]
    assert key["name"] == "readme ci runner" and key["roleNames"] == ["deployer"]
