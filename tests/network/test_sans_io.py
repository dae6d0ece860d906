"""The consensus path is sans-I/O: QBFT, the driver and block sync (and every network module they import)
import no event loop, socket, clock, randomness or thread; the node and the simulator supply those."""

from __future__ import annotations

import ast
from pathlib import Path

NETWORK = Path(__file__).resolve().parents[2] / "network"
SANS_IO_ROOTS = ["network.qbft", "network.driver", "network.sync", "network.abc"]
FORBIDDEN = {"asyncio", "socket", "selectors", "ssl", "time", "datetime", "random", "secrets", "threading",
             "multiprocessing", "subprocess", "os", "uuid"}


def module_path(name: str) -> Path:
    relative = Path(*name.split(".")[1:])
    package = NETWORK / relative / "__init__.py"
    return package if package.exists() else NETWORK / relative.with_suffix(".py")


def imports_of(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def forbidden_imports(roots: list[str]) -> dict[str, set[str]]:
    """Module -> forbidden top-level modules it imports, following imports within network/ transitively."""
    found: dict[str, set[str]] = {}
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        path = module_path(name)
        if name in seen or not path.exists():
            continue  # `from network.x import y` where y is a name, not a module
        seen.add(name)
        if path.name == "__init__.py":
            todo.extend(f"{name}.{p.stem}" for p in path.parent.glob("*.py") if p.stem != "__init__")
        for imported in imports_of(path.read_text()):
            if imported.split(".")[0] == "network":
                todo.append(imported)
            elif imported.split(".")[0] in FORBIDDEN:
                found.setdefault(name, set()).add(imported.split(".")[0])
    return found


def test_qbft_driver_and_sync_import_no_io_clock_randomness_or_threads() -> None:
    assert forbidden_imports(SANS_IO_ROOTS) == {}


def test_the_import_check_sees_a_clock_or_randomness_when_there_is_one() -> None:
    assert forbidden_imports(["network.sim"])["network.sim.world"] == {"random"}  # the simulator may draw
    assert imports_of("import time\nfrom asyncio import sleep\n") >= {"time", "asyncio"}
