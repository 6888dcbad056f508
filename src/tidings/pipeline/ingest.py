"""The ingest pipeline: inputs → Article → dedupe decision → embed → one write transaction per
batch → vector index and stories.

Concurrency: the expensive steps (extraction, a first dedupe pass, embedding) run outside
the write transaction. Inside it (`BEGIN IMMEDIATE`, one writer at a time across processes)
the derived state is first brought level with the database, the dedupe decisions are taken
again if another process wrote since the first pass, and an URL another writer stored
meanwhile counts as unchanged instead of failing the batch.

Batches overlap: while one batch is written, the model embeds the next. The next batch's
first dedupe pass is therefore taken before the batch ahead of it commits; its decisions
are kept only if that batch shares none of the keys dedupe looks articles up by (URL keys,
content hash, near-duplicate bands), else they are taken again inside the transaction.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import numpy as np

from .._failpoints import failpoint
from ..dedupe import Decision, Deduper, NearDuplicateKey, canonical_url, content_hash
from ..models import Article, IngestResult, Page, Problem
from ..store import Store, Transaction
from ..stories import StoryClusterer
from .inputs import Progress, report

log = logging.getLogger(__name__)

EMBED_CHARS = 2000  # the model reads ~256 tokens; more text only costs tokenizer time


def embed_text(article: Article) -> str:
    """What the model reads: headline first, then the opening of the body."""
    return f"{article.title}\n\n{article.text[:EMBED_CHARS]}".strip()


class NotAnArticle(Exception):
    """A readable input that is not an article (index page, paywall stub …)."""


class Unreadable(Exception):
    """An input that cannot be turned into an article."""


def extract_page(page: Page, max_bytes: int) -> Article:
    """Decode and extract one page, with its feed entry's hints filling the gaps; raises
    Unreadable when it is not a web page."""
    from ..extract import ExtractError, decode_html, extract

    hints = page.hints or {}
    try:
        html = decode_html(page.content, page.content_type, max_bytes=max_bytes)
        article = extract(html, page.final_url or page.url, date_hint=hints.get("published"))
    except ExtractError as exc:
        raise Unreadable(f"not a web page: {exc}") from exc
    article.url = page.url
    article.title = article.title or hints.get("title") or ""
    article.published = article.published or hints.get("published")
    article.author = article.author or hints.get("author")
    article.fetched = page.fetched or datetime.now(UTC)
    article.source = (
        page.source or article.site_name or urlsplit(article.canonical_url or page.url).hostname
    )
    return article


def to_article(item: Page | Article, max_bytes: int) -> Article:
    """An Article ready for dedupe; raises NotAnArticle or Unreadable with the reason."""
    if isinstance(item, Article):
        article = item
        if not article.title and not article.text:
            raise Unreadable("empty record: no title and no text")
    else:
        article = extract_page(item, max_bytes)
        if article.kind != "article":
            raise NotAnArticle(f"not an article ({article.kind} page)")
        if not article.text.strip():
            raise Unreadable("no article text found")
    if article.published and article.published.tzinfo is None:
        article.published = article.published.replace(tzinfo=UTC)
    article.content_hash = content_hash(article.title, article.text)
    if not article.excerpt and article.text:
        article.excerpt = article.text[:300]
    return article


def feed_fallback(item: Page | Article, reason: str) -> Article | None:
    """A page from a feed entry that could not be fetched or is not an article is stored
    from the entry itself (title, summary or content), marked partial; None otherwise."""
    if not isinstance(item, Page) or not item.hints.get("partial_ok"):
        return None
    hints = item.hints
    title = (hints.get("title") or "").strip()
    text = (hints.get("feed_text") or "").strip()
    if not title and not text:
        return None
    return to_article(
        Article(
            url=item.url,
            title=title,
            text=text,
            source=item.source,
            author=hints.get("author"),
            published=hints.get("published"),
            fetched=item.fetched or datetime.now(UTC),
            partial=True,
        ),
        0,
    )


class Ingestor:
    """Runs batches through the pipeline against one store and its derived state."""

    def __init__(self, store: Store, model, vectors, clusterer: StoryClusterer,
                 deduper: Deduper, lock: threading.RLock, max_bytes: int):
        self.store = store
        self.model = model  # embed.binding.ModelBinding
        self.vectors = vectors  # index.keeper.VectorKeeper
        self.clusterer = clusterer
        self.deduper = deduper
        self.lock = lock
        self.max_bytes = max_bytes

    def ingest_items(
        self,
        items: Iterable[Page | Article],
        progress: Progress | None = None,
        batch_size: int = 32,
        result: IngestResult | None = None,
    ) -> IngestResult:
        """Ingest in batches, the model embedding one batch while the batch before it is
        written: a model runs outside the interpreter lock (torch, ONNX Runtime, a server),
        so the write path's own time — dedupe lookups, the index, stories — is hidden
        behind the model's instead of added to it."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        result = result or IngestResult()
        with ThreadPoolExecutor(1, thread_name_prefix="tidings-embed") as embedding:
            written: _Written | None = None
            waiting: tuple[_Prepared, Future] | None = None
            for batch in _batches(items, batch_size):
                prepared = self._prepare(batch, result, progress)
                queued = None
                if prepared is not None:
                    queued = prepared, embedding.submit(
                        self._embed, prepared.articles, prepared.decisions, {})
                if waiting is not None:  # written while the model reads the next batch
                    written = self._commit(*waiting, result, progress, written)
                waiting = queued
            if waiting is not None:
                self._commit(*waiting, result, progress, written)
        return result

    def ingest_batch(
        self, items: list[Page | Article], result: IngestResult, progress: Progress | None
    ) -> None:
        prepared = self._prepare(items, result, progress)
        if prepared is not None:
            vectors = self._embed(prepared.articles, prepared.decisions, {})
            self._commit(prepared, vectors, result, progress, None)

    def _prepare(
        self, items: list[Page | Article], result: IngestResult, progress: Progress | None
    ) -> _Prepared | None:
        """Read the batch into articles and take a first dedupe decision, outside the
        write transaction; None when nothing in it is new."""
        articles: list[Article] = []
        seen: set[str] = set()
        for item in items:
            if item.url in seen or self.store.id_by_url(item.url) is not None:
                _unchanged(result, item.url, progress)
                continue
            try:
                articles.append(to_article(item, self.max_bytes))
            except (NotAnArticle, Unreadable) as exc:
                reason = item.hints.get("fetch_error") if isinstance(item, Page) else None
                reason = reason or str(exc)
                partial = feed_fallback(item, reason)
                if partial is None:
                    outcome = "skipped" if isinstance(exc, NotAnArticle) else "failed"
                    report(result, outcome, item.url, reason, progress)
                    continue
                articles.append(partial)
                result.notes.append(Problem(item.url, f"stored partial from its feed: {reason}"))
            seen.add(item.url)
        if not articles:
            return None
        first_look = self.store.generation()
        return _Prepared(articles, self.deduper.classify_batch(articles), first_look)

    def _commit(
        self,
        prepared: _Prepared,
        vectors: dict[int, np.ndarray] | Future,
        result: IngestResult,
        progress: Progress | None,
        before: _Written | None,
    ) -> _Written:
        """Write one prepared batch in one transaction. `before` is this ingest's own
        previous write: when it is the only one since the batch's first look and shares no
        dedupe key with it, the first decisions still hold."""
        articles, decisions = prepared.articles, prepared.decisions
        if isinstance(vectors, Future):
            vectors = vectors.result()
        # open / catch up the index before taking the write lock: only the changes of the
        # last moment are left to read inside it
        self.vectors.sync()
        with self.lock:
            try:
                with self.store.transaction() as tx:
                    self.vectors.sync(tx)
                    if not _decisions_hold(prepared, tx, before):
                        # another writer, or our own last batch: decide again, in here
                        decisions = self.deduper.classify_batch(articles, tx)
                        vectors = self._embed(articles, decisions, vectors)
                    if vectors:
                        self.model.check_in(tx)
                    self.clusterer.prepare(tx, [_when(a).timestamp() for a in articles])
                    written = self._write(tx, articles, decisions, vectors)
                    failpoint("before-commit")
            except BaseException:
                self.clusterer.invalidate()
                raise
            failpoint("after-commit")
            self.clusterer.committed(tx)
            added = [(a.id, vectors[i]) for i, a in enumerate(articles)
                     if written[i] != "unchanged" and a.duplicate_of is None and i in vectors]
            removed = [d.replaces for i, d in enumerate(decisions)
                       if written[i] != "unchanged" and d.replaces is not None]
            self.vectors.committed(tx, added, removed)
            self.vectors.save_now_and_then()
        for article, outcome in zip(articles, written, strict=True):
            if outcome == "unchanged":
                _unchanged(result, article.url, progress)
                continue
            if outcome == "new":
                result.new += 1
            else:
                result.duplicate += 1
            if progress:
                progress(outcome, article.url)
        keys = set().union(*(_dedupe_keys(a, d) for a, d in zip(articles, decisions, strict=True)))
        return _Written(tx.previous, tx.generation, keys)

    def upgrade(self, pages: list[tuple[int, Page]]) -> dict[int, str | None]:
        """Replace partial articles by their now readable pages, in place (same id, story and
        copies). Returns per article id None when upgraded, else the reason it was not."""
        outcome: dict[int, str | None] = {}
        ready: list[tuple[int, Article]] = []
        for article_id, page in pages:
            try:
                article = to_article(page, self.max_bytes)
            except (NotAnArticle, Unreadable) as exc:
                outcome[article_id] = str(exc)
                continue
            ready.append((article_id, article))
        if not ready:
            return outcome
        stored = self.store.articles([i for i, _ in ready], text=False)
        originals = [(i, a) for i, a in ready if i in stored and stored[i].duplicate_of is None]
        vectors: dict[int, np.ndarray] = {}
        if originals:
            embedded = self.model.embedder.embed_documents([embed_text(a) for _, a in originals])
            vectors = dict(zip([i for i, _ in originals], embedded, strict=True))
        self.vectors.sync()
        with self.lock:
            with self.store.transaction() as tx:
                self.vectors.sync(tx)
                if vectors:
                    self.model.check_in(tx)
                kinds = {}
                for article_id, article in ready:
                    buckets = NearDuplicateKey(article.text).buckets
                    kinds[article_id] = self.store.upgrade_article(
                        tx, article_id, article, buckets, vectors.get(article_id)
                    )
            added = [(i, vectors[i]) for i, kind in kinds.items()
                     if kind == "original" and i in vectors]
            self.vectors.committed(tx, added, [])
        for article_id, kind in kinds.items():
            outcome[article_id] = None if kind else "no longer a partial article"
        return outcome

    def _embed(self, articles, decisions: list[Decision], have: dict[int, np.ndarray]):
        """Vectors of the originals (copies are never embedded); reuses those in `have`."""
        todo = [i for i, d in enumerate(decisions) if d.is_original and i not in have]
        out = {i: have[i] for i, d in enumerate(decisions) if d.is_original and i in have}
        if todo:
            embedded = self.model.embedder.embed_documents([embed_text(articles[i]) for i in todo])
            out.update(zip(todo, embedded, strict=True))
        return out

    def _write(self, tx: Transaction, articles: list[Article], decisions: list[Decision],
               vectors: dict[int, np.ndarray]) -> list[str]:
        """Insert the batch; returns each article's outcome: new, duplicate or unchanged."""
        store = self.store
        stored_ids: list[int | None] = []
        outcomes: list[str] = []
        for i, (article, d) in enumerate(zip(articles, decisions, strict=True)):
            existing = store.id_by_url(article.url, tx)
            if existing is not None:  # another writer stored it after our first look
                stored_ids.append(store.root_of(existing, tx))
                outcomes.append("unchanged")
                continue
            if d.original_pending is not None:
                d.original = stored_ids[d.original_pending]
            root = store.root_of(d.replaces, tx) if d.replaces is not None else None
            if root is not None and root != d.replaces:
                # an earlier article of this batch already took that original's place:
                # this one is a copy of it, not a second original
                d.original, d.replaces = root, None
            if d.original is not None:
                article.duplicate_of = store.root_of(d.original, tx)
                article.story_id = _story_of(store, article.duplicate_of, tx)
                vector = None
            else:
                vector = vectors[i]
                if d.replaces is not None:
                    article.story_id = _story_of(store, d.replaces, tx)
                else:
                    article.story_id = self.clusterer.assign(
                        tx, vector, _when(article), article.title, article.text
                    )
            buckets = d.near.buckets if d.near is not None else ()
            article_id = store.insert_article(tx, article, d.url_key, buckets, vector)
            if article_id is None:  # lost a race on the URL inside SQLite itself
                stored_ids.append(store.root_of(store.id_by_url(article.url, tx), tx))
                outcomes.append("unchanged")
                continue
            article.id = article_id
            if d.replaces is not None:
                store.demote(tx, d.replaces, article_id)
            stored_ids.append(article_id if article.duplicate_of is None else article.duplicate_of)
            outcomes.append("duplicate" if d.is_copy or d.replaces is not None else "new")
        return outcomes


@dataclass
class _Prepared:
    articles: list[Article]
    decisions: list[Decision]
    first_look: int  # the generation the decisions were taken at


@dataclass
class _Written:
    previous: int  # generations around the transaction
    generation: int
    keys: set[tuple[str, str]]  # the dedupe keys its articles can be found by


def _batches(items: Iterable[Page | Article], size: int) -> Iterator[list[Page | Article]]:
    batch: list[Page | Article] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _dedupe_keys(article: Article, d: Decision) -> set[tuple[str, str]]:
    """What dedupe looks a stored article up by (Deduper._classify): its URL keys, its
    content hash, its near-duplicate bands."""
    keys = {("url", d.url_key), ("url", canonical_url(article.url)),
            ("hash", article.content_hash or "")}
    keys.update(("band", str(b)) for b in (d.near.buckets if d.near is not None else ()))
    return keys


def _decisions_hold(prepared: _Prepared, tx: Transaction, before: _Written | None) -> bool:
    """Whether decisions taken at `prepared.first_look` still hold inside `tx`: nothing was
    written since, or only `before` (this ingest's previous batch), which none of the
    batch's articles could find as a candidate."""
    if tx.previous == prepared.first_look:
        return True
    if before is None or (before.previous, before.generation) != (prepared.first_look,
                                                                   tx.previous):
        return False
    return not any(_dedupe_keys(a, d) & before.keys
                   for a, d in zip(prepared.articles, prepared.decisions, strict=True))


def _when(article: Article) -> datetime:
    return article.published or article.fetched or datetime.now(UTC)


def _story_of(store: Store, article_id: int, tx) -> int | None:
    found = store.articles([article_id], tx, text=False).get(article_id)
    return found.story_id if found else None


def _unchanged(result: IngestResult, url: str, progress: Progress | None) -> None:
    result.unchanged += 1
    if progress:
        progress("unchanged", url)
