"""Dump all legal data to one file and restore it into an empty database, losing nothing
(issue 4; ``manage.py dump_legal_data FILE`` / ``manage.py restore_legal_data FILE``).

The file is JSON Lines (gzip-compressed when its name ends in ``.gz``), one record a line:

1. a header ``{"format": "lawtracker-legal-data", "format_version": 1, "created": <ISO 8601
   UTC>, "counts": {model label: rows}, "history_counts": {...}, "with_history": bool}``;
2. ``{"type": "user", "username", "first_name", "last_name", "email"}`` for every account that
   legal data or its history names (verifiers, reviewers, authors of changes) — never a
   password;
3. ``{"type": "row", "model", "pk", "fields"}`` for every row of legal data (Django's
   serialization, relations by natural key: jurisdiction code, instrument slug, criterion slug,
   source URL, username), parents before children;
4. with history, ``{"type": "history", "model", "fields"}`` for every historical record
   (django-simple-history), accounts (author, verifier, reviewer) by username.

Primary keys are kept as well as natural keys, so that the public addresses that use them
(``/api/v1/assessments/{id}/``, sources, status events) and the history's links to its rows
survive a restore. Timestamps and versions are kept as they were.

Restoring needs a database where every legal and history table is empty (``migrate`` done). It
runs in one transaction: rows are written as dumped (Django's raw save: no validation, no
timestamp change), the dumped history is put back, then every restored row gets one more
history record ("created", reason "restore_legal_data …", the given user) saying when it came
into this database. Accounts named in the dump are created inactive without a usable password
when missing (an administrator activates them). Counts are checked against the header; any
mismatch or error rolls everything back.
"""

from __future__ import annotations

import datetime
import gzip
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core import serializers
from django.core.exceptions import ValidationError
from django.core.management.color import no_style
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, transaction
from django.utils import timezone

from . import editorial, text

FORMAT = "lawtracker-legal-data"
FORMAT_VERSION = 1

# Parents before children, so that natural keys resolve while restoring.
MODEL_ORDER = (
    "jurisdictions.jurisdiction",
    "jurisdictions.source",
    "jurisdictions.blocmembership",
    "jurisdictions.criterion",
    "jurisdictions.instrument",
    "jurisdictions.identifier",
    "jurisdictions.instrumentamendment",
    "jurisdictions.instrumentsource",
    "jurisdictions.statusevent",
    "jurisdictions.statuseventsource",
    "jurisdictions.assessment",
    "jurisdictions.assessmentsource",
    "jurisdictions.event",
    "jurisdictions.eventjurisdiction",
    "jurisdictions.eventsource",
)


class ExactJSONEncoder(DjangoJSONEncoder):
    """DjangoJSONEncoder, but datetimes and times keep their microseconds (Django's cuts them to
    milliseconds, which would change every timestamp on a round trip)."""

    def default(self, o):
        if isinstance(o, (datetime.datetime, datetime.time)):
            return o.isoformat()
        return super().default(o)


class DumpError(Exception):
    """A file that is not a lawtracker dump, a database that is not empty, or a restore whose
    counts do not match the dump's header."""


def legal_models() -> list:
    """The models of legal data in dump order. Raises ``DumpError`` if a model of the app is
    missing from ``MODEL_ORDER`` (a new model must be added there, in dependency order)."""
    from .roles import legal_models as app_models

    models = [apps.get_model(label) for label in MODEL_ORDER]
    missing = set(app_models(apps)) - set(models)
    if missing:
        raise DumpError(f"models missing from MODEL_ORDER: {sorted(m.__name__ for m in missing)}")
    return models


def _open(path: Path, mode: str):
    if str(path).endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, mode + "b"), encoding="utf-8")
    return open(path, mode, encoding="utf-8")


def _with_keys(model):
    """``model``'s rows with what their natural keys read already joined (no query per row)."""
    from .models import Assessment, StatusEvent

    related = []
    for f in model._meta.concrete_fields:
        if not f.is_relation or f.related_model is get_user_model():
            continue
        related.append(f.name)
        if f.related_model is StatusEvent:
            related.append(f"{f.name}__instrument")
        elif f.related_model is Assessment:
            related += [f"{f.name}__instrument", f"{f.name}__criterion"]
    return model._default_manager.select_related(*related).order_by("pk")


def _rows(model):
    queryset = _with_keys(model)
    if model._meta.label_lower == "jurisdictions.jurisdiction":
        # Parents first: a subdivision's parent may itself be a subdivision.
        rows = list(queryset)
        depth = {}
        by_pk = {j.pk: j for j in rows}

        def depth_of(j):
            if j.pk not in depth:
                depth[j.pk] = 0 if j.parent_id is None else depth_of(by_pk[j.parent_id]) + 1
            return depth[j.pk]

        return sorted(rows, key=lambda j: (depth_of(j), j.pk))
    return queryset.iterator(chunk_size=2000)


def _user_columns(model) -> list[str]:
    """The columns of ``model`` that hold an account's key (verifier, reviewer, history author):
    dumped as usernames, since account keys differ between databases."""
    User = get_user_model()
    return [f.attname for f in model._meta.concrete_fields
            if f.is_relation and f.related_model is User]


def _user_ids(models) -> set[int]:
    ids: set[int] = set()
    for model in models:
        for table in (model, model.history.model):
            for column in _user_columns(table):
                ids |= set(table._default_manager.exclude(**{f"{column}__isnull": True})
                           .values_list(column, flat=True).distinct())
    return ids


def dump(path, with_history: bool = True) -> dict:
    """Write every row of legal data (and, by default, its history) to ``path``.

    Returns the header written (with ``counts`` and ``history_counts``).
    """
    path = Path(path)
    models = legal_models()
    User = get_user_model()
    with transaction.atomic():  # one consistent snapshot on PostgreSQL (repeatable reads)
        header = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created": timezone.now().isoformat(),
            "with_history": with_history,
            "counts": {m._meta.label_lower: m._default_manager.count() for m in models},
            "history_counts": {
                m._meta.label_lower: (m.history.model.objects.count() if with_history else 0)
                for m in models
            },
        }
        users = {u.pk: u for u in User.objects.filter(pk__in=_user_ids(models))}
        with _open(path, "w") as out:

            def write(record):
                out.write(json.dumps(record, cls=ExactJSONEncoder, ensure_ascii=False))
                out.write("\n")

            write(header)
            for user in sorted(users.values(), key=lambda u: u.get_username()):
                write(
                    {
                        "type": "user",
                        "username": user.get_username(),
                        "first_name": getattr(user, "first_name", ""),
                        "last_name": getattr(user, "last_name", ""),
                        "email": getattr(user, "email", ""),
                    }
                )
            for model in models:
                for record in serializers.serialize(
                    "python", _rows(model), use_natural_foreign_keys=True
                ):
                    write({"type": "row", **record})
            if with_history:
                for model in models:
                    history = model.history.model
                    names = [f.attname for f in history._meta.concrete_fields]
                    user_columns = _user_columns(history)
                    for values in history.objects.order_by("history_id").values(*names).iterator(
                        chunk_size=2000
                    ):
                        for column in user_columns:
                            user_id = values[column]
                            values[column] = (
                                users[user_id].get_username() if user_id in users else None
                            )
                        write({"type": "history", "model": model._meta.label_lower,
                               "fields": values})
    return header


@dataclass
class RestoreReport:
    """What a restore wrote: rows and history records per model, accounts created."""

    rows: Counter = field(default_factory=Counter)
    history: Counter = field(default_factory=Counter)
    users_created: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [
            f"{sum(self.rows.values())} rows, {sum(self.history.values())} history records "
            "restored"
        ]
        out += [f"  {label}: {n}" for label, n in self.rows.items()]
        if self.users_created:
            out.append("inactive accounts created: " + ", ".join(self.users_created))
        return out


def ensure_empty(using: str = "default") -> None:
    """Raise ``DumpError`` unless every legal table and its history table is empty."""
    full = [
        label
        for model in legal_models()
        for label, manager in (
            (model._meta.label_lower, model._default_manager),
            (model.history.model._meta.label_lower, model.history.model.objects),
        )
        if manager.using(using).exists()
    ]
    if full:
        raise DumpError(
            "restore_legal_data restores into an empty database; these tables have rows: "
            + ", ".join(full)
        )


def _history_instance(history_model, fields: dict, user_pks: dict):
    """A historical record from its dumped ``fields`` (column attnames; accounts by
    username)."""
    by_attname = {f.attname: f for f in history_model._meta.concrete_fields}
    user_columns = set(_user_columns(history_model))
    values = {}
    for name, value in fields.items():
        if name in user_columns:
            values[name] = user_pks.get(value) if value else None
            continue
        model_field = by_attname[name]
        values[name] = model_field.to_python(value) if value is not None else None
    return history_model(**values)


# The natural key of a dumped row, read from its own fields (as ``natural_key()`` would give it)
# for the models other rows point to: parents resolve from memory, not one query per row.
NATURAL_KEY_FIELDS = {
    "jurisdictions.jurisdiction": ("code",),
    "jurisdictions.source": ("url",),
    "jurisdictions.criterion": ("slug",),
    "jurisdictions.instrument": ("slug",),
    "jurisdictions.event": ("slug",),
    "jurisdictions.statusevent": ("instrument", "status", "date", "date_precision"),
    "jurisdictions.assessment": ("instrument", "criterion"),
}


class _RowBuilder:
    """Builds model instances from dumped rows, resolving relations given by natural key from
    the rows already read (falling back to ``get_by_natural_key``)."""

    def __init__(self, using: str, user_pks: dict[str, int]):
        self.using = using
        User = get_user_model()
        self.keys: dict[str, dict[tuple, int]] = {User._meta.label_lower: {
            (name,): pk for name, pk in user_pks.items()}}

    def build(self, record: dict):
        model = apps.get_model(record["model"])
        obj = model(pk=record["pk"])
        fields = record["fields"]
        for name, value in fields.items():
            model_field = model._meta.get_field(name)
            if model_field.many_to_many:
                continue
            if model_field.is_relation:
                setattr(obj, model_field.attname, self.resolve(model_field.related_model, value))
            else:
                setattr(obj, model_field.attname, model_field.to_python(value))
        key_fields = NATURAL_KEY_FIELDS.get(record["model"])
        if key_fields:
            key = []
            for name in key_fields:
                value = fields[name]
                key += list(value) if isinstance(value, list) else [value]
            self.keys.setdefault(record["model"], {})[tuple(key)] = obj.pk
        return obj

    def resolve(self, related_model, value):
        if value is None or not isinstance(value, list):
            return value
        known = self.keys.get(related_model._meta.label_lower, {}).get(tuple(value))
        if known is not None:
            return known
        manager = related_model._default_manager.db_manager(self.using)
        return manager.get_by_natural_key(*value).pk


def _insert(model, objs: list, using: str) -> None:
    """INSERT ``objs`` as they are: primary keys, timestamps and versions kept (Django's raw
    insert, the one ``loaddata`` uses through ``save_base(raw=True)``, here in batches)."""
    if not objs:
        return
    connection = connections[using]
    fields = list(model._meta.concrete_fields)
    size = max(1, connection.ops.bulk_batch_size(fields, objs) or len(objs))
    for start in range(0, len(objs), size):
        model._base_manager.using(using)._insert(
            objs[start:start + size], fields=fields, using=using, raw=True
        )


def restore(path, user=None, reason: str | None = None, using: str = "default") -> RestoreReport:
    """Restore a dump made by :func:`dump` into an empty database (see the module docstring).

    ``user``: the account named in the restore's history records (optional). Raises
    ``DumpError`` (not a dump, not empty, counts differ), or the database's error; nothing is
    written then.
    """
    path = Path(path)
    report = RestoreReport()
    User = get_user_model()
    models = {m._meta.label_lower: m for m in legal_models()}
    restored: dict[str, list] = {label: [] for label in models}
    with _open(path, "r") as lines, transaction.atomic(using=using):
        try:
            header = json.loads(next(lines))
        except (StopIteration, json.JSONDecodeError) as exc:
            raise DumpError(f"{path} is not a lawtracker dump: {exc}") from exc
        if header.get("format") != FORMAT or header.get("format_version") != FORMAT_VERSION:
            raise DumpError(f"{path} is not a lawtracker dump (format {FORMAT} v{FORMAT_VERSION})")
        ensure_empty(using)
        user_pks: dict[str, int] = {}
        builder = None
        history_batch: dict[str, list] = {}
        pending: list = []  # rows of one model, inserted when the next model starts

        def flush_rows():
            if pending:
                _insert(type(pending[0]), pending, using)
                pending.clear()

        def flush_history(label):
            batch = history_batch.pop(label, [])
            if batch:
                models[label].history.model.objects.using(using).bulk_create(batch)

        for number, line in enumerate(lines, start=2):
            record = json.loads(line)
            kind = record.pop("type", None)
            if kind == "user":
                username = record["username"]
                account = User._default_manager.using(using).filter(
                    **{User.USERNAME_FIELD: username}
                ).first()
                if account is None:
                    account = User(
                        **{User.USERNAME_FIELD: username},
                        first_name=record.get("first_name", ""),
                        last_name=record.get("last_name", ""),
                        email=record.get("email", ""),
                        is_active=False,
                    )
                    account.set_unusable_password()
                    account.save(using=using)
                    report.users_created.append(username)
                user_pks[username] = account.pk
            elif kind == "row":
                label = record.get("model")
                if label not in models:
                    raise DumpError(f"line {number}: {label!r} is not legal data")
                builder = builder or _RowBuilder(using, user_pks)
                # Raw inserts skip save(): the text policy here, on the keys of relations
                # before they are looked up, then on each column.
                error = text.check_value(record.get("fields"), multiline=True)
                if error:
                    raise DumpError(f"line {number}: {label} {record.get('pk')}: {error}")
                obj = builder.build(record)
                try:
                    text.check_instance(obj)
                except ValidationError as exc:
                    problems = "; ".join(f"{k}: {v[0]}" for k, v in exc.message_dict.items())
                    raise DumpError(f"line {number}: {label} {record.get('pk')}: {problems}") \
                        from exc
                if pending and type(pending[0]) is not type(obj):
                    flush_rows()
                pending.append(obj)
                if len(pending) >= 2000 and label != "jurisdictions.jurisdiction":
                    flush_rows()
                restored[label].append(obj)
                report.rows[label] += 1
            elif kind == "history":
                flush_rows()
                label = record["model"]
                history_model = models[label].history.model
                history_batch.setdefault(label, []).append(
                    _history_instance(history_model, record["fields"], user_pks)
                )
                report.history[label] += 1
                if len(history_batch[label]) >= 1000:
                    flush_history(label)
            else:
                raise DumpError(f"line {number}: unknown record type {kind!r}")
        flush_rows()
        for label in list(history_batch):
            flush_history(label)

        expected_rows = {k: v for k, v in header.get("counts", {}).items() if v}
        expected_history = {k: v for k, v in header.get("history_counts", {}).items() if v}
        if dict(report.rows) != expected_rows or dict(report.history) != expected_history:
            raise DumpError(
                f"the file is incomplete: the header announces {expected_rows} rows and "
                f"{expected_history} history records, the file holds {dict(report.rows)} and "
                f"{dict(report.history)}"
            )

        created = header.get("created", "?")
        note = reason or f"restore_legal_data {path.name} (dumped {created[:19]})"
        note = note[: editorial.REASON_MAX_LENGTH]
        now = timezone.now()
        for label, objs in restored.items():
            if objs:
                models[label].history.bulk_history_create(
                    objs,
                    batch_size=1000,
                    default_user=user,
                    default_change_reason=note,
                    default_date=now,
                )
        _reset_sequences(using, [*models.values(), *(m.history.model for m in models.values()),
                                 User])
        # Raw inserts send no signals: the coverage spans are derived here, in the same
        # transaction (issue 12).
        from spans.maintain import rebuild

        rebuild()
    return report


def _reset_sequences(using: str, models: list) -> None:
    """Point each table's key sequence past the restored keys (PostgreSQL; a no-op on SQLite,
    whose keys continue from the largest one)."""
    connection = connections[using]
    statements = connection.ops.sequence_reset_sql(no_style(), models)
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


# --- comparison ----------------------------------------------------------------------------------
def snapshot() -> dict[str, list[str]]:
    """Every legal row as canonical JSON (natural keys, no primary keys), sorted, by model:
    two databases hold the same legal data exactly when their snapshots are equal."""
    result = {}
    for model in legal_models():
        records = serializers.serialize(
            "python",
            _with_keys(model),
            use_natural_foreign_keys=True,
            use_natural_primary_keys=True,
        )
        result[model._meta.label_lower] = sorted(
            json.dumps(r["fields"], cls=ExactJSONEncoder, sort_keys=True, ensure_ascii=False)
            for r in records
        )
    return result


def parse_created(header: dict) -> datetime.datetime | None:
    """The dump's creation time (UTC) from its header, or None."""
    try:
        return datetime.datetime.fromisoformat(header["created"])
    except (KeyError, ValueError):
        return None
