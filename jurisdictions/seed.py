"""Reference data sync and the research seed: YAML research files -> fixtures -> database.

Three steps, each repeatable:

1. ``sync_reference()`` creates or updates jurisdictions from ISO 3166 (pycountry), EU, UN and
   COE, the EU memberships and the default criteria.
2. ``build_fixtures(paths)`` turns the research files (``research/*.yaml``, one per UN M49
   region or smaller; their shape is described in ``research/README.md``) into Django
   fixtures with natural keys (``fixtures/research.json``), deterministically.
3. ``load_fixture(path)`` loads a fixture through ``Model.save()`` — so validation runs and every
   write leaves a history record — creating or updating rows by natural key and skipping rows that
   did not change, so loading twice changes nothing.

Citation rule (issue 2): a status event or assessment for which the research names no source of
its own cites its instrument's sources, so that every row is citable on its own.
"""

from __future__ import annotations

import datetime
import json
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from . import reference
from .clock import today
from .choices import (
    RETIRED_INSTRUMENT_TYPES,
    AssessmentBasis,
    AssessmentValue,
    Body,
    Confidence,
    DatePrecision,
    EventKind,
    IdentifierScheme,
    InstrumentType,
    JurisdictionKind,
    ResearchStatus,
    SourceKind,
    Status,
)
from .models import BlocMembership, Criterion, Jurisdiction, Source

# Bulk creation sends no signals: the loads keep the coverage spans in their transaction.
from spans.maintain import batched, batched_rebuild  # noqa: E402  (issue 12)

BASE_DIR = Path(__file__).resolve().parent.parent
# The project's own research files, one per UN M49 region or smaller (issue 15 moved the facts
# of ../shared/data/research.yaml here, where they are corrected).
DEFAULT_RESEARCH_FILES = tuple(sorted((BASE_DIR / "research").glob("*.yaml")))
FIXTURES_DIR = BASE_DIR / "fixtures"
RESEARCH_FIXTURE = FIXTURES_DIR / "research.json"


# --- 1. reference data ------------------------------------------------------------------------
@dataclass
class SyncReport:
    """What a sync changed: codes created, codes updated with the fields that changed."""

    created: list[str] = field(default_factory=list)
    updated: dict[str, list[str]] = field(default_factory=dict)
    unchanged: int = 0

    def lines(self) -> list[str]:
        out = [
            f"{len(self.created)} created, {len(self.updated)} updated, "
            f"{self.unchanged} unchanged"
        ]
        if self.created:
            out.append("created: " + ", ".join(self.created[:50]) + (" …" if len(self.created) > 50 else ""))
        for code, fields in sorted(self.updated.items()):
            out.append(f"changed: {code} ({', '.join(fields)})")
        return out


def _upsert_jurisdiction(spec: reference.JurisdictionSpec, report: SyncReport, cache: dict):
    parent = cache.get(spec.parent_code) if spec.parent_code else None
    if spec.parent_code and parent is None:
        parent = Jurisdiction.objects.get(code=spec.parent_code)
    values = {
        "name": spec.name,
        "official_name": spec.official_name,
        "common_name": spec.common_name,
        "kind": spec.kind,
        "parent": parent,
        "subdivision_type": spec.subdivision_type,
        "numeric_code": spec.numeric_code,
    }
    obj = cache.get(spec.code)
    if obj is None:
        obj = Jurisdiction(code=spec.code, **values)
        obj.save()
        report.created.append(spec.code)
    else:
        changed = [
            name
            for name, value in values.items()
            if (obj.parent_id != (value.pk if value else None) if name == "parent" else getattr(obj, name) != value)
        ]
        if changed:
            for name, value in values.items():
                setattr(obj, name, value)
            obj._change_reason = "ISO 3166 sync"
            obj.save()
            report.updated[spec.code] = changed
        else:
            report.unchanged += 1
    cache[spec.code] = obj
    return obj


@transaction.atomic
@batched
def sync_reference(
    subdivision_countries: list[str] | None = None,
    all_subdivisions: bool = False,
    extra_codes: list[str] | tuple[str, ...] = (),
) -> SyncReport:
    """Create or update jurisdictions from ISO 3166 (pycountry) plus EU, UN and COE, the EU
    memberships, and the default criteria. Idempotent: a second run reports 0 created/updated.

    ``subdivision_countries``: ISO 3166-1 codes whose ISO 3166-2 subdivisions are synced
    (default ``reference.DEFAULT_SUBDIVISION_COUNTRIES``); ``all_subdivisions`` syncs every one;
    ``extra_codes``: further subdivision codes (with their ISO ancestors), e.g. ``JP-31``.
    Returns a ``SyncReport``. Raises ``LookupError`` for an extra code ISO does not know.
    """
    report = SyncReport()
    cache = {j.code: j for j in Jurisdiction.objects.all()}
    specs = reference.non_iso_specs() + reference.country_specs()
    if all_subdivisions:
        specs += reference.subdivision_specs(None)
    else:
        specs += reference.subdivision_specs(
            list(subdivision_countries or reference.DEFAULT_SUBDIVISION_COUNTRIES)
        )
    seen = {s.code for s in specs}
    for code in extra_codes:
        if code in seen or code in reference.NON_ISO_JURISDICTIONS or "-" not in code:
            continue
        for spec in reference.subdivision_spec(code):
            if spec.code not in seen:
                specs.append(spec)
                seen.add(spec.code)
    for spec in specs:
        _upsert_jurisdiction(spec, report, cache)

    eu_source, _ = Source.objects.get_or_create(
        url=reference.EU_MEMBERSHIP_SOURCE["url"],
        defaults={k: v for k, v in reference.EU_MEMBERSHIP_SOURCE.items() if k != "url"},
    )
    eu = cache["EU"]
    for code, start, end in reference.EU_MEMBERSHIPS:
        membership, created = BlocMembership.objects.get_or_create(
            bloc=eu,
            member=cache[code],
            start_date=start,
            defaults={"end_date": end, "source": eu_source},
        )
        if not created and membership.end_date != end:
            membership.end_date = end
            membership.save()

    for position, spec in enumerate(reference.DEFAULT_CRITERIA, start=1):
        criterion = Criterion.objects.filter(slug=spec.slug).first()
        if criterion is None:
            Criterion.objects.create(
                slug=spec.slug, label=spec.label, question=spec.question, position=position
            )
    return report


# --- 2. research files -> fixture -----------------------------------------------------------
CELEX_RE = re.compile(r"CELEX(?::|%3A)([0-9A-Z()]+)", re.IGNORECASE)
ELI_RE = re.compile(r"https?://data\.europa\.eu/eli/[^\s);,]+")
PROCEDURE_RE = re.compile(r"\b(\d{4}/\d{4}\((?:COD|CNS|NLE|APP)\))")
COM_RE = re.compile(r"\bCOM\(\d{4}\) \d+(?: final)?")


def _slug(text: str, max_length: int) -> str:
    """A URL slug of lower-case letters, digits and single hyphens (no underscores)."""
    slug = slugify((text or "").replace("_", " "))[:max_length].strip("-")
    return re.sub(r"-{2,}", "-", slug) or "item"


def _unique(slug: str, taken: set[str]) -> str:
    candidate, n = slug, 2
    while candidate in taken:
        candidate = f"{slug}-{n}"
        n += 1
    taken.add(candidate)
    return candidate


def _date(value) -> str | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime.date):
        return value.isoformat()
    return datetime.date.fromisoformat(str(value)).isoformat()


def partial_date(value) -> tuple[str | None, str]:
    """Parse a research file's date that may be partial: ``2024-11-05``, ``2024-11``, ``2024``.

    Returns ``(ISO date of the first day of the period, precision)``; "unknown" or an empty value
    gives ``(None, "day")``. Raises ``ValueError`` for anything else.
    """
    if value in (None, "", "unknown"):
        return None, DatePrecision.DAY
    if isinstance(value, datetime.date):
        return value.isoformat(), DatePrecision.DAY
    text = str(value).strip()
    if re.fullmatch(r"\d{4}", text):
        return f"{text}-01-01", DatePrecision.YEAR
    if re.fullmatch(r"\d{4}-\d{2}", text):
        return datetime.date.fromisoformat(f"{text}-01").isoformat(), DatePrecision.MONTH
    return datetime.date.fromisoformat(text).isoformat(), DatePrecision.DAY


def identifiers_from(citation: str, urls: list[str]) -> list[tuple[str, str]]:
    """Identifiers named in an instrument's citation or its source URLs: CELEX numbers, ELI
    URIs, EU procedure numbers and COM document numbers (as ``national``-free ``other``).

    Returns ``[(scheme, value), …]`` without duplicates, in a stable order.
    """
    found: "OrderedDict[tuple[str, str], None]" = OrderedDict()
    text = " ".join([citation or "", *urls])
    for m in CELEX_RE.finditer(text):
        found[(IdentifierScheme.CELEX, m.group(1).upper())] = None
    for m in ELI_RE.finditer(citation or ""):
        found[(IdentifierScheme.ELI, m.group(0))] = None
    for m in PROCEDURE_RE.finditer(citation or ""):
        found[(IdentifierScheme.PROCEDURE, m.group(1))] = None
    for m in COM_RE.finditer(citation or ""):
        found[(IdentifierScheme.OTHER, m.group(0))] = None
    return list(found)


class ResearchError(ValueError):
    """A research file breaks the shape of ``research/README.md``; the message names the file
    and the row."""


def _choice(value, choices, field: str, where: str, blank: bool = False) -> str:
    """``value`` as a slug of ``choices`` (a TextChoices class), or "" when blank is allowed.

    Raises ``ResearchError`` naming ``where`` (file and row), the field and the values allowed.
    """
    if value in (None, "") and blank:
        return ""
    if str(value) not in choices.values:
        raise ResearchError(
            f"{where}: {field} {value!r} is not one of {', '.join(choices.values)}"
        )
    return str(value)


def _verified(raw, where: str) -> dict:
    """The ``verified: {on, by, note}`` of a step or an assessment as model fields
    (``verified_on``, ``verified_by`` as a username natural key, ``verification_note``).

    Raises ``ResearchError`` naming ``where`` when it is not such a mapping.
    """
    if raw in (None, {}):
        return {"verified_on": None, "verified_by": None, "verification_note": ""}
    if isinstance(raw, dict):
        # YAML 1.1 (PyYAML) reads an unquoted key ``on`` as the boolean true.
        raw = {("on" if key is True else key): value for key, value in raw.items()}
    if not isinstance(raw, dict) or set(raw) - {"on", "by", "note"} or not raw.get("on") or not raw.get("by"):
        raise ResearchError(f"{where}: verified must be {{on: 'YYYY-MM-DD', by: account, note: …}}")
    try:
        on = _date(raw["on"])
    except ValueError as exc:
        raise ResearchError(f"{where}: verified.on {raw['on']!r} is not an ISO date") from exc
    by = str(raw["by"]).strip()
    if not re.fullmatch(r"[\w.@+-]{1,150}", by):
        raise ResearchError(f"{where}: verified.by {by!r} is not an account name")
    return {
        "verified_on": on,
        "verified_by": [by],
        "verification_note": (raw.get("note") or "").strip(),
    }


class FixtureBuilder:
    """Accumulates fixture objects (Django's serialization format with natural keys)."""

    def __init__(self):
        self.objects: dict[str, list[dict]] = OrderedDict(
            (label, [])
            for label in (
                "jurisdictions.jurisdiction",
                "jurisdictions.source",
                "jurisdictions.instrument",
                "jurisdictions.identifier",
                "jurisdictions.instrumentsource",
                "jurisdictions.statusevent",
                "jurisdictions.statuseventsource",
                "jurisdictions.assessment",
                "jurisdictions.assessmentsource",
                "jurisdictions.event",
                "jurisdictions.eventjurisdiction",
                "jurisdictions.eventsource",
            )
        )
        self.sources: dict[str, dict] = {}
        self.instrument_slugs: set[str] = set()
        self.event_slugs: set[str] = set()
        self.identifiers: set[tuple[str, str]] = set()

    def add(self, model: str, fields: dict) -> None:
        self.objects[model].append({"model": model, "fields": fields})

    def source(self, raw: dict) -> str:
        """Register a source (merging what several mentions say) and return its URL."""
        url = raw["url"].strip()
        entry = self.sources.setdefault(
            url,
            {
                "url": url,
                "title": "",
                "publisher": "",
                "kind": "",
                "published_on": None,
                "published_precision": DatePrecision.DAY,
                "accessed_on": None,
                "archived_url": "",
                "language": "",
            },
        )
        for key, target in (("title", "title"), ("publisher", "publisher"), ("kind", "kind")):
            if raw.get(key) and not entry[target]:
                entry[target] = str(raw[key])[:500]
        if raw.get("published") and not entry["published_on"]:
            entry["published_on"], entry["published_precision"] = partial_date(raw["published"])
        return url

    def as_list(self) -> list[dict]:
        self.objects["jurisdictions.source"] = [
            {"model": "jurisdictions.source", "fields": fields}
            for _, fields in sorted(self.sources.items())
        ]
        return [obj for group in self.objects.values() for obj in group]


def _jurisdiction_fields(entry: dict, compiled_on: str) -> dict:
    """The fixture fields of a research file's jurisdiction entry; ``compiled_on`` (ISO date) is
    the file's ``about.compiled_on``: the review date of a reviewed place (unless the entry gives
    its own ``reviewed_on``, for a place reviewed after the file was compiled), and its
    ``research_compiled_on``."""
    code = entry["code"].upper()
    kind = entry["kind"]
    if code in reference.NON_ISO_JURISDICTIONS:
        name, kind = reference.NON_ISO_JURISDICTIONS[code]
        spec = reference.JurisdictionSpec(code, name, "", kind, None)
    elif kind == JurisdictionKind.SUBDIVISION:
        spec = reference.subdivision_spec(code)[-1]
    else:
        spec = next(s for s in reference.country_specs() if s.code == code)
    status = entry.get("research_status") or ResearchStatus.NOT_RESEARCHED
    notes = (entry.get("notes") or "").strip()
    reviewed_on = _date(entry.get("reviewed_on"))
    if status == ResearchStatus.REVIEWED:
        notes = (notes + "\n\n" if notes else "") + (
            f"Review date: the date this place's research was reviewed ({reviewed_on})."
            if reviewed_on
            else f"Review date: the date the research file was compiled ({compiled_on})."
        )
    return {
        "code": spec.code,
        "name": spec.name,
        "official_name": spec.official_name,
        "common_name": spec.common_name,
        "kind": spec.kind,
        "subdivision_type": spec.subdivision_type,
        "numeric_code": spec.numeric_code,
        "parent": [spec.parent_code] if spec.parent_code else None,
        "research_status": status,
        "last_reviewed_on": (reviewed_on or compiled_on) if status == ResearchStatus.REVIEWED else None,
        "research_notes": notes,
        "research_compiled_on": compiled_on,
    }


def build_fixture_objects(paths: list[Path]) -> list[dict]:
    """Read research files and return fixture objects (list of dicts, natural keys).

    Raises ``ValueError`` when two files describe the same jurisdiction, and ``ResearchError``
    (a ``ValueError``) naming the file and the row when a row breaks the vocabulary (a retired
    instrument type included); the loader's model validation catches the rest.
    """
    builder = FixtureBuilder()
    seen: dict[str, tuple[Path, dict, dict]] = {}
    all_events: list[tuple[dict, str]] = []
    for path in paths:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        compiled_on = _date((data.get("about") or {}).get("compiled_on")) or today().isoformat()
        for entry in data.get("jurisdictions") or []:
            code = entry["code"].upper()
            fields = _jurisdiction_fields(entry, compiled_on)
            if code in seen:
                # A later file may continue research that an earlier one left unfinished
                # (in progress or not researched, no instruments); anything else is a conflict.
                first_path, first_entry, first_fields = seen[code]
                if first_entry.get("instruments") or first_fields["research_status"] == ResearchStatus.REVIEWED:
                    raise ValueError(f"{code} is described in both {first_path} and {path}")
                fields["research_notes"] = (
                    f"{fields['research_notes']}\n\nResearch continued in {Path(path).name}: "
                    f"{Path(first_path).name} had it as {first_fields['research_status']} "
                    "with no instruments."
                ).strip()
                first_fields.update(fields)
            else:
                seen[code] = (path, entry, fields)
                builder.add("jurisdictions.jurisdiction", fields)
            for n, instrument in enumerate(entry.get("instruments") or [], start=1):
                where = (
                    f"{Path(path).name}: {code}, instrument {n} "
                    f"({instrument.get('short_name') or instrument.get('title')})"
                )
                _add_instrument(builder, code, instrument, where)
        all_events.extend(
            (event, f"{Path(path).name}: event {n} ({event.get('title')})")
            for n, event in enumerate(data.get("events") or [], start=1)
        )
    for event, where in sorted(
        all_events, key=lambda pair: (str(pair[0]["date"]), pair[0]["title"])
    ):
        _add_event(builder, event, where)
    return builder.as_list()


def _add_instrument(builder: FixtureBuilder, code: str, raw: dict, where: str = "") -> None:
    """Add one instrument of a research file with its identifiers, citations, steps,
    assessments and dated events. ``where`` names the file and the row in errors.

    Raises ``ResearchError`` for a value outside its vocabulary or a retired instrument type.
    """
    instrument_type = _choice(raw.get("instrument_type"), InstrumentType, "instrument_type", where)
    if instrument_type in RETIRED_INSTRUMENT_TYPES:
        raise ResearchError(
            f"{where}: instrument_type {instrument_type} is retired: a court decision is not "
            "law here; record it under events (kind court_ruling) and cite it in the "
            "source_urls of the assessments it informs (basis court_reading)"
        )
    _choice(raw.get("confidence"), Confidence, "confidence", where, blank=True)
    slug = _unique(
        _slug(f"{code} {raw.get('short_name') or raw['title']}", 110), builder.instrument_slugs
    )
    source_urls = [builder.source(s) for s in raw.get("sources") or []]
    for source in raw.get("sources") or []:
        _choice(source.get("kind"), SourceKind, "source kind", where, blank=True)
    builder.add(
        "jurisdictions.instrument",
        {
            "jurisdiction": [code],
            "slug": slug,
            "instrument_type": instrument_type,
            "title": raw["title"].strip(),
            "original_title": (raw.get("original_title") or "").strip(),
            "short_name": (raw.get("short_name") or "").strip(),
            "citation": (raw.get("citation") or "").strip(),
            "official_url": "",
            "summary": (raw.get("summary") or "").strip(),
            "max_penalty": (raw.get("max_penalty") or "").strip(),
            "confidence": raw.get("confidence") or "",
            "notes": (raw.get("notes") or "").strip(),
            "status_note": (raw.get("status_note") or "").strip(),
        },
    )
    for scheme, value in identifiers_from(raw.get("citation") or "", source_urls):
        if (scheme, value) in builder.identifiers:
            continue  # an identifier belongs to one instrument; the first one named keeps it
        builder.identifiers.add((scheme, value))
        builder.add(
            "jurisdictions.identifier", {"instrument": [slug], "scheme": scheme, "value": value}
        )
    for url in dict.fromkeys(source_urls):
        builder.add("jurisdictions.instrumentsource", {"instrument": [slug], "source": [url]})

    for n, step in enumerate(raw.get("status_events") or [], start=1):
        at = f"{where}, step {n}"
        status = _choice(step.get("status"), Status, "status", at)
        date = _date(step["date"])
        precision = _choice(
            step.get("date_precision") or DatePrecision.DAY, DatePrecision, "date_precision", at
        )
        key = [slug, status, date, precision]
        builder.add(
            "jurisdictions.statusevent",
            {
                "instrument": [slug],
                "status": status,
                "date": date,
                "date_precision": precision,
                "date_note": (step.get("date_note") or "").strip(),
                "body": _choice(step.get("body"), Body, "body", at, blank=True),
                "description": (step.get("what") or "").strip(),
                **_verified(step.get("verified"), at),
            },
        )
        own = [builder.source({"url": u}) for u in step.get("source_urls") or []]
        for url in dict.fromkeys(own or source_urls):
            builder.add("jurisdictions.statuseventsource", {"status_event": key, "source": [url]})

    for criterion, answer in (raw.get("assessments") or {}).items():
        at = f"{where}, assessment {criterion}"
        builder.add(
            "jurisdictions.assessment",
            {
                "instrument": [slug],
                "criterion": [criterion],
                "value": _choice(answer.get("value"), AssessmentValue, "value", at),
                "basis": _choice(answer.get("basis"), AssessmentBasis, "basis", at, blank=True),
                "pinpoint": (answer.get("pinpoint") or "").strip(),
                "note": (answer.get("note") or "").strip(),
                "commencement_date": _date(answer.get("commencement_date")),
                **_verified(answer.get("verified"), at),
            },
        )
        # The assessment's own sources (a judgment that reads the provision, a gazette's
        # consolidated text) are cited besides the instrument's.
        own = [builder.source({"url": u}) for u in answer.get("source_urls") or []]
        for url in dict.fromkeys([*source_urls, *own]):
            builder.add(
                "jurisdictions.assessmentsource",
                {"assessment": [slug, criterion], "source": [url]},
            )

    for other in raw.get("other_events") or []:
        _choice(other.get("kind"), EventKind, "event kind", f"{where}, other_events")
        date = _date(other["date"])
        event_slug = _unique(_slug(f"{date} {slug} {other['kind']}", 150), builder.event_slugs)
        builder.add(
            "jurisdictions.event",
            {
                "slug": event_slug,
                "date": date,
                "date_precision": other.get("date_precision") or DatePrecision.DAY,
                "title": f"{raw.get('short_name') or raw['title']}: {other.get('what') or other['kind']}"[:500],
                "kind": other["kind"],
                "summary": (other.get("what") or "").strip(),
                "notes": "",
                "figures": {},
                "confidence": raw.get("confidence") or "",
                "instrument": [slug],
            },
        )
        builder.add("jurisdictions.eventjurisdiction", {"event": [event_slug], "jurisdiction": [code]})
        for url in dict.fromkeys(source_urls):
            builder.add("jurisdictions.eventsource", {"event": [event_slug], "source": [url]})


def _add_event(builder: FixtureBuilder, raw: dict, where: str = "") -> None:
    _choice(raw.get("kind"), EventKind, "kind", where)
    date = _date(raw["date"])
    slug = _unique(_slug(f"{date} {raw['title']}", 150), builder.event_slugs)
    builder.add(
        "jurisdictions.event",
        {
            "slug": slug,
            "date": date,
            "date_precision": raw.get("date_precision") or DatePrecision.DAY,
            "title": raw["title"].strip()[:500],
            "kind": raw["kind"],
            "summary": (raw.get("summary") or "").strip(),
            "notes": (raw.get("notes") or "").strip(),
            "figures": raw.get("figures") or {},
            "confidence": raw.get("confidence") or "",
            "instrument": None,
        },
    )
    for code in dict.fromkeys(c.upper() for c in raw.get("jurisdictions") or []):
        builder.add("jurisdictions.eventjurisdiction", {"event": [slug], "jurisdiction": [code]})
    for source in raw.get("sources") or []:
        url = builder.source(source)
        builder.add("jurisdictions.eventsource", {"event": [slug], "source": [url]})


def write_fixture(objects: list[dict], path: Path = RESEARCH_FIXTURE) -> Path:
    """Write fixture objects as indented JSON (stable, diff-friendly). Returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(objects, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


# --- 3. fixture -> database -------------------------------------------------------------------
class SeedRowError(ValueError):
    """A fixture row that cannot be loaded; the message names the file, the model and the row's
    natural key."""


@dataclass
class LoadReport:
    """Rows created, updated and unchanged per model label."""

    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: int = 0
    removed: dict[str, int] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        labels = sorted(set(self.created) | set(self.updated) | set(self.removed))
        out = [
            f"{label}: {self.created.get(label, 0)} created, {self.updated.get(label, 0)} updated"
            + (f", {self.removed[label]} removed" if self.removed.get(label) else "")
            for label in labels
        ]
        out.append(f"{self.unchanged} rows unchanged")
        out.extend(f"kept, no longer in the research but edited since: {k}" for k in self.kept)
        return out


# The natural key of each fixture model, as field names; a foreign key stands for the natural key
# of the row it points to (so a status event's key is instrument slug, status, date, precision).
NATURAL_KEYS: dict[str, tuple[str, ...]] = {
    "jurisdictions.jurisdiction": ("code",),
    "jurisdictions.criterion": ("slug",),
    "jurisdictions.source": ("url",),
    "jurisdictions.instrument": ("slug",),
    "jurisdictions.identifier": ("scheme", "value"),
    "jurisdictions.instrumentsource": ("instrument", "source"),
    "jurisdictions.statusevent": ("instrument", "status", "date", "date_precision"),
    "jurisdictions.statuseventsource": ("status_event", "source"),
    "jurisdictions.assessment": ("instrument", "criterion"),
    "jurisdictions.assessmentsource": ("assessment", "source"),
    "jurisdictions.event": ("slug",),
    "jurisdictions.eventjurisdiction": ("event", "jurisdiction"),
    "jurisdictions.eventsource": ("event", "source"),
    # The verifier of a step or an assessment (``verified_by``), by username.
    "auth.user": ("username",),
}
SKIP_COMPARE = {"id", "created_at", "updated_at", "search_text"}

# The rows a load retires when the research no longer holds them (a step re-dated, a criterion
# no longer assessed, a citation dropped), children first. Only rows that nobody but a seed load
# ever wrote go; instruments, events, sources and reference data are never removed here.
RETIRED_WITH_THE_RESEARCH = (
    "jurisdictions.statuseventsource",
    "jurisdictions.assessmentsource",
    "jurisdictions.instrumentsource",
    "jurisdictions.eventsource",
    "jurisdictions.eventjurisdiction",
    "jurisdictions.identifier",
    "jurisdictions.statusevent",
    "jurisdictions.assessment",
)
# A step or an assessment goes only once no citation of it is left (an editor's stays).
_CITATIONS_OF = {
    "jurisdictions.statusevent": ("jurisdictions.statuseventsource", "status_event_id"),
    "jurisdictions.assessment": ("jurisdictions.assessmentsource", "assessment_id"),
}


class _Index:
    """Natural key -> primary key for every fixture model, read once from the database.

    Keys are "resolved": foreign keys appear as primary keys, so that rows already in the database
    (read with ``values()``) and rows of the fixture (natural keys) meet in one map.
    """

    def __init__(self):
        self.pks: dict[str, dict[tuple, int]] = {}
        self.rows: dict[str, dict[int, dict]] = {}

    def model(self, label: str):
        return apps.get_model(label)

    def load(self, label: str) -> None:
        if label in self.pks:
            return
        model = self.model(label)
        attnames = [f.attname for f in model._meta.concrete_fields]
        rows = {row["id"]: row for row in model._default_manager.values(*attnames)}
        self.rows[label] = rows
        self.pks[label] = {self.resolved_key_of_row(label, row): pk for pk, row in rows.items()}

    def resolved_key_of_row(self, label: str, row: dict) -> tuple:
        model = self.model(label)
        key = []
        for name in NATURAL_KEYS[label]:
            field = model._meta.get_field(name)
            key.append(row[field.attname])
        return tuple(key)

    def resolve(self, label: str, natural: list) -> tuple[int | None, int]:
        """Resolve a natural key (as in a fixture) to ``(pk or None, items consumed)``.

        Raises ``LookupError`` when a row it points to does not exist.
        """
        self.load(label)
        model = self.model(label)
        key, i = [], 0
        for name in NATURAL_KEYS[label]:
            field = model._meta.get_field(name)
            if field.is_relation:
                target = field.related_model._meta.label_lower
                pk, used = self.resolve(target, natural[i:])
                if pk is None:
                    raise LookupError(f"{target} {natural[i:i + used]} does not exist")
                key.append(pk)
                i += used
            else:
                key.append(field.to_python(natural[i]))
                i += 1
        return self.pks[label].get(tuple(key)), i


def _resolve_fields(index: _Index, model, fields: dict) -> dict:
    """Turn fixture field values into model attribute values (``*_id`` for foreign keys)."""
    values = {}
    for name, value in fields.items():
        field = model._meta.get_field(name)
        if field.is_relation:
            if value is None:
                values[field.attname] = None
            else:
                pk, _ = index.resolve(field.related_model._meta.label_lower, value)
                if pk is None:
                    raise LookupError(f"{model._meta.label_lower}.{name}: {value} does not exist")
                values[field.attname] = pk
        else:
            values[field.attname] = field.to_python(value) if value is not None else None
    return values


def referenced_codes(path: Path = RESEARCH_FIXTURE) -> list[str]:
    """Jurisdiction codes a fixture refers to (so the reference sync can create them first)."""
    codes = set()
    for obj in json.loads(Path(path).read_text(encoding="utf-8")):
        fields = obj["fields"]
        if obj["model"] == "jurisdictions.jurisdiction":
            codes.add(fields["code"])
        elif obj["model"] == "jurisdictions.eventjurisdiction":
            codes.add(fields["jurisdiction"][0])
    return sorted(codes)


@transaction.atomic
@batched_rebuild
def load_fixture(path: Path = RESEARCH_FIXTURE, reason: str = "seed data load") -> LoadReport:
    """Load a natural-key fixture, model by model, with validation and history.

    Rows are matched by natural key (``NATURAL_KEYS``): a new row is validated (``clean()``) and
    created with a history record (simple_history's ``bulk_create_with_history``), a changed row
    is updated through ``save()`` (history again), an identical row is left alone — so a second
    load changes nothing. All or nothing: an invalid row rolls the whole load back and raises
    ``ValidationError``, ``IntegrityError`` or ``LookupError`` (a key pointing nowhere).
    """
    from simple_history.utils import bulk_create_with_history

    objects = json.loads(Path(path).read_text(encoding="utf-8"))
    ensure_verifiers(
        obj["fields"]["verified_by"][0]
        for obj in objects
        if obj["fields"].get("verified_by")
    )
    index = _Index()
    report = LoadReport()
    seen: dict[str, set[tuple]] = {}
    by_model: "OrderedDict[str, list[dict]]" = OrderedDict()
    for obj in objects:
        by_model.setdefault(obj["model"], []).append(obj["fields"])

    for label, rows in by_model.items():
        model = apps.get_model(label)
        index.load(label)
        new_objects = []
        for fields in rows:
            try:
                values = _resolve_fields(index, model, fields)
                key = index.resolved_key_of_row(label, values)
                seen.setdefault(label, set()).add(key)
                pk = index.pks[label].get(key)
                if pk is None:
                    instance = model(**values)
                    instance.clean()
                    new_objects.append(instance)
                    continue
            except (ValidationError, LookupError, ValueError) as exc:
                natural = [fields.get(name) for name in NATURAL_KEYS.get(label, ())]
                raise SeedRowError(f"{Path(path).name}: {label} {natural}: {exc}") from exc
            current = index.rows[label][pk]
            if all(current.get(k) == v for k, v in values.items() if k not in SKIP_COMPARE):
                report.unchanged += 1
                continue
            instance = model._default_manager.get(pk=pk)
            for k, v in values.items():
                setattr(instance, k, v)
            instance._change_reason = reason
            instance.save()
            report.updated[label] = report.updated.get(label, 0) + 1
        if new_objects:
            created = bulk_create_with_history(
                new_objects, model, batch_size=500, default_change_reason=reason
            )
            if any(o.pk is None for o in created):  # a database that returns no keys
                index.pks.pop(label, None)
                index.rows.pop(label, None)
                index.load(label)
            else:
                for o in created:
                    row = {f.attname: getattr(o, f.attname) for f in model._meta.concrete_fields}
                    index.rows[label][o.pk] = row
                    index.pks[label][index.resolved_key_of_row(label, row)] = o.pk
            report.created[label] = report.created.get(label, 0) + len(created)
    _retire(index, seen, report, reason)
    return report


def _retire(index: _Index, seen: dict[str, set[tuple]], report: LoadReport, reason: str) -> None:
    """Delete, with history, the rows of :data:`RETIRED_WITH_THE_RESEARCH` that an earlier load
    wrote and this fixture no longer holds — so that a load after the research moved a step's
    date leaves one step, not two — unless anyone other than a seed load ever wrote them:
    those are kept and named in the report. Nothing is lost: every deletion is in the history."""
    for label in RETIRED_WITH_THE_RESEARCH:
        if label not in seen:  # a fixture without such rows retires none of them
            continue
        index.load(label)
        stale = [pk for key, pk in index.pks[label].items() if key not in seen[label]]
        if not stale:
            continue
        model = index.model(label)
        edited = set(
            model.history.filter(id__in=stale)
            .exclude(history_change_reason=reason, history_user__isnull=True)
            .values_list("id", flat=True)
        )
        if label in _CITATIONS_OF:
            child, column = _CITATIONS_OF[label]
            edited |= set(
                index.model(child)._default_manager.filter(**{f"{column}__in": stale})
                .values_list(column, flat=True)
            )
        removed = 0
        for instance in model._default_manager.filter(pk__in=stale).order_by("pk"):
            if instance.pk in edited:
                report.kept.append(f"{label} {instance}")
                continue
            instance._change_reason = f"{reason}: no longer in the research"
            instance.delete()
            removed += 1
        if removed:
            report.removed[label] = removed


def ensure_verifiers(usernames) -> list[str]:
    """Create the verifier accounts named by the research (``research-review``) that do not
    exist yet: not staff, with an unusable password — an account that records who verified a
    fact, never one that logs in. Returns the usernames created, sorted."""
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    wanted = set(usernames)
    existing = set(
        user_model._default_manager.filter(username__in=wanted).values_list("username", flat=True)
    )
    created = sorted(wanted - existing)
    for username in created:
        user = user_model(username=username, is_staff=False, is_superuser=False)
        user.set_unusable_password()
        user.save()
    return created


def model_labels() -> list[str]:
    """Labels of every model of the app (for reports and checks)."""
    return [m._meta.label_lower for m in apps.get_app_config("jurisdictions").get_models()]
