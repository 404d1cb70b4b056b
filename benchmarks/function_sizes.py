"""Function sizes of the package: the longest functions and public functions with many parameters.

Issue 13 asks for no function over ~80 lines and no public function with more than ~8
parameters. Run from the repository root::

    python benchmarks/function_sizes.py [--top 10] [--max-params 8] [src/skim]
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path


def functions(root: Path) -> list[tuple[int, int, str, bool]]:
    """Every function under ``root``: (lines, parameters, ``file:name``, public)."""
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = node.args
                count = len(args.posonlyargs) + len(args.args) + len(args.kwonlyargs)
                count -= bool(args.args) and args.args[0].arg in ("self", "cls")
                lines = node.end_lineno - node.lineno + 1
                public = not node.name.startswith("_") and "/_" not in str(path)
                found.append((lines, count, f"{path.relative_to(root.parent)}:{node.name}", public))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default="src/skim", type=Path)
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--max-params", type=int, default=8)
    args = parser.parse_args()
    found = functions(args.root)
    print(f"longest {args.top} functions (lines, parameters, where):")
    for lines, count, where, _ in sorted(found, reverse=True)[: args.top]:
        print(f"  {lines:4d} {count:3d}  {where}")
    many = sorted(
        ((c, n, w) for n, c, w, public in found if public and c > args.max_params), reverse=True
    )
    print(f"public functions with more than {args.max_params} parameters: {len(many)}")
    for count, lines, where in many:
        print(f"  {count:3d} {lines:4d}  {where}")


if __name__ == "__main__":
    main()
