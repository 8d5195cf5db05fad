"""Fill the English catalogue's empty msgstrs from a Python dict of translations.

For merging branches written before gettext, whose English sits in an `EN = {...}` dict in the old
portal/translations.py:

    git show BRANCH:portal/translations.py > /tmp/en.py
    git merge BRANCH && git rm portal/translations.py      # deleted here, changed there
    make translations                                        # the branch's new msgids, empty
    .venv/bin/python scripts/po_from_dict.py /tmp/en.py      # their English from the dict
    make translations && .venv/bin/pytest tests/test_i18n.py

Only empty or fuzzy entries are filled: English already in the catalogue wins. The dict is read
with ast.literal_eval, never run.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

CATALOGUE = Path(__file__).resolve().parent.parent / "translations/en/LC_MESSAGES/messages.po"


def read_dict(path: Path) -> dict[str, str]:
    """The first `NAME = {...}` (or `NAME: dict[...] = {...}`) assignment of a dict literal."""
    for node in ast.parse(path.read_text()).body:
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        if isinstance(value, ast.Dict):
            return ast.literal_eval(value)
    raise SystemExit(f"{path}: no dict literal assigned at module level")


def main(source: str) -> int:
    english = read_dict(Path(source))
    with CATALOGUE.open("rb") as f:
        catalogue = read_po(f, locale="en")
    filled, missing = 0, []
    for message in catalogue:
        if not message.id or (message.string and not message.fuzzy):
            continue
        if english.get(message.id):
            message.string = english[message.id]
            message.flags.discard("fuzzy")
            filled += 1
        else:
            missing.append(message.id)
    with CATALOGUE.open("wb") as f:
        write_po(f, catalogue, width=100, ignore_obsolete=True)
    print(f"{filled} filled from {source}; {len(missing)} still without English")
    for msgid in missing:
        print(f"  {msgid!r}")
    return 1 if missing else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    raise SystemExit(main(sys.argv[1]))
