"""robots.txt rules (RFC 9309): groups per user agent, wildcards, longest match wins."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class _Group:
    agents: list[str] = field(default_factory=list)
    rules: list[tuple[bool, str]] = field(default_factory=list)  # (allow, pattern)
    crawl_delay: float | None = None


@dataclass
class RobotsRules:
    """The rules of one robots.txt that apply to one user agent."""

    rules: list[tuple[bool, str]] = field(default_factory=list)
    crawl_delay: float | None = None
    disallow_all: bool = False  # robots.txt unreachable (5xx, network): RFC 9309 §2.3.1.4

    @classmethod
    def allow_all(cls) -> RobotsRules:
        return cls()

    @classmethod
    def parse(cls, text: str, user_agent: str) -> RobotsRules:
        token = product_token(user_agent)
        groups: list[_Group] = []
        current: _Group | None = None
        in_agent_lines = False
        for raw_line in text.splitlines():
            line = raw_line.split("#", 1)[0].strip()
            if ":" not in line:
                continue
            key, value = (part.strip() for part in line.split(":", 1))
            key = key.lower()
            if key == "user-agent":
                if current is None or not in_agent_lines:
                    current = _Group()
                    groups.append(current)
                current.agents.append(value.lower())
                in_agent_lines = True
                continue
            in_agent_lines = False
            if current is None:
                continue  # rules before any user-agent line belong to nobody
            if key in ("allow", "disallow"):
                if value:  # an empty Disallow means "nothing is disallowed"
                    current.rules.append((key == "allow", value))
            elif key == "crawl-delay":
                with contextlib.suppress(ValueError):  # a junk delay is ignored
                    current.crawl_delay = float(value)

        def agent_matches(agent: str) -> bool:
            return agent.split("/", 1)[0].strip() == token

        chosen = [g for g in groups if any(agent_matches(a) for a in g.agents)]
        if not chosen:
            chosen = [g for g in groups if "*" in g.agents]
        rules = [rule for g in chosen for rule in g.rules]
        delays = [g.crawl_delay for g in chosen if g.crawl_delay is not None]
        return cls(rules=rules, crawl_delay=max(delays) if delays else None)

    def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        path = parts.path or "/"
        if path == "/robots.txt":
            return True
        if self.disallow_all:
            return False
        target = path + ("?" + parts.query if parts.query else "")
        best_length = -1
        best_allow = True
        for allow, pattern in self.rules:
            if _pattern_regex(pattern).match(target):
                length = len(pattern)
                # the most specific (longest) rule wins; on a tie the allow rule wins
                if length > best_length or (length == best_length and allow):
                    best_length, best_allow = length, allow
        return best_allow


def product_token(user_agent: str) -> str:
    """'Tidings/0.1 (+https://…)' → 'tidings'."""
    token = re.split(r"[/\s]", user_agent.strip(), maxsplit=1)[0]
    return token.lower() or "*"


_REGEX_CACHE: dict[str, re.Pattern[str]] = {}


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    compiled = _REGEX_CACHE.get(pattern)
    if compiled is None:
        anchored = pattern.endswith("$")
        body = pattern[:-1] if anchored else pattern
        regex = ".*".join(re.escape(piece) for piece in body.split("*"))
        compiled = re.compile(regex + ("$" if anchored else ""), re.DOTALL)
        if len(_REGEX_CACHE) < 4096:
            _REGEX_CACHE[pattern] = compiled
    return compiled
