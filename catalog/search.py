"""Search over an in-memory catalog: tokens, a per-catalog index, ranking, typos, "did you mean".

A query is read the way a person means it (catalog.search_vocabulary holds the words):
filler ("make a", "from an") need not match; words match by their form (upscaler,
upscaling), by what else people call the thing (photo for image) and, failing all that, by a
typo. Each word a model matches scores the best of field tier × match quality (name/id 4,
tags/category/group 2, description 1; whole word 6, same stem 5, another name or a prefix 4,
substring 2, typo 1); words that appear together and in order in the id, name, category or
tags add a phrase score on top.

Models matching every word come first, ranked by the sum; when none does, those matching the
most of the query, each word weighed by how rare it is (BM25's idf). A query that names a
task ("video from an image", "tts") puts that category first: its models join the results
and rank above the rest. A query equal to a model's id or display name comes before
everything (EXACT_BONUS), one that begins it next (PREFIX_BONUS), so a pasted id comes
first. Ties keep catalog order.
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from array import array
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate, product
from typing import NamedTuple

import snowballstemmer  # type: ignore[import-untyped]

from catalog.search_vocabulary import (
    CAPABILITIES,
    CHEAP,
    FILLER,
    MEDIA,
    SAME,
    TASK_LINKS,
    TASK_VERBS,
    TASKS,
)  # fmt: skip
from fal.types import Model

# Field tiers, indexed by tier number: 0 description, 1 tags/category/group, 2 name/id.
TIER = (1, 2, 4)
WHOLE, STEM, OTHER_NAME, PREFIX, SUBSTRING, TYPO = 6, 5, 4, 4, 2, 1
# The score at which a word covers its share of the query when not every word matches:
# a whole word anywhere (a description's is 1 × 6); a part of a word or a typo, less.
COVERED = TIER[0] * WHOLE
# Two query words side by side and in order in a model's id, name, category or tags.
PHRASE = 24
# Each decides the order on its own over everything below it (scores stay under COVERAGE).
EXACT_BONUS, PREFIX_BONUS, INTENT_BONUS, COMPLETE_BONUS, COVERAGE = 1e11, 1e10, 1e9, 1e8, 1e7
# Fewer models than this matching every word: those matching some follow them, by the
# rarest words of the query (common ones add little, and a long query of them is slow).
FEW, PARTIAL_TERMS = 10, 6
# A word pair in more than this share of the catalog ("fal ai") tells nothing as a phrase.
PHRASE_MAX_SHARE = 0.5
# One letter inside a word is noise ("a" is in most words) and, at 100,000 models, the
# slowest query there is; single characters match whole words and prefixes only.
SUBSTRING_MIN_LENGTH = 2
TYPO_MIN_LENGTH, TYPO_LONG_LENGTH = 5, 9  # distance 1 from 5 letters, 2 from 9
SUGGEST_MIN_LENGTH, SUGGEST_MAX_DISTANCE = 3, 2
STEM_MIN_LENGTH = 4  # shorter words are their own stem ("tts", "3d", "sam")
# Recent results, by count and by total positions (one result at 100,000 models is 400 kB).
MEMO_SIZE, MEMO_POSITIONS = 256, 2_000_000
# "under $0.05", "below $1": a price limit the page offers as a filter.
PRICE_LIMIT = re.compile(
    r"\b(?:under|below|less than|cheaper than|at most|max(?:imum)?)\s*\$\s*(\d+(?:\.\d+)?)",
    re.IGNORECASE,
)

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


_STEMMER = snowballstemmer.stemmer("english")
_STEMMER_LOCK = threading.Lock()  # a Snowball stemmer keeps state between calls


@lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """The word's English stem (upscaling → upscal); ids, numbers and short words as they are."""
    if len(word) < STEM_MIN_LENGTH or not word.isascii() or not word.isalpha():
        return word
    with _STEMMER_LOCK:
        return _STEMMER.stemWord(word)


def _other_names() -> dict[str, tuple[tuple[str, ...], ...]]:
    """Word (and its stem) → the other entries of its SAME group, each as its words."""
    names: dict[str, tuple[tuple[str, ...], ...]] = {}
    for group in SAME:
        for entry in group:
            others = tuple(tuple(other.split()) for other in group if other != entry)
            if " " not in entry:
                names[entry] = names[stem(entry)] = others
    return names


OTHER_NAMES = _other_names()
# Each word's first name in its group: "photo to 3d" is the phrase "image to 3d" too.
FIRST_NAME = {
    stem(entry): stem(group[0]) for group in SAME for entry in group[1:] if " " not in entry
}
LONGEST_TASK = max(map(len, TASKS))


@dataclass(frozen=True)
class Offer:
    """A filter or sort the query asks for in words, offered as a link, never applied."""

    name: str  # the URL parameter: a facet's name, or "sort"
    value: str
    label: str


# How an offer of each capability facet reads ("Only models that output audio").
_CAPABILITY_VERB = {"outputs": "output", "has": "take a", "accepts": "accept"}


def offers(q: str) -> list[Offer]:
    """What `q` asks of price or capability that the grid can filter or sort by."""
    found = []
    words = _words(q)
    if CHEAP.intersection(words):
        found.append(Offer("sort", "price", "Sort by price, cheapest first"))
    if limit := PRICE_LIMIT.search(q):
        # Bare, a maximum price is per typical job (catalog.facets.MaxPrice).
        found.append(Offer("max_price", limit[1], f"At most ${limit[1]} for a typical job"))
    # "with a seed" is "with seed": the filler between does not matter.
    kept = [w for w in words if w == "with" or w not in FILLER]
    for phrase, (facet, value) in CAPABILITIES.items():
        if _contains(kept, phrase):
            found.append(
                Offer(
                    facet,
                    value,
                    f"Only models that {_CAPABILITY_VERB[facet]} {' '.join(phrase[1:])}",
                )
            )
    return found


def _contains(words: Sequence[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tuple(words[i : i + n]) == phrase for i in range(len(words) - n + 1))


def intent(words: Sequence[str]) -> str | None:
    """The category a query names as a task ("video from an image" → image-to-video)."""
    for n in range(min(LONGEST_TASK, len(words)), 0, -1):
        for i in range(len(words) - n + 1):
            if (category := TASKS.get(tuple(words[i : i + n]))) is not None:
                return category
    # Media and the words that link them; the filler between does not matter, and only
    # filler, a verb of conversion or a word in -ing may come before them (TASK_VERBS).
    kept = [w for w in words if w in MEDIA or w in TASK_LINKS or w not in FILLER | CHEAP]
    for i, (first, link, second) in enumerate(zip(kept, kept[1:], kept[2:], strict=False)):
        if link in TASK_LINKS and first in MEDIA and second in MEDIA:
            if any(w not in TASK_VERBS and not w.endswith("ing") for w in kept[:i]):
                return None
            source, target = (second, first) if link == "from" else (first, second)
            return f"{MEDIA[source]}-to-{MEDIA[target]}"
    return None


def _query_words(q: str) -> list[str]:
    """The words the search ranks by: a price limit is an offer, not words to match."""
    return _words(PRICE_LIMIT.sub(" ", q))


def _terms(words: Sequence[str]) -> list[str]:
    """The distinct words a model should match: filler and price words dropped (all of them
    kept when nothing else is left but filler)."""
    distinct = [w for w in dict.fromkeys(words) if w not in CHEAP]
    return [w for w in distinct if w not in FILLER] or distinct


def _pairs(words: Sequence[str]) -> frozenset[str]:
    """Each two words side by side, as stems ("upscaling video" → "upscal video"); words
    with digits (versions, sizes) make no phrase, but "3d" does."""
    stems = [stem(w) if w.isalpha() or w == "3d" else "" for w in words]
    return frozenset(f"{a} {b}" for a, b in zip(stems, stems[1:], strict=False) if a and b)


def _fields(texts: tuple[str, ...]) -> tuple[list[str], frozenset[str]]:
    """The words of several fields, and their pairs within each field."""
    fields = [_words(text) for text in texts]
    return [w for f in fields for w in f], frozenset().union(*map(_pairs, fields))


def search_all(q: str, indexes: Sequence[SearchIndex]) -> list[tuple[int, int]]:
    """(which index, position) of each model `q` finds in several indexes (the present
    models, then the gone): the answers of each (every word matches) first, in the order
    of the indexes, then, when they are few together, the models matching only some words.
    (Each index would add its own: 12 present upscalers of video would come with 75 removed
    models matching "upscale" or "video" alone.)"""
    found = [index.found(q) for index in indexes]
    answers = [(n, p) for n, f in enumerate(found) for p in f.positions[: f.answers]]
    if len(answers) >= FEW:
        return answers
    return [*answers, *((n, p) for n, f in enumerate(found) for p in f.positions[f.answers :])]


class Found(NamedTuple):
    """What a query finds: positions best first; how many of them lead as answers (those
    matching every word, and the models of the task the query names); whether any model
    matches every word."""

    positions: array[int]
    answers: int
    complete: bool


class SearchIndex:
    """Built once per catalog; `search` and `suggest` are then cheap and thread-safe."""

    def __init__(self, models: Sequence[Model]) -> None:
        self._size = len(models)
        # word → positions per tier, as compact arrays (a shared empty tuple for none).
        per_tier: tuple[defaultdict[str, list[int]], ...] = tuple(defaultdict(list) for _ in TIER)
        pairs: defaultdict[str, list[int]] = defaultdict(list)  # "stem stem" → positions
        categories: defaultdict[str, list[int]] = defaultdict(list)
        titles: list[tuple[str, int]] = []
        # Tag sets and names repeat across a catalog: each distinct one is read once.
        read: dict[tuple[str, ...], tuple[list[str], frozenset[str]]] = {}
        for position, model in enumerate(models):
            meta = model.metadata
            endpoint = _words(model.endpoint_id)
            found = _pairs(endpoint)
            # Each word's highest tier in this model: higher tiers are written later and win.
            best: dict[str, int] = dict.fromkeys(_words(meta.description) if meta else (), 0)
            if meta:
                tagged = (*meta.tags, meta.category)
                if meta.group:
                    tagged += (meta.group.key, meta.group.label)
                if (tags := read.get(tagged)) is None:
                    tags = read[tagged] = _fields(tagged)
                best.update(dict.fromkeys(tags[0], 1))
                if (name := read.get((meta.display_name,))) is None:
                    name = read[(meta.display_name,)] = _fields((meta.display_name,))
                best.update(dict.fromkeys(name[0], 2))
                if name[0]:
                    titles.append((" ".join(name[0]), position))
                found = found.union(tags[1], name[1])
                if meta.category:
                    categories[meta.category.casefold()].append(position)
            best.update(dict.fromkeys(endpoint, 2))
            titles.append((" ".join(endpoint), position))
            for word, tier in best.items():
                per_tier[tier][word].append(position)
            for pair in found:
                pairs[pair].append(position)
        self._postings = {
            word: tuple(array("I", p[word]) if word in p else _EMPTY for p in per_tier)
            for word in set().union(*per_tier)
        }
        self._vocabulary = tuple(sorted(self._postings))
        # The vocabulary as one text, for finding a word inside others at C speed: each
        # word on its own line (words have no line breaks), `_starts` where each begins.
        self._text = "\n".join(self._vocabulary)
        self._starts = array(
            "I", accumulate((len(w) + 1 for w in self._vocabulary[:-1]), initial=0)
        )
        stems: defaultdict[str, list[str]] = defaultdict(list)
        by_length: dict[int, list[tuple[str, int]]] = {}
        for word in self._vocabulary:
            stems[stem(word)].append(word)
            by_length.setdefault(len(word), []).append((word, _mask(word)))
        self._stems = {key: tuple(words) for key, words in stems.items()}
        self._by_length = {length: tuple(pairs) for length, pairs in by_length.items()}
        most = self._size * PHRASE_MAX_SHARE
        self._pairs = {pair: array("I", at) for pair, at in pairs.items() if len(at) <= most}
        self._categories = {key: array("I", at) for key, at in categories.items()}
        titles.sort()
        self._titles = tuple(title for title, _ in titles)
        self._title_positions = array("I", (position for _, position in titles))
        self._memo: dict[str, Found] = {}
        self._memo_positions = 0
        self._lock = threading.Lock()

    def search(self, q: str) -> list[int]:
        """Positions into the catalog, best first; every position when `q` has no words."""
        return self.found(q).positions.tolist()

    def complete(self, q: str) -> bool:
        """Whether some model matches every word of `q`."""
        return self.found(q).complete

    def intent(self, q: str) -> str | None:
        """The category `q` names as a task, if the catalog has it (it is ranked first)."""
        category = intent(_query_words(q))
        return category if category in self._categories else None

    def suggest(self, q: str) -> str | None:
        """A corrected query when a word of `q` matches nothing and the correction finds
        models matching every word where `q` finds none; else None."""
        words = tokens(PRICE_LIMIT.sub(" ", q))
        if not words or self.complete(q):
            return None
        corrected = []
        for word in words:
            if len(word) >= SUGGEST_MIN_LENGTH and not self._known(word):
                replacement = self._closest(word)
                if replacement is None:
                    return None
                word = replacement
            corrected.append(word)
        if list(words) == corrected:
            return None  # every word matches somewhere, just never all in one model
        suggestion = " ".join(corrected)
        return suggestion if self.complete(suggestion) else None

    def found(self, q: str) -> Found:
        """What `q` finds (`search` gives its positions), memoised."""
        words = _query_words(q)
        terms = _terms(words)
        if not terms:
            return Found(array("I", range(self._size)), self._size, True)
        key = " ".join(words)
        with self._lock:
            found = self._memo.pop(key, None)
            if found is not None:
                self._memo[key] = found  # re-inserted last: evicted last
        if found is None:
            found = self._rank(words, terms)
            with self._lock:
                if key not in self._memo:  # another thread may have just stored it
                    self._memo[key] = found
                    self._memo_positions += len(found.positions)
                while len(self._memo) > MEMO_SIZE or self._memo_positions > MEMO_POSITIONS:
                    self._memo_positions -= len(self._memo.pop(next(iter(self._memo))).positions)
        return found

    def _rank(self, words: list[str], terms: list[str]) -> Found:
        per_term = sorted(map(self._token_scores, terms), key=len)
        # Models matching every term, ranked by the plain sum (small ints, nothing allocated
        # per model: the fast path of every keystroke). Intersect from the rarest term, so
        # every step walks the smallest candidate set.
        total: dict[int, float] = per_term[0]
        for scores in per_term[1:]:
            total = {p: s + scores[p] for p, s in total.items() if p in scores}
        complete = bool(total)
        partial = len(total) < FEW and len(per_term) > 1
        if partial:
            # Few or none match every word: then those matching the most of the query, each
            # word weighed by how rare it is (BM25's idf), then by how well it matches.
            every = {p: COMPLETE_BONUS + s for p, s in total.items()}
            size, total, rarest = self._size, {}, [s for s in per_term if s][:PARTIAL_TERMS]
            weights = [math.log(1 + (size - len(s) + 0.5) / (len(s) + 0.5)) for s in rarest]
            whole = sum(weights) or 1.0
            for scores, weight in zip(rarest, weights, strict=True):
                # A word inside another, or a typo, covers the query less than a whole word.
                share = COVERAGE * weight / whole / COVERED
                for p, score in scores.items():
                    total[p] = total.get(p, 0.0) + share * min(score, COVERED) + weight * score
            total.update(every)
        category = intent(words)
        if category in self._categories:
            for p in self._categories[category]:
                total[p] = total.get(p, 0.0) + INTENT_BONUS
        if not total:
            return Found(array("I"), 0, False)
        self._add_phrases(total, words)
        self._add_bonus(total, " ".join(words))
        order = sorted(total)
        # Stable even when reversed: equal scores keep catalog order.
        order.sort(key=total.__getitem__, reverse=True)
        # Complete matches (and the task's models) lead; with few, a tail matching some,
        # which are no answers however many they are.
        answers = sum(1 for p in order if total[p] >= COMPLETE_BONUS) if partial else len(order)
        return Found(array("I", order), answers, complete)

    def _add_phrases(self, total: dict[int, float], words: list[str]) -> None:
        """Lift models where two query words stand side by side, in order (filler counts:
        "text to speech" is not "speech to text")."""
        forms = [{stem(w), FIRST_NAME.get(stem(w), stem(w))} for w in words]
        pairs = {
            f"{a} {b}" for left, right in zip(forms, forms[1:], strict=False)
            for a, b in product(left, right)
        }  # fmt: skip
        for pair in pairs:
            at: Sequence[int] = self._pairs.get(pair, _EMPTY)
            if len(at) > len(total):  # walk the smaller side
                members = set(at)
                at = [p for p in total if p in members]
            for p in at:
                if p in total:
                    total[p] += PHRASE

    def _token_scores(self, word: str) -> dict[int, float]:
        """Position → this word's best score there, over every word it matches."""
        levels: list[tuple[int, Sequence[int]]] = []
        for quality, match in self._word_matches(word):
            for tier, positions in enumerate(self._postings[match]):
                if positions:
                    levels.append((TIER[tier] * quality, positions))
        for other in OTHER_NAMES.get(word) or OTHER_NAMES.get(stem(word), ()):
            levels += self._other_name(other)
        if not levels and len(word) >= TYPO_MIN_LENGTH:
            limit = 2 if len(word) >= TYPO_LONG_LENGTH else 1
            for match, _ in self._near(word, limit):
                levels += [(TIER[t] * TYPO, at) for t, at in enumerate(self._postings[match]) if at]
        # Ascending, so each update overwrites lower scores: a C-speed max per position.
        levels.sort(key=lambda level: level[0])
        scores: dict[int, float] = {}
        for score, at in levels:
            scores.update(dict.fromkeys(at, score))
        return scores

    def _other_name(self, words: tuple[str, ...]) -> list[tuple[int, Sequence[int]]]:
        """Levels for another name of a word: its words, as whole words or stems, in the id,
        name, category or tags of one model (a description's "photo" says little), scored
        by the weakest tier among them."""
        if len(words) == 1:
            return [
                (TIER[tier] * OTHER_NAME, positions)
                for match in self._stems.get(stem(words[0]), ())
                for tier, positions in enumerate(self._postings[match])
                if tier and positions
            ]
        tiers: dict[int, int] | None = None
        for word in words:
            found: dict[int, int] = {}
            for match in self._stems.get(stem(word), ()):
                for tier, positions in enumerate(self._postings[match]):
                    if tier:
                        found.update((p, max(tier, found.get(p, 0))) for p in positions)
            tiers = (
                found
                if tiers is None
                else {p: min(t, found[p]) for p, t in tiers.items() if p in found}
            )
        by_tier: defaultdict[int, list[int]] = defaultdict(list)
        for p, tier in (tiers or {}).items():
            by_tier[TIER[tier] * OTHER_NAME].append(p)
        return list(by_tier.items())

    def _word_matches(self, word: str) -> list[tuple[int, str]]:
        """(quality, vocabulary word) for the words `word` is, shares a stem with, begins or
        is inside (typos are a fallback, in `_token_scores`)."""
        vocabulary = self._vocabulary
        found = dict.fromkeys(self._stems.get(stem(word), ()), STEM)
        i = bisect_left(vocabulary, word)
        while i < len(vocabulary) and (match := vocabulary[i]).startswith(word):
            found[match] = WHOLE if match == word else max(PREFIX, found.get(match, 0))
            i += 1
        if len(word) >= SUBSTRING_MIN_LENGTH:
            found.update(
                (vocabulary[n], SUBSTRING)
                for n in self._inside(word)
                if not found.get(vocabulary[n])
            )
        return [(quality, match) for match, quality in found.items()]

    def _inside(self, word: str) -> list[int]:
        """The vocabulary words `word` is part of, by their index."""
        text, starts, found = self._text, self._starts, []
        at = text.find(word)
        while at != -1:
            n = bisect_right(starts, at) - 1
            found.append(n)
            if n + 1 == len(starts):
                break
            at = text.find(word, starts[n + 1])  # the next word: one match per word
        return found

    def _known(self, word: str) -> bool:
        """Whether the word matches any model, typos forgiven."""
        return bool(self._token_scores(word))

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

    def _add_bonus(self, total: dict[int, float], query: str) -> None:
        """Lift models whose id or display name equals, or begins with, the whole query."""
        titles = self._titles
        bonus: dict[int, float] = {}
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
