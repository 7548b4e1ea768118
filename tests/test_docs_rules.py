"""docs/rules.md is the project's own rulebook: each rule names its tests and settings, and they exist.

A fresh clone has nothing beside the repository, so no README or doc line may point outside it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from domain.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "docs" / "rules.md"
ROW = re.compile(r"^\| (R-[A-Z]+-\d+) \|(.*)\|\s*$")
TEST_NAME = re.compile(r"`(test_r_[a-z0-9_]+)(\*?)`")
SETTING = re.compile(r"Settings?: (.*?)(?:\. Tests?:|\. Code:|$)")
KEY = re.compile(r"`(?:\[(\w+)\] )?(\w+)` \(")  # a key followed by its default: `quorum_ratio` (2/3)
LINK = re.compile(r"\]\(([^)\s]+)\)")
OUTSIDE = ("../shared", "DOMAIN.md", "/work/")


def _rows() -> dict[str, str]:
    rows = {}
    for line in RULES.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


def _test_functions() -> set[str]:
    names = set()
    for path in (ROOT / "tests").glob("test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names |= {node.name for node in ast.walk(tree)
                  if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")}
    return names


def test_every_rule_names_a_test_and_every_named_test_exists():
    rows, tests = _rows(), _test_functions()
    assert len(rows) >= 34  # R-ORG-1…7, R-ROLE-1…4, R-TOPIC-1…8, R-MEET-1…8, R-RES-1…7
    for rule, text in rows.items():
        named = TEST_NAME.findall(text)
        assert named, f"{rule} names no test"
        for name, wildcard in named:
            found = any(t.startswith(name) for t in tests) if wildcard else name in tests
            assert found, f"{rule} names {name}{wildcard}, which no test file defines"


def test_every_setting_a_rule_names_is_a_real_key():
    settings, checked = Settings(), 0
    for rule, text in _rows().items():
        for clause in SETTING.findall(text):
            for section, key in KEY.findall(clause):
                holder = getattr(settings, section or "rules")
                assert key in type(holder).model_fields, f"{rule} names setting {section or 'rules'}.{key}"
                checked += 1
    assert checked >= 15  # every number of the rulebooks is named with its key


def test_no_readme_or_doc_line_points_outside_the_repository():
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            where = f"{path.relative_to(ROOT)}:{number}"
            assert not any(word in line for word in OUTSIDE), f"{where} points outside the repository: {line}"
            for target in LINK.findall(line):
                if target.startswith(("http://", "https://", "mailto:", "#")):
                    continue
                resolved = (path.parent / target.split("#", 1)[0]).resolve()
                assert resolved.is_relative_to(ROOT), f"{where} links outside the repository: {target}"
                assert resolved.exists(), f"{where} links to a missing file: {target}"
