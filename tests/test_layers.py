"""The package's layers: imports point down only, and no file outgrows a reader."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tui_trainer"
#: Lower numbers are lower layers; a module may import its own layer and those below.
LAYERS = {
    "errors": 0, "atomic": 0,
    "config": 1, "usercode": 1,
    "data": 2, "models": 2,
    "engine": 3,
    "runs": 4, "display": 4, "launcher": 4,
    "experiments": 5, "doctor": 5, "worker": 5,
    "tui": 6, "cli": 6, "__main__": 6,
}
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


def part_of(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def imported_parts(path: Path) -> set[str]:
    """The top-level parts of tui_trainer a module imports (at run time: not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text())
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for child in node.body for n in ast.walk(child)}
    here = path.relative_to(PACKAGE).parent.parts
    parts = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                names = (node.module.split(".") if node.module else [])
                target = [*base, *names]
                if not target:  # `from .. import x` at the top: x is the part
                    parts.update(alias.name for alias in node.names)
                    continue
                parts.add(target[0])
            elif node.module and node.module.startswith("tui_trainer."):
                parts.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            parts.update(a.name.split(".")[1] for a in node.names if a.name.startswith("tui_trainer."))
    return parts


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down_the_layers(path):
    source = part_of(path)
    upward = [p for p in imported_parts(path) if p in LAYERS and LAYERS[p] > LAYERS[source]]
    assert not upward, f"{path.relative_to(PACKAGE)} ({source}) imports {upward} from a higher layer"


WIDTH = 120  # pyproject's ruff line-length


def test_no_line_is_wider_than_a_reader_reads():
    root = PACKAGE.parent
    files = [p for folder in ("tui_trainer", "tests", "bench") for p in sorted((root / folder).rglob("*.py"))]
    wide = [f"{p.relative_to(root)}:{i}" for p in files for i, line in enumerate(p.read_text().splitlines(), 1)
            if len(line) > WIDTH]
    assert not wide, wide


def test_no_module_outgrows_a_reader():
    long = {str(p.relative_to(PACKAGE)): n for p in MODULES if (n := len(p.read_text().splitlines())) > 400}
    assert not long, long


BODY = 60  # lines of a function's body, its docstring left out


def body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    docstring = isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    body = node.body[1:] if docstring else node.body
    return body[-1].end_lineno - body[0].lineno + 1 if body else 0


def test_body_lines_count_from_the_first_statement_after_the_docstring():
    [node] = ast.parse('def f():\n    """Doc\n    string."""\n    a = 1\n\n    return a\n').body
    assert body_lines(node) == 3


def test_no_function_outgrows_a_reader():
    long = {f"{p.relative_to(PACKAGE)}:{node.lineno} {node.name}": n for p in MODULES
            for node in ast.walk(ast.parse(p.read_text())) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            if (n := body_lines(node)) > BODY}
    assert not long, f"function bodies over {BODY} lines (give each concern a function with a name): {long}"


def module_imports() -> dict[str, set[str]]:
    """Each module of the package (dotted, from the package) and the package modules it imports
    anywhere in it: at the top, in a function, or under TYPE_CHECKING."""
    names = {".".join(p.relative_to(PACKAGE).with_suffix("").parts).removesuffix("__init__").removesuffix("."): p
             for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in names.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        package = [p for p in package if p]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[: len(package) - (node.level - 1)]
                    target = ".".join([*base, *(node.module.split(".") if node.module else [])])
                elif node.module and node.module.startswith("tui_trainer"):
                    target = node.module.removeprefix("tui_trainer").lstrip(".")
                else:
                    continue
                for alias in node.names:
                    joined = f"{target}.{alias.name}" if target else alias.name
                    found.add(joined if joined in names else target)
            elif isinstance(node, ast.Import):
                found.update(a.name.removeprefix("tui_trainer.") for a in node.names
                             if a.name.startswith("tui_trainer."))
        graph[name] = {m for m in found if m in names and m != name}
    return graph


def test_no_import_circle():
    graph = module_imports()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    circles = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for other in sorted(graph[module]):
            if state.get(other) == 1:
                circles.append(" -> ".join([*path[path.index(other):], other]))
            elif other not in state:
                visit(other, [*path, other])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert len(graph) > 100 and not circles, circles
