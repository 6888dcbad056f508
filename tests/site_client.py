"""An HTTP client for the live reader site that behaves like a browser with cookies: it reads
the form token from the page it posts from."""

from __future__ import annotations

import re

import httpx

BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131"
_CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


class SiteClient(httpx.Client):
    def __init__(self, base_url: str, **kwargs):
        headers = {"user-agent": BROWSER_UA, **kwargs.pop("headers", {})}
        super().__init__(base_url=base_url, headers=headers, timeout=30, **kwargs)

    def csrf(self, page: str = "/") -> str:
        found = _CSRF.search(self.get(page).text)
        assert found, f"no form token on {page}"
        return found.group(1)

    def submit(self, page: str, to: str, /, **fields) -> httpx.Response:
        """Post a form from `page` (its token included) to `to`."""
        return self.post(to, data={"_csrf": self.csrf(page), **fields})

    def sign_in(self, name: str, password: str) -> httpx.Response:
        response = self.submit("/login", "/login", name=name, password=password, next="/")
        assert response.status_code == 303, response.text
        return response
