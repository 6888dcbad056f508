"""The `tidings` command: thin wrappers that parse arguments and call the Engine."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from typing import Any

import click

from .settings import Settings


def _settings(ctx: click.Context, **overrides: Any) -> Settings:
    obj = ctx.find_root().obj
    return Settings.load(obj["config"], data_dir=obj["data_dir"], **overrides)


def _engine(ctx: click.Context, **overrides: Any):
    from .embed import EmbedderError
    from .engine import Engine
    from .store import StoreError

    try:
        return Engine(_settings(ctx, **overrides))
    except (EmbedderError, StoreError, NotImplementedError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


class _Group(click.Group):
    def invoke(self, ctx: click.Context):
        from .embed import EmbedderError

        try:
            return super().invoke(ctx)
        except EmbedderError as exc:
            # e.g. an embedding server that is down: what was committed before stays stored
            raise click.ClickException(f"embedding failed: {exc}") from exc


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    envvar="TIDINGS_DATA_DIR",
    default=None,
    help="Directory of the database and indexes (default ./data).",
)
@click.option(
    "--config",
    envvar="TIDINGS_CONFIG",
    default=None,
    type=click.Path(exists=True, dir_okay=False),
    help="TOML settings file.",
)
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
@click.version_option(package_name="tidings")
@click.pass_context
def main(ctx: click.Context, data_dir: str | None, config: str | None, verbose: int) -> None:
    """Tidings: a self-hosted semantic news aggregator."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore", "sentence_transformers", "trafilatura", "urllib3"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    ctx.obj = {"data_dir": data_dir, "config": config}


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option(
    "--allow-private",
    is_flag=True,
    default=None,
    help="Allow fetching private and loopback addresses.",
)
@click.pass_context
def ingest(
    ctx: click.Context, inputs: tuple[str, ...], as_json: bool, allow_private: bool | None
) -> None:
    """Ingest HTML files, .html.gz, directories, JSONL files, page URLs and feed URLs."""
    engine = _engine(ctx, fetch_allow_private=allow_private)
    show_bar = sys.stderr.isatty() and not as_json
    with engine:
        if show_bar:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            counts = {"new": 0, "duplicate": 0, "unchanged": 0, "skipped": 0, "failed": 0}
            with Progress(
                TextColumn("ingesting"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                transient=True,
            ) as bar:
                task = bar.add_task("", total=None)

                def progress(outcome: str, item: str) -> None:
                    counts[outcome] = counts.get(outcome, 0) + 1
                    bar.update(
                        task,
                        advance=1,
                        description=" ".join(f"{k} {v}" for k, v in counts.items() if v),
                    )

                result = engine.ingest(inputs, progress=progress)
        else:
            result = engine.ingest(inputs)
        stats = engine.stats()
    if as_json:
        _print_json({**result.to_dict(), "database": stats})
        return
    click.echo(
        f"ingested: {result.new} new, {result.duplicate} duplicate, "
        f"{result.unchanged} unchanged, {len(result.skipped)} not articles, "
        f"{len(result.failed)} failed"
    )
    for kind, problems in (
        ("skipped", result.skipped), ("failed", result.failed), ("note", result.notes)
    ):
        for item, reason in problems:
            click.echo(f"  {kind}: {item}: {reason}")
    for kind, count in result.ignored.items():
        click.echo(f"  ignored: {count} {kind}")
    click.echo(
        f"database: {stats['originals']} articles ({stats['duplicates']} copies folded), "
        f"{stats['stories']} stories"
    )


@main.command()
@click.argument("source")
@click.option("--json", "as_json", is_flag=True, help="Print the Article as JSON.")
@click.option("--allow-private", is_flag=True, default=None)
@click.pass_context
def extract(ctx: click.Context, source: str, as_json: bool, allow_private: bool | None) -> None:
    """Extract one article from an HTML file or URL (nothing is stored)."""
    from .pipeline import Unreadable
    from .sources.http import FetchError

    with _engine(ctx, fetch_allow_private=allow_private) as engine:
        try:
            article = engine.extract(source)
        except (FetchError, Unreadable, ValueError) as exc:
            raise click.ClickException(f"{source}: {exc}") from exc
    if as_json:
        _print_json(article.to_dict())
    else:
        click.echo(f"{article.title}\n{article.author or ''} {article.published or ''}\n")
        click.echo(article.text)


def _print_hits(hits, as_json: bool) -> None:
    if as_json:
        _print_json([hit.to_dict() for hit in hits])
        return
    if not hits:
        click.echo("no results")
    for hit in hits:
        a = hit.article
        date = a.published.date().isoformat() if a.published else "          "
        mark = " [same story]" if hit.same_story else ""
        click.echo(f"{a.id:>6}  {hit.score:.3f}  {date}  {a.source or '':<22.22} {a.title}{mark}")
        if hit.also_published_by:
            click.echo(f"{'':>32}also published by: {', '.join(hit.also_published_by)}")
        if hit.shared:
            click.echo(f"{'':>32}also mentions: {', '.join(hit.shared)}")


@main.command()
@click.argument("query")
@click.option("--mode", type=click.Choice(["hybrid", "keyword", "semantic"]), default="hybrid")
@click.option("--limit", type=click.IntRange(1, 1000), default=None)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def search(ctx: click.Context, query: str, mode: str, limit: int | None, as_json: bool) -> None:
    """Search articles by keywords, meaning, or both."""
    with _engine(ctx) as engine:
        _print_hits(engine.search(query, mode=mode, limit=limit), as_json)


@main.command()
@click.argument("article_id", type=click.IntRange(1, 2**63 - 1))
@click.option("--limit", type=click.IntRange(1, 1000), default=None)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def related(ctx: click.Context, article_id: int, limit: int | None, as_json: bool) -> None:
    """Articles related by meaning to ARTICLE_ID (its own copies excluded)."""
    with _engine(ctx) as engine:
        try:
            hits = engine.related(article_id, limit=limit)
        except KeyError:
            raise click.ClickException(f"no article with id {article_id}") from None
        _print_hits(hits, as_json)


@main.command()
@click.option("--limit", type=click.IntRange(1, 10_000), default=50)
@click.option(
    "--min-size", type=click.IntRange(1, 2**63 - 1), default=1,
    help="Only stories with this many articles.",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def stories(ctx: click.Context, limit: int, min_size: int, as_json: bool) -> None:
    """Stories, most recently active first."""
    with _engine(ctx) as engine:
        found = engine.stories(limit=limit, min_size=min_size)
        if as_json:
            _print_json([s.to_dict() for s in found])
            return
        for s in found:
            last = s.last_seen.date().isoformat() if s.last_seen else ""
            click.echo(f"{s.id:>5}  {s.size:>3} articles  {last}  {s.label}")


@main.command()
@click.option("--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl")
@click.pass_context
def export(ctx: click.Context, fmt: str) -> None:
    """Every article, one JSON object per line."""
    with _engine(ctx) as engine:
        for row in engine.export():
            click.echo(json.dumps(row, ensure_ascii=False))


@main.command()
@click.pass_context
def reindex(ctx: click.Context) -> None:
    """Rebuild the vector and keyword indexes from the database."""
    with _engine(ctx) as engine:
        counts = engine.reindex()
    click.echo(f"reindexed: {counts['vectors']} vectors, {counts['keyword']} keyword documents")


@main.command()
@click.pass_context
def reembed(ctx: click.Context) -> None:
    """Re-embed every article with the configured model (after changing models)."""
    from .embed import EmbedderError
    from .engine import Engine

    try:
        with Engine(_settings(ctx), check_model=False) as engine:
            done = engine.reembed()
    except EmbedderError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"re-embedded {done} articles")


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--engine", "engine_kind", type=click.Choice(["local", "ray"]), default="local",
              show_default=True, help="Run the stages in this process, or as Ray Data stages.")
@click.option("--address", default=None, help="Ray cluster address (default: a local Ray).")
@click.option("--actors", type=click.IntRange(min=1), default=1, show_default=True,
              help="Embedding actors (--engine ray).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def backfill(ctx: click.Context, paths: tuple[str, ...], engine_kind: str, address: str | None,
             actors: int, as_json: bool) -> None:
    """Bulk-load JSONL files, WARC files and directories of HTML; resumable."""
    import time

    from .scale import BackfillError, run_backfill

    last = [0.0]

    def progress(result) -> None:
        now = time.monotonic()
        if not as_json and now - last[0] >= 5:
            last[0] = now
            r = result.ingest
            click.echo(f"backfill: {result.pages} pages: {r.new} new, {r.duplicate} copies, "
                       f"{r.unchanged} unchanged, {len(r.skipped)} not articles, "
                       f"{len(r.failed)} failed", err=True)

    with _engine(ctx) as engine:
        try:
            result = run_backfill(engine, list(paths), engine_kind, address, actors=actors,
                                  progress=progress)
        except BackfillError as exc:
            raise click.ClickException(str(exc)) from exc
        stats = engine.stats()
    if as_json:
        _print_json({**result.to_dict(), "database": stats})
        return
    summary = result.to_dict()
    click.echo(
        f"backfilled {result.pages} pages in {result.seconds:.1f}s "
        f"({summary['pages_per_second']} pages/s, peak RSS {summary['peak_rss_mib']} MiB): "
        f"{result.ingest.new} new, {result.ingest.duplicate} copies, "
        f"{result.ingest.unchanged} unchanged, {len(result.ingest.skipped)} not articles, "
        f"{len(result.ingest.failed)} failed, {sum(result.ingest.ignored.values())} ignored; "
        f"{result.shards - result.shards_done_before} of {result.shards} shards read"
    )
    r = result.ingest
    for kind, problems in (("skipped", r.skipped), ("failed", r.failed), ("note", r.notes)):
        for item, reason in problems[:20]:
            click.echo(f"  {kind}: {item}: {reason}")
        if len(problems) > 20:
            click.echo(f"  … and {len(problems) - 20} more {kind}")
    for kind, count in r.ignored.items():
        click.echo(f"  ignored: {count} {kind}")
    click.echo(
        f"database: {stats['originals']} articles ({stats['duplicates']} copies folded), "
        f"{stats['stories']} stories"
    )


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def stats(ctx: click.Context, as_json: bool) -> None:
    """Counts of articles, copies, stories and indexed vectors."""
    with _engine(ctx) as engine:
        data = engine.stats()
    if as_json:
        _print_json(data)
    else:
        for key, value in data.items():
            click.echo(f"{key}: {value}")


@main.group()
def users() -> None:
    """Reader accounts: add, list, remove, API passwords for reader apps."""


def _read_password(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:
            raise click.ClickException("no password on standard input")
        return line.rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@users.command("add")
@click.argument("name")
@click.option("--admin", is_flag=True, help="May moderate comments, add feeds and accounts.")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password as one line from standard input."
)
@click.pass_context
def users_add(ctx: click.Context, name: str, admin: bool, password_stdin: bool) -> None:
    """Create an account (asks for its password twice on a terminal)."""
    from .readers import AccountError

    password = _read_password(password_stdin)
    with _engine(ctx) as engine:
        try:
            account = engine.readers.accounts.add(name, password, admin=admin)
        except AccountError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"added {account.role} {account.name}")


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def users_list(ctx: click.Context, as_json: bool) -> None:
    """Accounts with their role."""
    with _engine(ctx) as engine:
        found = engine.readers.accounts.list()
    if as_json:
        _print_json([{"name": a.name, "role": a.role, "created": a.created} for a in found])
        return
    for a in found:
        created = a.created.date().isoformat() if a.created else ""
        click.echo(f"{a.name:<24} {a.role:<7} {created}")


@users.command("api-password")
@click.argument("name")
@click.pass_context
def users_api_password(ctx: click.Context, name: str) -> None:
    """Set the password reader apps sign in with (Google Reader API, Fever), apart from the
    account's own (asks twice on a terminal, reads one line from standard input otherwise)."""
    password = _read_password(False)
    with _engine(ctx) as engine:
        try:
            account = engine.readers.api_passwords.set_by_name(name, password)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"API password set for {account.name}")


@users.command("feed-url")
@click.argument("name")
@click.argument("stream")
@click.option("--format", "fmt", type=click.Choice(["atom", "rss", "json"]), default="atom")
@click.pass_context
def users_feed_url(ctx: click.Context, name: str, stream: str, fmt: str) -> None:
    """The secret path of an account's own feed (needs an API password; a new API password
    changes it). A saved search's feed is search-<id> (see `tidings searches list`)."""
    from .sync.feeds import PRIVATE, private_path

    if stream not in PRIVATE and not re.fullmatch(r"search-\d{1,18}", stream):
        raise click.BadParameter(f"use one of {', '.join(PRIVATE)} or search-<id>")
    with _engine(ctx) as engine:
        passwords = engine.readers.api_passwords
        account = passwords.account_named(name)
        token = passwords.stream_token(account, stream) if account else None
    if account is None or token is None:
        raise click.ClickException(f"{name!r}: no such account, or it has no API password")
    click.echo(private_path(account.name, stream, token, fmt))


@users.command("remove")
@click.argument("name")
@click.pass_context
def users_remove(ctx: click.Context, name: str) -> None:
    """Remove an account, its sessions and its marks (its comments stay, unattributed)."""
    with _engine(ctx) as engine:
        if not engine.readers.accounts.remove(name):
            raise click.ClickException(f"no account named {name!r}")
    click.echo(f"removed {name}")


@main.command()
@click.option("--host", default=None, help="Bind address (default 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="Port (default 8000).")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Processes answering requests (default 1; one per core).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the reader site and the JSON API (OpenAPI docs at /docs). With no admin account
    yet, prints a one-time link that creates one."""
    import uvicorn

    from .api import create_app
    from .api.workers import SETTINGS_ENV

    settings = _settings(ctx, host=host, port=port, workers=workers)
    engine = _engine(ctx, host=host, port=port, workers=workers)
    base = f"http://{settings.host}:{settings.port}"
    if settings.workers == 1:
        engine.warm()
    polling = engine.start_polling() if settings.poll_in_serve else None
    click.echo(
        f"Tidings serving {engine.stats()['originals']} articles at {base}/  (API docs: /docs)"
        + (f" with {settings.workers} worker processes" if settings.workers > 1 else "")
        + ("; polling subscribed feeds" if polling else "")
    )
    token = engine.readers.accounts.setup_token()  # None once an admin exists
    if token:
        click.echo(f"No admin account yet. Create one (this link works once): "
                   f"{base}/setup?token={token}")
    try:
        if settings.workers == 1:
            uvicorn.run(
                create_app(engine), host=settings.host, port=settings.port, log_level="warning"
            )
        else:  # this process polls; the workers, each with its own engine, answer
            os.environ[SETTINGS_ENV] = json.dumps(settings.as_dict())
            uvicorn.run(
                "tidings.api.workers:worker_app", factory=True, workers=settings.workers,
                host=settings.host, port=settings.port, log_level="warning",
            )
    finally:
        if polling:
            polling.stop()
        engine.close()


# --- subscriptions, polling, tokens -------------------------------------------------


def _when(value: str | None) -> str:
    return value.replace("+00:00", "Z") if value else "-"


@main.group()
def feeds() -> None:
    """Subscribed feeds: add, list, remove, OPML import and export."""


@feeds.command("add")
@click.argument("url")
@click.option("--category", default=None, help="Category (folder) of the feed.")
@click.option("--title", default=None, help="Title to show instead of the feed's own.")
@click.option("--allow-private", is_flag=True, default=None)
@click.pass_context
def feeds_add(
    ctx: click.Context, url: str, category: str | None, title: str | None,
    allow_private: bool | None,
) -> None:
    """Subscribe to a feed URL, or to the feed a site URL announces."""
    with _engine(ctx, fetch_allow_private=allow_private) as engine:
        try:
            feed, created = engine.subscriptions.add(url, category=category, title=title)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    verb = "subscribed to" if created else "already subscribed to"
    click.echo(f"{verb} {feed['title']} <{feed['url']}> (id {feed['id']})")


@feeds.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def feeds_list(ctx: click.Context, as_json: bool) -> None:
    """Subscribed feeds with their last and next check, status, errors and entries."""
    with _engine(ctx) as engine:
        found = engine.subscriptions.list()
    if as_json:
        _print_json(found)
        return
    if not found:
        click.echo("no feeds; add one with `tidings feeds add URL`")
    for f in found:
        state = "disabled" if not f["enabled"] else (str(f["last_status"] or "-"))
        click.echo(
            f"{f['id']:>4}  {f['title'][:40]:<40}  {f['category'] or '':<12.12}  "
            f"{f['entries']:>5} entries  status {state}  checked {_when(f['checked_at'])}  "
            f"next {_when(f['next_check'])}"
        )
        click.echo(f"      {f['url']}")
        if f["error_count"] or f["last_error"]:
            click.echo(f"      {f['error_count']} errors in a row: {f['last_error']}")


@feeds.command("remove")
@click.argument("feed")
@click.pass_context
def feeds_remove(ctx: click.Context, feed: str) -> None:
    """Unsubscribe from FEED (an id or URL); its articles stay."""
    _remove(ctx, lambda engine: engine.subscriptions.remove(feed), f"no subscribed feed {feed}",
            f"unsubscribed from {feed}")


def _remove(ctx: click.Context, remove, missing: str, done: str) -> None:
    with _engine(ctx) as engine:
        if not remove(engine):
            raise click.ClickException(missing)
    click.echo(done)


@feeds.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def feeds_import(ctx: click.Context, path: str, as_json: bool) -> None:
    """Subscribe to every feed of an OPML file (folders become categories)."""
    from .sources.opml import OpmlError

    with open(path, "rb") as fh:
        content = fh.read()
    with _engine(ctx) as engine:
        try:
            summary = engine.subscriptions.import_opml(content)
        except OpmlError as exc:
            raise click.ClickException(f"{path}: {exc}") from None
    if as_json:
        _print_json(summary)
        return
    click.echo(
        f"imported: {summary['added']} new feeds, {summary['existing']} already subscribed, "
        f"{len(summary['failed'])} refused"
    )
    for problem in summary["failed"]:
        click.echo(f"  refused: {problem['item']}: {problem['reason']}")


@feeds.command("export")
@click.pass_context
def feeds_export(ctx: click.Context) -> None:
    """Print the subscriptions as OPML 2.0."""
    with _engine(ctx) as engine:
        click.echo(engine.subscriptions.export_opml(), nl=False)


@main.command()
@click.option("--once", is_flag=True, help="One cycle over the due feeds, then exit.")
@click.option("--all", "all_feeds", is_flag=True, help="With --once: every feed, due or not.")
@click.option("--json", "as_json", is_flag=True, help="With --once: print the report as JSON.")
@click.option("--allow-private", is_flag=True, default=None)
@click.pass_context
def poll(
    ctx: click.Context, once: bool, all_feeds: bool, as_json: bool, allow_private: bool | None
) -> None:
    """Check subscribed feeds when they are due and ingest their new entries."""
    with _engine(ctx, fetch_allow_private=allow_private) as engine:
        progress = _poll_progress() if sys.stderr.isatty() and not as_json else None
        if not once:
            click.echo("polling subscribed feeds; Ctrl-C stops", err=True)
            polling = engine.start_polling()
            try:
                while polling.alive:
                    polling.wait(1.0)
            except KeyboardInterrupt:
                click.echo("stopping after the current feed…", err=True)
            finally:
                polling.stop()
            return
        report = engine.poll(progress, all_feeds=all_feeds)
    if as_json:
        _print_json(report.to_dict())
        return
    click.echo(
        f"polled {report.checked} feeds: {report.updated} updated, {report.not_modified} "
        f"not modified, {report.failed} failed, {report.disabled} disabled, "
        f"{report.moved} moved; {report.entries} new entries "
        f"({report.partial} partial), {report.upgraded} partial articles upgraded"
    )
    for url, reason in report.errors:
        click.echo(f"  error: {url}: {reason}")


def _poll_progress():
    def progress(outcome: str, item: str) -> None:
        click.echo(f"{outcome:>12}  {item}", err=True)

    return progress


@main.group()
def tokens() -> None:
    """API tokens for the REST API's write endpoints."""


@tokens.command("create")
@click.argument("name")
@click.pass_context
def tokens_create(ctx: click.Context, name: str) -> None:
    """Create a token and print it (only a hash of it is stored: keep it now)."""
    with _engine(ctx) as engine:
        try:
            token = engine.readers.tokens.create(name)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(token)


@tokens.command("list")
@click.pass_context
def tokens_list(ctx: click.Context) -> None:
    """Token names and when they were created (the tokens themselves are not stored)."""
    with _engine(ctx) as engine:
        for token in engine.readers.tokens.list():
            click.echo(f"{token['name']}  created {_when(token['created_at'])}")


@tokens.command("revoke")
@click.argument("name")
@click.pass_context
def tokens_revoke(ctx: click.Context, name: str) -> None:
    """Revoke the token called NAME."""
    _remove(ctx, lambda engine: engine.readers.tokens.revoke(name), f"no token named {name}",
            f"revoked {name}")


@main.group()
def db() -> None:
    """The database itself: move an archive between SQLite and PostgreSQL."""


@db.command("copy")
@click.option("--from", "source", required=True, help="sqlite:///path or postgresql://…")
@click.option("--to", "target", required=True, help="sqlite:///path or postgresql://…")
@click.option("--batch", type=click.IntRange(1, 100_000), default=2000, show_default=True)
@click.option("--no-verify", is_flag=True, help="Skip comparing counts and checksums.")
@click.pass_context
def db_copy(ctx: click.Context, source: str, target: str, batch: int, no_verify: bool) -> None:
    """Copy every table (ids, vectors, stories, readers' state) into an empty database, then
    compare counts and checksums. Interrupted, run it again: it goes on where it stopped.
    Stop the processes writing the source first."""
    from pathlib import Path

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from .store import StoreError, open_store
    from .store.copy import copy_database

    data_dir = Path(_settings(ctx).data_path)
    try:
        stores = [open_store(url, data_dir) for url in (source, target)]
    except (StoreError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    tasks: dict[str, int] = {}
    try:
        with Progress(TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(),
                      transient=False) as bar:

            def progress(table: str, done: int, total: int) -> None:
                if table not in tasks:
                    tasks[table] = bar.add_task(table, total=total)
                bar.update(tasks[table], completed=done)

            report = copy_database(*stores, batch=batch, progress=progress,
                                   verify=not no_verify)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        for opened in stores:
            opened.close()
    for table, figures in report.items():
        if "source" in figures:
            rows, digest = figures["target"]
            click.echo(f"{table:<16} {rows:>10} rows  sha256 {digest[:16]}  matches the source")
    click.echo("copied" + ("" if no_verify else "; counts and checksums match"))


if __name__ == "__main__":  # pragma: no cover
    main()


# --- saved searches -----------------------------------------------------------------


@main.group()
def searches() -> None:
    """Saved searches: new matching articles join their stream as they are ingested."""


def _searches_account(engine, name: str):
    found = [a for a in engine.readers.accounts.list() if a.name.lower() == name.lower()]
    if not found:
        raise click.ClickException(f"no account named {name!r}")
    return found[0]


@searches.command("add")
@click.argument("account")
@click.argument("name")
@click.argument("query")
@click.option("--mode", type=click.Choice(["hybrid", "keyword", "semantic"]), default="hybrid")
@click.option("--category", default=None, help="Only articles of feeds in this category.")
@click.option("--feed", "feed_id", type=click.IntRange(1), default=None, help="Only this feed.")
@click.option("--webhook", default=None, help="POST new matches to this URL (HMAC-signed).")
@click.pass_context
def searches_add(ctx, account, name, query, mode, category, feed_id, webhook) -> None:
    """Save a search for ACCOUNT; reader apps see it as the label "Search: NAME"."""
    from .readers.searches import SearchError

    with _engine(ctx) as engine:
        try:
            saved = engine.saved_searches.add(
                _searches_account(engine, account), name, query, mode, category, feed_id, webhook
            )
        except SearchError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"saved search {saved['id']} {saved['name']!r}: {saved['matches']} matches")
    if saved["webhook_secret"]:
        click.echo(f"webhook signing secret (shown once): {saved['webhook_secret']}")


@searches.command("list")
@click.argument("account")
@click.pass_context
def searches_list(ctx, account) -> None:
    """An account's saved searches with how many articles each matched."""
    with _engine(ctx) as engine:
        found = engine.saved_searches.list(_searches_account(engine, account))
    for s in found:
        hook = f"  webhook {s['webhook_url']}" if s["webhook_url"] else ""
        click.echo(f"{s['id']:>5} {s['name']:<24} {s['mode']:<8} {s['matches']:>6}  "
                   f"{s['query']}{hook}")


@searches.command("remove")
@click.argument("account")
@click.argument("name")
@click.pass_context
def searches_remove(ctx, account, name) -> None:
    with _engine(ctx) as engine:
        who = _searches_account(engine, account)
        found = engine.saved_searches.by_name(who, name)
        if found is None or not engine.saved_searches.remove(who, found["id"]):
            raise click.ClickException(f"{account} has no saved search named {name!r}")
    click.echo(f"removed {name}")
