"""Main-text candidates: one shared cleaning, then balanced, precision and recall passes.

trafilatura runs its whole cascade once per focus; here the raw-tree pruning, cleaning and
tag conversion happen once and the three focus passes read copies of the same converted
tree, so the extra candidates cost a fraction of a second full run. The balanced pass keeps
trafilatura's own fallback logic (readability comparison, baseline rescue, recall
escalation), but readability is skipped when it provably cannot win.
"""

from __future__ import annotations

import logging
from copy import copy
from dataclasses import dataclass

from lxml.etree import _Element
from trafilatura.baseline import baseline
from trafilatura.core import _prepare_tree
from trafilatura.external import compare_extraction, justext_rescue
from trafilatura.htmlprocessing import prune_unwanted_nodes
from trafilatura.main_extractor import extract_content
from trafilatura.settings import Extractor
from trafilatura.xml import xmltotxt
from trafilatura.xpaths import (
    RAW_TREE_PRUNE_XPATH,
    REMOVE_COMMENTS_AND_LISTS_XPATH,
    REMOVE_COMMENTS_XPATH,
)

LOGGER = logging.getLogger(__name__)

ESCALATION_MAX_LENGTH = 3000
ESCALATION_PAGE_SHARE = 0.2
ESCALATION_ACCEPT_RATIO = 1.5
ESCALATION_JUSTEXT_RATIO = 2.0
# below this share of the page's text, the balanced result gets a recall pass to compare with
RECALL_CHECK_COVERAGE = 0.7


@dataclass
class Candidates:
    balanced: str
    precision: str | None  # only in thorough mode
    recall: str | None  # only in thorough mode (or when the escalation ran it)
    page_chars: int  # text length of the cleaned page, for coverage ratios
    balanced_source: str  # "own", "readability", "justext", "baseline", "recall"

    def best(self) -> str:
        """Choose between the passes by how their lengths relate to each other.

        When the balanced text covers little of the page, a recall pass that finds
        clearly more text is recovering sections the balanced pass dropped. Otherwise a
        precision pass that keeps half or more of the balanced text is trimming
        boilerplate around a found article.
        """
        base = len(self.balanced)
        if not base:
            return self.recall or self.precision or ""
        low_coverage = base < RECALL_CHECK_COVERAGE * self.page_chars
        if self.recall is not None and low_coverage and len(self.recall) > 1.1 * base:
            return self.recall
        if self.precision is not None and 0.5 <= len(self.precision) / base < 1.0:
            return self.precision
        return self.balanced


def _options(focus: str, url: str | None) -> Extractor:
    return Extractor(
        output_format="python",
        precision=focus == "precision",
        recall=focus == "recall",
        comments=False,
        tables=True,
        url=url,
    )


def _text(body: _Element) -> str:
    return xmltotxt(body, False) or ""


def _readability_can_win(body: _Element, len_text: int, page_chars: int, opts: Extractor) -> bool:
    """Mirror of trafilatura's readability preference, decided before running readability.

    Readability's text is part of the page, so it is never longer than the page text.
    """
    if len_text == 0 or 2 * len_text < page_chars:
        return True
    return page_chars > opts.min_extracted_size * 2 and (
        not body.xpath(".//p//text()") or len(body.findall(".//table")) > len(body.findall(".//p"))
    )


def candidates(tree: _Element, url: str | None, thorough: bool = False) -> Candidates:
    """Run the focus passes over one cleaning of `tree` (the tree is modified).

    The balanced pass always runs; `thorough` adds the precision and recall passes (about
    twice the time) so that `Candidates.best` can choose.
    """
    balanced_opts = _options("balanced", url)
    tree = prune_unwanted_nodes(tree, RAW_TREE_PRUNE_XPATH)
    tree = prune_unwanted_nodes(tree, REMOVE_COMMENTS_AND_LISTS_XPATH)
    cleaned, cleaned_backup = _prepare_tree(tree, balanced_opts, url)
    page_chars = _chars(cleaned_backup)

    # precision and recall passes read copies of the same converted tree
    p_body = r_body = None
    r_text = ""
    if thorough:
        precision_tree = prune_unwanted_nodes(copy(cleaned), REMOVE_COMMENTS_XPATH)
        p_body, _ = extract_content(precision_tree, _options("precision", url))
        r_body, r_text = extract_content(copy(cleaned), _options("recall", url))

    body, text = extract_content(cleaned, balanced_opts)
    source = "own"
    if _readability_can_win(body, len(text), page_chars, balanced_opts):
        new_body, new_text = compare_extraction(
            cleaned_backup, copy(tree), body, text, balanced_opts
        )
        if new_body is not body:
            source = "readability"
        body, text = new_body, new_text
    if len(text) < balanced_opts.min_extracted_size:
        b_body, b_text, b_len = baseline(tree)
        if b_len > len(text):
            body, text, source = b_body, b_text, "baseline"
    if len(text) < balanced_opts.min_extracted_size and r_body is None:
        # nothing usable: the recall pass is the last resort before "empty"
        recall_opts = _options("recall", url)
        r_body, r_text = extract_content(_prepare_tree(tree, recall_opts, url)[0], recall_opts)
        if len(r_text) > len(text):
            body, text, source = r_body, r_text, "recall"
    if 0 < len(text) < ESCALATION_MAX_LENGTH and len(text) < ESCALATION_PAGE_SHARE * page_chars:
        if r_body is None:
            recall_opts = _options("recall", url)
            r_body, r_text = extract_content(_prepare_tree(tree, recall_opts, url)[0], recall_opts)
        j_text = ""
        try:
            j_body, j_text = justext_rescue(copy(tree), balanced_opts)
        except Exception as err:  # pragma: no cover - library safety net
            LOGGER.debug("justext failed: %s", err)
        if len(j_text) > len(r_text) and len(j_text) > ESCALATION_JUSTEXT_RATIO * len(text):
            body, text, source = j_body, j_text, "justext"
        elif len(r_text) >= balanced_opts.min_extracted_size and len(
            r_text
        ) > ESCALATION_ACCEPT_RATIO * len(text):
            body, text, source = r_body, r_text, "recall"
    if r_body is None and 0 < len(text) < RECALL_CHECK_COVERAGE * page_chars:
        # the balanced text covers little of the page: it may have stopped at a section
        # break, so run the recall pass too and let `best` decide
        recall_opts = _options("recall", url)
        r_body, r_text = extract_content(_prepare_tree(tree, recall_opts, url)[0], recall_opts)
    return Candidates(
        _text(body),
        _text(p_body) if p_body is not None else None,
        _text(r_body) if r_body is not None else None,
        page_chars,
        source,
    )


def _chars(tree: _Element) -> int:
    return len(" ".join(" ".join(tree.itertext()).split()))
