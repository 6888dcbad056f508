"""Syndication test set: real article pages as originals, their republished copies and hard
negatives, generated from the shared data at eval time (seeded; nothing is stored).

Originals are the AEB and WCXB dev article pages, served at their own URLs as they are.
Each original gets copies (a family: every page in it is one article):

  retemplate  the ground-truth text republished in another site's template (other nav,
              sidebars, footer, cookie banner, newsletter box)
  trimmed     the same with the closing paragraphs cut and a "Read the full story" line
  retitled    the same under another headline (its opening sentence, as aggregators do)
  ads         the original page itself with ad slots, "story continues below" lines and an
              "originally appeared on" line inserted between its paragraphs
  cp1252      retemplated, served as windows-1252 (characters outside it as references)
  mojibake    retemplated with the text UTF-8-encoded and read back as cp1252 (â€™ …)
  ascii       retemplated with accents stripped and quotes and dashes straightened
  repost      the aggregator repost page: story, "Source link", a visit counter, a
              "Related Article" heading with teasers (one reads like prose) and a comment
              widget, all inside <article>

Hard negatives (each page its own family: it must never fold into another):

  same-site   different articles (SemEval news texts) on the copies' templates, sharing
              their boilerplate
  same-event  SemEval English pairs that annotators rated about the same event
              (overall ≤ 2), from different outlets; a pair whose texts are one text (most
              of one's word 5-grams in the other) is a copy, not a negative, and is left out
  live        live pages and briefings of one template: same headline pattern, intro and
              footer, five entries each, consecutive pages sharing one entry
"""

from __future__ import annotations

import gzip
import html
import json
import random
import re
import unicodedata
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

COPY_KINDS = ("retemplate", "trimmed", "retitled", "ads", "cp1252", "mojibake", "ascii", "repost")
NEGATIVE_KINDS = ("same-site", "same-event", "live")
MIN_WORDS = 120  # an original shorter than this is a brief, not a syndication subject


@dataclass
class Item:
    """One page of the set: its URL, bytes, content type, family and kind."""

    url: str
    content: bytes
    content_type: str
    family: str
    kind: str


@dataclass
class Original:
    key: str
    url: str
    html: bytes
    paragraphs: list[str]


# -- sources ---------------------------------------------------------------------------------


def load_originals(root: Path, limit: int | None = None, ids: list[str] | None = None):
    """AEB and WCXB dev article pages with a ground-truth body of at least MIN_WORDS words,
    in a stable order (AEB, then WCXB); `ids` pins a slice ("aeb:<id>", "wcxb:<id>")."""
    out: list[Original] = []
    aeb = json.loads((root / "aeb" / "ground-truth.json").read_text(encoding="utf-8"))
    for key in sorted(aeb):
        body = aeb[key]["articleBody"]
        out.append(Original(f"aeb:{key}", aeb[key]["url"], b"", _paragraphs(body)))
    wcxb = root / "wcxb-dev-articles"
    for path in sorted((wcxb / "ground-truth").glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        body = record["ground_truth"].get("main_content") or ""
        out.append(Original(f"wcxb:{path.stem}", record["url"], b"", _paragraphs(body)))
    out = [o for o in out if sum(len(p.split()) for p in o.paragraphs) >= MIN_WORDS]
    if ids is not None:  # keys or their prefixes
        out = [o for o in out if o.key.startswith(tuple(ids))]
    elif limit:
        out = out[:limit]
    for o in out:
        kind, key = o.key.split(":", 1)
        folder = root / ("aeb" if kind == "aeb" else "wcxb-dev-articles") / "html"
        o.html = gzip.decompress((folder / f"{key}.html.gz").read_bytes())
    return out


def load_news_texts(root: Path) -> tuple[list[tuple[str, str]], list[tuple[tuple, tuple]]]:
    """English SemEval texts as (title, body), and the same-event pairs among them."""
    rows = [
        json.loads(line)
        for line in (root / "semeval2022-pairs-dev" / "pairs.jsonl").read_text().splitlines()
        if line.strip()
    ]
    texts: dict[str, tuple[str, str]] = {}
    pairs = []
    for row in rows:
        if row["lang1"] != "en" or row["lang2"] != "en":
            continue
        a, b = _title_body(row["text1"]), _title_body(row["text2"])
        if len(a[1].split()) < 80 or len(b[1].split()) < 80:
            continue
        texts.setdefault(a[0] + a[1][:50], a)
        texts.setdefault(b[0] + b[1][:50], b)
        if row["overall"] <= 2.0 and _containment(a[1], b[1]) < 0.5:
            pairs.append((a, b))
    return list(texts.values()), pairs


def _title_body(text: str) -> tuple[str, str]:
    title, _, body = text.partition("  ")
    if not body or len(title.split()) > 25:
        words = text.split()
        return " ".join(words[:12]), text
    return title.strip(), body.strip()


def _paragraphs(text: str) -> list[str]:
    parts = [p.strip() for p in re.split(r"\n+", text) if p.strip()]
    if len(parts) == 1 and len(parts[0].split()) > 150:  # one block: cut at sentences
        sentences = re.split(r"(?<=[.!?])\s+", parts[0])
        parts = [" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3)]
    return parts


def _containment(a: str, b: str, n: int = 5) -> float:
    def grams(text):
        tokens = re.findall(r"\w+", text.lower())
        return {" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}

    ga, gb = grams(a), grams(b)
    if not ga or not gb:
        return 0.0
    return len(ga & gb) / min(len(ga), len(gb))


# -- templates -------------------------------------------------------------------------------

SITES = [
    {
        "host": "dailyfeedhub.example",
        "name": "Daily Feed Hub",
        "nav": ["Home", "World", "Business", "Tech", "Sport", "Entertainment", "Opinion"],
        "about": (
            "Daily Feed Hub brings you the news that matters from trusted sources around the "
            "world, curated every hour by our editors so you never miss a development. Our "
            "mission is to keep readers informed with fast, accurate and balanced coverage of "
            "politics, business, technology, science and culture, wherever it happens."
        ),
        "footer": (
            "Copyright 2026 Daily Feed Hub Media Group. All rights reserved. This material may "
            "not be published, broadcast, rewritten or redistributed without permission. Use of "
            "this site constitutes acceptance of our User Agreement and Privacy Policy and "
            "Cookie Statement and your California privacy rights."
        ),
    },
    {
        "host": "newsroundup.example",
        "name": "News Roundup",
        "nav": ["Latest", "Local", "National", "Markets", "Health", "Science", "Video"],
        "about": (
            "News Roundup is an independent aggregator. We republish reporting from partner "
            "outlets under licence and link to the original source on every story. Support "
            "independent journalism by subscribing to our free daily newsletter, which lands in "
            "your inbox every morning with the stories everyone will be talking about."
        ),
        "footer": (
            "News Roundup participates in affiliate programmes and may earn a commission from "
            "purchases made through links on this page. Opinions expressed by contributors are "
            "their own. Contact the newsroom, advertise with us, careers, terms of service, "
            "privacy notice, accessibility statement, sitemap."
        ),
    },
    {
        "host": "worldwirenow.example",
        "name": "World Wire Now",
        "nav": ["Top Stories", "Americas", "Europe", "Asia", "Africa", "Climate", "Podcasts"],
        "about": (
            "World Wire Now collects breaking news from agencies and newspapers across six "
            "continents. Stories are republished in full with the permission of their "
            "publishers. Follow us on social media for live updates, and download our app to get "
            "alerts the moment news breaks near you."
        ),
        "footer": (
            "All content on World Wire Now is provided for information only. We make every "
            "effort to ensure accuracy but accept no liability for errors. Trademarks belong to "
            "their owners. Manage cookie preferences, do not sell my personal information, "
            "about us, our partners, corrections policy."
        ),
    },
]

ADS = [
    "Advertisement",
    "ADVERTISEMENT",
    "Story continues below advertisement",
    "Sponsored content: Compare the best mortgage rates of 2026 in seconds.",
    "Subscribe to our newsletter for the latest updates.",
    "Click here to get our free daily briefing.",
]
TEASER_WORDS = 40


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def page(
    site: dict,
    title: str,
    paragraphs: list[str],
    *,
    published: datetime,
    extra_top: str = "",
    extra_bottom: str = "",
    in_article_after: str = "",
    charset: str = "utf-8",
    teasers: list[str] = (),
) -> str:
    """One syndicator page: the site's full template around the story."""
    nav = "".join(f'<li><a href="/{n.lower()}">{_esc(n)}</a></li>' for n in site["nav"])
    side = "".join(
        f'<li><a href="/story/{i}">{_esc(t)}</a></li>' for i, t in enumerate(teasers or site["nav"])
    )
    body = "".join(f"<p>{_esc(p)}</p>" for p in paragraphs)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="{charset}">
<title>{_esc(title)} | {_esc(site['name'])}</title>
<meta property="og:title" content="{_esc(title)}">
<meta property="article:published_time" content="{published.isoformat()}">
<meta property="og:site_name" content="{_esc(site['name'])}">
</head><body>
<div class="cookie-banner">We use cookies to improve your experience. By continuing to browse
you agree to our use of cookies. <button>Accept all</button> <button>Manage</button></div>
<header class="site-header"><a class="logo" href="/">{_esc(site['name'])}</a>
<nav><ul>{nav}</ul></nav><form class="search"><input name="q" placeholder="Search"></form>
</header>
<main><article class="post">
<h1 class="entry-title">{_esc(title)}</h1>
<div class="byline">By Staff · <time datetime="{published.isoformat()}">
{published:%B %d, %Y}</time></div>
{extra_top}
<div class="entry-content">{body}</div>
{extra_bottom}
{in_article_after}
</article>
<aside class="sidebar"><h3>Trending now</h3><ul>{side}</ul>
<div class="newsletter"><h3>Get the newsletter</h3><p>{_esc(site['about'])}</p>
<input type="email" placeholder="Your email"><button>Sign up</button></div></aside>
</main>
<footer class="site-footer"><p>{_esc(site['footer'])}</p>
<ul><li><a href="/about">About</a></li><li><a href="/privacy">Privacy</a></li>
<li><a href="/contact">Contact</a></li></ul></footer>
</body></html>"""


# -- copies ----------------------------------------------------------------------------------


def _ascii_fold(text: str) -> str:
    text = text.translate(
        str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "..."})
    )
    text = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize("NFC", "".join(c for c in text if not unicodedata.combining(c)))


def _mojibake(text: str) -> str:
    """UTF-8 read as windows-1252 the way browsers read it (the five bytes cp1252 leaves
    undefined become the C1 controls of the same number)."""
    out = []
    for byte in text.encode("utf-8"):
        try:
            out.append(bytes([byte]).decode("cp1252"))
        except UnicodeDecodeError:
            out.append(chr(byte))
    return "".join(out)


def _opening_sentence_title(paragraphs: list[str]) -> str:
    words = re.split(r"(?<=[.!?])\s", paragraphs[0])[0].split()
    return " ".join(words[:14]).rstrip(".,;:")


def _with_ads(raw: str, rng: random.Random, source: str) -> str:
    """The original page with ad slots after some of its paragraphs and an attribution line."""
    closes = [m.end() for m in re.finditer(r"</p\s*>", raw, re.I)]
    if not closes:
        return raw
    picks = sorted(rng.sample(closes, k=min(len(closes), max(2, len(closes) // 4))), reverse=True)
    for at in picks:
        ad = rng.choice(ADS)
        raw = raw[:at] + f'<div class="ad-slot"><p>{_esc(ad)}</p></div>' + raw[at:]
    last = max(m.end() for m in re.finditer(r"</p\s*>", raw, re.I))
    line = f"<p><em>This article originally appeared on {_esc(source)}.</em></p>"
    return raw[:last] + line + raw[last:]


def copies(
    original: Original, title: str, rng: random.Random, teaser_pool: list[tuple[str, str]],
    kinds: tuple[str, ...] = COPY_KINDS,
) -> list[Item]:
    """The copies of one original (its stored headline `title`), one per kind in `kinds`."""
    from tidings.extract import decode_html

    source = original.url.split("/")[2]
    paragraphs = original.paragraphs
    when = datetime(2026, 11, 3, 8, tzinfo=UTC) + timedelta(hours=rng.randint(0, 48))
    out = []
    for n, kind in enumerate(kinds):
        site = SITES[rng.randrange(len(SITES))]
        slug = re.sub(r"\W+", "-", title.lower()).strip("-")[:60] or "story"
        tag = zlib.crc32(original.key.encode()) % 10**6
        url = f"https://{site['host']}/{kind}/{slug}-{tag}-{n}"
        content_type, charset = "text/html; charset=utf-8", "utf-8"
        text_title, text = title, paragraphs
        top = bottom = after = ""
        if kind == "ads":
            raw = _with_ads(decode_html(original.html), rng, source)
            out.append(Item(url, raw.encode("utf-8"), content_type, original.key, kind))
            continue
        if kind == "trimmed":
            cut = max(1, int(len(paragraphs) * rng.uniform(0.2, 0.35)))
            text = paragraphs[:-cut] if len(paragraphs) > cut + 1 else paragraphs
            if text is paragraphs:  # one long paragraph: trim words instead
                words = " ".join(paragraphs).split()
                text = [" ".join(words[: int(len(words) * 0.7)])]
            bottom = f'<p><a href="{_esc(original.url)}">Read the full story at {source}</a></p>'
        elif kind == "retitled":
            text_title = _opening_sentence_title(paragraphs)
        elif kind == "mojibake":
            text_title, text = _mojibake(title), [_mojibake(p) for p in paragraphs]
        elif kind == "ascii":
            text_title, text = _ascii_fold(title), [_ascii_fold(p) for p in paragraphs]
        elif kind == "cp1252":
            content_type, charset = "text/html; charset=windows-1252", "windows-1252"
        elif kind == "repost":
            teasers = rng.sample(teaser_pool, 3)
            prose = " ".join(teasers[0][1].split()[:TEASER_WORDS])
            after = (
                f'<p>Source link</p><p class="visits">Visited 1 times, 1 visit(s) today</p>'
                f"<h3>Related Article</h3>"
                f'<div class="teaser"><a href="/t/1">{_esc(teasers[0][0])}</a>'
                f"<p>{_esc(prose)}…</p></div>"
                + "".join(
                    f'<div class="teaser"><a href="/t/{i}">{_esc(t[0])}</a></div>'
                    for i, t in enumerate(teasers[1:], start=2)
                )
                + '<div class="comments"><span class="count">0</span>'
                '<p>Would love your thoughts, please comment.</p>'
                '<form><textarea name="comment"></textarea><button>Post Comment</button></form>'
                "</div>"
            )
        if rng.random() < 0.5 and kind not in ("repost",):
            top = f"<p><em>This story originally appeared on {_esc(source)}.</em></p>"
        markup = page(
            site, text_title, text, published=when, extra_top=top, extra_bottom=bottom,
            in_article_after=after, charset=charset,
        )
        data = markup.encode(charset, errors="xmlcharrefreplace")
        out.append(Item(url, data, content_type, original.key, kind))
    return out


# -- negatives -------------------------------------------------------------------------------


def same_site(texts: list[tuple[str, str]], rng: random.Random, count: int) -> list[Item]:
    """Different articles on the copies' templates (shared boilerplate)."""
    out = []
    for n, (title, body) in enumerate(rng.sample(texts, min(count, len(texts)))):
        site = SITES[n % len(SITES)]
        when = datetime(2026, 11, 3, tzinfo=UTC) + timedelta(hours=n)
        markup = page(site, title, _paragraphs(body), published=when)
        out.append(Item(f"https://{site['host']}/news/other-{n}", markup.encode(),
                        "text/html; charset=utf-8", f"site:{n}", "same-site"))
    return out


def same_event(pairs: list[tuple[tuple, tuple]], rng: random.Random, count: int) -> list[Item]:
    """Two outlets' different articles on one event."""
    out = []
    for n, pair in enumerate(rng.sample(pairs, min(count, len(pairs)))):
        for side, (title, body) in enumerate(pair):
            site = SITES[(n + side) % len(SITES)]
            when = datetime(2026, 11, 4, tzinfo=UTC) + timedelta(hours=n)
            markup = page(site, title, _paragraphs(body), published=when)
            out.append(Item(f"https://{site['host']}/event/{n}-{side}", markup.encode(),
                            "text/html; charset=utf-8", f"event:{n}:{side}", "same-event"))
    return out


LIVE_INTRO = (
    "Follow our live coverage for the latest developments as they happen. This page is updated "
    "throughout the day by our team of reporters and editors around the world; refresh for new "
    "posts. Times are shown in UTC."
)
LIVE_OUTRO = (
    "That's all from us for now. Thanks for following along. Sign up for our morning briefing to "
    "get the day's most important stories, explained, in your inbox before breakfast."
)


def live_pages(texts: list[tuple[str, str]], rng: random.Random, count: int) -> list[Item]:
    """Live pages and briefings: one template, five entries each, neighbours share one entry."""
    entries = [" ".join(re.split(r"(?<=[.!?])\s", body)[:2]) for _, body in texts]
    rng.shuffle(entries)
    out = []
    for n in range(count):
        picked = [entries[(4 * n + k) % len(entries)] for k in range(5)]  # overlap: one entry
        when = datetime(2026, 11, 1, 6, tzinfo=UTC) + timedelta(days=n)
        title = "Morning briefing" if n % 2 else "Live updates: the latest news"
        paragraphs = [LIVE_INTRO] + [
            f"{(when + timedelta(minutes=25 * k)):%H:%M} {entry}" for k, entry in enumerate(picked)
        ] + [LIVE_OUTRO]
        site = SITES[0]
        markup = page(site, title, paragraphs, published=when)
        out.append(Item(f"https://{site['host']}/live/{n}", markup.encode(),
                        "text/html; charset=utf-8", f"live:{n}", "live"))
    return out
