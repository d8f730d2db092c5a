"""Token regions (paper §3.2.2): which part of a tool-use completion each token belongs to.

Two taggers, one per weighting profile (docs/method.md, section 3): ``RegionTagger``
(``paper``), exact and described below, and ``ReleasedTagger`` (``released``), which
reproduces the released code's spans, token cuts and overlaps from the ids.

``RegionTagger`` gives every token of a generated completion exactly one region:

========  ==================================================================
FORMAT    the tag strings ``<think>`` … ``</response>`` whose partner is present
NAME      the string value of ``"name"`` in each call of a tool-call block
PARAMS    the brace-matched object after ``"parameters":``/``"arguments":``
THINK     the reasoning between ``<think>`` and ``</think>``
OTHER     everything else (response text, JSON keys and punctuation, whitespace)
========  ==================================================================

A token overlapping several regions takes the highest of NAME > PARAMS > FORMAT > THINK >
OTHER.

Alignment is to the generated token ids themselves: we concatenate each token's *bytes*,
find the regions on that byte string and give each token the regions of its own bytes. The
released code instead re-tokenises the decoded text, which drifts whenever the
re-tokenisation differs and drops the last token of each span. Working on bytes also
aligns multi-byte characters split across byte-level tokens: all structure (tags, quotes,
braces) is ASCII, and ASCII bytes never occur inside a UTF-8 multi-byte sequence.

A truncated completion (an opening ``<think>`` or ``<tool_call>`` whose partner never
came) keeps its reasoning or calls in their region up to the end of the text: those tokens
were generated as reasoning or calls and should carry gradient like them. The unpaired tag
itself is not FORMAT.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import IntEnum

import numpy as np

from rest.formats import (
    FORMAT_TAG_PAIRS,
    THINK_CLOSE,
    THINK_OPEN,
    TOOL_CALL_CLOSE,
    TOOL_CALL_OPEN,
    TOOLCALL_CLOSE_ALT,
    TOOLCALL_OPEN_ALT,
)


class Region(IntEnum):
    OTHER = 0
    FORMAT = 1
    NAME = 2
    PARAMS = 3
    THINK = 4


NUM_REGIONS = len(Region)
REGION_NAMES: tuple[str, ...] = tuple(r.name for r in Region)

# Paint order = priority rank; a later (higher) region overwrites an earlier one.
_RANK_TO_REGION = np.array([Region.OTHER, Region.THINK, Region.FORMAT, Region.PARAMS, Region.NAME], dtype=np.int64)
_RANK = {region: rank for rank, region in enumerate(_RANK_TO_REGION.tolist())}

# JSON lexemes inside a tool-call block: strings (possibly unterminated), braces, colons.
_LEXEME = re.compile(r'"(?:[^"\\]|\\.)*"?|[{}\[\]:,]')
_NAME_KEYS = {'"name"'}
_PARAM_KEYS = {'"parameters"', '"arguments"'}


def _paired_spans(text: str, open_tag: str, close_tag: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(tag spans of paired tags, content spans); an unclosed last tag's content runs to the end."""
    tags, contents = [], []
    pos = 0
    while True:
        start = text.find(open_tag, pos)
        if start < 0:
            break
        body = start + len(open_tag)
        end = text.find(close_tag, body)
        if end < 0:
            contents.append((body, len(text)))
            break
        tags += [(start, body), (end, end + len(close_tag))]
        contents.append((body, end))
        pos = end + len(close_tag)
    return tags, contents


def _call_spans(text: str, start: int, end: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """NAME value spans and PARAMS object spans of the calls in ``text[start:end]``.

    Only keys of a top-level call object count, so a ``"name"`` inside the parameters is
    part of PARAMS, not a tool name.
    """
    names, params = [], []
    lexemes = [(m.group(), m.start(), m.end()) for m in _LEXEME.finditer(text, start, end)]
    depth = 0
    i, n = 0, len(lexemes)
    while i < n:
        lex = lexemes[i][0]
        if lex in "{[":
            depth += 1
        elif lex in "}]":
            depth = max(depth - 1, 0)
        elif depth == 1 and i + 2 < n and lexemes[i + 1][0] == ":":
            value, vs, ve = lexemes[i + 2]
            if lex in _NAME_KEYS and value.startswith('"'):
                closed = len(value) >= 2 and value.endswith('"')
                names.append((vs + 1, ve - 1 if closed else ve))
                i += 3
                continue
            if lex in _PARAM_KEYS and value == "{":
                j, d = i + 2, 0
                while j < n:
                    if lexemes[j][0] in "{[":
                        d += 1
                    elif lexemes[j][0] in "}]":
                        d -= 1
                        if d == 0:
                            break
                    j += 1
                params.append((vs, lexemes[j][2] if j < n else end))
                i = j + 1
                continue
        i += 1
    return names, params


def char_regions(text: str) -> np.ndarray:
    """The region of every character of ``text`` (an int64 array of ``Region`` values)."""
    return _RANK_TO_REGION[_char_ranks(text)]


def _char_ranks(text: str) -> np.ndarray:
    rank = np.zeros(len(text), dtype=np.int8)

    def paint(spans, region):
        for s, e in spans:
            rank[s:e] = _RANK[region]

    think_tags, think_spans = _paired_spans(text, THINK_OPEN, THINK_CLOSE)
    paint(think_spans, Region.THINK)
    for open_tag, close_tag in FORMAT_TAG_PAIRS:
        tags = think_tags if open_tag == THINK_OPEN else _paired_spans(text, open_tag, close_tag)[0]
        paint(tags, Region.FORMAT)
    for s, e in _paired_spans(text, TOOL_CALL_OPEN, TOOL_CALL_CLOSE)[1]:
        names, params = _call_spans(text, s, e)
        paint(params, Region.PARAMS)
        paint(names, Region.NAME)
    return rank


# --------------------------------------------------------------------------- token alignment


def _byte_level_decoder() -> dict[str, int]:
    """Inverse of GPT-2's byte-to-unicode map used by byte-level BPE vocabularies."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


_SENTENCEPIECE_BYTE = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")


def token_bytes_table(tokenizer, special_text: bool = False) -> list[bytes]:
    """The bytes each token id stands for in generated text.

    Special tokens stand for none, unless ``special_text``: then for their own text, as
    ``decode(..., skip_special_tokens=False)`` writes them.
    """
    byte_decoder = _byte_level_decoder()
    vocab = tokenizer.get_vocab()
    table = [b""] * max(len(tokenizer), max(vocab.values()) + 1)
    added = {tok.content if hasattr(tok, "content") else str(tok): idx
             for idx, tok in getattr(tokenizer, "added_tokens_decoder", {}).items()}
    special = set(tokenizer.all_special_ids)
    for token, idx in vocab.items():
        if idx in special and not special_text:
            continue
        if token in added and added[token] == idx:
            table[idx] = token.encode("utf-8")
        elif all(ch in byte_decoder for ch in token):
            table[idx] = bytes(byte_decoder[ch] for ch in token)
        elif m := _SENTENCEPIECE_BYTE.match(token):
            table[idx] = bytes([int(m.group(1), 16)])
        else:
            table[idx] = token.replace("\u2581", " ").encode("utf-8")
    return table


class _IdTagger:
    """Shared batching of the id-level taggers below."""

    def __call__(self, token_ids: Sequence[int]) -> np.ndarray:
        raise NotImplementedError

    def batch(self, token_ids, mask=None):
        """One row per sequence: a list of id lists or a ``(B, T)`` tensor; padding gets 0 (OTHER)."""
        import torch

        if isinstance(token_ids, torch.Tensor):
            rows = token_ids.cpu().numpy()
            width = token_ids.shape[1]
        else:
            rows = [np.asarray(r, dtype=np.int64) for r in token_ids]
            width = max((len(r) for r in rows), default=0)
        keep = mask.bool().cpu().numpy() if mask is not None else None
        out = np.zeros((len(rows), width), dtype=np.int64)
        for b, row in enumerate(rows):
            if keep is not None:
                if keep[b].any():
                    out[b, keep[b]] = self(row[keep[b]])
            elif len(row):
                out[b, : len(row)] = self(row)
        return torch.from_numpy(out)


class RegionTagger(_IdTagger):
    """Assigns a region to each generated token id, aligned on the ids' own bytes (``paper`` profile)."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self._bytes = token_bytes_table(tokenizer)
        self._lengths = np.array([len(b) for b in self._bytes], dtype=np.int64)

    def __call__(self, token_ids: Sequence[int]) -> np.ndarray:
        ids = np.asarray(token_ids, dtype=np.int64).reshape(-1)
        if ids.size == 0:
            return np.zeros(0, dtype=np.int64)
        valid = (ids >= 0) & (ids < len(self._bytes))
        safe = np.where(valid, ids, 0)
        lengths = np.where(valid, self._lengths[safe], 0)
        data = b"".join(self._bytes[i] for i in safe[valid].tolist())
        # latin-1 gives one character per byte, so character offsets are byte offsets.
        ranks = _char_ranks(data.decode("latin-1"))
        out = np.zeros(ids.size, dtype=np.int64)
        has_bytes = lengths > 0
        if ranks.size:
            starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))[has_bytes]
            out[has_bytes] = _RANK_TO_REGION[np.maximum.reduceat(ranks, starts)]
        return out


# --------------------------------------------------------------------------- released spans
#
# The released token weighting (``recipe/custom/token_weighting.py``, ``build_token_weight``)
# finds its spans with regular expressions on the decoded text and cuts them into tokens
# through the tokenizer's offset mapping. Its spans may overlap (a token then takes the
# largest weight), so the ``released`` profile records, per token, the *set* of regions
# whose span covers it: bit ``1 << region`` for each.

_RE_THINK = re.compile(re.escape(THINK_OPEN) + "(.*?)" + re.escape(THINK_CLOSE), re.S)
_RE_TAGGED = [re.compile(re.escape(o) + "(.*?)" + re.escape(c), re.S) for o, c in FORMAT_TAG_PAIRS
              if o != THINK_OPEN]
_RE_CALL_BLOCK = re.compile(
    "(?:" + re.escape(TOOL_CALL_OPEN) + "|" + re.escape(TOOLCALL_OPEN_ALT) + ")(.*?)"
    "(?:" + re.escape(TOOL_CALL_CLOSE) + "|" + re.escape(TOOLCALL_CLOSE_ALT) + ")", re.S)
_RE_NAME_VALUE = re.compile(r'"name"\s*:\s*"([^"]+)"')
_RE_ARGS_KEY = re.compile(r'"(?:arguments|parameters)"\s*:\s*')
#: A JSON string (closed or not) or a brace, for brace matching that skips strings.
_RE_BRACE_LEX = re.compile(r'"(?:[^"\\]|\\.)*"?|[{}]', re.S)


def released_char_spans(text: str) -> list[tuple[int, int, int]]:
    """``(start, end, region)`` character spans that the released weighting weighs.

    FORMAT: both tags of every closed ``<think>``, ``<tool_call>`` and ``<response>`` block.
    THINK: the content of closed think blocks. In each block opened by ``<tool_call>`` or
    ``<toolcall>`` and closed by either: NAME, the first ``"name": "…"`` value anywhere in
    the block; PARAMS, the braced object found after the first ``"parameters"`` or
    ``"arguments"`` key, if its braces close inside the block.
    """
    spans = []
    for pattern, content in ((_RE_THINK, True), *((p, False) for p in _RE_TAGGED)):
        for m in pattern.finditer(text):
            start, end = m.span()
            spans.append((start, m.start(1), Region.FORMAT))
            spans.append((m.end(1), end, Region.FORMAT))
            if content:
                spans.append((m.start(1), m.end(1), Region.THINK))
    for m in _RE_CALL_BLOCK.finditer(text):
        lo, hi = m.span(1)
        name = _RE_NAME_VALUE.search(text, lo, hi)
        if name:
            spans.append((name.start(1), name.end(1), Region.NAME))
        key = _RE_ARGS_KEY.search(text, lo, hi)
        if key:
            brace = text.find("{", key.end(), hi)
            if brace >= 0:
                close = _matching_brace(text, brace, hi)
                if close is not None:
                    spans.append((brace, close, Region.PARAMS))
    return spans


def _matching_brace(text: str, start: int, end: int) -> int | None:
    """End (exclusive) of the object opened at ``text[start]``, skipping strings; None if unclosed."""
    depth = 0
    for m in _RE_BRACE_LEX.finditer(text, start, end):
        lex = m.group()
        if lex == "{":
            depth += 1
        elif lex == "}":
            depth -= 1
            if depth == 0:
                return m.end()
    return None


def _trims_offsets(tokenizer) -> tuple[bool, bool]:
    """(trim_offsets, add_prefix_space) of a ByteLevel post-processor, which moves offsets past spaces."""
    import json

    try:
        post = json.loads(tokenizer.backend_tokenizer.to_str()).get("post_processor") or {}
    except Exception:  # noqa: BLE001 - a slow tokenizer has no backend: untrimmed offsets
        return False, False
    for proc in post.get("processors", [post]):
        if proc.get("type") == "ByteLevel" and proc.get("trim_offsets"):
            return True, bool(proc.get("add_prefix_space"))
    return False, False


class ReleasedTagger(_IdTagger):
    """Per token, the bit set of released regions (``released`` profile), from the ids alone.

    Reproduces the released code's cut of a character span into tokens: the first token
    that starts at or after the span's start, up to but excluding the first token that ends
    at or after the span's end (at least one token). So the last token of a span is
    dropped. The offsets are rebuilt from the tokens' bytes exactly as a fast tokenizer
    reports them for the decoded text, without tokenising anything.
    """

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        # The released code decodes with skip_special_tokens=False: special tokens are text too.
        self._bytes = token_bytes_table(tokenizer, special_text=True)
        self._lengths = np.array([len(b) for b in self._bytes], dtype=np.int64)
        self._trim, self._prefix_space = _trims_offsets(tokenizer)
        if self._trim:
            self._lead = np.array([len(b) - len(b.lstrip(b" ")) for b in self._bytes], dtype=np.int64)
            self._trail = np.array([len(b) - len(b.rstrip(b" ")) for b in self._bytes], dtype=np.int64)

    def offsets(self, token_ids: Sequence[int]) -> tuple[str, np.ndarray, np.ndarray]:
        """The decoded text and each token's character ``(start, end)``, as the tokenizer's offset mapping."""
        ids = np.asarray(token_ids, dtype=np.int64).reshape(-1)
        ids = np.where((ids >= 0) & (ids < len(self._bytes)), ids, 0)
        lengths = self._lengths[ids] if ids.size else np.zeros(0, dtype=np.int64)
        data = b"".join(map(self._bytes.__getitem__, ids.tolist()))
        byte_end = np.cumsum(lengths)
        byte_start = byte_end - lengths
        if data.isascii():
            text = data.decode("ascii")
            start, end = byte_start, byte_end
        else:
            text = data.decode("utf-8", errors="replace")
            # Character index of each byte: the number of UTF-8 lead bytes up to it, minus one.
            lead = (np.frombuffer(data, dtype=np.uint8) & 0xC0) != 0x80
            leads_before = np.concatenate(([0], np.cumsum(lead)))
            first = np.minimum(byte_start, max(len(data) - 1, 0))
            start = np.where(lengths > 0, leads_before[first + 1] - 1, leads_before[byte_start])
            end = leads_before[byte_end]
        if self._trim:
            lead_sp, trail_sp = self._lead[ids], self._trail[ids]
            if self._prefix_space and ids.size:
                keep = (np.arange(ids.size) == 0) | (start == 0)
                lead_sp = np.where(keep & (lead_sp == 1), 0, lead_sp)
            start = np.minimum(start + lead_sp, end)
            end = np.maximum(end - trail_sp, start)
        return text, start, end

    def __call__(self, token_ids: Sequence[int]) -> np.ndarray:
        text, start, end = self.offsets(token_ids)
        bits = np.zeros(start.size, dtype=np.int64)
        spans = released_char_spans(text)
        if not spans or not start.size:
            return bits
        lo_char = np.array([s[0] for s in spans])
        hi_char = np.array([s[1] for s in spans])
        lo = np.searchsorted(start, lo_char, side="left")  # first token starting at/after the span
        hi = np.maximum(lo + 1, np.searchsorted(end, hi_char, side="left"))  # first token ending at/after it
        for a, b, (_, _, region) in zip(lo.tolist(), hi.tolist(), spans):
            if a < start.size:  # no token starts inside the span: the released code raises; weigh none
                bits[a:b] |= 1 << int(region)
        return bits


def region_bits(regions):
    """Bit sets (``released`` profile input) of one-region-per-token tensors; OTHER has no bit."""
    import torch

    return torch.where(regions > 0, torch.ones_like(regions) << regions, torch.zeros_like(regions))


def dominant_region(bits):
    """The one region of each token of a released bit set: NAME > PARAMS > FORMAT > THINK > OTHER."""
    import torch

    out = torch.zeros_like(bits)
    for region in _RANK_TO_REGION[1:].tolist():  # lowest priority first, later ones overwrite
        out = torch.where((bits >> region) & 1 == 1, region, out)
    return out
