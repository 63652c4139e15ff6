"""The "Cite this" block of every page: plain text and BibTeX.

A citation names the page, the date the answer is given for (``as_of``), the date the data last
changed, the date it was retrieved, and the permalink that reproduces the page. BibTeX follows
the ``@misc`` entry with biblatex's ``urldate`` for the retrieval date; special characters of
TeX in titles are escaped.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

SITE_NAME = "lawtracker"
SITE_DESCRIPTION = "laws on AI-generated child sexual abuse material"

_TEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "%": r"\%",
    "&": r"\&",
    "#": r"\#",
    "_": r"\_",
    "$": r"\$",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def tex_escape(text: str) -> str:
    """Escape TeX's special characters in ``text``."""
    return "".join(_TEX_SPECIALS.get(ch, ch) for ch in text)


@dataclass(frozen=True)
class Citation:
    """``title`` of the page; ``as_of`` (date the answer is for, or None for a page without
    one); ``retrieved`` (today); ``last_changed`` (date of the latest write to the legal data, or
    None); ``url`` (the absolute permalink); ``key_hint`` (words for the BibTeX key);
    ``research_compiled_on`` (the latest compile date of the research files, or None)."""

    title: str
    as_of: datetime.date | None
    retrieved: datetime.date
    last_changed: datetime.date | None
    url: str
    key_hint: str = ""
    research_compiled_on: datetime.date | None = None

    def _changed(self) -> str:
        text = f"{self.last_changed.isoformat()}"
        if self.research_compiled_on:
            text += f" (research compiled {self.research_compiled_on.isoformat()})"
        return text

    def plain(self) -> str:
        """``lawtracker (YYYY). Title, as of YYYY-MM-DD [data set]. Data last changed …;
        retrieved …, from URL``."""
        parts = [f"{SITE_NAME} ({self.retrieved.year}). {self.title}"]
        if self.as_of:
            parts[0] += f", as of {self.as_of.isoformat()}"
        parts[0] += f" [data set: {SITE_DESCRIPTION}]."
        if self.last_changed:
            parts.append(f"Data last changed {self._changed()}.")
        parts.append(f"Retrieved {self.retrieved.isoformat()}, from {self.url}")
        return " ".join(parts)

    def key(self) -> str:
        words = re.sub(r"[^a-z0-9]+", "-", f"{SITE_NAME} {self.key_hint}".lower()).strip("-")
        date = (self.as_of or self.retrieved).isoformat()
        return f"{words}-{date}"

    def bibtex(self) -> str:
        """A ``@misc`` entry with ``title``, ``author``, ``year``, ``url``, ``urldate`` and a
        ``note`` giving the as-of and last-changed dates."""
        title = self.title + (f", as of {self.as_of.isoformat()}" if self.as_of else "")
        notes = []
        if self.as_of:
            notes.append(f"Data as of {self.as_of.isoformat()}")
        if self.last_changed:
            notes.append(f"data last changed {self._changed()}")
        notes.append(f"retrieved {self.retrieved.isoformat()}")
        fields = [
            ("title", "{" + tex_escape(title) + "}"),
            ("author", "{" + tex_escape(SITE_NAME) + "}"),
            ("year", str(self.retrieved.year)),
            ("howpublished", r"\url{" + self.url + "}"),
            ("url", self.url),
            ("urldate", self.retrieved.isoformat()),
            ("note", tex_escape("; ".join(notes))),
        ]
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
        return f"@misc{{{self.key()},\n{body}\n}}"
