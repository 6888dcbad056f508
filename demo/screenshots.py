"""Screenshots of a running reader site for the README (docs/*.png): the front page, a story
page and an article page, in Debian's Chromium.

Usage: python demo/screenshots.py http://127.0.0.1:8000 [--out docs] [--story ID]
       [--article ID]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--story", type=int)
    parser.add_argument("--article", type=int)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for scheme in ("light", "dark"):
            page = browser.new_page(viewport={"width": 1100, "height": 760},
                                    color_scheme=scheme)
            page.goto(args.base + "/")
            story = args.story or int(
                page.locator("ol.stories li.story h3 a").first.get_attribute("href")
                .rsplit("/", 1)[1])
            targets = {"front": "/", "story": f"/story/{story}"}
            page.goto(args.base + targets["story"])
            article = args.article or int(
                page.locator("ol.timeline-list a.title").first.get_attribute("href")
                .rsplit("/", 1)[1])
            targets["article"] = f"/article/{article}"
            for name, path in targets.items():
                if scheme == "dark" and name != "front":
                    continue
                page.goto(args.base + path)
                suffix = "" if scheme == "light" else "-dark"
                page.screenshot(path=str(args.out / f"site-{name}{suffix}.png"))
            page.close()
        browser.close()


if __name__ == "__main__":
    main()
