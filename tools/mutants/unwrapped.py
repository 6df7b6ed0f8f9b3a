"""Properties made visible to mutmut: the scratch tree's guarded modules, rewritten.

mutmut leaves every decorated function alone, `@property` and
`@functools.cached_property` included, so a verdict such as `Comparison.passed`
or the toolchain's digest was never mutated. In the scratch tree only, each
such method becomes a plain one, NAME_property, wrapped after its body
(`NAME = property(NAME_property)`): the class behaves the same, and mutmut
mutates the body.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import cast

#: The decorators rewritten; any other (a setter, a cache with arguments) is left as it is.
WRAPPERS = frozenset({"property", "functools.cached_property", "cached_property"})
SUFFIX = "_property"


def wrapped_methods(tree: ast.Module) -> list[ast.FunctionDef]:
    """The methods of the module's classes whose one decorator is a wrapper, last first."""
    found = [
        node
        for cls in ast.walk(tree)
        if isinstance(cls, ast.ClassDef)
        for node in cls.body
        if isinstance(node, ast.FunctionDef)
        and len(node.decorator_list) == 1
        and ast.unparse(node.decorator_list[0]) in WRAPPERS
    ]
    return sorted(found, key=lambda node: node.lineno, reverse=True)


def unwrapped(source: str) -> str:
    """The module's source with each wrapped method unwrapped; nothing else changes."""
    tree = ast.parse(source)
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    names |= {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    lines = source.splitlines(keepends=True)
    for method in wrapped_methods(tree):  # last first: earlier line numbers stay right
        plain = method.name + SUFFIX
        if plain in names:
            raise ValueError(f"line {method.lineno}: {plain} is taken; rename it or {method.name}")
        decorator = method.decorator_list[0]
        indent = " " * method.col_offset
        end = cast(int, method.end_lineno)  # parsed from source: never None
        lines.insert(end, f"{indent}{method.name} = {ast.unparse(decorator)}({plain})\n")
        def_line = method.lineno - 1
        lines[def_line] = lines[def_line].replace(f"def {method.name}(", f"def {plain}(", 1)
        del lines[decorator.lineno - 1 : cast(int, decorator.end_lineno)]
    return "".join(lines)


def unwrap_file(path: Path) -> int:
    """Rewrite a file in place (in the scratch tree only); how many methods it unwrapped."""
    source = path.read_text()
    path.write_text(unwrapped(source))
    return len(wrapped_methods(ast.parse(source)))
