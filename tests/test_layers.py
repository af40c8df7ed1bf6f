"""The import contract: layers never reach up (issue #20). Every ``import`` in ``src/pizarra`` is read,
those inside functions too, and checked against the layers, top to bottom:

    shell      pizarra.web.*, pizarra.cli, pizarra.__main__          (what a person talks to)
    commands   pizarra.cli_support, pizarra.<chapter>.cli, pizarra.doctor
    chapters   pizarra.<chapter>.* (the lecture's logic), pizarra.jobs, pizarra.classroom
    core       pizarra.llm, pizarra.train, pizarra.assets, pizarra.config, pizarra.errors,
               pizarra.i18n (the string catalogues, pizarra/locales: the web, the CLI and the
               errors all speak through them), pizarra.chapters (the table of contents: names, not imports)

A module may import its own layer and the ones below, never above. No exceptions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
CHAPTER_PACKAGES = ("text", "embeddings", "nets", "sentiment", "similarity", "generation", "chat", "gandalf", "images")
CORE = ("llm", "train", "assets", "config", "errors", "chapters", "i18n", "locales")
LEVEL = {"shell": 3, "commands": 2, "chapters": 1, "core": 0}


def layer(module: str) -> str:
    parts = module.split(".")
    if parts[0] != "pizarra" or len(parts) == 1:
        return "core"  # pizarra/__init__.py: the version
    first = parts[1]
    if first in ("web", "cli", "__main__"):
        return "shell"
    if first in ("cli_support", "doctor") or (first in CHAPTER_PACKAGES and parts[-1] == "cli"):
        return "commands"
    if first in CHAPTER_PACKAGES or first in ("jobs", "classroom"):
        return "chapters"
    if first in CORE:
        return "core"
    raise AssertionError(f"{module}: which layer? add it to tests/test_layers.py")


def modules() -> dict[str, Path]:
    out = {}
    for path in (SRC / "pizarra").rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports(module: str, source: str, is_package: bool = False) -> set[str]:
    """Every pizarra module ``module``'s source imports (inside functions too)."""
    package = module if is_package else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            submodules = {f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in MODULES}
            found |= submodules or {target}  # ``from pizarra import cli`` imports the module pizarra.cli
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", None) == "__import__"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.add(node.args[0].value)
    return {m for m in found if m == "pizarra" or m.startswith("pizarra.")}


def problems(module: str, targets: set[str]) -> list[str]:
    mine = LEVEL[layer(module)]
    bad = []
    for target in sorted(targets):
        if target not in MODULES and target.rsplit(".", 1)[0] in MODULES:
            target = target.rsplit(".", 1)[0]  # from pizarra.x import name
        if LEVEL[layer(target)] > mine:
            bad.append(f"{module} ({layer(module)}) imports {target} ({layer(target)})")
    return bad


MODULES = modules()


def violations() -> list[str]:
    bad = []
    for module, path in sorted(MODULES.items()):
        bad += problems(module, imports(module, path.read_text(encoding="utf-8"), path.name == "__init__.py"))
    return bad


def test_layers_never_reach_up():
    assert violations() == []


def test_nothing_imports_the_cli_but_its_entry_point():
    users = sorted(
        m
        for m, p in MODULES.items()
        if "pizarra.cli" in imports(m, p.read_text(encoding="utf-8")) and m != "pizarra.__main__"
    )
    assert users == []


@pytest.mark.parametrize(
    "module, source, caught",
    [
        ("pizarra.embeddings.vectors", "from pizarra.web import i18n", True),  # a chapter reaching the web
        ("pizarra.embeddings.vectors", "def f():\n    from ..web.app import render", True),  # hidden in a function
        ("pizarra.llm.runtime", "import pizarra.chat.core", True),  # the core reaching a chapter
        ("pizarra.chat.cli", "from pizarra import cli", True),  # a chapter's commands reaching the shell
        ("pizarra.nets.ladder", "x = __import__('pizarra.web.routers.nets')", True),
        ("pizarra.web.routers.chat", "from pizarra.chat.core import reply", False),  # the shell calling a chapter
        ("pizarra.chat.cli", "from pizarra.web import security", True),  # commands reaching the web
        ("pizarra.chat.cli", "from pizarra import i18n", False),  # the catalogues are core: anyone may read them
    ],
)
def test_the_checker_catches_a_planted_import(module, source, caught):
    assert bool(problems(module, imports(module, source))) == caught
