"""OPML subscription lists: read (nested outlines, safe XML) and write (OPML 2.0)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple
from xml.sax.saxutils import escape, quoteattr

# characters XML 1.0 cannot carry at all, even escaped
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class OpmlError(Exception):
    """A document that could not be read as OPML; str(error) is the reason."""


class Outline(NamedTuple):
    """One feed of an OPML file; category is the title of the folder it sits in."""

    title: str
    url: str
    category: str | None = None


def parse_opml(content: bytes) -> list[tuple[str, str]]:
    """(title, xmlUrl) for every feed outline, nested folders included, in document order.

    A URL listed twice is returned once (first title wins). Outlines without xmlUrl are
    folders and are only descended into.
    """
    return [(o.title, o.url) for o in parse_opml_outlines(content)]


def parse_opml_outlines(content: bytes) -> list[Outline]:
    """Every feed outline with the folder it is in (the innermost one when nested)."""
    if not content.strip():
        raise OpmlError("empty document")
    import lxml.etree

    # no entity expansion, no DTD, no network: an OPML file is untrusted upload material
    parser = lxml.etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = lxml.etree.fromstring(content, parser=parser)
    except lxml.etree.XMLSyntaxError as exc:
        raise OpmlError(f"malformed OPML: {exc}") from None
    if root is None:
        raise OpmlError("malformed OPML: no root element")
    name = lxml.etree.QName(root).localname if isinstance(root.tag, str) else ""
    if name.lower() != "opml":
        raise OpmlError(f"not OPML: root element is <{name}>")
    bodies = [el for el in root if isinstance(el.tag, str) and _local(el.tag) == "body"]
    if not bodies:
        raise OpmlError("not OPML: no <body>")

    feeds: list[Outline] = []
    seen: set[str] = set()

    def walk(parent, category: str | None) -> None:
        for outline in parent:
            if not isinstance(outline.tag, str) or _local(outline.tag) != "outline":
                continue
            attrs = {key.lower(): value for key, value in outline.attrib.items()}
            url = (attrs.get("xmlurl") or "").strip()
            title = (attrs.get("title") or attrs.get("text") or "").strip()
            if not url:
                walk(outline, title or category)  # a folder
                continue
            if url not in seen:
                seen.add(url)
                feeds.append(Outline(title, url, category))
            walk(outline, category)

    walk(bodies[0], None)
    return feeds


def write_opml(
    feeds: Sequence[tuple[str, str] | tuple[str, str, str | None]],
    title: str = "Tidings subscriptions",
) -> str:
    """An OPML 2.0 document listing feeds as (title, xmlUrl[, category]); a category becomes
    a folder outline. parse_opml_outlines reads it back."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        "  <head>",
        f"    <title>{escape(_clean(title))}</title>",
        "  </head>",
        "  <body>",
    ]
    folders: dict[str, list[tuple[str, str]]] = {}
    for feed in feeds:
        category = (feed[2] if len(feed) > 2 else None) or ""
        folders.setdefault(_clean(category).strip(), []).append((feed[0], feed[1]))
    for category, members in folders.items():
        indent = "    "
        if category:
            name = quoteattr(category)
            lines.append(f"    <outline text={name} title={name}>")
            indent = "      "
        for feed_title, url in members:
            text = quoteattr(_clean(feed_title).strip())
            xml_url = quoteattr(_clean(url).strip())
            lines.append(f'{indent}<outline type="rss" text={text} title={text} xmlUrl={xml_url}/>')
        if category:
            lines.append("    </outline>")
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


def _clean(value: str) -> str:
    # newlines and tabs inside attributes would be normalised to spaces by any reader
    return _XML_ILLEGAL.sub("", value).replace("\r", " ").replace("\n", " ").replace("\t", " ")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()
