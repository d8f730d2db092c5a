"""Token regions (paper §3.2.2): which part of a tool-use completion each token belongs to.

Every token of a generated completion gets exactly one region:

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

from rest.formats import FORMAT_TAG_PAIRS, THINK_CLOSE, THINK_OPEN, TOOL_CALL_CLOSE, TOOL_CALL_OPEN


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


def token_bytes_table(tokenizer) -> list[bytes]:
    """The bytes each token id stands for in generated text; special tokens stand for none."""
    byte_decoder = _byte_level_decoder()
    vocab = tokenizer.get_vocab()
    table = [b""] * max(len(tokenizer), max(vocab.values()) + 1)
    added = {tok.content if hasattr(tok, "content") else str(tok): idx
             for idx, tok in getattr(tokenizer, "added_tokens_decoder", {}).items()}
    special = set(tokenizer.all_special_ids)
    for token, idx in vocab.items():
        if idx in special:
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


class RegionTagger:
    """Assigns a region to each generated token id, aligned on the ids' own bytes."""

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

    def batch(self, token_ids, mask=None):
        """Regions for a batch: a list of id lists or a ``(B, T)`` tensor; padding gets OTHER."""
        import torch

        if isinstance(token_ids, torch.Tensor):
            rows = token_ids.tolist()
            width = token_ids.shape[1]
        else:
            rows = [list(r) for r in token_ids]
            width = max((len(r) for r in rows), default=0)
        masks = mask.bool().tolist() if mask is not None else None
        out = np.zeros((len(rows), width), dtype=np.int64)
        for b, row in enumerate(rows):
            if masks is not None:
                keep = [i for i, m in enumerate(masks[b]) if m]
                if keep:
                    out[b, keep] = self([row[i] for i in keep])
            elif row:
                out[b, : len(row)] = self(row)
        return torch.from_numpy(out)
