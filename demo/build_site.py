"""Render the invented demo corpus into a static news web: outlet sites, feeds, OPML, edge pages.

Usage:  python demo/build_site.py --out demo/site [--base-url http://127.0.0.1:8765]

Every page is rendered in the style of its outlet with the clutter of real news sites
(navigation, consent banners, tickers, ads, keyword-picked "related" teasers, comments),
so that the extraction, dedupe and clustering stages have something honest to chew on.
Output is deterministic: all variation is drawn from a PRNG seeded with the page id.
Besides the site, ``_manifest.json`` records the ground truth for every page.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import shutil
import sys
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
DEFAULT_CORPUS = HERE / "corpus"
DEFAULT_OUT = HERE / "site"
DEFAULT_BASE_URL = "http://127.0.0.1:8765"
MARKER = ".tidings-demo-site"  # proves an output dir is ours to wipe

# Spelled out rather than taken from calendar/strftime, whose names follow the locale.
MONTHS = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
]  # fmt: skip
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_STOPWORD_TEXT = """
about above after again against also amid among been before being below between both could
does doing down during each first from further have having here into just last more most
much must near only other over said same says should some such than that their them then
there these they this those through under until very week weeks were what when where which
while will with would year years your
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


@dataclass
class Outlet:
    slug: str
    name: str
    kind: str
    feed: str
    notes: str
    style: dict[str, Any]

    @property
    def feed_file(self) -> str:
        return {"rss": "feed.xml", "atom": "feed.atom", "json": "feed.json"}[self.feed]


@dataclass
class Item:
    """One page to render: an original article or a syndicated copy of one."""

    id: str
    event: str
    outlet: str
    title: str
    author: str | None
    published: datetime
    section: str
    paragraphs: list[str]
    original_id: str | None = None  # set on copies
    path: str = ""  # relative to the output dir
    url: str = ""
    canonical: str | None = None
    edits: dict[str, Any] = field(default_factory=dict)

    @property
    def is_copy(self) -> bool:
        return self.original_id is not None


def seeded_rng(*parts: str) -> random.Random:
    """A PRNG whose sequence depends only on the given strings (never on hash() or time)."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def slugify(text: str, max_len: int = 80) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > max_len:
        slug = slug[:max_len].rsplit("-", 1)[0]
    return slug or "story"


def keywords(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-zà-ÿ]{4,}", text.lower()) if w not in STOPWORDS}


def parse_published(value: str, where: str) -> datetime:
    try:
        dt = datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: bad 'published' {value!r}") from exc
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


# ---------------------------------------------------------------- loading and editing


def load_outlets(corpus_dir: Path) -> dict[str, Outlet]:
    raw = json.loads((corpus_dir / "outlets.json").read_text(encoding="utf-8"))
    # templates/styles.json says how each outlet looks; unknown outlets get "_default".
    styles = json.loads((TEMPLATES / "styles.json").read_text(encoding="utf-8"))
    outlets = {}
    for entry in raw:
        style = {**styles["_default"], **styles.get(entry["slug"], {})}
        outlets[entry["slug"]] = Outlet(
            entry["slug"],
            entry["name"],
            entry.get("kind", ""),
            entry.get("feed", "rss"),
            entry.get("notes", ""),
            style,
        )
    return outlets


def apply_edits(
    paragraphs: list[str], edits: dict[str, Any], warnings: list[str], where: str
) -> list[str]:
    """Apply a syndicated_to entry's edits: drop_last, then replace, then prefix."""
    paras = list(paragraphs)
    drop = int(edits.get("drop_last") or 0)
    if drop:
        if drop >= len(paras):
            warnings.append(f"{where}: drop_last={drop} would drop every paragraph; kept one")
            drop = len(paras) - 1
        paras = paras[: len(paras) - drop]
    for old, new in edits.get("replace") or []:
        if not any(old in p for p in paras):
            warnings.append(f"{where}: replace phrase not found: {old!r}")
        paras = [p.replace(old, new) for p in paras]
    prefix = (edits.get("prefix") or "").strip()
    if prefix and paras:
        paras[0] = f"{prefix} {paras[0]}"
    return paras


def load_items(
    corpus_dir: Path, outlets: dict[str, Outlet], warnings: list[str]
) -> tuple[list[Item], int]:
    items: list[Item] = []
    seen: set[str] = set()
    event_files = sorted((corpus_dir / "events").glob("*.json"))
    for path in event_files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: invalid JSON: {exc}") from exc
        event = data.get("event") or path.stem
        for art in data.get("articles", []):
            where = f"{path.name}:{art.get('id')}"
            for key in ("id", "outlet", "title", "published", "paragraphs"):
                if not art.get(key):
                    raise ValueError(f"{where}: missing {key!r}")
            if art["outlet"] not in outlets:
                raise ValueError(f"{where}: unknown outlet {art['outlet']!r}")
            if art["id"] in seen:
                raise ValueError(f"{where}: duplicate article id")
            seen.add(art["id"])
            original = Item(
                id=art["id"],
                event=event,
                outlet=art["outlet"],
                title=art["title"].strip(),
                author=art.get("author") or None,
                published=parse_published(art["published"], where),
                section=art.get("section") or "News",
                paragraphs=[p.strip() for p in art["paragraphs"] if p and p.strip()],
            )
            items.append(original)
            for n, syn in enumerate(art.get("syndicated_to") or []):
                swhere = f"{where}->{syn.get('outlet')}"
                if syn.get("outlet") not in outlets:
                    raise ValueError(f"{swhere}: unknown outlet")
                if syn["outlet"] == original.outlet:
                    raise ValueError(f"{swhere}: copy on the original's own outlet")
                copy_id = f"{original.id}@{syn['outlet']}"
                if copy_id in seen:
                    copy_id = f"{copy_id}-{n}"
                seen.add(copy_id)
                style = outlets[syn["outlet"]].style
                author = syn.get("author", original.author)
                published = parse_published(syn.get("published") or art["published"], swhere)
                if published < original.published:
                    warnings.append(f"{swhere}: copy published before the original")
                items.append(
                    Item(
                        id=copy_id,
                        event=event,
                        outlet=syn["outlet"],
                        title=(syn.get("title") or original.title).strip(),
                        author=style["poster"] or author,
                        published=published,
                        section=syn.get("section") or original.section,
                        paragraphs=apply_edits(original.paragraphs, syn, warnings, swhere),
                        original_id=original.id,
                        edits={
                            k: syn[k]
                            for k in ("title", "drop_last", "replace", "prefix")
                            if k in syn
                        },
                    )
                )
    return items, len(event_files)


def assign_urls(items: list[Item], outlets: dict[str, Outlet], base_url: str) -> None:
    taken: set[str] = set()
    for item in sorted(items, key=lambda i: i.id):
        d = item.published
        stem = f"{item.outlet}/{d.year:04d}/{d.month:02d}/{d.day:02d}/{slugify(item.title)}"
        path, n = f"{stem}.html", 2
        while path in taken:
            path, n = f"{stem}-{n}.html", n + 1
        taken.add(path)
        item.path, item.url = path, f"{base_url}/{path}"
    by_id = {i.id: i for i in items}
    for item in items:
        style = outlets[item.outlet].style
        policy = style["copy_canonical"] if item.is_copy else style["canonical"]
        if policy == "mixed":
            policy = seeded_rng(item.id, "canonical").choice(["original", "none"])
        if policy == "self":
            item.canonical = item.url
        elif policy == "original" and item.is_copy:
            item.canonical = by_id[item.original_id].url


# ---------------------------------------------------------------- dates


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def format_date(dt: datetime, style: str) -> str:
    """Visible date strings in each outlet's habit; every one resolves to a calendar date."""
    u = dt.astimezone(UTC)
    mon, hm = MONTHS[dt.month - 1], f"{dt.hour:02d}:{dt.minute:02d}"
    if style == "wire":
        return f"{MONTHS[u.month - 1][:3]} {u.day}, {u.year} {u.hour:02d}:{u.minute:02d} GMT"
    if style == "long_dmy":
        return f"{WEEKDAYS[dt.weekday()]} {dt.day} {mon} {dt.year}, {hm}"
    if style == "day_month":
        return f"{dt.day} {mon} {dt.year}"
    if style == "wp":
        return f"{mon} {dt.day}, {dt.year}"
    if style == "dmy_slash":
        return f"{dt.day:02d}/{dt.month:02d}/{dt.year} {hm}"
    if style == "iso_space":
        return f"{dt.year}-{dt.month:02d}-{dt.day:02d} {hm}"
    if style == "us_12h":
        h = u.hour % 12 or 12
        ampm = "AM" if u.hour < 12 else "PM"
        return f"{MONTHS[u.month - 1][:3]} {u.day}, {u.year}, {h}:{u.minute:02d} {ampm} UTC"
    if style == "weekday_long":
        return f"{WEEKDAYS[dt.weekday()]}, {mon} {dt.day}, {dt.year}"
    if style == "ordinal":
        return f"{_ordinal(dt.day)} {mon} {dt.year} {hm}"
    if style == "short_dmy":
        return f"{dt.day} {mon[:3]} {dt.year}"
    if style == "wp_comment":
        h = dt.hour % 12 or 12
        return f"{mon} {dt.day}, {dt.year} at {h}:{dt.minute:02d} {'am' if dt.hour < 12 else 'pm'}"
    raise ValueError(f"unknown date style {style!r}")


# ---------------------------------------------------------------- clutter


class Clutter:
    """Picks the noise around each article: tickers, most-read lists, related teasers, ads."""

    def __init__(self, items: list[Item], pools: dict[str, Any]):
        self.pools = pools
        self.items = sorted(items, key=lambda i: (i.published, i.id))
        self.by_outlet: dict[str, list[Item]] = {}
        for item in self.items:
            self.by_outlet.setdefault(item.outlet, []).append(item)
        self.title_kw = {i.id: keywords(i.title) for i in self.items}

    def _others(self, item: Item, pool: list[Item]) -> list[Item]:
        return [c for c in pool if c.id != item.id]

    def sample(self, item: Item, rng: random.Random, n: int, same_outlet: bool = True) -> list:
        pool = self._others(
            item, self.by_outlet.get(item.outlet, []) if same_outlet else self.items
        )
        if len(pool) < n and same_outlet:
            pool = pool + [c for c in self._others(item, self.items) if c not in pool]
        return rng.sample(pool, min(n, len(pool)))

    def related(self, item: Item, rng: random.Random, n: int) -> list[tuple[Item, str]]:
        """Headlines that merely share a word with this one, from other events: the keyword
        "related" box that Tidings exists to replace. Returns (item, shared keyword) pairs."""
        mine = self.title_kw[item.id]
        body = keywords(" ".join(item.paragraphs[:2]))
        picks: list[tuple[Item, str]] = []
        for pool in (self.by_outlet.get(item.outlet, []), self.items):
            scored = []
            for c in pool:
                if c.event == item.event or any(c is p for p, _ in picks):
                    continue
                shared = sorted(mine & self.title_kw[c.id]) or sorted(body & self.title_kw[c.id])
                if shared:
                    weight = 3 * len(mine & self.title_kw[c.id]) + len(shared)
                    scored.append((-weight, rng.random(), c.id, c, shared[0]))
            scored.sort(key=lambda s: s[:3])
            picks += [(c, kw) for *_, c, kw in scored[: n - len(picks)]]
            if len(picks) >= n:
                break
        if len(picks) < n:  # nothing in common at all: the widget shows whatever it has
            rest = [
                c
                for c in self._others(item, self.by_outlet.get(item.outlet, []))
                if c.event != item.event and not any(c is p for p, _ in picks)
            ]
            picks += [(c, "") for c in rng.sample(rest, min(n - len(picks), len(rest)))]
        return picks

    def comments(
        self, item: Item, rng: random.Random, span: list[int], date_style: str
    ) -> list[dict[str, Any]]:
        count = rng.randint(*span)
        kws = sorted(self.title_kw[item.id]) or ["this"]
        when = item.published
        out = []
        for text in rng.sample(self.pools["comments"], min(count, len(self.pools["comments"]))):
            when = when + timedelta(minutes=rng.randint(7, 400))
            out.append(
                {
                    "name": rng.choice(self.pools["commenters"]),
                    "text": text.replace("{kw}", rng.choice(kws)),
                    "date": format_date(when, date_style),
                    "iso": when.isoformat(),
                    "likes": rng.randint(0, 40),
                    "id": rng.randint(10000, 99999),
                }
            )
        return out


# ---------------------------------------------------------------- rendering


def make_env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "xml", "atom", "opml"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["rfc822"] = lambda dt: format_datetime(dt)
    env.filters["iso"] = lambda dt: dt.isoformat()
    return env


def summary_of(item: Item, limit: int = 240) -> str:
    text = item.paragraphs[0] if item.paragraphs else ""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def jsonld_for(item: Item, outlet: Outlet, original: Item | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": item.title,
        "datePublished": item.published.isoformat(),
        "dateModified": item.published.isoformat(),
        "articleSection": item.section,
        "description": summary_of(item),
        "mainEntityOfPage": {"@type": "WebPage", "@id": item.url},
        "publisher": {"@type": "Organization", "name": outlet.name},
    }
    if item.author:
        data["author"] = [{"@type": "Person", "name": item.author}]
    if original is not None:
        data["isBasedOn"] = original.url
    return data


def encode_page(text: str, charset: str) -> bytes:
    # Characters the legacy charset lacks become numeric references, still the same text.
    return text.encode(charset, errors="xmlcharrefreplace")


def write(out_dir: Path, rel: str, data: bytes) -> None:
    target = out_dir / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def market_rows(seed: str) -> list[dict[str, str]]:
    rng = seeded_rng(seed, "markets")
    rows = []
    for name in [
        "ALMSBY 100",
        "Northgate Small Caps",
        "Brent crude",
        "Gold",
        "EUR/ALM",
        "10-yr bond",
    ]:
        move = rng.uniform(-2.5, 2.5)
        rows.append(
            {
                "name": name,
                "value": f"{rng.uniform(80, 9000):,.2f}",
                "move": f"{move:+.2f}%",
                "dir": "up" if move >= 0 else "down",
            }
        )
    return rows


def visit_counter(rng: random.Random) -> dict[str, int]:
    total = rng.randint(2, 180)
    return {"total": total, "today": rng.randint(1, max(1, total // 3))}


def page_context(
    item: Item,
    outlets: dict[str, Outlet],
    by_id: dict[str, Item],
    clutter: Clutter,
    site: dict[str, Any],
) -> dict[str, Any]:
    outlet = outlets[item.outlet]
    style = outlet.style
    rng = seeded_rng(item.id)
    original = by_id[item.original_id] if item.original_id else None
    related = clutter.related(item, rng, 3)
    paragraphs = item.paragraphs
    return {
        "site": site,
        "outlet": outlet,
        "item": item,
        "paragraphs": paragraphs,
        "original": original,
        "original_outlet": outlets[original.outlet] if original else None,
        "date": format_date(item.published, style["date"]),
        "date_of": lambda dt: format_date(dt, style["date"]),
        "charset": style["charset"],
        "summary": summary_of(item),
        "jsonld": jsonld_for(item, outlet, original) if style["jsonld"] else None,
        "nav": style["nav"],
        "front_url": f"{site['base']}/{outlet.slug}/index.html",
        "feed_url": f"{site['base']}/{outlet.slug}/{outlet.feed_file}",
        "ticker": clutter.sample(item, rng, 4, same_outlet=False),
        "most_read": clutter.sample(item, rng, 5),
        "related": related,
        "related_at": rng.randint(1, max(1, len(paragraphs) - 1)),
        "ads": rng.sample(clutter.pools["ads"], 3),
        "promos": rng.sample(clutter.pools["promos"], 3),
        "comments": clutter.comments(
            item, rng, style["comments"], "wp_comment" if style["aggregator"] else style["date"]
        ),
        "visits": visit_counter(rng),
        "shares": rng.randint(0, 900),
        "share_networks": clutter.pools["share_networks"],
        "legal": clutter.pools["legal"],
        "tags": sorted(clutter.title_kw[item.id])[:4],
        "post_id": int(hashlib.sha256(item.id.encode()).hexdigest()[:6], 16) % 90000 + 10000,
        "ad_slot": rng.randint(1, max(1, len(paragraphs) - 1)),
        "quote": rng.choice(["AAPX", "MRDN", "HBRL", "QLFD", "VLDG", "GRNF"]),
        "markets": market_rows(item.id),
    }


def build_feed(
    env: jinja2.Environment,
    outlet: Outlet,
    entries: list[Item],
    by_id: dict[str, Item],
    outlets: dict[str, Outlet],
    site: dict[str, Any],
) -> bytes:
    home = f"{site['base']}/{outlet.slug}/index.html"
    feed_url = f"{site['base']}/{outlet.slug}/{outlet.feed_file}"
    updated = max((i.published for i in entries), default=datetime(2026, 1, 1, tzinfo=UTC))
    rows = []
    for item in entries:
        original = by_id[item.original_id] if item.original_id else None
        rows.append(
            {
                "item": item,
                "summary": summary_of(item),
                "original": original,
                "original_outlet": outlets[original.outlet] if original else None,
            }
        )
    if outlet.feed == "json":
        doc: dict[str, Any] = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": outlet.name,
            "home_page_url": home,
            "feed_url": feed_url,
            "language": "en",
            "description": f"Latest from {outlet.name}",
            "items": [],
        }
        for row in rows:
            item = row["item"]
            entry: dict[str, Any] = {
                "id": item.url,
                "url": item.url,
                "title": item.title,
                "summary": row["summary"],
                "date_published": item.published.isoformat(),
                "tags": [item.section],
            }
            if item.author:
                entry["authors"] = [{"name": item.author}]
            if row["original"]:
                entry["external_url"] = row["original"].url
            doc["items"].append(entry)
        return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    template = "feed_rss.xml" if outlet.feed == "rss" else "feed_atom.xml"
    charset = outlet.style["charset"]
    text = env.get_template(template).render(
        outlet=outlet,
        rows=rows,
        home=home,
        feed_url=feed_url,
        updated=updated,
        charset=charset,
        full_content=outlet.style["aggregator"],
        site=site,
    )
    return encode_page(text, charset)


def edge_pages(
    env: jinja2.Environment, items: list[Item], outlets: dict[str, Outlet], site: dict[str, Any]
) -> dict[str, tuple[str, bytes]]:
    """Pages ingest must recognise and report rather than store: path -> (expected kind, bytes)."""
    originals = sorted((i for i in items if not i.is_copy), key=lambda i: (i.published, i.id))
    teaser = originals[-1] if originals else None
    counts: dict[str, int] = {}
    for i in items:
        for kw in keywords(i.title):
            counts[kw] = counts.get(kw, 0) + 1
    tag = max(sorted(counts), key=lambda k: counts[k]) if counts else "harbour"
    tagged = [
        i
        for i in sorted(items, key=lambda i: (i.published, i.id), reverse=True)
        if tag in keywords(i.title)
    ][:20]
    digest, garbage = b"tidings-edge", bytearray()
    while len(garbage) < 4096:
        digest = hashlib.sha256(digest).digest()
        garbage += digest
    ctx = {"site": site, "outlets": outlets, "teaser": teaser, "tag": tag, "tagged": tagged}
    out = {
        "_edge/empty.html": ("empty", env.get_template("edge_empty.html").render(ctx)),
        "_edge/paywall.html": ("paywall", env.get_template("edge_paywall.html").render(ctx)),
        "_edge/not-found.html": ("error", env.get_template("edge_404.html").render(ctx)),
        "_edge/tag-index.html": ("index", env.get_template("edge_tag.html").render(ctx)),
    }
    result = {path: (kind, text.encode("utf-8")) for path, (kind, text) in out.items()}
    result["_edge/binary.html"] = ("binary", b"\x00\x1f\x8b\x08" + bytes(garbage[:4092]))
    return result


def prepare_out_dir(out_dir: Path) -> None:
    if out_dir.exists():
        if not out_dir.is_dir():
            raise ValueError(f"{out_dir} exists and is not a directory")
        if any(out_dir.iterdir()) and not (out_dir / MARKER).exists():
            raise ValueError(
                f"{out_dir} is not empty and was not made by build_site; refusing to overwrite it"
            )
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    (out_dir / MARKER).write_text("generated by demo/build_site.py; safe to delete\n")


def build_site(
    corpus_dir: str | Path = DEFAULT_CORPUS,
    out_dir: str | Path = DEFAULT_OUT,
    base_url: str = DEFAULT_BASE_URL,
) -> dict[str, Any]:
    """Render the corpus into out_dir; return counts (outlets, originals, copies, feeds, …)."""
    corpus_dir, out_dir = Path(corpus_dir), Path(out_dir)
    base_url = base_url.rstrip("/")
    if urlsplit(base_url).scheme not in ("http", "https"):
        raise ValueError(f"base URL must be http(s): {base_url!r}")
    warnings: list[str] = []
    outlets = load_outlets(corpus_dir)
    items, n_events = load_items(corpus_dir, outlets, warnings)
    assign_urls(items, outlets, base_url)
    by_id = {i.id: i for i in items}
    pools = json.loads((TEMPLATES / "clutter.json").read_text(encoding="utf-8"))
    clutter = Clutter(items, pools)
    env = make_env()
    years = sorted({i.published.year for i in items}) or [2026]
    site = {"base": base_url, "year": years[-1], "outlets": outlets}

    prepare_out_dir(out_dir)
    manifest: dict[str, Any] = {
        "base_url": base_url,
        "pages": [],
        "feeds": [],
        "fronts": [],
        "edge": [],
    }
    for item in clutter.items:
        outlet = outlets[item.outlet]
        ctx = page_context(item, outlets, by_id, clutter, site)
        html = env.get_template(outlet.style["template"]).render(ctx)
        write(out_dir, item.path, encode_page(html, outlet.style["charset"]))
        manifest["pages"].append(
            {
                "id": item.id,
                "event": item.event,
                "outlet": item.outlet,
                "kind": "copy" if item.is_copy else "original",
                "original_id": item.original_id,
                "original_url": by_id[item.original_id].url if item.original_id else None,
                "path": item.path,
                "url": item.url,
                "canonical": item.canonical,
                "title": item.title,
                "author": item.author,
                "published": item.published.isoformat(),
                "section": item.section,
                "charset": outlet.style["charset"],
                "edits": item.edits,
                "paragraphs": item.paragraphs,
            }
        )

    newest_first = sorted(clutter.items, key=lambda i: (i.published, i.id), reverse=True)
    for outlet in outlets.values():
        entries = [i for i in newest_first if i.outlet == outlet.slug]
        feed_rel = f"{outlet.slug}/{outlet.feed_file}"
        write(out_dir, feed_rel, build_feed(env, outlet, entries, by_id, outlets, site))
        manifest["feeds"].append(
            {
                "outlet": outlet.slug,
                "format": outlet.feed,
                "path": feed_rel,
                "url": f"{base_url}/{feed_rel}",
                "entries": len(entries),
            }
        )
        sections: dict[str, list[Item]] = {}
        for i in entries:
            sections.setdefault(i.section, []).append(i)
        front = env.get_template("front.html").render(
            site=site,
            outlet=outlet,
            entries=entries,
            sections=sections,
            feed_url=f"{base_url}/{feed_rel}",
            summary_of=summary_of,
            date_of=lambda dt, o=outlet: format_date(dt, o.style["date"]),
            ads=seeded_rng(outlet.slug, "front").sample(pools["ads"], 2),
            legal=pools["legal"],
        )
        write(out_dir, f"{outlet.slug}/index.html", encode_page(front, outlet.style["charset"]))
        manifest["fronts"].append(
            {
                "outlet": outlet.slug,
                "path": f"{outlet.slug}/index.html",
                "url": f"{base_url}/{outlet.slug}/index.html",
            }
        )

    write(
        out_dir,
        "feeds.opml",
        env.get_template("feeds.opml")
        .render(site=site, outlets=list(outlets.values()))
        .encode("utf-8"),
    )
    write(
        out_dir,
        "index.html",
        env.get_template("root_index.html")
        .render(site=site, outlets=list(outlets.values()), by_outlet=clutter.by_outlet)
        .encode("utf-8"),
    )
    for rel, (kind, data) in edge_pages(env, items, outlets, site).items():
        write(out_dir, rel, data)
        manifest["edge"].append({"path": rel, "url": f"{base_url}/{rel}", "expect": kind})

    n_copies = sum(1 for i in items if i.is_copy)
    summary = {
        "outlets": len(outlets),
        "events": n_events,
        "originals": len(items) - n_copies,
        "copies": n_copies,
        "pages": len(items),
        "feeds": len(outlets),
        "front_pages": len(outlets),
        "edge_pages": len(manifest["edge"]),
        "warnings": warnings,
    }
    manifest["summary"] = {k: v for k, v in summary.items() if k != "warnings"}
    write(
        out_dir,
        "_manifest.json",
        (json.dumps(manifest, ensure_ascii=False, indent=1) + "\n").encode("utf-8"),
    )
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(DEFAULT_CORPUS), help="corpus directory")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="output directory (wiped)")
    parser.add_argument(
        "--base-url", default=DEFAULT_BASE_URL, help="absolute URL the site will be served from"
    )
    args = parser.parse_args(argv)
    try:
        summary = build_site(args.corpus, args.out, args.base_url)
    except ValueError as exc:
        print(f"build_site: error: {exc}", file=sys.stderr)
        return 1
    for warning in summary["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    print(
        f"built {args.out}: {summary['outlets']} outlets, {summary['events']} events, "
        f"{summary['originals']} originals, {summary['copies']} copies "
        f"({summary['pages']} article pages), {summary['feeds']} feeds, "
        f"{summary['front_pages']} front pages, {summary['edge_pages']} edge pages"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
