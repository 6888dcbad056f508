"""WARC input: HTML response records become articles with their target URI and date;
revisit, non-HTML and non-200 records are counted, not failed; a broken archive fails alone."""

from __future__ import annotations

import gc
import gzip
import io
import warnings

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from tidings.sources.files import Failure, Ignored, iter_local

from .feedserver import article_html


def _record(writer, uri, body, content_type="text/html; charset=utf-8", status="200 OK",
            kind="response", date="2026-11-28T10:30:00Z"):
    http = StatusAndHeaders(status, [("Content-Type", content_type)], protocol="HTTP/1.1")
    record = writer.create_warc_record(
        uri, kind, payload=io.BytesIO(body), length=len(body), http_headers=http,
        warc_headers_dict={"WARC-Date": date},
    )
    writer.write_record(record)


def write_warc(path, gz=True, version="1.1"):
    # warcio's writer leaves a temporary digest buffer for the garbage collector: collect it
    # here, where its ResourceWarning is expected (reading never opens one)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        _write_warc(path, gz, version)
        gc.collect()
    return path


def _write_warc(path, gz, version):
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=gz, warc_version=version)
        _record(writer, "https://harbour.example/a", article_html("Harbour pilots strike", 1))
        _record(writer, "https://harbour.example/logo.png", b"\x89PNG....", "image/png")
        _record(writer, "https://harbour.example/gone", b"no", status="404 Not Found")
        _record(writer, "https://harbour.example/b", article_html("Ferry timetable cut", 2),
                date="2026-11-29T07:00:00Z")
        revisit = writer.create_revisit_record(
            "https://harbour.example/a", digest="sha1:AAAA", refers_to_uri="https://harbour.example/a",
            refers_to_date="2026-11-28T10:30:00Z",
        )
        writer.write_record(revisit)
        request = writer.create_warc_record(
            "https://harbour.example/a", "request", payload=io.BytesIO(b"GET /a HTTP/1.1\r\n\r\n")
        )
        writer.write_record(request)
        _record(writer, "file:///etc/passwd", b"<html><p>x</p></html>")


@pytest.mark.parametrize("version", ["1.0", "1.1"])
def test_html_responses_are_read_with_uri_and_date(tmp_path, version):
    path = write_warc(tmp_path / "crawl.warc.gz", version=version)
    items = list(iter_local([path]))
    pages = [i for i in items if not isinstance(i, Ignored | Failure)]
    assert [p.url for p in pages] == ["https://harbour.example/a", "https://harbour.example/b"]
    assert pages[1].fetched.isoformat() == "2026-11-29T07:00:00+00:00"
    assert b"Ferry timetable cut" in pages[1].content
    ignored = sorted(i.kind for i in items if isinstance(i, Ignored))
    assert ignored == ["WARC non-200 responses", "WARC non-HTML responses",
                       "WARC revisit records"]
    (failure,) = [i for i in items if isinstance(i, Failure)]
    assert "not an http(s) URL" in failure.reason


def test_ingest_of_a_warc_counts_what_it_skips(make_engine, tmp_path):
    engine = make_engine()
    result = engine.ingest([str(write_warc(tmp_path / "crawl.warc", gz=False))])
    assert result.new == 2 and len(result.failed) == 1
    assert result.ignored == {"WARC non-HTML responses": 1, "WARC non-200 responses": 1,
                              "WARC revisit records": 1}
    assert {a.url for a in engine.latest()} == {"https://harbour.example/a",
                                                 "https://harbour.example/b"}
    assert engine.ingest([str(tmp_path / "crawl.warc")]).unchanged == 2


def test_a_corrupt_warc_fails_alone(make_engine, tmp_path):
    good = write_warc(tmp_path / "good.warc.gz")
    broken = tmp_path / "broken.warc.gz"
    broken.write_bytes(gzip.compress(b"WARC/1.1\r\nnot really a header\r\n\r\n") + b"junk")
    result = make_engine().ingest([str(broken), str(good)])
    assert result.new == 2
    assert any(p.item.startswith(str(broken)) for p in result.failed)
