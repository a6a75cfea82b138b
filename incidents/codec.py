"""Frozen dataclasses to JSON-safe values and back, driven by their type hints.

The only place domain objects turn into JSON: events (`incidents.events`) and case snapshots
(`incidents.case`) both go through here, so a value written today reads back the same.

For speed, the first use of a dataclass turns its type hints into one straight-line function
(see `FunctionBuilder`), and JSON text is written and read by msgspec. The general functions
(`encode`, `decode`, `_decode_dataclass_slow`) define the results: decoding checks the exact
types it assumes and hands anything else to them, so results and errors are theirs. Encoding
does the same for times, durations, enums with int values, tuples, sets and dataclasses, but
takes values annotated str, int, float, bool or a str enum as they are: a value of another
type there (which mypy would reject) is not converted or refused as `encode` would.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import threading
import types
import typing
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, TypeAlias, TypeVar

import msgspec

JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"
JsonObject: TypeAlias = "dict[str, JsonValue]"

T = TypeVar("T")


class CodecError(ValueError):
    """A JSON value does not fit the type it should decode to."""


def encode(value: object) -> JsonValue:
    """Turn a domain value (dataclass, enum, datetime, tuple …) into JSON-safe data."""
    if value is None or isinstance(value, bool | str):
        return value
    # Enums first: IntEnum is also an int and must keep its plain value.
    if isinstance(value, Enum):
        raw = value.value
        if isinstance(raw, bool | int | float | str):
            return raw
        raise TypeError(f"enum {type(value).__name__} has a non-JSON value")
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError("naive datetimes are not allowed; pass aware (UTC) times")
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, tuple):
        return [encode(item) for item in value]
    if isinstance(value, frozenset):
        return [member for member in sorted(str(item) for item in value)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return encode_fields(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def encode_fields(value: object) -> JsonObject:
    """Encode a dataclass instance as a JSON object, one key per field."""
    cls = type(value)
    encoder = _ENCODERS.get(cls)
    if encoder is None:
        encoder = fields_encoder(cls)
    return encoder(value)


def dumps(value: object) -> str:
    """`encode(value)` as compact JSON text, exactly as `json.dumps` writes it.

    That is `json.dumps(encode(value), ensure_ascii=False, separators=(",", ":"))`.
    """
    cls = type(value)
    if dataclasses.is_dataclass(cls):
        encoder = _TEXT_ENCODERS.get(cls)
        if encoder is None:
            encoder = fields_encoder(cls, text=True)
        document: object = encoder(value)
    else:
        document = _text_value(value)
    return write_text(document, lambda: encode(value))


def loads(text: str | bytes) -> JsonValue:
    """Parse JSON text into plain data, exactly as `json.loads` does."""
    try:
        data: JsonValue = _READER.decode(text)
    except (msgspec.MsgspecError, TypeError, ValueError):
        # NaN, Infinity, lone surrogates, numbers out of range …: json's own verdict.
        data = json.loads(text)
    return data


def write_text(document: object, reference: Callable[[], JsonValue]) -> str:
    """JSON text of a document made by a text encoder (`fields_encoder(..., text=True)`).

    The text is what `json.dumps(reference(), ensure_ascii=False, separators=(",", ":"))`
    writes, where `reference()` is the same document as plain `encode` makes it; it is only
    called if msgspec cannot write the document (a lone surrogate, an unknown object …).
    """
    try:
        return _WRITER.encode(document).decode()
    except (TypeError, ValueError, OverflowError, msgspec.MsgspecError):
        return json.dumps(reference(), ensure_ascii=False, separators=(",", ":"))


def decode_dataclass(cls: type[T], data: object) -> T:
    """Build `cls` from a JSON object; unknown keys are an error, missing keys need a default."""
    decoder = _DECODERS.get(cls)
    if decoder is None:
        decoder = dataclass_decoder(cls)
    result: T = decoder(data)
    return result


def decode(tp: object, data: object) -> object:
    """Decode JSON data into the Python type `tp` (as written in a dataclass annotation)."""
    origin = typing.get_origin(tp)
    if origin is types.UnionType or origin is typing.Union:
        options = typing.get_args(tp)
        if data is None and type(None) in options:
            return None
        concrete = [option for option in options if option is not type(None)]
        if len(concrete) != 1:
            raise CodecError(f"unions of several types are not supported: {tp}")
        return decode(concrete[0], data)
    if origin is tuple:
        item_type = typing.get_args(tp)[0]
        return tuple(decode(item_type, item) for item in _as_list(data, tp))
    if origin is frozenset:
        item_type = typing.get_args(tp)[0]
        return frozenset(decode(item_type, item) for item in _as_list(data, tp))
    if not isinstance(tp, type):
        raise CodecError(f"unsupported annotation {tp!r}")
    if data is None:
        raise CodecError(f"{tp.__name__}: null is not allowed here")
    return _decode_plain(tp, data)


def _decode_plain(tp: type, data: object) -> object:
    if issubclass(tp, Enum):
        try:
            return tp(data)
        except ValueError as error:
            raise CodecError(str(error)) from error
    if tp is bool:
        if not isinstance(data, bool):
            raise CodecError(f"expected a boolean, got {data!r}")
        return data
    if tp is int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise CodecError(f"expected an integer, got {data!r}")
        return data
    if tp is float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise CodecError(f"expected a number, got {data!r}")
        return float(data)
    if tp is str:
        if not isinstance(data, str):
            raise CodecError(f"expected a string, got {data!r}")
        return data
    if tp is datetime:
        if not isinstance(data, str):
            raise CodecError(f"expected an RFC 3339 time, got {data!r}")
        moment = datetime.fromisoformat(data)
        if moment.tzinfo is None:
            raise CodecError(f"time without an offset: {data!r}")
        return moment
    if tp is timedelta:
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise CodecError(f"expected a duration in seconds, got {data!r}")
        return timedelta(seconds=data)
    if dataclasses.is_dataclass(tp):
        return decode_dataclass(tp, data)
    raise CodecError(f"unsupported type {tp.__name__}")


def _decode_dataclass_slow(cls: type[T], data: object) -> T:
    """The general `decode_dataclass`, for whatever the compiled decoder does not expect."""
    if not isinstance(data, Mapping):
        raise CodecError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
    hints = _hints(cls)
    names = {field.name for field in _fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise CodecError(f"{cls.__name__}: unknown fields {sorted(unknown)}")
    kwargs: dict[str, object] = {}
    for field in _fields(cls):
        if field.name in data:
            kwargs[field.name] = decode(hints[field.name], data[field.name])
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise CodecError(f"{cls.__name__}: missing field {field.name!r}")
    return cls(**kwargs)


def _as_list(data: object, tp: object) -> list[object]:
    if not isinstance(data, list):
        raise CodecError(f"{tp}: expected a list, got {type(data).__name__}")
    return data


# --- JSON text ------------------------------------------------------------------------------

_WRITER = msgspec.json.Encoder()
_READER = msgspec.json.Decoder()


def text_document(value: object) -> Any:
    """Plain JSON data (as `encode` makes it), ready for `write_text`."""
    # msgspec and json.dumps spell floats alike only between 1e-4 and 1e16 (1e-05 vs 0.00001,
    # 1e+16 vs 1e16, NaN vs null); outside that range the float goes in as json's own text.
    if isinstance(value, float):
        if type(value) is float and 1e-4 <= abs(value) < 1e16:
            return value
        return msgspec.Raw(_json_float(value))
    if isinstance(value, list):
        return [text_document(item) for item in value]
    if isinstance(value, dict):
        return {key: text_document(item) for key, item in value.items()}
    return value


def _text_value(value: object) -> object:
    return text_document(encode(value))


def _json_float(value: float) -> str:
    if value != value:
        return "NaN"
    if value == float("inf"):
        return "Infinity"
    if value == float("-inf"):
        return "-Infinity"
    return float.__repr__(value)


# --- compiled per-class encoders and decoders ------------------------------------------------


class FunctionBuilder:
    """Python source for one fast encoder or decoder, and the names that source refers to.

    `encoding(tp, name)` and `decoding(tp, name)` give an expression that turns the local
    variable `name` (annotated `tp`) into what `encode(name)` / `decode(tp, name)` return,
    checking the exact types it relies on and calling the general function otherwise (except
    where encoding takes a value as it is: see the module docstring).
    `construction` gives the statements that build a dataclass; `build` compiles the source.
    """

    def __init__(self) -> None:
        self.namespace: dict[str, object] = {
            "_encode": encode,
            "_text_value": _text_value,
            "_decode": decode,
            "_to_builtins": msgspec.to_builtins,
            "_from_iso": datetime.fromisoformat,
            "_timedelta": timedelta,
            "_datetime": datetime,
            "_UTC": UTC,
            "_new": object.__new__,
        }
        self._names: dict[int, str] = {}
        self._count = 0

    def bind(self, value: object) -> str:
        """A name under which the generated code sees `value`."""
        name = self._names.get(id(value))
        if name is None:
            name = self._names[id(value)] = self.fresh("_k")
            self.namespace[name] = value
        return name

    def fresh(self, prefix: str = "_t") -> str:
        """A name no other part of the generated code uses."""
        self._count += 1
        return f"{prefix}{self._count}"

    def build(self, source: str, function: str) -> Callable[..., Any]:
        """Compile `source` and return the function called `function` defined in it."""
        scope = dict(self.namespace)
        exec(compile(source, f"<codec {function}>", "exec"), scope)
        built: Callable[..., Any] = scope[function]  # type: ignore[assignment]
        return built

    def construction(self, cls: type, arguments: list[str], target: str) -> list[str]:
        """Statements that set `target` to `cls` built from `arguments` (one per field, in order).

        The arguments are evaluated in order, as for a call.
        """
        setters = _slot_setters(cls)
        if setters is None:
            names = [field.name for field in _fields(cls)]
            pairs = zip(names, arguments, strict=True)
            call = ", ".join(f"{name}={value}" for name, value in pairs)
            return [f"{target} = {self.bind(cls)}({call})"]
        lines = [f"{target} = _new({self.bind(cls)})"]
        for setter, value in zip(setters, arguments, strict=True):
            lines.append(f"{self.bind(setter)}({target}, {value})")
        return lines

    def document(self, keys: list[str], values: list[str], *, text: bool = False) -> str:
        """An expression for the JSON object with these keys and value expressions, in order.

        With `text` it is a msgspec struct (faster to build and write) for `write_text`.
        """
        if text:
            return f"{self.bind(_text_struct(tuple(keys)))}({', '.join(values)})"
        pairs = (f"{key!r}: {value}" for key, value in zip(keys, values, strict=True))
        return f"{{{', '.join(pairs)}}}"

    def encoding(self, tp: object, name: str, *, text: bool = False) -> str:
        """An expression equal to `encode(name)`; with `text`, ready for `write_text`."""
        fallback = f"_text_value({name})" if text else f"_encode({name})"
        inner = _optional_of(tp)
        if inner is not None:
            expression = self.encoding(inner, name, text=text)
            return name if expression == name else f"(None if {name} is None else {expression})"
        origin = typing.get_origin(tp)
        if origin is tuple:
            args = typing.get_args(tp)
            if len(args) != 2 or args[1] is not Ellipsis:
                return fallback
            item = self.fresh()
            each = self.encoding(args[0], item, text=text)
            items = f"list({name})" if each == item else f"[{each} for {item} in {name}]"
            # Most tuples are empty, and an empty comprehension still costs a function call.
            return f"(({items} if {name} else []) if type({name}) is tuple else {fallback})"
        if origin is frozenset:
            items = f"(sorted(map(str, {name})) if {name} else [])"
            return f"({items} if type({name}) is frozenset else {fallback})"
        if not isinstance(tp, type):
            return fallback
        if issubclass(tp, Enum):
            if issubclass(tp, str):
                return name  # encode returns str-based members themselves
            if all(type(member.value) in (int, str) for member in tp):
                return f"({name}._value_ if type({name}) is {self.bind(tp)} else {fallback})"
            return fallback
        if tp in (str, int, bool) or (tp is float and not text):
            return name
        if tp is float:
            exact = f"type({name}) is float and 1e-4 <= abs({name}) < 1e16"
            return f"({name} if {exact} else {fallback})"
        if tp is datetime:
            # msgspec writes UTC as "Z" where isoformat writes "+00:00"; it is 4× faster.
            return (
                f"(_to_builtins({name})[:-1] + '+00:00' "
                f"if type({name}) is _datetime and {name}.tzinfo is _UTC else {fallback})"
            )
        if tp is timedelta and not text:
            return f"({name}.total_seconds() if type({name}) is _timedelta else {fallback})"
        if dataclasses.is_dataclass(tp) and tp not in _IN_PROGRESS:
            encoder = self.bind(fields_encoder(tp, text=text))
            return f"({encoder}({name}) if type({name}) is {self.bind(tp)} else {fallback})"
        return fallback

    def decoding(self, tp: object, name: str) -> str:
        """An expression equal to `decode(tp, name)`, errors included."""
        fallback = f"_decode({self.bind(tp)}, {name})"
        inner = _optional_of(tp)
        if inner is not None:
            return f"(None if {name} is None else {self.decoding(inner, name)})"
        origin = typing.get_origin(tp)
        if origin is tuple or origin is frozenset:
            args = typing.get_args(tp)
            if origin is tuple and (len(args) != 2 or args[1] is not Ellipsis):
                return fallback
            item = self.fresh()
            each = self.decoding(args[0], item)
            collection = "tuple" if origin is tuple else "frozenset"
            items = f"({collection}([{each} for {item} in {name}]) if {name} else {collection}())"
            return f"({items} if type({name}) is list else {fallback})"
        if not isinstance(tp, type):
            return fallback
        if issubclass(tp, Enum):
            value_types = {type(member.value) for member in tp}
            if len(value_types) != 1 or not value_types <= {int, str}:
                return fallback
            members = self.bind(tp._value2member_map_)
            value_type = value_types.pop().__name__
            # JSON gives the value; a document from to_json holds the member itself.
            return (
                f"({members}[{name}] if type({name}) is {value_type} and {name} in {members} "
                f"else {name} if type({name}) is {self.bind(tp)} else {fallback})"
            )
        if tp in (bool, int, float, str):
            return f"({name} if type({name}) is {tp.__name__} else {fallback})"
        if tp is datetime:
            moment = self.fresh()
            return (
                f"({moment} if type({name}) is str "
                f"and ({moment} := _from_iso({name})).tzinfo is not None else {fallback})"
            )
        if tp is timedelta:
            return (
                f"(_timedelta(seconds={name}) "
                f"if type({name}) is float or type({name}) is int else {fallback})"
            )
        if dataclasses.is_dataclass(tp) and tp not in _IN_PROGRESS:
            decoder = self.bind(dataclass_decoder(tp))
            return f"({decoder}({name}) if type({name}) is dict else {fallback})"
        return fallback


def fields_encoder(cls: type, *, text: bool = False) -> Callable[[Any], Any]:
    """The compiled `encode_fields` of dataclass `cls` (with `text`, its `write_text` form)."""
    cache = _TEXT_ENCODERS if text else _ENCODERS
    found = cache.get(cls)
    if found is None:
        with _COMPILING:
            found = cache.get(cls)
            if found is None:
                found = cache[cls] = _compile_encoder(cls, text)
    return found


def dataclass_decoder(cls: type[T]) -> Callable[[object], T]:
    """The compiled `decode_dataclass` of dataclass `cls`."""
    found = _DECODERS.get(cls)
    if found is None:
        with _COMPILING:
            found = _DECODERS.get(cls)
            if found is None:
                found = _DECODERS[cls] = _compile_decoder(cls)
    return found


def constructor(cls: type[T]) -> Callable[..., T]:
    """A function building dataclass `cls` from every field, positionally in field order.

    The result equals `cls(*fields)`; where the generated `__init__` would only store the
    fields, the slots are filled directly, which is 3× faster for wide frozen classes.
    """
    builder = FunctionBuilder()
    arguments = [f"_a{index}" for index in range(len(_fields(cls)))]
    lines = builder.construction(cls, arguments, "_o")
    source = "\n".join(
        [f"def _make({', '.join(arguments)}):", *(f"    {line}" for line in lines), "    return _o"]
    )
    return builder.build(source, "_make")


def replace(obj: T, /, **changes: Any) -> T:
    """`dataclasses.replace`, but filling the slots directly where that is all it would do.

    A case changes by a new copy with a few fields changed; for its forty fields the
    generated `__init__` cost ~25 µs a copy, this ~3 µs.
    """
    cls = type(obj)
    replacer = _REPLACERS.get(cls)
    if replacer is None:
        replacer = _REPLACERS[cls] = _compile_replacer(cls)
    result: T = replacer(obj, changes)
    return result


_REPLACERS: dict[type, Callable[[Any, dict[str, Any]], Any]] = {}


def _compile_replacer(cls: type) -> Callable[[Any, dict[str, Any]], Any]:
    setters = _slot_setters(cls)
    if setters is None:
        return lambda obj, changes: dataclasses.replace(obj, **changes)
    builder = FunctionBuilder()
    names = [field.name for field in _fields(cls)]
    fields = builder.bind(frozenset(names))
    lines = [
        "def _replace(_old, _c):",
        f"    if not _c.keys() <= {fields}:",
        f"        _unknown = sorted(_c.keys() - {fields})",
        f"        raise TypeError(f'{cls.__name__} has no field(s) {{_unknown}}')",
        f"    _o = _new({builder.bind(cls)})",
    ]
    for name, setter in zip(names, setters, strict=True):
        lines.append(
            f"    {builder.bind(setter)}(_o, _c[{name!r}] if {name!r} in _c else _old.{name})"
        )
    lines.append("    return _o")
    return builder.build("\n".join(lines), "_replace")


def field_hints(cls: type) -> list[tuple[str, object]] | None:
    """(name, annotation) of each field of dataclass `cls`; None if hints do not resolve."""
    try:
        hints = _hints(cls)
        return [(field.name, hints[field.name]) for field in _fields(cls)]
    except Exception:  # unresolvable hints: the general functions report them when used
        return None


def _compile_encoder(cls: type, text: bool) -> Callable[[Any], Any]:
    fields = field_hints(cls) if dataclasses.is_dataclass(cls) else None
    if fields is None:
        return _encode_fields_slow
    _IN_PROGRESS.add(cls)
    try:
        builder = FunctionBuilder()
        lines, values = [], []
        for name, hint in fields:
            local = builder.fresh("_f")
            expression = builder.encoding(hint, local, text=text)
            if expression == local:
                values.append(f"value.{name}")
            else:
                lines.append(f"    {local} = value.{name}")
                values.append(expression)
        document = builder.document([name for name, _ in fields], values, text=text)
        function = f"_encode_{cls.__name__}"
        source = "\n".join([f"def {function}(value):", *lines, f"    return {document}"])
        return builder.build(source, function)
    finally:
        _IN_PROGRESS.discard(cls)


def _text_struct(keys: tuple[str, ...]) -> type[msgspec.Struct]:
    """A msgspec struct that msgspec writes as a JSON object with these keys, in this order."""
    found = _TEXT_STRUCTS.get(keys)
    if found is None:
        found = _TEXT_STRUCTS[keys] = msgspec.defstruct("TextDocument", keys)
    return found


def _encode_fields_slow(value: object) -> JsonObject:
    return {field.name: encode(getattr(value, field.name)) for field in _fields(type(value))}


def _compile_decoder(cls: type[T]) -> Callable[[object], T]:
    def slow(data: object) -> T:
        return _decode_dataclass_slow(cls, data)

    if not dataclasses.is_dataclass(cls) or not all(f.init for f in _fields(cls)):
        return slow
    fields = field_hints(cls)
    if fields is None:
        return slow
    _IN_PROGRESS.add(cls)
    try:
        builder = FunctionBuilder()
        lines, arguments = [], []
        for name, hint in fields:
            local = builder.fresh("_v")
            lines.append(f"        {local} = data[{name!r}]")
            arguments.append(builder.decoding(hint, local))
        function = f"_decode_{cls.__name__}"
        source = "\n".join(
            [
                f"def {function}(data):",
                f"    if type(data) is not dict or len(data) != {len(fields)}:",
                "        return _slow(data)",
                "    try:",
                *(lines or ["        pass"]),
                "    except KeyError:",
                "        return _slow(data)",
                *(f"    {line}" for line in builder.construction(cls, arguments, "_o")),
                "    return _o",
            ]
        )
        builder.namespace["_slow"] = slow
        return builder.build(source, function)
    finally:
        _IN_PROGRESS.discard(cls)


def _slot_setters(cls: type) -> list[Callable[[object, object], None]] | None:
    """Each field's slot setter, if filling the slots is all `cls(*fields)` would do."""
    init = cls.__dict__.get("__init__")
    frozen = getattr(getattr(cls, "__dataclass_params__", None), "frozen", False)
    if (
        not dataclasses.is_dataclass(cls)
        or cls.__new__ is not object.__new__
        or hasattr(cls, "__post_init__")
        or not (frozen or cls.__setattr__ is object.__setattr__)
        # Only the __init__ that dataclass generated (compiled from a string) is known to
        # store its arguments and nothing else.
        or getattr(getattr(init, "__code__", None), "co_filename", None) != "<string>"
    ):
        return None
    names = [field.name for field in _fields(cls)]
    try:
        parameters = list(inspect.signature(cls).parameters)
    except (TypeError, ValueError):
        return None
    if parameters != names:
        return None  # InitVars or init=False fields: __init__ does more than store fields
    setters = []
    for name in names:
        slot = next((k.__dict__[name] for k in cls.__mro__ if name in k.__dict__), None)
        if type(slot) is not types.MemberDescriptorType:
            return None
        setters.append(slot.__set__)
    return setters


def _optional_of(tp: object) -> object | None:
    """X for `X | None`; None for anything else."""
    origin = typing.get_origin(tp)
    if origin is not types.UnionType and origin is not typing.Union:
        return None
    options = typing.get_args(tp)
    concrete = [option for option in options if option is not type(None)]
    if len(concrete) != 1 or len(options) != 2:
        return None
    inner: object = concrete[0]
    return inner


# Compiled functions per class; compiling takes a lock so a class compiles once.
_ENCODERS: dict[type, Callable[[Any], JsonObject]] = {}
_TEXT_ENCODERS: dict[type, Callable[[Any], Any]] = {}
_DECODERS: dict[type, Callable[[object], Any]] = {}
_TEXT_STRUCTS: dict[tuple[str, ...], type[msgspec.Struct]] = {}
_COMPILING = threading.RLock()
_IN_PROGRESS: set[type] = set()  # a dataclass that refers to itself uses the general code

# Per-class lookups are cached: the general code walks the same few classes many times.
_FIELDS: dict[type, tuple[dataclasses.Field[object], ...]] = {}
_HINTS: dict[type, dict[str, object]] = {}


def _fields(cls: type) -> tuple[dataclasses.Field[object], ...]:
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = dataclasses.fields(cls)
    return found


def _hints(cls: type) -> dict[str, object]:
    found = _HINTS.get(cls)
    if found is None:
        found = _HINTS[cls] = typing.get_type_hints(cls)
    return found
