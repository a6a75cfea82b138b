"""The emergency plan library (应急预案库): one TOML file per plan, validated when loaded.

Every error names the file and the field, e.g.
`flood-polder.toml: actions[2].time_limit_min: must be a positive integer`, so whoever edits a
plan file can fix it without reading this code. `parse_plan` is pure (file name and text in);
`load_library` reads a folder of `*.toml` files and refuses duplicate plan ids.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

import msgspec

from incidents.access import Role
from incidents.units import UnitType
from incidents.vocabulary import Category, Severity

PLAN_DIR = Path(__file__).with_name("plan_files")

# A force package names the forces domain's unit types, checked against that one list.
UNIT_TYPES: tuple[str, ...] = tuple(t.value for t in UnitType)

_PLAN_ID = re.compile(r"^[a-z][a-z0-9-]{1,63}$")


class CapCategory(StrEnum):
    """The CAP 1.2 `category` values."""

    GEO = "Geo"
    MET = "Met"
    SAFETY = "Safety"
    SECURITY = "Security"
    RESCUE = "Rescue"
    FIRE = "Fire"
    HEALTH = "Health"
    ENV = "Env"
    TRANSPORT = "Transport"
    INFRA = "Infra"
    CBRNE = "CBRNE"
    OTHER = "Other"


class CapUrgency(StrEnum):
    """The CAP 1.2 `urgency` values."""

    IMMEDIATE = "Immediate"
    EXPECTED = "Expected"
    FUTURE = "Future"
    PAST = "Past"
    UNKNOWN = "Unknown"


class CapCertainty(StrEnum):
    """The CAP 1.2 `certainty` values."""

    OBSERVED = "Observed"
    LIKELY = "Likely"
    POSSIBLE = "Possible"
    UNLIKELY = "Unlikely"
    UNKNOWN = "Unknown"


class CapResponse(StrEnum):
    """The CAP 1.2 `responseType` values."""

    SHELTER = "Shelter"
    EVACUATE = "Evacuate"
    PREPARE = "Prepare"
    EXECUTE = "Execute"
    AVOID = "Avoid"
    MONITOR = "Monitor"
    ASSESS = "Assess"
    ALL_CLEAR = "AllClear"
    NONE = "None"


class WarningArea(StrEnum):
    """Which area a public warning covers: the case's township, or a circle around the case."""

    TOWNSHIP = "township"
    CIRCLE = "circle"


class PlanFileError(ValueError):
    """A plan file that cannot be used; the message is `file: field: what is wrong`."""

    def __init__(self, file: str, field: str, problem: str) -> None:
        super().__init__(f"{file}: {field}: {problem}" if field else f"{file}: {problem}")
        self.file = file
        self.field = field
        self.problem = problem


class PlanAction(msgspec.Struct, frozen=True, gc=False):
    """One ordered action of a plan: what, by which role, within how many minutes of activation."""

    title: str
    role: Role
    time_limit_min: int


class ForceItem(msgspec.Struct, frozen=True, gc=False):
    """One line of the force package: a unit type and how many of it."""

    unit_type: str
    count: int


class NoticeTarget(msgspec.Struct, frozen=True, gc=False):
    """Who must be told (an organisation, by name) and within how many minutes."""

    org: str
    within_min: int


class CapTemplate(msgspec.Struct, frozen=True, gc=False):
    """The public-warning data of a plan: CAP event, category and the texts for the public."""

    event: str
    categories: tuple[CapCategory, ...]
    urgency: CapUrgency
    certainty: CapCertainty
    responses: tuple[CapResponse, ...]
    description: str
    instruction: str
    area: WarningArea
    radius_km: float


class Plan(msgspec.Struct, frozen=True, gc=False):
    """One emergency plan: its triggers, ordered actions, force package, notices and warning."""

    plan_id: str
    name: str
    categories: frozenset[Category]
    levels: frozenset[Severity]
    keywords: tuple[str, ...]
    actions: tuple[PlanAction, ...]
    forces: tuple[ForceItem, ...]
    notify: tuple[NoticeTarget, ...]
    cap: CapTemplate
    file: str


class PlanLibrary(Mapping[str, Plan]):
    """The loaded plans by id, in file-name order."""

    def __init__(self, plans: Mapping[str, Plan]) -> None:
        self._plans = dict(plans)

    def __getitem__(self, plan_id: str) -> Plan:
        return self._plans[plan_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._plans)

    def __len__(self) -> int:
        return len(self._plans)


class _Reader:
    """Reads typed fields of one TOML table, naming `file: path` in every complaint."""

    def __init__(self, file: str, table: Mapping[str, Any], path: str = "") -> None:
        self.file = file
        self.table = table
        self.path = path

    def where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, problem: str) -> PlanFileError:
        return PlanFileError(self.file, self.where(key), problem)

    def raw(self, key: str) -> Any:
        if key not in self.table:
            raise self.fail(key, "is missing")
        return self.table[key]

    def text(self, key: str) -> str:
        value = self.raw(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "must be a non-empty string")
        return value.strip()

    def positive_int(self, key: str) -> int:
        value = self.raw(key)
        # TOML booleans are Python bools, which are ints: refuse them explicitly.
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise self.fail(key, "must be a positive integer")
        return value

    def positive_float(self, key: str) -> float:
        value = self.raw(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise self.fail(key, "must be a positive number")
        return float(value)

    def items(self, key: str, *, required: bool = True) -> list[Any]:
        if key not in self.table and not required:
            return []
        value = self.raw(key)
        if not isinstance(value, list) or (required and not value):
            raise self.fail(key, "must be a non-empty array" if required else "must be an array")
        return value

    def tables(self, key: str) -> Iterator[_Reader]:
        for n, item in enumerate(self.items(key)):
            if not isinstance(item, dict):
                raise self.fail(f"{key}[{n}]", "must be a table")
            yield _Reader(self.file, item, self.where(f"{key}[{n}]"))

    def sub(self, key: str) -> _Reader:
        value = self.raw(key)
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table")
        return _Reader(self.file, value, self.where(key))

    def choice(self, key: str, allowed: type[StrEnum], value: Any = None) -> Any:
        """`value` (or the field's value) as a member of `allowed`."""
        value = self.raw(key) if value is None else value
        try:
            return allowed(value)
        except ValueError:
            known = ", ".join(m.value for m in allowed)
            raise self.fail(key, f"{value!r} is not one of: {known}") from None

    def choices(self, key: str, allowed: type[StrEnum], *, required: bool = True) -> list[Any]:
        return [
            self.choice(f"{key}[{n}]", allowed, v)
            for n, v in enumerate(self.items(key, required=required))
        ]

    def no_unknown(self, known: frozenset[str]) -> None:
        for key in self.table:
            if key not in known:
                raise self.fail(key, "is not a known field")


_PLAN_FIELDS = frozenset(
    {"id", "name", "categories", "levels", "keywords", "actions", "forces", "notify", "cap"}
)
_ACTION_FIELDS = frozenset({"title", "role", "time_limit_min"})
_FORCE_FIELDS = frozenset({"unit_type", "count"})
_NOTIFY_FIELDS = frozenset({"org", "within_min"})
_CAP_FIELDS = frozenset(
    {
        "event",
        "categories",
        "urgency",
        "certainty",
        "responses",
        "description",
        "instruction",
        "area",
        "radius_km",
    }
)


def parse_plan(file: str, text: str) -> Plan:
    """The plan in one file's text; raises PlanFileError naming `file` and the field."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PlanFileError(file, "", f"not valid TOML ({error})") from None
    top = _Reader(file, data)
    top.no_unknown(_PLAN_FIELDS)
    plan_id = top.text("id")
    if not _PLAN_ID.match(plan_id):
        raise top.fail("id", "must be 2-64 lower-case letters, digits or hyphens")
    return Plan(
        plan_id=plan_id,
        name=top.text("name"),
        categories=frozenset(top.choices("categories", Category)),
        levels=frozenset(_levels(top)),
        keywords=_keywords(top),
        actions=tuple(_action(r) for r in top.tables("actions")),
        forces=_forces(top),
        notify=tuple(_notice(r) for r in top.tables("notify")),
        cap=_cap(top.sub("cap")),
        file=file,
    )


def _levels(top: _Reader) -> list[Severity]:
    levels = []
    for n, value in enumerate(top.items("levels")):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4:
            raise top.fail(f"levels[{n}]", "must be a level from 1 (I) to 4 (IV)")
        levels.append(Severity(value))
    return levels


def _keywords(top: _Reader) -> tuple[str, ...]:
    words = top.items("keywords", required=False)
    for n, word in enumerate(words):
        if not isinstance(word, str) or not word.strip():
            raise top.fail(f"keywords[{n}]", "must be a non-empty string")
    return tuple(word.strip() for word in words)


def _action(reader: _Reader) -> PlanAction:
    reader.no_unknown(_ACTION_FIELDS)
    return PlanAction(
        title=reader.text("title"),
        role=reader.choice("role", Role),
        time_limit_min=reader.positive_int("time_limit_min"),
    )


def _forces(top: _Reader) -> tuple[ForceItem, ...]:
    items: list[ForceItem] = []
    for reader in top.tables("forces"):
        reader.no_unknown(_FORCE_FIELDS)
        unit_type = reader.text("unit_type")
        if unit_type not in UNIT_TYPES:
            raise reader.fail("unit_type", f"{unit_type!r} is not one of: {', '.join(UNIT_TYPES)}")
        if any(item.unit_type == unit_type for item in items):
            raise reader.fail("unit_type", f"{unit_type!r} is listed twice")
        items.append(ForceItem(unit_type, reader.positive_int("count")))
    return tuple(items)


def _notice(reader: _Reader) -> NoticeTarget:
    reader.no_unknown(_NOTIFY_FIELDS)
    return NoticeTarget(org=reader.text("org"), within_min=reader.positive_int("within_min"))


def _cap(reader: _Reader) -> CapTemplate:
    reader.no_unknown(_CAP_FIELDS)
    return CapTemplate(
        event=reader.text("event"),
        categories=tuple(reader.choices("categories", CapCategory)),
        urgency=reader.choice("urgency", CapUrgency),
        certainty=reader.choice("certainty", CapCertainty),
        responses=tuple(reader.choices("responses", CapResponse, required=False)),
        description=reader.text("description"),
        instruction=reader.text("instruction"),
        area=reader.choice("area", WarningArea),
        radius_km=reader.positive_float("radius_km"),
    )


def load_library(folder: Path = PLAN_DIR) -> PlanLibrary:
    """Every `*.toml` plan in `folder`, by id; raises PlanFileError for the first bad file."""
    plans: dict[str, Plan] = {}
    for path in sorted(folder.glob("*.toml")):
        plan = parse_plan(path.name, path.read_text("utf-8"))
        if plan.plan_id in plans:
            first = plans[plan.plan_id].file
            raise PlanFileError(path.name, "id", f"{plan.plan_id!r} is already the id of {first}")
        plans[plan.plan_id] = plan
    if not plans:
        raise PlanFileError(str(folder), "", "no plan files (*.toml) found")
    return PlanLibrary(plans)
