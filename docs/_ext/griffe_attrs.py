"""
A Griffe extension that gives attrs classes the `__init__` attrs generates at runtime.

Griffe reads the source statically and sees no `__init__` in an `@attrs.frozen` class, so the
reference would show no signature and `--strict` would reject an `Args:` section naming the
fields. Like Griffe's own dataclasses extension, this one rebuilds the signature from the
annotated class attributes: `kw_only`, `default=`, `factory=`, `alias=` and `init=False` of
`attrs.field(...)`, inherited fields first.
"""

from __future__ import annotations

from typing import Any

import griffe

_DECORATORS = frozenset(
    {"attrs.frozen", "attrs.define", "attrs.mutable", "attr.s", "attr.attrs", "attr.define"}
)
_FIELD = frozenset({"attrs.field", "attr.ib", "attr.field"})


def _decorator(cls: griffe.Class) -> griffe.Expr | None:
    for decorator in cls.decorators:
        value = decorator.value
        if isinstance(value, griffe.Expr) and value.canonical_path in _DECORATORS:
            return value
    return None


def _arguments(expr: object) -> dict[str, Any]:
    if not isinstance(expr, griffe.ExprCall):
        return {}
    return {arg.name: arg.value for arg in expr.arguments if isinstance(arg, griffe.ExprKeyword)}


def _fields(cls: griffe.Class, kw_only: bool) -> list[griffe.Parameter]:
    parameters = []
    for member in cls.members.values():
        if member.is_alias or not isinstance(member, griffe.Attribute):
            continue
        if member.annotation is None or "property" in member.labels:
            continue
        if "class-attribute" in member.labels and "instance-attribute" not in member.labels:
            continue
        value = member.value
        field = (
            _arguments(value)
            if isinstance(value, griffe.ExprCall) and value.canonical_path in _FIELD
            else None
        )
        default: str | griffe.Expr | None = value
        name = member.name.lstrip("_")
        if field is not None:
            if str(field.get("init")) == "False":
                continue
            default = field.get("default")
            if "factory" in field:
                default = griffe.ExprCall(function=field["factory"], arguments=[])
            alias = field.get("alias")
            if alias is not None:
                name = str(alias).strip("'\"")
        parameters.append(
            griffe.Parameter(
                name,
                annotation=member.annotation,
                kind=griffe.ParameterKind.keyword_only
                if kw_only or (field is not None and str(field.get("kw_only")) == "True")
                else griffe.ParameterKind.positional_or_keyword,
                default=default,
                docstring=member.docstring,
            )
        )
    return parameters


def _set_init(cls: griffe.Class) -> None:
    decorator = _decorator(cls)
    if decorator is None or "__init__" in cls.members:
        return
    kw_only = str(_arguments(decorator).get("kw_only")) == "True"
    parameters: dict[str, griffe.Parameter] = {}
    try:
        parents = list(reversed(cls.mro()))
    except ValueError:
        parents = []
    for parent in parents:
        parent_decorator = _decorator(parent)
        if parent_decorator is not None:
            parent_kw_only = str(_arguments(parent_decorator).get("kw_only")) == "True"
            parameters.update((p.name, p) for p in _fields(parent, parent_kw_only))
    parameters.update((p.name, p) for p in _fields(cls, kw_only))
    ordered = sorted(parameters.values(), key=lambda p: p.kind is griffe.ParameterKind.keyword_only)
    self = griffe.Parameter("self", kind=griffe.ParameterKind.positional_or_keyword)
    cls.set_member(
        "__init__",
        griffe.Function(
            "__init__",
            lineno=0,
            endlineno=0,
            parent=cls,
            parameters=griffe.Parameters(self, *ordered),
            returns="None",
        ),
    )


def _walk(obj: griffe.Module | griffe.Class, seen: set[str]) -> None:
    if obj.path in seen:
        return
    seen.add(obj.path)
    if isinstance(obj, griffe.Class):
        _set_init(obj)
    for member in obj.members.values():
        if not member.is_alias and isinstance(member, (griffe.Module, griffe.Class)):
            _walk(member, seen)


class AttrsExtension(griffe.Extension):
    """
    Give every attrs class of a package the `__init__` attrs would generate.
    """

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        _walk(pkg, set())
