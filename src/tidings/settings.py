"""The one declarative settings table: defaults, `TIDINGS_*` environment, optional TOML file."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str
    type: type
    default: Any
    help: str

    @property
    def env(self) -> str:
        return "TIDINGS_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("data_dir", str, "./data", "Directory holding the database and index files."),
    Setting(
        "database_url",
        str,
        "",
        "Database URL; empty means SQLite at DATA_DIR/tidings.db; sqlite:///path; "
        "postgresql://… is PostgreSQL with pgvector (pip install 'tidings[postgres]').",
    ),
    Setting(
        "database_read_urls",
        str,
        "",
        "PostgreSQL only: comma-separated URLs of streaming read replicas of DATABASE_URL. "
        "Reads go to a replica that has replayed this process's writes, else to the primary; "
        "writes always go to the primary; a replica that fails is skipped (with a warning).",
    ),
    Setting(
        "model",
        str,
        "bundled:all-MiniLM-L6-v2",
        "Embedding model: 'bundled:all-MiniLM-L6-v2', a local path or a hub id.",
    ),
    Setting(
        "embed_backend",
        str,
        "sentence-transformers",
        "Embedder backend name or dotted path to an Embedder subclass.",
    ),
    Setting(
        "query_prompt",
        str,
        "",
        "Prefix added to search queries only, e.g. Qwen3-Embedding's "
        "'Instruct: Given a news search query, retrieve relevant articles\\nQuery:'.",
    ),
    Setting("document_prompt", str, "", "Prefix added to documents before embedding."),
    Setting("truncate_dim", int, 0, "Matryoshka truncation of embeddings; 0 keeps the full size."),
    Setting("embed_batch_size", int, 32, "Texts per embedding batch."),
    Setting("max_seq_length", int, 256, "Tokens per document seen by the model (0 = model's own)."),
    Setting("device", str, "cpu", "Torch device for sentence-transformers."),
    Setting(
        "embed_quantize",
        str,
        "none",
        "onnx backend: 'none' (fp32, the torch model's vectors) or 'int8' (dynamic int8 "
        "MatMuls; a model id of its own, so switching needs `tidings reembed`).",
    ),
    Setting(
        "embed_cache_dir",
        str,
        "",
        "Where the onnx backend keeps its exported models; empty means DATA_DIR/models.",
    ),
    Setting("embed_threads", int, 0, "onnx backend: ONNX Runtime threads (0 = one per core)."),
    Setting(
        "embed_url",
        str,
        "",
        "openai backend: base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1.",
    ),
    Setting("embed_api_key", str, "", "openai backend: API key sent as a Bearer token."),
    Setting("embed_timeout", float, 60.0, "openai backend: seconds allowed for one request."),
    Setting(
        "embed_retries",
        int,
        4,
        "openai backend: retries of a request after a 429, a 5xx, a timeout or a dropped "
        "connection (exponential backoff with jitter).",
    ),
    Setting(
        "index_dtype",
        str,
        "f16",
        "usearch vector dtype: f16 (half the memory of f32 at the same recall), f32 or i8.",
    ),
    Setting(
        "index_expansion",
        int,
        256,
        "usearch expansion_search: candidates kept while searching (higher: better recall, "
        "slower).",
    ),
    Setting(
        "story_threshold",
        float,
        0.45,
        "Score (cosine to the story centroid plus the name term) needed to join a story.",
    ),
    Setting(
        "story_name_weight",
        float,
        0.3,
        "Weight of shared names (capitalised words) next to cosine similarity in clustering.",
    ),
    Setting(
        "story_short_text_margin",
        float,
        0.09,
        "How much lower the join threshold is for a headline alone (scaled down as the body "
        "grows to 50 words): short texts' embeddings agree less.",
    ),
    Setting(
        "story_window_days", float, 30.0, "Only stories active within this many days are joined."
    ),
    Setting(
        "story_merge_threshold",
        float,
        0.55,
        "Score (centroid cosine plus the name term) at which a story absorbs a close one "
        "(fragments of one event); 0.15 more on full texts; 0 turns merging off.",
    ),
    Setting(
        "near_duplicate_threshold",
        float,
        0.8,
        "Estimated Jaccard similarity of word shingles above which text is a near-duplicate.",
    ),
    Setting("related_limit", int, 10, "Default number of related articles."),
    Setting("search_limit", int, 20, "Default number of search results."),
    Setting(
        "user_agent",
        str,
        "Tidings/0.1 (+https://github.com/tidings/tidings)",
        "User-Agent sent when fetching.",
    ),
    Setting("fetch_timeout", float, 20.0, "Seconds allowed for one HTTP fetch, start to end."),
    Setting("fetch_max_bytes", int, 10 * 1024 * 1024, "Largest response body accepted (decoded)."),
    Setting(
        "fetch_allow_private",
        bool,
        False,
        "Allow fetching private and loopback addresses (needed for local demos).",
    ),
    Setting("fetch_per_host_interval", float, 1.0, "Minimum seconds between requests to one host."),
    Setting("fetch_respect_robots", bool, True, "Honour robots.txt."),
    Setting(
        "poll_min_interval",
        float,
        300.0,
        "Seconds: the soonest a feed is checked again, whatever its rate or cache headers.",
    ),
    Setting(
        "poll_max_interval",
        float,
        86400.0,
        "Seconds: the longest a feed waits between checks (also the retry pace of a feed "
        "that keeps failing).",
    ),
    Setting("poll_max_entries", int, 100, "New entries taken from one feed per check."),
    Setting("poll_workers", int, 8, "Feeds checked at once."),
    Setting("poll_per_host", int, 2, "Feeds of one host checked at once."),
    Setting(
        "poll_in_serve", bool, True, "`tidings serve` polls subscribed feeds in the background."
    ),
    Setting("host", str, "127.0.0.1", "Address `tidings serve` binds to."),
    Setting("port", int, 8000, "Port `tidings serve` listens on."),
    Setting(
        "workers",
        int,
        1,
        "Processes `tidings serve` answers requests with (each its own engine and model on "
        "the same database; the poller runs once, in the parent). One per core.",
    ),
    Setting("site_title", str, "Tidings", "Name of the reader site, shown in every page header."),
    Setting(
        "comment_moderation",
        str,
        "new",
        "Comments held for approval: 'new' (until one of the commenter's is approved), "
        "'all' or 'none'.",
    ),
    Setting("comment_anonymous", bool, True, "Allow comments without signing in."),
    Setting("comment_max_length", int, 4000, "Longest comment accepted, in characters."),
    Setting(
        "comment_rate_limit", int, 5, "Comments one client or account may post per 10 minutes."
    ),
    Setting(
        "login_attempts", int, 5, "Failed sign-ins allowed per client per 15 minutes."
    ),
    Setting("session_days", float, 30.0, "Days a sign-in lasts."),
    Setting(
        "visit_window_minutes",
        float,
        30.0,
        "Repeat views of an article by one visitor within this many minutes count once.",
    ),
    Setting(
        "excerpt_sources",
        str,
        "",
        "Comma-separated outlet names whose articles are shown as an excerpt only (the full "
        "text stays one click away, at the source).",
    ),
    Setting(
        "saved_search_similarity",
        float,
        0.3,
        "A new article matches a saved (semantic or hybrid) search when its cosine similarity "
        "to the query reaches this.",
    ),
    Setting(
        "webhook_retries",
        int,
        5,
        "Attempts to deliver a saved search's webhook before giving up (backoff doubles).",
    ),
    Setting("webhook_backoff", float, 2.0, "Seconds before a webhook's first retry."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def _coerce(setting: Setting, value: Any) -> Any:
    if setting.type is bool and isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off", ""}:
            return False
        raise ValueError(f"setting {setting.name}: expected a boolean, got {value!r}")
    try:
        return setting.type(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"setting {setting.name}: expected {setting.type.__name__}, got {value!r}"
        ) from exc


class Settings:
    """Resolved settings: defaults < TOML file < environment < explicit overrides."""

    def __init__(self, values: dict[str, Any]):
        self._values = values

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)

    def replace(self, **overrides: Any) -> Settings:
        values = dict(self._values)
        for name, value in overrides.items():
            if name not in _BY_NAME:
                raise ValueError(f"unknown setting {name!r}")
            values[name] = _coerce(_BY_NAME[name], value)
        return Settings(values)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser()

    @classmethod
    def load(
        cls,
        config_file: str | Path | None = None,
        env: dict[str, str] | None = None,
        **overrides: Any,
    ) -> Settings:
        env = dict(os.environ) if env is None else env
        values = {s.name: s.default for s in SETTINGS}
        config_file = config_file or env.get("TIDINGS_CONFIG")
        if config_file:
            with open(config_file, "rb") as fh:
                table = tomllib.load(fh)
            table = table.get("tidings", table)
            for name, value in table.items():
                if name not in _BY_NAME:
                    raise ValueError(f"{config_file}: unknown setting {name!r}")
                values[name] = _coerce(_BY_NAME[name], value)
        for setting in SETTINGS:
            if setting.env in env:
                values[setting.name] = _coerce(setting, env[setting.env])
        settings = cls(values)
        return settings.replace(**{k: v for k, v in overrides.items() if v is not None})
