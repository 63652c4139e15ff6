"""What the answers share: a jurisdiction as an answer names it (:class:`Place`), one effective
value with the instruments that decide it (:class:`Cell`, :class:`Decider`), the
:class:`Links` through which a channel passes in its addresses, and the parameters that select
jurisdictions (:class:`SelectionParams`), read the same way by every question.

The effective values themselves are :mod:`jurisdictions.coverage`'s (``coverage.Cell``),
computed with each instrument's address on the channel that asks (``Links.instrument``).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django import forms

from .. import coverage
from ..choices import ResearchStatus, Scope
from ..clock import today
from ..csvfile import Column
from ..filtersets import IsoDateField
from ..models import Jurisdiction
from ..selection import read_selection, split_values

RESEARCH_LABELS = dict(ResearchStatus.choices)


def iso(value) -> str | None:
    """ISO 8601 as the API writes it: dates as YYYY-MM-DD, UTC date-times ending in Z; None
    stays None."""
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class Links:
    """How a channel addresses what an answer names: each method returns the URL of one thing
    on that channel (the API's resource, the page's page), or None where the channel has no
    address for it. The API (``api.links.ApiLinks``) and the pages (``pages.views.PageLinks``)
    pass theirs to ``build()``; the answers never build a URL themselves."""

    def jurisdiction(self, code: str) -> str | None:
        return None

    def instrument(self, slug: str) -> str | None:
        return None

    def status_event(self, pk: int) -> str | None:
        return None

    def event(self, slug: str) -> str | None:
        return None

    def source(self, pk: int) -> str | None:
        return None

    def criterion(self, slug: str) -> str | None:
        return None

    def assessment(self, pk: int) -> str | None:
        return None

    def account(self, username: str | None, role: str) -> str | None:
        """How this channel names an account (issue 18: the public sees "an editor")."""
        return None


# --- a jurisdiction, a cell, its deciders ----------------------------------------------------
@dataclass(frozen=True)
class Place:
    """A jurisdiction as an answer names it: ``name`` is the ISO name, ``display_name`` the
    common name people use (else the ISO name); ``url`` its address on the channel."""

    code: str
    name: str
    display_name: str
    kind: str
    research_status: str
    last_reviewed_on: datetime.date | None
    url: str | None

    @classmethod
    def of(cls, jurisdiction: Jurisdiction, links: Links) -> Place:
        return cls(
            code=jurisdiction.code,
            name=jurisdiction.name,
            display_name=jurisdiction.common_name or jurisdiction.name,
            kind=jurisdiction.kind,
            research_status=jurisdiction.research_status,
            last_reviewed_on=jurisdiction.last_reviewed_on,
            url=links.jurisdiction(jurisdiction.code),
        )

    @property
    def researched(self) -> bool:
        return self.research_status != ResearchStatus.NOT_RESEARCHED

    @property
    def research_status_label(self) -> str:
        return str(RESEARCH_LABELS.get(self.research_status, self.research_status))


# One instrument's contribution to a cell and one jurisdiction's effective value for one
# criterion, as every channel shows them: ``coverage``'s own, with each instrument's ``url`` on
# the channel (``compute(instrument_url=links.instrument)``) and the cell's ``criterion``.
Decider = coverage.Decider
Cell = coverage.Cell


def primary_source_columns(cell_of: Callable[[object], Cell]) -> list[Column]:
    """The source to cite for a line (:attr:`Cell.primary_source`), last in the compare and
    gaps CSVs: ``source_title``, ``source_publisher``, ``source_url``, ``source_published_on``."""
    return [
        Column(f"source_{name}",
               lambda line, name=name: (cell_of(line).primary_source or {}).get(name))
        for name in ("title", "publisher", "url", "published_on")
    ]


# --- the selection parameters, as the API reads them ---------------------------------------
def scope_field() -> forms.ChoiceField:
    return forms.ChoiceField(
        choices=Scope.choices,
        required=False,
        error_messages={"invalid_choice": "%(value)r is not one of: applicable, own."},
    )


class SelectionParams(forms.Form):
    """Which jurisdictions (:mod:`jurisdictions.selection`: the parameters narrow together), as
    of when, under which scope."""

    jurisdictions = forms.CharField(required=False)
    bloc = forms.CharField(required=False)
    group = forms.CharField(required=False)
    within = forms.CharField(required=False)
    region = forms.CharField(required=False)
    kind = forms.CharField(required=False)
    research = forms.CharField(required=False)
    as_of = IsoDateField(required=False)
    scope = scope_field()

    def clean(self):
        cleaned = super().clean()
        cleaned["as_of"] = cleaned.get("as_of") or today()
        cleaned["scope"] = cleaned.get("scope") or Scope.APPLICABLE.value
        self.selection = read_selection(
            lambda name: [] if self.has_error(name) else split_values(self.data.get(name)),
            self.add_error,
        )
        return cleaned

    def selected(self) -> list[Jurisdiction] | None:
        """The jurisdictions chosen (in the order of ``jurisdictions`` when given, else by
        code); None when no parameter narrows the set."""
        if not self.selection.narrowed and self.selection.research == "all":
            return None
        return self.selection.apply(self.cleaned_data["as_of"])

    def selection_for_permalink(self) -> dict:
        params = self.selection.params()
        if self.data.get("research"):
            params["research"] = self.selection.research
        return params
