"""OPML subscription lists: read (nested outlines, safe XML) and write (OPML 2.0)."""

from __future__ import annotations

import re
from xml.sax.saxutils import escape, quoteattr

# characters XML 1.0 cannot carry at all, even escaped
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class OpmlError(Exception):
    """A document that could not be read as OPML; str(error) is the reason."""


def parse_opml(content: bytes) -> list[tuple[str, str]]:
    """(title, xmlUrl) for every feed outline, nested folders included, in document order.

    A URL listed twice is returned once (first title wins). Outlines without xmlUrl are
    folders and are only descended into.
    """
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

    feeds: list[tuple[str, str]] = []
    seen: set[str] = set()
    for outline in bodies[0].iter():
        if not isinstance(outline.tag, str) or _local(outline.tag) != "outline":
            continue
        attrs = {key.lower(): value for key, value in outline.attrib.items()}
        url = (attrs.get("xmlurl") or "").strip()
        if not url or url in seen:
            continue
        seen.add(url)
        title = (attrs.get("title") or attrs.get("text") or "").strip()
        feeds.append((title, url))
    return feeds


def write_opml(feeds: list[tuple[str, str]], title: str = "Tidings subscriptions") -> str:
    """An OPML 2.0 document listing feeds as (title, xmlUrl); parse_opml reads it back."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        "  <head>",
        f"    <title>{escape(_clean(title))}</title>",
        "  </head>",
        "  <body>",
    ]
    for feed_title, url in feeds:
        text = quoteattr(_clean(feed_title).strip())
        xml_url = quoteattr(_clean(url).strip())
        lines.append(f'    <outline type="rss" text={text} title={text} xmlUrl={xml_url}/>')
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


def _clean(value: str) -> str:
    # newlines and tabs inside attributes would be normalised to spaces by any reader
    return _XML_ILLEGAL.sub("", value).replace("\r", " ").replace("\n", " ").replace("\t", " ")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()
