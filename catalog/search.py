"""Search over an in-memory catalog: tokens, a per-catalog index, ranking, typos, "did you mean".

Ranking: each query token scores the best of tier weight × match quality over the words it
matches (name/id 4, tags/category/group 2, description 1; whole word 6, prefix 4, substring
2, typo 1); a model's score is the sum over tokens, and only models matching every token
are kept. A query equal to a model's id or display name (as words) adds EXACT_BONUS, a
query that begins one adds PREFIX_BONUS, so a pasted id comes first. Ties keep catalog order.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from array import array
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Sequence

from fal.types import Model

# Field tiers, indexed by tier number: 0 description, 1 tags/category/group, 2 name/id.
TIER = (1, 2, 4)
WHOLE, PREFIX, SUBSTRING, TYPO = 6, 4, 2, 1
# Larger than any sum of token scores, so that these decide the order on their own.
EXACT_BONUS, PREFIX_BONUS = 100_000, 10_000
# One letter inside a word is noise ("a" is in most words) and, at 100,000 models, the
# slowest query there is; single characters match whole words and prefixes only.
SUBSTRING_MIN_LENGTH = 2
TYPO_MIN_LENGTH, TYPO_LONG_LENGTH = 5, 9  # distance 1 from 5 letters, 2 from 9
SUGGEST_MIN_LENGTH, SUGGEST_MAX_DISTANCE = 3, 2
# Recent results, by count and by total positions (one result at 100,000 models is 400 kB).
MEMO_SIZE, MEMO_POSITIONS = 256, 2_000_000

# Letters and digits in any script: `\w` without the underscore.
_WORD = re.compile(r"[^\W_]+")
_EMPTY: tuple[int, ...] = ()


def _words(text: str) -> list[str]:
    """Every word of `text` in order, repeats kept (the bonus compares whole sequences)."""
    text = text.casefold()
    if not text.isascii():
        # NFKD splits "é" into "e" + a combining accent; dropping the accent keeps the
        # word whole ("café" → "cafe") instead of splitting it at the mark.
        text = "".join(
            c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
        )
    return _WORD.findall(text)


def tokens(text: str) -> tuple[str, ...]:
    """The distinct words of `text`, casefolded and without accents, in order of appearance."""
    return tuple(dict.fromkeys(_words(text)))


def _mask(word: str) -> int:
    # One bit per character (folded into 63 bits): each edit flips at most two bits, so a
    # popcount of the XOR above 2k rules out distance k without running the DP.
    mask = 0
    for c in word:
        mask |= 1 << (ord(c) & 63)
    return mask


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein distance (adjacent transpositions), or limit + 1 if it exceeds limit."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    if a == b:
        return 0
    previous: list[int] | None = None
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = current[j - 1] + 1
            if (value := row[j] + 1) < cost:
                cost = value
            if (value := row[j - 1] + (ca != cb)) < cost:
                cost = value
            if previous is not None and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, previous[j - 2] + 1)
            current[j] = cost
        if min(current) > limit:  # rows never decrease below their minimum: stop early
            return limit + 1
        previous, row = row, current
    return min(row[-1], limit + 1)


class SearchIndex:
    """Built once per catalog; `search` and `suggest` are then cheap and thread-safe."""

    def __init__(self, models: Sequence[Model]) -> None:
        self._size = len(models)
        # word → positions per tier, as compact arrays (a shared empty tuple for none).
        per_tier: tuple[defaultdict[str, list[int]], ...] = tuple(defaultdict(list) for _ in TIER)
        titles: list[tuple[str, int]] = []
        for position, model in enumerate(models):
            meta = model.metadata
            # Each word's highest tier in this model: higher tiers are written later and win.
            best: dict[str, int] = dict.fromkeys(_words(meta.description) if meta else (), 0)
            if meta:
                tagged = [*meta.tags, meta.category]
                if meta.group:
                    tagged += [meta.group.key, meta.group.label]
                best.update(dict.fromkeys(_words(" ".join(tagged)), 1))
                name = _words(meta.display_name)
                best.update(dict.fromkeys(name, 2))
                if name:
                    titles.append((" ".join(name), position))
            endpoint = _words(model.endpoint_id)
            best.update(dict.fromkeys(endpoint, 2))
            titles.append((" ".join(endpoint), position))
            for word, tier in best.items():
                per_tier[tier][word].append(position)
        self._postings = {
            word: tuple(array("I", p[word]) if word in p else _EMPTY for p in per_tier)
            for word in set().union(*per_tier)
        }
        self._vocabulary = tuple(sorted(self._postings))
        by_length: dict[int, list[tuple[str, int]]] = {}
        for word in self._vocabulary:
            by_length.setdefault(len(word), []).append((word, _mask(word)))
        self._by_length = {length: tuple(pairs) for length, pairs in by_length.items()}
        titles.sort()
        self._titles = tuple(title for title, _ in titles)
        self._title_positions = array("I", (position for _, position in titles))
        self._memo: dict[str, array[int]] = {}
        self._memo_positions = 0
        self._lock = threading.Lock()

    def search(self, q: str) -> list[int]:
        """Positions into the catalog, best first; every position when `q` has no words."""
        words = _words(q)
        if not words:
            return list(range(self._size))
        key = " ".join(words)
        with self._lock:
            found = self._memo.pop(key, None)
            if found is not None:
                self._memo[key] = found  # re-inserted last: evicted last
        if found is None:
            found = array("I", self._rank(words))
            with self._lock:
                if key not in self._memo:  # another thread may have just stored it
                    self._memo[key] = found
                    self._memo_positions += len(found)
                while len(self._memo) > MEMO_SIZE or self._memo_positions > MEMO_POSITIONS:
                    self._memo_positions -= len(self._memo.pop(next(iter(self._memo))))
        return found.tolist()

    def suggest(self, q: str) -> str | None:
        """A corrected query that has results when `q` has none, else None."""
        words = tokens(q)
        if not words or self.search(q):
            return None
        corrected = []
        for word in words:
            if not self._matches(word) and len(word) >= SUGGEST_MIN_LENGTH:
                replacement = self._closest(word)
                if replacement is None:
                    return None
                word = replacement
            corrected.append(word)
        if list(words) == corrected:
            return None  # every word matches somewhere, just never all in one model
        suggestion = " ".join(corrected)
        return suggestion if self.search(suggestion) else None

    def _rank(self, words: list[str]) -> list[int]:
        per_token = sorted(map(self._token_scores, dict.fromkeys(words)), key=len)
        # Intersect from the rarest token, so every step walks the smallest candidate set.
        total = per_token[0]
        for scores in per_token[1:]:
            total = {p: s + scores[p] for p, s in total.items() if p in scores}
        if not total:
            return []
        self._add_bonus(total, " ".join(words))
        order = sorted(total)
        # Stable even when reversed: equal scores keep catalog order.
        order.sort(key=total.__getitem__, reverse=True)
        return order

    def _token_scores(self, word: str) -> dict[int, int]:
        """Position → this token's best score there, over every word it matches."""
        levels: list[tuple[int, Sequence[int]]] = []
        for quality, match in self._matches(word):
            for tier, positions in enumerate(self._postings[match]):
                if positions:
                    levels.append((TIER[tier] * quality, positions))
        # Ascending, so each update overwrites lower scores: a C-speed max per position.
        levels.sort(key=lambda level: level[0])
        scores: dict[int, int] = {}
        for score, at in levels:
            scores.update(dict.fromkeys(at, score))
        return scores

    def _matches(self, word: str) -> list[tuple[int, str]]:
        """(quality, vocabulary word) for each word `word` matches; typos only as a fallback."""
        vocabulary = self._vocabulary
        found: list[tuple[int, str]] = []
        start = i = bisect_left(vocabulary, word)
        while i < len(vocabulary) and vocabulary[i].startswith(word):
            found.append((WHOLE if vocabulary[i] == word else PREFIX, vocabulary[i]))
            i += 1
        if len(word) >= SUBSTRING_MIN_LENGTH:
            # Words starting with `word` sit in [start, i) and were counted as prefixes.
            found += [
                (SUBSTRING, w) for n, w in enumerate(vocabulary) if word in w and not start <= n < i
            ]
        if found or len(word) < TYPO_MIN_LENGTH:
            return found
        limit = 2 if len(word) >= TYPO_LONG_LENGTH else 1
        return [(TYPO, w) for w, _ in self._near(word, limit)]

    def _near(self, word: str, limit: int) -> list[tuple[str, int]]:
        """(vocabulary word, distance) for each word within `limit` edits of `word`."""
        mask, bits = _mask(word), 2 * limit
        near = []
        for length in range(len(word) - limit, len(word) + limit + 1):
            for candidate, candidate_mask in self._by_length.get(length, ()):
                if (mask ^ candidate_mask).bit_count() <= bits:
                    distance = _edit_distance(word, candidate, limit)
                    if distance <= limit:
                        near.append((candidate, distance))
        return near

    def _closest(self, word: str) -> str | None:
        near = self._near(word, SUGGEST_MAX_DISTANCE)
        if not near:
            return None
        # Fewest edits, then the word most models use, then alphabetical.
        return min(near, key=lambda pair: (pair[1], -self._frequency(pair[0]), pair[0]))[0]

    def _frequency(self, word: str) -> int:
        return sum(len(positions) for positions in self._postings[word])

    def _add_bonus(self, total: dict[int, int], query: str) -> None:
        """Lift models whose id or display name equals, or begins with, the whole query."""
        titles = self._titles
        bonus: dict[int, int] = {}
        i = bisect_left(titles, query)
        while i < len(titles) and titles[i].startswith(query):
            position = self._title_positions[i]
            # Id and name may both qualify: the larger bonus counts, once.
            value = EXACT_BONUS if titles[i] == query else PREFIX_BONUS
            bonus[position] = max(bonus.get(position, 0), value)
            i += 1
        for position, value in bonus.items():
            if position in total:
                total[position] += value
