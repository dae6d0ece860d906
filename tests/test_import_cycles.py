"""The house stays layered: no import cycle between the project's modules, and the checker finds a planted one."""

from __future__ import annotations

from pathlib import Path

from tests.import_graph import cycles, import_graph

ROOT = Path(__file__).resolve().parent.parent


def _package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_no_module_of_the_project_imports_itself_round_a_cycle() -> None:
    found = cycles(import_graph(ROOT))
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in found)


def test_a_planted_cycle_is_found_and_named_even_through_a_function_level_import(tmp_path: Path) -> None:
    root = _package(tmp_path, {
        "node/__init__.py": "",
        "node/launch/__init__.py": "",
        "node/launch/lone.py": "from node.launch import peered\n",
        "node/launch/peered.py": "def run():\n    from node.launch.lone import start\n    return start\n",
        "node/other.py": "import node.launch.lone\n",
    })
    assert cycles(import_graph(root, ("node",))) == [["node.launch.lone", "node.launch.peered", "node.launch.lone"]]


def test_relative_imports_count_and_type_checking_imports_do_not(tmp_path: Path) -> None:
    root = _package(tmp_path, {
        "clearing/__init__.py": "",
        "clearing/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from clearing.b import B\n",
        "clearing/b.py": "from . import a\n",
        "clearing/c.py": "from .d import D\n",
        "clearing/d.py": "from .c import C\nD = 1\n",
    })
    graph = import_graph(root, ("clearing",))
    assert graph["clearing.a"] == set() and graph["clearing.b"] == {"clearing.a"}
    assert cycles(graph) == [["clearing.c", "clearing.d", "clearing.c"]]
