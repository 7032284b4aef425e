"""The README and docs/ as a reader meets them: every relative link and image they name exists in the repository,
and the test command the README gives is the one CI runs."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parents[1]
CI = REPO / ".ci" / "run"

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")
# [text](target "title"), ![alt](target), the text possibly spread over lines before the `](`.
INLINE_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'][^\"']*[\"'])?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+[\"'(].*)?$", re.M)     # [label]: target
HTML = re.compile(r"""<(?:img|a|source)\b[^>]*?\b(?:src|href|srcset)\s*=\s*["']([^"']+)["']""", re.I)
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)        # http:, https:, mailto:, data: ...


def markdown_files() -> list[Path]:
    return [REPO / "README.md"] + sorted((REPO / "docs").glob("**/*.md"))


def link_targets(text: str) -> list[str]:
    """The relative targets of the links and images in a markdown text, without their #anchors; links inside code
    are text, not links."""
    text = INLINE_CODE.sub("", FENCE.sub("", text))
    found = INLINE_LINK.findall(text) + REFERENCE.findall(text) + HTML.findall(text)
    out = []
    for target in found:
        target = target.split("#", 1)[0].split("?", 1)[0]
        if target and not EXTERNAL.match(target) and not target.startswith("//"):
            out.append(unquote(target))
    return out


def broken_links(doc: Path, repo: Path = REPO) -> list[str]:
    """`doc`'s relative links and images that name no file or folder inside `repo` (a `/x` link is from its top)."""
    bad = []
    for target in link_targets(doc.read_text(encoding="utf-8")):
        path = (repo / target.lstrip("/")) if target.startswith("/") else (doc.parent / target)
        path = path.resolve()
        if not path.is_relative_to(repo.resolve()) or not path.exists():
            bad.append(f"{doc.relative_to(repo)}: {target}")
    return bad


@pytest.mark.parametrize("doc", markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_and_image_exists(doc: Path) -> None:
    assert broken_links(doc) == []


def test_the_link_check_finds_what_a_reader_would_follow(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "here.png").write_bytes(b"png")
    (tmp_path / "docs" / "page.md").write_text("[back](../README.md#top) and ![alt](here.png)\n")
    readme = tmp_path / "README.md"
    readme.write_text(
        "# Title\n[a page](docs/page.md#models) [web](https://example.com/x.md) [anchor](#title)\n"
        "![a picture that spans\nlines](docs/missing%20one.png) <img src=\"docs/gone.png\" width=3>\n"
        "[ref]: docs/nowhere.md\n[outside](../../etc/passwd)\n"
        "`[in code](docs/no.md)`\n```python\nx = a[0](docs/no_either.md)\n```\n")
    assert broken_links(readme, tmp_path) == ["README.md: docs/missing one.png", "README.md: ../../etc/passwd",
                                              "README.md: docs/nowhere.md", "README.md: docs/gone.png"]
    assert broken_links(tmp_path / "docs" / "page.md", tmp_path) == []


# ---------------------------------------------------------------- the test command

REDIRECTION = re.compile(r"^\d*(>>?|<)(&\d+)?$|^\d*(>>?|<)&?\S+$")


def pytest_command(line: str) -> list[str] | None:
    """The pytest command on a shell line, as its words, without prompt, comment, redirections or the commands
    chained before and piped after it; None when the line runs no pytest."""
    line = re.sub(r"^\s*\$\s+", "", line)
    try:
        words = shlex.split(line, comments=True)
    except ValueError:
        return None
    commands, current = [], []
    for w in words:
        if w in ("&&", "||", ";", "|", "|&"):
            commands.append(current)
            current = []
        elif not REDIRECTION.match(w):
            current.append(w)
    commands.append(current)
    runs = [c for c in commands if any(w == "pytest" or w.endswith("/pytest") for w in c)]
    return runs[0] if runs else None


def fenced_lines(text: str) -> list[str]:
    return [ln for block in FENCE.finditer(text) for ln in block.group(0).splitlines()[1:-1]]


def readme_test_command(text: str) -> list[str]:
    """The command the README's quick start gives for the tests: the line of its code that runs pytest (the quick
    start section first; the whole README's first such line if it has no such section)."""
    sections = re.split(r"^#{1,6}\s+", text, flags=re.M)
    quick = [s for s in sections if re.match(r"quick[ -]?start", s, re.I)]
    for part in quick + [text]:
        for line in fenced_lines(part):
            command = pytest_command(line)
            if command:
                return command
    raise AssertionError("README.md: no fenced line that runs pytest (the test command of its quick start)")


def ci_test_commands(text: str) -> list[list[str]]:
    return [c for ln in text.splitlines() if (c := pytest_command(ln))]


def test_the_readme_s_test_command_is_the_one_ci_runs() -> None:
    readme = readme_test_command((REPO / "README.md").read_text(encoding="utf-8"))
    ci = ci_test_commands(CI.read_text(encoding="utf-8"))
    assert len(ci) == 1, f"{CI}: expected one pytest command, found {ci}"
    assert readme == ci[0], f"README.md runs `{shlex.join(readme)}`, .ci/run runs `{shlex.join(ci[0])}`"


def test_the_test_command_is_read_from_the_quick_start_and_from_ci_lines() -> None:
    readme = ("# X\n```bash\npython -m pytest -q tests/test_a.py    # one file\n```\n## Quick start\n\n"
              "```bash\npip install -r r.txt && python -m pytest -q   # the tests\n```\n## Later\n```\npytest -x\n```\n")
    assert readme_test_command(readme) == ["python", "-m", "pytest", "-q"]
    assert readme_test_command("## Quick start\n```\n$ python -m pytest -q\n```\n") == ["python", "-m", "pytest", "-q"]
    assert ci_test_commands("# python -m pytest in a comment\nruff check .\n"
                            "python -m pytest -q 2>&1 | tee artifacts/pytest.log\nexit 0\n") == \
        [["python", "-m", "pytest", "-q"]]
    assert ci_test_commands("python -m pytest -q -x >log 2>&1\n") == [["python", "-m", "pytest", "-q", "-x"]]
    assert readme_test_command("## Quick start\n```\npython -m pytest\n```\n") != ["python", "-m", "pytest", "-q"]
    with pytest.raises(AssertionError, match="no fenced line"):
        readme_test_command("## Quick start\nRun `python -m pytest -q`.\n")
