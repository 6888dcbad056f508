"""Text-level cleanup of aggregator clutter that sits inside an article body as paragraphs."""

from __future__ import annotations

import re

# Whole-paragraph clutter: the paragraph is dropped when it matches one of these.
_JUNK_PARAGRAPH = re.compile(
    r"""^(?:
        visited\s+\d[\d,]*\s+times?\s*,?\s*\d[\d,]*\s+visits?(?:\(s\))?\s+today\.?
      | \d[\d,]*\s+(?:total\s+)?views?(?:,\s*\d[\d,]*\s+views?\s+today)?\.?
      | (?:post\s+)?views?:\s*\d[\d,]*
      | source\s+link\.?
      | source:?\s+link\.?
      | (?:original\s+)?source\s*:?\s*(?:https?://\S+)?
      | (?:read\s+(?:the\s+)?)?(?:full|original)\s+(?:article|story)(?:\s+(?:here|at\s+\S+))?\.?
      | would\s+love\s+your\s+thoughts,?\s+please\s+comment\.?
      | please\s+(?:leave\s+a\s+)?comment\s+below\.?
      | (?:please\s+)?share\s+(?:this|the\s+article|this\s+(?:article|post|story))
        (?:\s+(?:on|with|via)\b.*)?\s*[:.!]?
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
      | advertisement\.?
      | (?:story\s+)?continues?\s+below(?:\s+advertisement)?\.?
      | leave\s+a\s+(?:comment|reply)\.?
      | \d+\s+comments?\.?
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

_SENTENCE_END = re.compile(r"[.!?…\"”’)]$")


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
    """A short headline-like line, the shape of an entry in a 'Related' block."""
    words = _words(paragraph)
    return words <= 22 and not (words > 12 and _SENTENCE_END.search(paragraph))


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
