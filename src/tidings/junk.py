"""Text-level cleanup of aggregator clutter that sits inside an article body as paragraphs."""

from __future__ import annotations

import re

# Whole-paragraph clutter: the paragraph is dropped when it matches one of these.
_JUNK_PARAGRAPH = re.compile(
    r"""^(?:
        visited\s+\d[\d,]*\s+times?\s*,?\s*\d[\d,]*\s+visits?(?:\(s\))?\s+today\.?
      | \d[\d,]*\s+(?:total\s+)?views?(?:,\s*\d[\d,]*\s+views?\s+today)?\.?
      | (?:post\s+)?views?:\s*\d[\d,]*
      | \d[\d,]*\s+(?:people|readers|users|times)\s+(?:have\s+)?(?:viewed|read|seen|shared)
        (?:\s+this(?:\s+(?:article|story|post|page))?)?\.?
        (?:\s*views?\s+today\s*:?\s*\d[\d,]*\.?)?
      | views?\s+today\s*:?\s*\d[\d,]*\.?
      | \(?(?:this|the)\s+(?:story|article|report|post)\s+(?:has\s+not\s+been|was\s+not|is\s+not)
        \s+edited\b.{0,160}\)?
      | \(?(?:this|the)\s+(?:story|article|report|post)\s+(?:was\s+|is\s+)?(?:originally|first)
        \s+(?:appeared|published|ran)\s+(?:in|on|at|by)\s+(?:the\s+)?[A-Z][\w.&'’-]*
        (?:\s+(?:of|the|[A-Z&][\w.&'’-]*)){0,5}
        (?:,?\s+and\s+(?:is|was|has\s+been)\s+(?:republished|reprinted|reproduced|shared)\b[^.]{0,80})?
        \.?\)?
      | \(?(?:this\s+(?:story|article)\s+(?:is|was|has\s+been)\s+)?(?:auto-?(?:generated|published)
        |republished|reprinted|reproduced)\s+(?:from|with\s+permission|under)\b.{0,120}\)?
      | via\s+[A-Z][\w.&'-]*(?:\s+[A-Z][\w.&'-]*){0,3}
      | source\s+link\.?
      | source:?\s+link\.?
      | (?:original\s+)?source\s*:?\s*(?:https?://\S+)?
      | (?:read\s+(?:the\s+)?)?(?:full|original)\s+(?:article|story)(?:\s+(?:here|at\s+\S+))?\.?
      | would\s+love\s+your\s+thoughts,?\s+please\s+comment\.?
      | please\s+(?:leave\s+a\s+)?comment\s+below\.?
      | (?:please\s+)?share\s+(?:this|the\s+article|this\s+(?:article|post|story))
        (?:\s+(?:on|with|via)\s+\S+(?:\s+\S+){0,2})?\s*[:.!]?
      | share\s+(?:on|via)\s+\w+(?:\s*\(opens\s+in\s+new\s+window\))?
      | click\s+to\s+(?:share|email|print)\b.*\(opens\s+in\s+new\s+window\)
      | (?:share|tweet|email|print|pin|whatsapp|telegram|facebook|twitter|linkedin|reddit|pinterest)
        (?:\s*[|,/·•]\s*(?:share|tweet|email|print|pin|whatsapp|telegram|facebook|twitter|x
                          |linkedin|reddit|pinterest))*
      | like\s+this:?
      | like\s+loading\.{0,3}…?
      | related(?:\s+(?:articles?|posts?|stories|news|reading|content|coverage))?\s*:?
      | (?:you\s+(?:may|might)\s+also\s+(?:like|enjoy|be\s+interested\s+in)
         |more\s+from\s+\S+(?:\s+\S+)?|recommended(?:\s+for\s+you)?|read\s+(?:more|next|also)
         |see\s+also|also\s+read|trending(?:\s+now)?)\s*:?
      | (?:advertisement\.?\s*)+
      | (?:subscribe|sign\s+(?:in|up)|log\s*in|register|search|home|more|tags)(?:\.{3}|…)?
      | (?:story\s+)?continues?\s+below(?:\s+advertisement)?\.?
      | leave\s+a\s+(?:comment|reply)\.?
      | (?:post|add|write)\s+(?:a\s+)?comment\W*
      | \d+\s+comments?\.?
      | thanks?\s+(?:you\s+)?for\s+(?:signing\s+up|subscribing)!?
      | keep\s+an\s+eye\s+on\s+your\s+inbox\b.{0,80}
      | (?:sorry!?\s*)?there\s+was\s+an\s+error\s+processing\s+your\s+subscription\.?
      | click\s+here\b.{0,120}
      | subscribe\s+to\b.{0,60}\b(?:youtube|channel|podcast|newsletter)\b.{0,60}
      | thank\s+you!?\s+your\s+submission\s+has\s+been\s+received!?
      | oops!?\s+something\s+went\s+wrong\s+while\s+submitting\s+the\s+form\.?
      | back\s+to\s+(?:top|blog|(?:all\s+)?(?:posts|articles|news|stories|resources|insights))
        \W{0,3}
      | tags?\s*:.{0,200}
      | filed\s+under\s*:.{0,200}
    )$""",
    re.IGNORECASE | re.VERBOSE,
)

# A paragraph that *begins* with a teaser lead-in ("Related: ...", "Read more: ...").
_TEASER_LEADIN = re.compile(
    r"^(?:related(?:\s+(?:articles?|posts?|stories|news|coverage|reading))?|read\s+(?:more|also|next)"
    r"|see\s+also|also\s+read|more\s+on\s+this(?:\s+story)?|recommended(?:\s+reading)?)\s*[:|»›>–—-]\s*\S",
    re.IGNORECASE,
)

# Headings that open a teaser block: everything short that follows belongs to it.
_TEASER_HEADING = re.compile(
    r"^(?:related(?:\s+(?:articles?|posts?|stories|news|reading|content|coverage))?"
    r"|you\s+(?:may|might)\s+also\s+(?:like|enjoy)|more\s+(?:stories|articles|news)(?:\s+from\b.*)?"
    r"|recommended(?:\s+(?:for\s+you|reading|articles|stories))?|read\s+(?:more|next)"
    r"|popular\s+(?:posts|stories|articles)|trending(?:\s+now)?|latest\s+(?:news|posts|stories))\s*:?$",
    re.IGNORECASE,
)

_NEWSLETTER = re.compile(
    r"\b(?:newsletter|sign\s+up|subscribe|inbox|e-?mail\s+address|unsubscribe|privacy\s+policy"
    r"|terms\s+of\s+(?:use|service))\b",
    re.IGNORECASE,
)
_NEWSLETTER_STRONG = re.compile(
    r"\b(?:(?:sign\s+up|subscribe)\s+(?:for|to)\b.{0,40}\b(?:newsletter|updates|emails?|alerts|digest)"
    r"|(?:get|receive)\s+(?:our|the)\b.{0,40}\b(?:newsletter|in\s+your\s+inbox)"
    r"|enter\s+your\s+e-?mail|by\s+(?:signing\s+up|subscribing),?\s+you\s+agree"
    r"|delivered\s+(?:straight\s+)?to\s+your\s+inbox|join\s+our\s+(?:mailing\s+list|newsletter))",
    re.IGNORECASE,
)


def _words(paragraph: str) -> int:
    return len(paragraph.split())


def is_junk_paragraph(paragraph: str) -> bool:
    """True for a paragraph that is clutter on its own (view counters, share prompts …)."""
    text = paragraph.strip()
    if not text:
        return True
    if _JUNK_PARAGRAPH.match(text):
        return True
    if _TEASER_LEADIN.match(text) and _words(text) <= 25:
        return True
    # a short promo line; longer prose that mentions a newsletter is content
    return bool(
        _NEWSLETTER_STRONG.search(text) and _words(text) <= 25 and not text.startswith(("- ", "* "))
    )


def _is_teaser_line(paragraph: str) -> bool:
    """A short headline-like line, the shape of an entry in a 'Related' block.

    Headlines do not end with a full stop; prose does, however short it is.
    """
    return _words(paragraph) <= 22 and not paragraph.rstrip().endswith((".", "!", '."', ".”"))


def clean_paragraphs(paragraphs: list[str]) -> list[str]:
    """Drop clutter paragraphs and teaser blocks; keep everything else in order."""
    out: list[str] = []
    i = 0
    n = len(paragraphs)
    while i < n:
        text = paragraphs[i].strip()
        if _TEASER_HEADING.match(text):
            # skip the heading and the short headline-like entries that follow it
            j = i + 1
            while j < n and _is_teaser_line(paragraphs[j].strip()):
                j += 1
            i = j
            continue
        if is_junk_paragraph(text):
            i += 1
            continue
        # newsletter boxes: a run of short promo lines around a strong signal
        if _NEWSLETTER.search(text) and _words(text) <= 30 and _newsletter_context(paragraphs, i):
            i += 1
            continue
        out.append(text)
        i += 1
    return out


def _newsletter_context(paragraphs: list[str], index: int) -> bool:
    """A weak newsletter word counts when a neighbouring paragraph is a strong signal."""
    for k in (index - 1, index, index + 1):
        if 0 <= k < len(paragraphs) and _NEWSLETTER_STRONG.search(paragraphs[k]):
            return _words(paragraphs[k]) <= 45
    return False


def clean_text(text: str) -> str:
    """Clean a text whose paragraphs are separated by blank lines (or single newlines)."""
    paragraphs = [p for p in re.split(r"\n\s*\n|\n", text) if p.strip()]
    return "\n\n".join(clean_paragraphs(paragraphs))


# -- edges of the body: datelines, reading times, credits, bios, sign-offs ------------------

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DATE_TOKEN = re.compile(
    rf"\b(?:\d{{1,2}}[/.-]\d{{1,2}}[/.-](?:19|20)?\d\d|(?:19|20)\d\d[/.-]\d{{1,2}}[/.-]\d{{1,2}}"
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?:19|20)\d\d|\d{{1,2}}\s+{_MONTH}\s+(?:19|20)\d\d"
    rf"|\d{{1,2}}\s+de\s+\w+\s+de\s+(?:19|20)\d\d)",
    re.IGNORECASE,
)
_READING_TIME = re.compile(
    r"^(?:(?:reading\s+time|read\s+time|tempo\s+de\s+leitura|lesezeit|temps\s+de\s+lecture)\s*:?\s*)?"
    r"\d+\s*(?:-\s*\d+\s*)?(?:min(?:ute)?s?|minutos?|minuten)\.?(?:\s+(?:read|reading|de\s+leitura)(?:\s+time)?)?$"
    r"|^(?:reading\s+time|tempo\s+de\s+leitura|lesezeit)\s*:.{0,20}$",
    re.IGNORECASE,
)
_URL_ONLY = re.compile(r"^(?:https?://|www\.)\S+$", re.IGNORECASE)
_CREDIT = re.compile(
    r"^(?:image|photo|picture|video|graphic|illustration)s?\s*(?:credit|courtesy|source|by)?\s*:"
    r"|^(?:credit|photo\s+credit|image\s+credit)\s*:",
    re.IGNORECASE,
)
_SOCIAL_CTA = re.compile(
    r"\bfollow\s+(?:us|him|her|them|@\w+|\w+\s+on)\b.{0,80}\b(?:twitter|facebook|instagram|x|linkedin"
    r"|tiktok|threads|bluesky|youtube)\b|^like\s+this\s+(?:story|article)\?",
    re.IGNORECASE,
)
_EDGE_HEADINGS = re.compile(
    r"^(?:comments?|explore\s+further|popular\s+on\s+.{1,40}|table\s+of\s+contents|contents"
    r"|print(?:\s+article)?|order\s+reprints|reprints|more:|about\s+the\s+author"
    r"|table\s+of\s+content|on\s+this\s+page|in\s+this\s+(?:article|post|guide)|written\s+by"
    r"|(?:view|see)\s+(?:author\s+page|all\s+posts|profile)|(?:estimated\s+)?reading\s+time"
    r"|you\s+are\s+here|posted\s+(?:in|under)\s+.{1,80}|share(?:\s+(?:this|on))?|search)\s*:?$",
    re.IGNORECASE,
)


# a byline paragraph: "By Jane Doe, Wire Service" / "By Jane Doe and John Roe"
_BYLINE = re.compile(r"^(?i:by|par|von|por|door|di)\s+[A-ZÀ-Þ][\w'’.-]*(?:[\s,]+[\w'’.&-]+){0,9}$")
# comment sections that follow the story
_COMMENTS_HEADING = re.compile(
    r"^(?:reader(?:s'|s)?\s+(?:responses|comments|reactions)|comments|\d+\s+(?:comments?|responses|replies)"
    r"|join\s+the\s+(?:discussion|conversation)|have\s+your\s+say|show\s+comments|view\s+comments)"
    r"\s*:?$",
    re.IGNORECASE,
)
# a row of short links: "Print | E-mail this story | Write to the editor"
_NAV_SEPARATOR = re.compile(r"\s+[|·•]\s+")


_STAFF_BYLINE = re.compile(
    r"^(?:[A-Z][\w'’.&-]*\s+){1,3}(?i:staff(?:\s+(?:writer|reporter)s?)?|correspondents?|newsdesk)$"
)


def is_byline(paragraph: str) -> bool:
    """A short 'By Name[, Outlet]' or 'Outlet Staff' paragraph."""
    text = paragraph.strip()
    return _words(text) <= 12 and bool(_BYLINE.match(text) or _STAFF_BYLINE.match(text))


def _is_link_row(paragraph: str) -> bool:
    if paragraph.lstrip().startswith("|"):
        return False  # a table row
    parts = [p for p in _NAV_SEPARATOR.split(paragraph.strip()) if p]
    return len(parts) >= 3 and all(_words(p) <= 6 and not p.endswith(".") for p in parts)


# short sales prompts around a post: "Request a demo", "Free 14-day trial", "Sign up now"
_CALL_TO_ACTION = re.compile(
    r"\b(?:sign\s+up|subscribe|get\s+started|request\s+a\s+(?:demo|quote)|book\s+a\s+(?:demo|call)"
    r"|download(?:\s+now)?|free\s+(?:\d+-day\s+)?trial|try\s+(?:it\s+)?(?:for\s+)?free|start\s+for\s+free"
    r"|contact\s+us|talk\s+to\s+(?:an?\s+)?(?:expert|sales)|shop\s+now|get\s+(?:a|your)\s+"
    r"(?:free\s+)?(?:quote|demo|copy))\b",
    re.IGNORECASE,
)


def _is_call_to_action(paragraph: str) -> bool:
    """A short prompt line (no sentence) that sells rather than tells."""
    return (
        _words(paragraph) <= 8
        and not paragraph.rstrip().endswith((".", ":", ";", ",", "?"))
        and bool(_CALL_TO_ACTION.search(paragraph))
    )


def _is_dateline(paragraph: str) -> bool:
    """A short line that is mostly a date/time stamp ('Updated: Nov. 19, 2019 5:45 AM')."""
    words = paragraph.split()
    if len(words) > 14 or not _DATE_TOKEN.search(paragraph):
        return False
    if paragraph.lstrip().startswith(("—", "–", "-")) and "@" in paragraph:
        return False  # the attribution line of an embedded post is part of the quote
    rest = _DATE_TOKEN.sub(" ", paragraph)
    rest = re.sub(
        r"\b(?:updated|published|posted|on|at|by|last|am|pm|[ap]\.m\.|gmt|utc|[a-z]{2,4}t|\d+:\d+"
        r"|\d+|mon|tue|wed|thu|fri|sat|sun)\w*\b",
        " ",
        rest,
        flags=re.IGNORECASE,
    )
    return len(re.findall(r"\w{3,}", rest)) <= 4


def _is_author_bio(paragraph: str, author: str | None) -> bool:
    if not author:
        return False
    name = author.split(",")[0].strip()
    if len(name) < 4 or not paragraph.startswith(name):
        return False
    rest = paragraph[len(name) :].lstrip()
    return (
        bool(re.match(r"(?:is|was|has|writes|covers|joined|,)\b", rest)) and _words(paragraph) <= 90
    )


def clean_edges(paragraphs: list[str], author: str | None = None) -> list[str]:
    """Drop stamps, credits and sign-offs at the start and end of a body."""
    out = paragraphs
    head, tail = 4, 6

    def junk_at_edge(index: int, paragraph: str) -> bool:
        text = paragraph.strip()
        at_head = index < head
        at_tail = index >= len(out) - tail
        if not (at_head or at_tail):
            return False
        if _READING_TIME.match(text) or _EDGE_HEADINGS.match(text):
            return True
        if _CREDIT.match(text) and _words(text) <= 20:
            return True
        if _is_dateline(text):
            return True
        if at_head and (_URL_ONLY.match(text) or is_byline(text)):
            return True
        if _is_link_row(text) or _is_call_to_action(text):
            return True
        if at_tail:
            if _SOCIAL_CTA.search(text) and _words(text) <= 40:
                return True
            if _is_author_bio(text, author):
                return True
        return False

    out = _cut_comments(out)
    return [p for i, p in enumerate(out) if not junk_at_edge(i, p)]


def _cut_comments(paragraphs: list[str]) -> list[str]:
    """Drop a comment section: its heading in the back half and the short replies after it."""
    for index in range(len(paragraphs) // 2, len(paragraphs)):
        if _COMMENTS_HEADING.match(paragraphs[index].strip()):
            rest = paragraphs[index + 1 :]
            if all(_words(p) <= COMMENT_MAX_WORDS for p in rest):
                return paragraphs[:index]
    return paragraphs


COMMENT_MAX_WORDS = 120
