"""
Structure hooks generated from the attrs models, registered on the converter as a factory.

This is what cattrs' `make_dict_structure_fn` does (one function per class, compiled once from
the class's fields), specialised for a wire that is lossless and read on every page.

Rules:

1. The model is the description: a field `contact_id` is the wire's `contactId` (camelCase of
   its name), and its annotation says how it is read. A field needs an entry in `WireSpec.hooks`
   only when neither says enough (`userId`, sent as a number, becomes a `str`).
2. What an annotation means, inline in the generated code: `int` and `str` are checked by
   `type(x) is ...`, anything else goes through the strict hook of that type (a subclass is
   accepted, a `bool` is not an `int`); `E | str` for a `str` enum `E` is an open enum (one
   subscript of a dict of its members); `str | int` takes either; a model (`WireSpec`) is read
   inline, by the same code as its own hook, and `tuple[M, ...]` of them from a JSON array in
   a loop; a union holding a tagged model (`"type": "text"`) reads that one inline when the
   tag says so; any other type, or union, through the converter's hook for it; `| None` lets
   `null` through. A page of messages so costs one call per message: what is left is mostly
   the models' own frozen `__init__`.
3. Nothing is lost: the fields of the object that the model does not know go into the model's
   `extra`; where a known field's model value does not tell how it was written (`null` or `[]`
   for an absent value, whatever a reshaping hook changed), the wire value is noted in it
   too, for the way back (`unstructure_fn`). The usual object, with nothing of either, costs
   one `len()` and shares one empty `extra`.
4. An object of another shape raises `TypeError` or `KeyError` naming what is wrong.
5. Read from a parser that makes integers beyond 64 bits floats (`rounding_parse`), a known
   field holding a float raises (`TypeError`), and JSON kept whole holding one that large
   raises `RoundedNumber`: the caller then reads the body again exactly. The usual object
   keeps nothing whole, so that check costs it nothing.
"""

from __future__ import annotations

import contextvars
import enum
import linecache
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import cattrs

from ._models import NO_FIELDS, WireFields

__all__ = [
    "RoundedNumber",
    "WireSpec",
    "camel",
    "kept_whole",
    "reshaping",
    "rounding_parse",
    "strict",
    "structure_fn",
    "unstructure_fn",
]

StructureHook = Callable[[Any, Any], Any]


def camel(name: str) -> str:
    """
    The wire's name of a field: `channel_message_id` is `channelMessageId`.
    """
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


@attrs.frozen
class _Reshaping:
    """
    A field hook that may change how a value is written (it returns its argument itself when it
    does not): what it changed is noted for the way back (rule 3).
    """

    hook: Callable[[Any], Any]


def reshaping(hook: Callable[[Any], Any]) -> _Reshaping:
    """
    Mark a one-argument field hook as one whose result may not write back as its input.
    """
    return _Reshaping(hook)


@attrs.frozen(kw_only=True)
class WireSpec:
    """
    What a model's annotations do not say about its wire object.

    Attributes:
        hooks: A one-argument hook by field name, for a field read otherwise than its type says.
        tag: A key and value the object carries besides its fields (`"type": "text"`).
    """

    hooks: Mapping[str, Callable[[Any], Any] | _Reshaping] = attrs.field(factory=dict)
    tag: tuple[str, str] | None = None


def wire_fields(cls: type[Any]) -> tuple[attrs.Attribute[Any], ...]:
    """
    The fields of a model that are on the wire: all but `extra`.
    """
    return tuple(field for field in attrs.fields(cls) if field.name != "extra")


def strict(kind: type[Any]) -> Callable[[Any], Any]:
    """
    A check that a value is a `kind` (a subclass too, a `bool` never), returned as it is.
    """

    def check(value: Any) -> Any:
        if isinstance(value, kind) and not isinstance(value, bool):
            return value
        raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}: {value!r:.40}")

    return check


def _str_or_int(value: Any) -> str | int:
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return value
    raise TypeError(f"expected a string or an integer, got {type(value).__name__}")


class _Members(dict[str, Any]):
    """
    An open enum's members by value: `members[value]` is the member, or `value` itself when
    this SDK does not know it (one subscript, cheaper than `dict.get(value, value)`).
    """

    def __missing__(self, key: str) -> str:
        return key


def _open_enum(cls: type[enum.Enum]) -> tuple[_Members, Callable[[Any], Any]]:
    members = _Members((member.value, member) for member in cls)

    def other(value: Any) -> Any:
        if isinstance(value, str):
            return members[str(value)]
        raise TypeError(f"expected a string for {cls.__name__}, got {type(value).__name__}")

    return members, other


def _sequence(value: Any) -> Any:
    raise TypeError(f"expected an array, got {type(value).__name__}")


def _not_an_object(cls: type[Any], value: Any) -> Any:
    raise TypeError(f"expected an object for {cls.__name__}, got {type(value).__name__}")


class RoundedNumber(ValueError):
    """
    JSON kept whole holds a float that may be an integer the fast parser rounded (rule 5).
    """


rounding_parse: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "rounding_parse", default=False
)
"""Whether the value being structured was read by a parser that makes big integers floats."""


def kept_whole(value: Any) -> Any:
    """
    `value`, JSON kept as it arrived (unknown fields, an unknown body, an odd link): while
    `rounding_parse` is set, a float in it of an integer's size beyond 64 bits raises
    `RoundedNumber`, for the body to be read again exactly (rule 5).
    """
    if rounding_parse.get():
        pending = [value]
        while pending:
            item = pending.pop()
            if type(item) is float:
                if not -_BEYOND_64_BITS < item < _BEYOND_64_BITS:
                    raise RoundedNumber(f"{item!r} may be an integer beyond 64 bits")
            elif type(item) is dict:
                pending += item.values()
            elif type(item) is list:
                pending += item
    return value


_BEYOND_64_BITS = float(2**63)
"""orjson reads the integers from -2**63 to 2**64 - 1 exactly, any other one as a float."""


def _extra(
    o: Mapping[str, Any], known: frozenset[str], sent: dict[str, tuple[Any, Any]] | None
) -> WireFields:
    unknown = kept_whole({key: value for key, value in o.items() if key not in known})
    return WireFields(unknown, sent) if unknown or sent else NO_FIELDS


def _note(
    sent: dict[str, tuple[Any, Any]] | None, key: str, wire: Any, value: Any
) -> dict[str, tuple[Any, Any]]:
    if sent is None:
        sent = {}
    sent[key] = (wire, value)
    return sent


class _Source:
    """
    The generated function's lines and the globals they name.
    """

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.globals: dict[str, Any] = {}

    def bind(self, name: str, value: Any) -> str:
        self.globals[name] = value
        return name

    def add(self, indent: int, *lines: str) -> None:
        self.lines += ["    " * indent + line for line in lines]


def _members(union: Any) -> tuple[Any, ...]:
    if typing.get_origin(union) in (typing.Union, types.UnionType):
        return typing.get_args(union)
    return (union,)


class _Generator:
    """
    Writes the structure hook of one model, its nested models inline (rule 2).
    """

    def __init__(self, converter: cattrs.Converter, specs: Mapping[type[Any], WireSpec]) -> None:
        self.converter = converter
        self.specs = specs
        self.src = _Source()
        self.src.bind("__absent", _ABSENT)
        self.src.bind("__note", _note)
        self.src.bind("__mapping", Mapping)
        self.src.bind("__not_an_object", _not_an_object)
        self.src.bind("__extra", _extra)
        self.src.bind("__new", _NEW)

    def model(self, cls: type[Any], var: str, indent: int, *, tagged: bool = False) -> None:
        """
        Lines that replace the wire object in the local `var` by the model `cls` it holds;
        `tagged` when the lines before have checked that it is a `dict` that carries its tag.
        """
        src, spec, at = self.src, self.specs[cls], indent
        hints = typing.get_type_hints(cls)
        model = src.bind(f"__cl_{cls.__name__}", cls)
        fields = wire_fields(cls)
        keys = {field.name: camel(field.name) for field in fields}
        known = set(keys.values())
        local = {field.name: f"{var}_{field.name}" for field in fields}
        sent, n = f"{var}_sent", f"{var}_n"
        required = [field for field in fields if field.default is attrs.NOTHING]
        if not tagged:
            src.add(
                at,
                f"if type({var}) is not dict and not isinstance({var}, __mapping):",
                f"    __not_an_object({model}, {var})",
            )
        src.add(at, f"{sent} = None", f"{n} = {len(required) + tagged}")
        if spec.tag is not None:
            known.add(spec.tag[0])
            if not tagged:
                src.add(at, f"if {spec.tag[0]!r} in {var}:", f"    {n} += 1")
        for field in fields:
            name, key, hook = local[field.name], keys[field.name], spec.hooks.get(field.name)
            reshapes = isinstance(hook, _Reshaping)
            note = f"{sent} = __note({sent}, {key!r}, wire_{name}, {name})"
            if field.default is attrs.NOTHING:
                src.add(at, f"{name} = {var}[{key!r}]")
                if reshapes:
                    src.add(at, f"wire_{name} = {name}")
                self.read(name, hints[field.name], hook, at)
                if reshapes:
                    src.add(at, f"if {name} is not wire_{name}:", f"    {note}")
                continue
            default = field.default
            if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                raise TypeError(f"{cls.__name__}.{field.name}: a wire default is a constant")
            fallback = src.bind(f"__d_{cls.__name__}_{field.name}", default)
            src.add(
                at,
                f"{name} = {var}.get({key!r}, __absent)",
                f"if {name} is __absent:",
                f"    {name} = {fallback}",
            )
            if default is None:  # a null sent for it is noted, and needs no reading
                src.add(
                    at,
                    f"elif {name} is None:",
                    f"    {n} += 1",
                    f"    {sent} = __note({sent}, {key!r}, None, None)",
                )
            src.add(at, "else:", f"    {n} += 1")
            if reshapes or default is not None:
                src.add(at + 1, f"wire_{name} = {name}")
            self.read(name, hints[field.name], hook, at + 1, not_none=default is None)
            noted = [f"{name} is not wire_{name}"] if reshapes else []
            if default is not None:
                noted.append(f"{name} == {fallback}")
            if noted:
                src.add(at + 1, f"if {' or '.join(noted)}:", f"    {note}")
        known_keys = src.bind(f"__known_{cls.__name__}", frozenset(known))
        arguments = ", ".join(f"{field.alias}={local[field.name]}" for field in fields)
        extra = f"__extra({var}, {known_keys}, {sent})"
        src.add(
            at,
            f"if {sent} is None and {n} == len({var}):",
            f"    {var}_extra = {src.bind('__no_fields', NO_FIELDS)}",
            "else:",
            f"    {var}_extra = {extra}",
        )
        if cls.__new__ is _NEW:
            # The class's own `__init__`, called as a function: calling the class with
            # keywords would first gather them into a dict for `type.__call__`.
            init = src.bind(f"__init_{cls.__name__}", cls.__init__)
            src.add(
                at,
                f"{var} = __new({model})",
                f"{init}({var}, {arguments}, extra={var}_extra)",
            )
        else:
            src.add(at, f"{var} = {model}({arguments}, extra={var}_extra)")

    def read(
        self,
        name: str,
        kind: Any,
        hook: Callable[[Any], Any] | _Reshaping | None,
        at: int,
        *,
        not_none: bool = False,
    ) -> None:
        """
        Lines that turn the wire value in the local `name` into the model's value;
        `not_none` when the lines before have handled a `null`.
        """
        src = self.src
        if isinstance(hook, _Reshaping):
            hook = hook.hook
        if hook is not None:
            src.add(at, f"{name} = {src.bind(f'__h_{name}', hook)}({name})")
            return
        members = _members(kind)
        optional = type(None) in members and not not_none
        rest = tuple(m for m in members if m is not type(None))
        guard = f"{name} is not None and " if optional else ""
        enums = [m for m in rest if isinstance(m, type) and issubclass(m, enum.Enum)]
        tagged = [m for m in rest if m in self.specs and self.specs[m].tag is not None]
        if len(rest) == 1 and rest[0] in (int, str):
            check = src.bind(f"__strict_{rest[0].__name__}", strict(rest[0]))
            src.add(
                at,
                f"if {guard}type({name}) is not {rest[0].__name__}:",
                f"    {name} = {check}({name})",
            )
        elif set(rest) == {str, int}:
            src.add(
                at,
                f"if {guard}type({name}) is not str and type({name}) is not int:",
                f"    {name} = {src.bind('__str_or_int', _str_or_int)}({name})",
            )
        elif len(enums) == 1 and set(rest) == {enums[0], str} and issubclass(enums[0], str):
            table, other = _open_enum(enums[0])
            known, slow = src.bind(f"__members_{name}", table), src.bind(f"__other_{name}", other)
            src.add(
                at,
                f"if type({name}) is str:",
                f"    {name} = {known}[{name}]",
                f"elif {name} is not None:" if optional else "else:",
                f"    {name} = {slow}({name})",
            )
        elif len(rest) == 1 and rest[0] in self.specs:
            if optional:
                src.add(at, f"if {name} is not None:")
            self.model(rest[0], name, at + 1 if optional else at)
        elif typing.get_origin(kind) is tuple and typing.get_args(kind)[1:] == (Ellipsis,):
            item = typing.get_args(kind)[0]
            if item not in self.specs:
                raise TypeError(f"{kind}: a tuple of models only")
            src.add(
                at,
                f"if type({name}) is not list:",
                f"    {src.bind('__sequence', _sequence)}({name})",
                f"{name}_items = []",
                f"for {name}_e in {name}:",
            )
            self.model(item, f"{name}_e", at + 1)
            src.add(at + 1, f"{name}_items.append({name}_e)")
            src.add(at, f"{name} = tuple({name}_items)")
        else:
            # Any other type through the converter's hook for it; a union with a tagged
            # model (`"type": "text"`) reads that model inline when the tag says so.
            structure = src.bind(f"__s_{name}", self.converter.get_structure_hook(kind))
            through_hook = f"{name} = {structure}({name}, {src.bind(f'__t_{name}', kind)})"
            for member in tagged:
                tag_key, tag_value = self.specs[member].tag or ("", "")
                src.add(
                    at, f"if type({name}) is dict and {name}.get({tag_key!r}) == {tag_value!r}:"
                )
                self.model(member, name, at + 1, tagged=True)
                src.add(at, "else:")
                at += 1
            src.add(at, through_hook)


def structure_fn(
    cls: type[Any], converter: cattrs.Converter, specs: Mapping[type[Any], WireSpec]
) -> StructureHook:
    """
    Generate the structure hook of the model `cls` (see the module's rules).

    Args:
        cls: The model.
        converter: The converter, for the hooks of the types no rule names.
        specs: The models that are wire objects, each with what its annotations do not say.
    """
    generator = _Generator(converter, specs)
    generator.model(cls, "o", 1)
    generator.src.add(1, "return o")
    return _compile(f"structure_{cls.__name__}", "(o, _=None)", generator.src)


_ABSENT = object()

_NEW: Callable[..., Any] = object.__new__
"""How a model without a `__new__` of its own is made, before its `__init__` runs."""


def _compile(name: str, signature: str, src: _Source) -> Callable[..., Any]:
    source = "\n".join([f"def {name}{signature}:", *src.lines])
    filename = f"<aelyst_async generated {name}>"
    code = compile(source, filename, "exec")
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = dict(src.globals)
    exec(code, namespace)  # source built above from the model's fields only
    function: Callable[..., Any] = namespace[name]
    return function


def unstructure_fn(
    cls: type[Any], converter: cattrs.Converter, spec: WireSpec
) -> Callable[[Any], dict[str, Any]]:
    """
    The way back: a model to the wire object it was decoded from.

    Fields at their defaults are left out, unless the wire had them (rule 3); the tag comes
    first; `extra`'s fields come last, and never replace a known one.
    """
    overrides: dict[str, Any] = {
        field.name: cattrs.gen.override(rename=camel(field.name)) for field in wire_fields(cls)
    }
    natural = cattrs.gen.make_dict_unstructure_fn(
        cls,
        converter,
        _cattrs_omit_if_default=True,
        extra=cattrs.gen.override(omit=True),
        **overrides,
    )
    names = {camel(field.name): field.name for field in wire_fields(cls)}
    tag = spec.tag

    def unstructure(model: Any) -> dict[str, Any]:
        wire = natural(model)
        if tag is not None:
            wire = {tag[0]: tag[1], **wire}
        extra = model.extra
        sent = extra._sent if type(extra) is WireFields else None
        if sent:
            for key, (value, decoded) in sent.items():
                if getattr(model, names[key]) == decoded:
                    wire[key] = value
        for key, value in extra.items():
            wire.setdefault(key, value)
        return wire

    return unstructure
