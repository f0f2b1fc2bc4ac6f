"""Code blocks of the operations guide that the tests run or check as
written: each is a fenced block between ``<!-- name -->`` and
``<!-- /name -->`` in docs/operations.md, so the guide cannot drift from
what is tested."""

from __future__ import annotations

import re
from pathlib import Path

GUIDE = Path(__file__).parents[1] / "docs" / "operations.md"


def guide_block(name: str, language: str) -> str:
    """The ``language`` block the guide marks with ``<!-- name -->``."""
    found = re.search(
        rf"<!-- {name} -->\s*```{language}\n(.*?)```\s*<!-- /{name} -->", GUIDE.read_text(), re.S
    )
    assert found, f"docs/operations.md has no {name} block"
    return found.group(1)
