"""Collapsed panels (accordions, tabs, FAQ answers) shown again before extraction.

Hidden elements are dropped as boilerplate (menus, pop-ups, templates), but pages also
hide parts of the story itself behind disclosure widgets: the steps of a guide in an
accordion, the answers of an FAQ, the panes of a tab set. Those panels say what they are
— a panel role, a label pointing at their toggle, or accordion/collapse/tab class names —
and hold prose; they are un-hidden so the story is read whole.
"""

from __future__ import annotations

import re

from lxml.etree import _Element

_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_PANEL_CLASS = re.compile(
    r"accordion|collaps|tab-?pane|tab-?panel|tabs?-content|faq|disclosure|expand|toggle-content",
    re.I,
)
_PANEL_ROLES = {"region", "tabpanel"}
_PANEL_TAGS = {"div", "section", "dd", "p", "ul", "ol"}
_HIDDEN_CLASS = re.compile(r"(?:^|\s)(?:hidden|hide|is-hidden|d-none)(?=\s|$)")
# React streams server-rendered parts of a page in hidden boundaries that a script moves
# into place: <div hidden id="S:0">
_STREAMED = re.compile(r"^S:[0-9a-z]+$")
# a panel must hold at least this many words to be story rather than a widget
PANEL_MIN_WORDS = 12
# and so many levels up at most a panel-named ancestor may sit
PANEL_ANCESTOR_DEPTH = 4


def _may_be_hidden(element: _Element) -> bool:
    """Cheap first test, run on every block of the page."""
    get = element.get
    return (
        get("hidden") is not None
        or bool(get("aria-hidden"))
        or bool(get("style"))
        or "hid" in (get("class") or "")
        or "none" in (get("class") or "")
    )


def _is_hidden(element: _Element) -> bool:
    return (
        bool(_HIDDEN_STYLE.search(element.get("style") or ""))
        or element.get("hidden") is not None
        or element.get("aria-hidden") == "true"
        or bool(_HIDDEN_CLASS.search(element.get("class") or ""))
    )


def _is_panel(element: _Element) -> bool:
    if _STREAMED.match(element.get("id") or ""):
        return True
    if (element.get("role") or "").lower() in _PANEL_ROLES or element.get("aria-labelledby"):
        return True
    node: _Element | None = element
    for _ in range(PANEL_ANCESTOR_DEPTH):
        if node is None:
            break
        if _PANEL_CLASS.search(node.get("class") or "") or _PANEL_CLASS.search(
            node.get("id") or ""
        ):
            return True
        node = node.getparent()
    return False


def _place_streamed(tree: _Element, hidden: list[_Element]) -> None:
    """Put each streamed part where its placeholder (<template id="B:n">) stands.

    React's inline scripts do this in the browser: the hidden <div id="S:n"> replaces the
    boundary or placeholder <template id="B:n"> / <template id="P:n"> that marks its place.
    """
    parts = [div for div in hidden if div.tag == "div" and _STREAMED.match(div.get("id") or "")]
    if not parts:
        return
    holders = {
        node.get("id"): node
        for node in tree.iter("template")
        if (node.get("id") or "")[:2] in {"B:", "P:"}
    }
    for part in parts:
        key = part.get("id", "")[2:]
        holder = holders.get("B:" + key, holders.get("P:" + key))
        parent = holder.getparent() if holder is not None else None
        if holder is None or parent is None or not _fit_for(holder, part):
            continue
        part.tail, holder_tail = None, holder.tail
        part.attrib.pop("hidden", None)
        part.tail = holder_tail
        parent.replace(holder, part)


_CHROME = re.compile(r"header|footer|(?:^|[^a-z])nav|menu|banner|comment", re.I)


def _fit_for(holder: _Element, part: _Element) -> bool:
    """A placeholder inside page chrome (a header, a menu, a comment widget: regions the
    extractor discards) or inside the part itself would bury the part where no story is
    read; the part then stays where it was streamed."""
    for ancestor in holder.iterancestors():
        if ancestor is part or ancestor.tag in {"header", "footer", "nav"}:
            return False
        if _CHROME.search(ancestor.get("class") or "") or _CHROME.search(ancestor.get("id") or ""):
            return False
    return True


def reveal_panels(tree: _Element) -> int:
    """Un-hide collapsed content panels of `tree` in place; returns how many."""
    hidden = [element for element in tree.iter(*_PANEL_TAGS) if _may_be_hidden(element)]
    _place_streamed(tree, hidden)
    revealed = 0
    for element in hidden:
        if not _is_hidden(element) or not _is_panel(element):
            continue
        if len(" ".join(element.itertext()).split()) < PANEL_MIN_WORDS:
            continue
        style = _HIDDEN_STYLE.sub("", element.get("style") or "").strip(" ;")
        if style:
            element.set("style", style)
        elif "style" in element.attrib:
            del element.attrib["style"]
        for attribute in ("hidden", "aria-hidden"):
            element.attrib.pop(attribute, None)
        classes = _HIDDEN_CLASS.sub(" ", element.get("class") or "").strip()
        if classes:
            element.set("class", classes)
        else:
            element.attrib.pop("class", None)
        revealed += 1
    return revealed
