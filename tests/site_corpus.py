"""The bundled demo corpus as ready Articles (originals and their syndicated copies, with the
copies' edits applied), plus hostile records: a database for the reader-site tests in a few
seconds, without rendering and fetching the demo web."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from tidings.models import Article

CORPUS = Path(__file__).resolve().parent.parent / "demo" / "corpus"

XSS_TITLE = '<img src=x onerror="window.__xss=1;alert(1)">Harbour <script>window.__xss=2</script>'
XSS_TEXT = (
    "Quarry workers in Dunmere said <script>window.__xss=3;alert(3)</script> the new blasting "
    'schedule <iframe src="javascript:alert(4)"></iframe> will run from Monday. '
    '<a href="javascript:alert(5)" id="injected-link">click</a> '
    "The council said residents near the Dunmere quarry would be told of each blast a day "
    "ahead, and that vibration monitors would be placed at the school and the chapel. "
) * 3


def _edited(paragraphs: list[str], edits: dict) -> list[str]:
    paras = list(paragraphs)
    drop = int(edits.get("drop_last") or 0)
    if drop:
        paras = paras[:-drop] or paras[:1]
    for old, new in edits.get("replace") or []:
        paras = [p.replace(old, new) for p in paras]
    prefix = (edits.get("prefix") or "").strip()
    if prefix and paras:
        paras[0] = f"{prefix} {paras[0]}"
    return paras


SITE_EVENTS = (
    "northsea-ferry-grounding",
    "kessler-bridge-collapse",
    "estova-rate-decision",
    "halvern-telescope-first-light",
    "varnholt-dock-strike",
)


def demo_articles(events: tuple[str, ...] | None = None) -> list[Article]:
    """Originals and copies of the given events (all 14 when None), oldest first."""
    outlets = {o["slug"]: o["name"] for o in json.loads((CORPUS / "outlets.json").read_text())}
    out = []
    paths = sorted((CORPUS / "events").glob("*.json"))
    if events is not None:
        paths = [p for p in paths if p.stem in events]
    for path in paths:
        for item in json.loads(path.read_text(encoding="utf-8"))["articles"]:
            out.append(
                Article(
                    url=f"https://{item['outlet']}.example/{item['id']}",
                    title=item["title"],
                    text="\n\n".join(item["paragraphs"]),
                    source=outlets[item["outlet"]],
                    author=item.get("author"),
                    published=datetime.fromisoformat(item["published"]),
                )
            )
            for n, copy in enumerate(item.get("syndicated_to") or []):
                out.append(
                    Article(
                        url=f"https://{copy['outlet']}.example/{item['id']}-{n}",
                        title=copy.get("title") or item["title"],
                        text="\n\n".join(_edited(item["paragraphs"], copy)),
                        source=outlets[copy["outlet"]],
                        published=datetime.fromisoformat(copy["published"]),
                    )
                )
    out.sort(key=lambda a: a.published)
    return out


def hostile_articles() -> list[Article]:
    return [
        Article(
            url="https://quarry.example/blasting",
            title=XSS_TITLE,
            text=XSS_TEXT,
            source='Dunmere <b onmouseover="window.__xss=6">Echo</b>',
            author='"><svg onload=window.__xss=7>',
            published=datetime.fromisoformat("2026-11-20T10:00:00+00:00"),
        )
    ]


HOSTILE_LINKS = [
    {
        "url": "javascript:window.__xss=8;alert(8)//quarry",
        "title": "Quarry road closure notice",
        "text": "The Dunmere quarry road will close for resurfacing for three weeks from the "
        "first of December, the council said, with a signed diversion through Hollin "
        "Lane. Buses will stop at the chapel instead of the quarry gate. " * 2,
        "published": "2026-11-21T08:00:00+00:00",
        "source": "Dunmere Parish Notes",
    },
    {
        "url": "data:text/html,<script>window.__xss=9</script>",
        "title": "Chapel roof appeal",
        "text": "The chapel in Dunmere has raised half of the money it needs to mend its roof "
        "after the autumn storms, its trustees said, and a concert on Saturday will "
        "collect the rest. Tickets are sold at the post office. " * 2,
        "published": "2026-11-22T08:00:00+00:00",
        "source": "Dunmere Parish Notes",
    },
]


def hostile_jsonl(path: Path) -> Path:
    """JSONL records whose URLs are a javascript: and a data: URL (refused when read)."""
    records = HOSTILE_LINKS
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


def hostile_link_articles() -> list[Article]:
    """The same records handed to the library directly, which stores a URL as given: the
    site must still never make them links."""
    return [
        Article(url=r["url"], title=r["title"], text=r["text"], source=r["source"],
                published=datetime.fromisoformat(r["published"]))
        for r in HOSTILE_LINKS
    ]
