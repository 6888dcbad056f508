"""Browser-test plumbing: Debian's Chromium driven by Playwright (no `playwright install`),
axe-core fetched from npm into a git-ignored cache, page watchers for console errors, page
errors and dialogs."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage"]
AXE_VERSION = "4.14.1"
CACHE = REPO / ".cache"
ARTIFACTS = REPO / "tests" / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"


def axe_source() -> str:
    """axe-core's axe.min.js: $AXE_CORE_JS, or the cached copy, or `npm pack` it now."""
    given = os.environ.get("AXE_CORE_JS")
    if given:
        return Path(given).read_text(encoding="utf-8")
    target = CACHE / f"axe-core-{AXE_VERSION}" / "axe.min.js"
    if not target.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("axe-core is needed for the accessibility scan: install npm "
                               "(apt-get install -y npm) or set AXE_CORE_JS to axe.min.js")
        work = CACHE / "npm-pack"
        work.mkdir(parents=True, exist_ok=True)
        out = subprocess.run(
            [npm, "pack", f"axe-core@{AXE_VERSION}", "--silent"], cwd=work, check=True,
            capture_output=True, text=True, timeout=120,
        )
        with tarfile.open(work / out.stdout.strip().splitlines()[-1]) as tar:
            member = tar.extractfile("package/axe.min.js")
            assert member is not None
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(member.read())
    return target.read_text(encoding="utf-8")


@dataclass
class Watch:
    """What went wrong on a page: console errors, uncaught errors, dialogs (all dismissed)."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def attach(self, page) -> Watch:
        page.on("console", lambda m: m.type == "error" and self.console_errors.append(
            f"{page.url}: {m.text}"))
        page.on("pageerror", lambda e: self.page_errors.append(f"{page.url}: {e}"))

        def dialog(d):
            self.dialogs.append(f"{page.url}: {d.type} {d.message}")
            d.dismiss()

        page.on("dialog", dialog)
        return self

    def assert_clean(self) -> None:
        assert not self.dialogs, self.dialogs
        assert not self.page_errors, self.page_errors
        assert not self.console_errors, self.console_errors


# what an injected payload would leave behind if it ran or was parsed as markup
INJECTION_PROBE = """() => ({
  flag: typeof window.__xss === 'undefined' ? null : String(window.__xss),
  inlineScripts: document.querySelectorAll('script:not([src])').length,
  handlers: document.querySelectorAll('[onerror],[onload],[onmouseover],[onclick]').length,
  iframes: document.querySelectorAll('iframe').length,
  injectedLink: document.getElementById('injected-link') !== null,
  scriptLinks: [...document.querySelectorAll('a[href]')]
    .filter(a => !/^(https?:|\\/|#|$)/i.test(a.getAttribute('href'))).map(a => a.href),
  foreignScripts: [...document.querySelectorAll('script[src]')]
    .filter(s => new URL(s.src).origin !== location.origin).length,
})"""
