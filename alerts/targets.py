"""What can be followed (issue 14), read once for the Atom feeds and the webhooks.

A followable thing is named by the path and query of its Atom feed:

- ``/feeds/alerts/jurisdictions/{code}/?descendants=yes&scope=applicable``: the coverage changes
  of a jurisdiction's cells (under ``scope``) and the legal steps of its instruments, with its
  subdivisions unless ``descendants=no``;
- ``/feeds/alerts/criteria/{slug}/?within=US&scope=…``: the coverage changes of one criterion
  within a selection (the selection parameters of compare and gaps, :mod:`jurisdictions.selection`);
- ``/feeds/alerts/instruments/{slug}/``: the legal steps of one instrument;
- ``/feeds/alerts/gaps/?criterion=…&within=US&scope=own``: a saved gap list, the changes of
  *value* of its criterion in the researched jurisdictions of the selection (a pending list
  alone does not move a place in or out of a gap list).

The selection is read as of the day the alerts are matched (a bloc's members today).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.urls import Resolver404, resolve, reverse

from jurisdictions.choices import Scope
from jurisdictions.clock import today
from jurisdictions.models import Criterion, Instrument, Jurisdiction
from jurisdictions.selection import SELECTION_PARAMETERS, read_selection, split_values
from jurisdictions.suggest import hint
from jurisdictions.text import CONTROL, MAX_VALUE_LENGTH

from .models import Alert, AlertKind, TargetKind

FEED_VIEWS = {
    "alerts:jurisdiction-feed": TargetKind.JURISDICTION,
    "alerts:criterion-feed": TargetKind.CRITERION,
    "alerts:instrument-feed": TargetKind.INSTRUMENT,
    "alerts:gaps-feed": TargetKind.GAPS,
}
PARAMETERS = {
    TargetKind.JURISDICTION: ("descendants", "scope"),
    TargetKind.CRITERION: (*SELECTION_PARAMETERS, "scope"),
    TargetKind.INSTRUMENT: (),
    TargetKind.GAPS: ("criterion", *SELECTION_PARAMETERS, "scope"),
}
YES_NO = {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False}


class TargetError(Exception):
    """Bad input: ``errors`` is ``{parameter: [message]}``, ``accepted`` the parameters."""

    def __init__(self, errors: dict, accepted=()):
        super().__init__(errors)
        self.errors = errors
        self.accepted = list(accepted)

    @property
    def messages(self) -> list[str]:
        return [message for messages in self.errors.values() for message in messages]


@dataclass
class Target:
    """One followable thing, read and checked."""

    kind: str
    title: str
    path: str
    query: str
    filter: Q

    @property
    def feed(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")

    def alerts(self, base: QuerySet | None = None) -> QuerySet:
        """The alerts of this thing, newest first."""
        return (base if base is not None else Alert.objects.all()).filter(self.filter)


def read_target(kind: str, key: str | None, query: QueryDict) -> Target:
    """The target of ``kind`` named by ``key`` (a code or slug; None for a gap list) and the
    query parameters. Raises :class:`TargetError` on an unknown parameter or value, and
    ``Jurisdiction``/``Criterion``/``Instrument.DoesNotExist`` for an unknown key."""
    accepted = PARAMETERS[kind]
    errors: dict[str, list[str]] = {}

    def fail(name, message):
        errors.setdefault(name, []).append(message)

    if key is not None and (CONTROL.search(key) or len(key) > 200):
        # Never sent to the database: PostgreSQL refuses a NUL byte in a query.
        raise {TargetKind.JURISDICTION: Jurisdiction, TargetKind.CRITERION: Criterion}.get(
            kind, Instrument).DoesNotExist(key)
    for name in query:
        if name not in accepted:
            fail(name, "Unknown parameter." + hint(name, accepted))
        elif len(query.getlist(name)) > 1:
            fail(name, f"Takes one value; got {len(query.getlist(name))}.")
        elif CONTROL.search(query[name]) or len(query[name]) > MAX_VALUE_LENGTH:
            fail(name, "Contains a control character or is too long.")

    def values(name):
        return split_values(query.get(name)) if name not in errors else []

    scope = query.get("scope", Scope.APPLICABLE)
    if "scope" in accepted and scope not in Scope.values:
        fail("scope", f"{scope!r} is not one of: {', '.join(Scope.values)}.")
    if errors:
        raise TargetError(errors, accepted)

    coverage = Q(kind=AlertKind.COVERAGE_CHANGE, scope=scope)
    if kind == TargetKind.JURISDICTION:
        place = Jurisdiction.objects.get(code=(key or "").upper())
        raw = query.get("descendants", "yes").lower()
        if raw not in YES_NO:
            raise TargetError({"descendants": ["Takes yes or no."]}, accepted)
        ids = [place.pk]
        if YES_NO[raw]:
            ids = list(Jurisdiction.objects.within(place.code).values_list("pk", flat=True))
        match = Q(jurisdiction_id__in=ids) & (coverage | Q(kind=AlertKind.LEGAL_STEP))
        path = reverse("alerts:jurisdiction-feed", kwargs={"code": place.code})
        title = f"{place.name} ({place.code})" + (" and its subdivisions" if YES_NO[raw] else "")
    elif kind == TargetKind.INSTRUMENT:
        instrument = Instrument.objects.select_related("jurisdiction").get(slug=key)
        match = Q(kind=AlertKind.LEGAL_STEP, instrument_slug=instrument.slug)
        path = reverse("alerts:instrument-feed", kwargs={"slug": instrument.slug})
        title = f"{instrument.jurisdiction.name}: {instrument.short_name or instrument.title}"
    else:
        if kind == TargetKind.CRITERION:
            criterion = Criterion.objects.get(slug=key)
        else:
            slug = query.get("criterion")
            if not slug:
                raise TargetError({"criterion": ["Required: the criterion of the gap list."]},
                                  accepted)
            criterion = Criterion.objects.filter(slug=slug).first()
            if criterion is None:
                known = list(Criterion.objects.values_list("slug", flat=True))
                raise TargetError({"criterion": [f"Unknown criterion: {slug}." + hint(slug, known)]},
                                  accepted)
        selection = read_selection(
            values, fail, "researched" if kind == TargetKind.GAPS else "all"
        )
        if errors:
            raise TargetError(errors, accepted)
        places = [j.pk for j in selection.apply(today())]
        match = Q(criterion=criterion, jurisdiction_id__in=places) & coverage
        if kind == TargetKind.GAPS:
            match &= Q(value_changed=True)
            path = reverse("alerts:gaps-feed")
            title = f"gap list of {criterion.slug}"
        else:
            path = reverse("alerts:criterion-feed", kwargs={"slug": criterion.slug})
            title = criterion.slug
        chosen = ", ".join(f"{k}={v}" for k, v in selection.params().items() if v)
        title += f" ({chosen})" if chosen else ""
    params = QueryDict(mutable=True)
    for name in accepted:
        if name in query:
            params[name] = query[name]
    return Target(kind=kind, title=title, path=path, query=params.urlencode(), filter=match)


def target_of_feed(address: str) -> Target:
    """The target named by a feed's path and query (a subscription's ``target``). Raises
    :class:`TargetError` naming ``target`` when the path is no alert feed or a key is unknown."""
    try:
        parts = urlsplit(address or "")
        match = resolve(parts.path)
    except (Resolver404, ValueError):  # ValueError: "http://[" and the like
        parts, match = None, None
    if match is None or match.view_name not in FEED_VIEWS:
        raise TargetError({"target": [
            "Not an alert feed: give the path of one, e.g. "
            "/feeds/alerts/criteria/ai_generated_explicit/?within=US."
        ]})
    key = next(iter(match.kwargs.values()), None)
    try:
        return read_target(FEED_VIEWS[match.view_name], key, QueryDict(parts.query))
    except (Jurisdiction.DoesNotExist, Criterion.DoesNotExist, Instrument.DoesNotExist):
        raise TargetError({"target": [f"Unknown code or slug: {key}."]}) from None
    except TargetError as error:
        raise TargetError({"target": [f"{name}: {' '.join(m)}" for name, m in
                                      error.errors.items()]}, error.accepted) from None


def subscription_target(value: str, invalid=ValueError) -> Target:
    """The target a subscription's ``target`` names, checked alike by its two writers (the API
    and the admin); raises ``invalid`` (their validation error) with the messages for a control
    character, a path that is no alert feed, an unknown key or parameter."""
    try:
        if CONTROL.search(value):
            raise TargetError({"target": ["Contains a control character."]})
        return target_of_feed(value)
    except TargetError as error:
        raise invalid(error.messages) from None
