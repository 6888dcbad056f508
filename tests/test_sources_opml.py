"""OPML import/export: nested outlines, malformed input, safe XML, round trips."""

from __future__ import annotations

from pathlib import Path

import pytest

from tidings.sources.opml import OpmlError, parse_opml, write_opml

FIXTURE = Path(__file__).parent / "fixtures" / "feeds" / "subscriptions.opml"


def test_parse_nested_outlines():
    feeds = parse_opml(FIXTURE.read_bytes())
    assert feeds == [
        ("Meridian Wire", "https://meridian.example/feeds/rss.xml"),
        ("Tarrow Valley Gazette", "https://valley.example/rss"),  # two folders deep
        ("Lantern & Co", "https://lantern.example/feed.json"),  # lower-case xmlurl accepted
        ("", "https://untitled.example/atom.xml"),
    ]  # folders, the type="link" outline and the duplicate URL are not feeds


def test_round_trip():
    feeds = [
        ("Meridian Wire", "https://meridian.example/feeds/rss.xml"),
        ('Quotes "and" <angles> & ampersands', "https://q.example/rss?a=1&b=2"),
        ("Ünïcödé Zeitung", "https://zeitung.example/feed"),
        ("", "https://untitled.example/atom.xml"),
    ]
    document = write_opml(feeds, title="My <list>")
    assert document.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert "<title>My &lt;list&gt;</title>" in document
    assert parse_opml(document.encode("utf-8")) == feeds


def test_round_trip_of_fixture():
    feeds = parse_opml(FIXTURE.read_bytes())
    assert parse_opml(write_opml(feeds).encode()) == feeds


def test_write_drops_characters_xml_cannot_carry():
    document = write_opml([("Bell\x07 and\nnewline", "https://b.example/rss")])
    assert parse_opml(document.encode()) == [("Bell and newline", "https://b.example/rss")]


def test_empty_list_writes_a_valid_document():
    assert parse_opml(write_opml([]).encode()) == []


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty document"),
        (b"<opml><body><outline xmlUrl='x'>", "malformed OPML"),
        (b"not xml at all", "malformed OPML"),
        (b"<html><body></body></html>", "not OPML: root element is <html>"),
        (b'<opml version="2.0"><head/></opml>', "not OPML: no <body>"),
    ],
)
def test_malformed(content, reason):
    with pytest.raises(OpmlError) as info:
        parse_opml(content)
    assert str(info.value).startswith(reason)


def test_entities_are_not_expanded(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<opml version="2.0"><body><outline text="&x;" xmlUrl="https://a.example/rss"/>'
        "</body></opml>"
    ).encode()
    try:
        feeds = parse_opml(xxe)
    except OpmlError:
        return  # refusing the document outright is fine too
    assert all("TOP-SECRET" not in title for title, _ in feeds)
