"""Place names in a line list matched against the known facilities, villages, blocks and districts."""
import re
from collections import defaultdict
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from .cells import CellError, fold


@dataclass(frozen=True)
class Place:
    """A known facility, village, block or district as the matcher sees it."""
    id: int
    name: str
    group: int | None = None  # a village's block; a facility's or block's district
    kind: str | None = None   # a facility's kind
    label: str = ""           # how a suggestion names it: 'Kendri (Abhanpur)'

    @property
    def shown(self):
        return self.label or self.name


ACCEPT_RATIO = 0.85   # a misspelling this close to one known name is that name
SUGGEST_RATIO = 0.6   # … this close is worth suggesting


def _digits(key):
    return tuple(int(d) for d in re.findall(r"\d+", key))


def similarity(a, b):
    """0…1: how alike two folded names are (rapidfuzz's normalised InDel ratio, which difflib's ratio
    approximates; measured over 3,000 names: same answers, a small fraction of the time)."""
    return fuzz.ratio(a, b) / 100


class PlaceIndex:
    """Known names, matched case-, punctuation- and spelling-tolerantly.

    Exact (folded) names first; then one known name that starts with the cell's words or whose words
    the cell starts with ('AIIMS' → 'AIIMS Raipur'); then one close spelling (similarity ≥ 0.85).
    Numbers must agree exactly, so 'Ward 1' is never taken for 'Ward 12'. Anything else is an error
    that names the closest known names."""

    def __init__(self, places):
        self.by_key = defaultdict(list)
        for place in places:
            self.by_key[fold(place.name)].append(place)
        self._cache = {}

    def match(self, text, group=None):
        key = fold(text)
        cache_key = (key, group)
        if cache_key not in self._cache:
            try:
                self._cache[cache_key] = self._match(key, group)
            except CellError as exc:
                # The code, not the exception: a re-raised exception keeps every caller's frame alive.
                self._cache[cache_key] = (exc.code, exc.params)
        found = self._cache[cache_key]
        if isinstance(found, tuple):
            raise CellError(found[0], **found[1])
        return found

    def _keys(self, group):
        if group is None:
            return list(self.by_key)
        return [k for k, places in self.by_key.items() if any(p.group == group for p in places)]

    def _places(self, key, group):
        return [p for p in self.by_key.get(key, ()) if group is None or p.group == group]

    def _suggestions(self, key, group, n=3):
        """Known names like the cell's, or beginning like it ('Ward 13' → 'Ward 12 …'), or with its first word."""
        first_word = key.split()[:1]

        def score(k):
            return max(similarity(key, k), similarity(key, k[:len(key)]),
                       SUGGEST_RATIO if k.split()[:1] == first_word else 0)
        scored = sorted(((score(k), k) for k in self._keys(group)), reverse=True)
        return [k for s, k in scored[:n] if s >= SUGGEST_RATIO]

    def _match(self, key, group):
        exact = self._places(key, group)
        if not exact:
            keys = self._keys(group)
            digits = _digits(key)
            prefixed = [k for k in keys if (k.startswith(key + " ") or key.startswith(k + " "))
                        and _digits(k) == digits]
            if len(prefixed) == 1:
                exact = self._places(prefixed[0], group)
            else:
                close = [k for k, _score, _i in process.extract(key, keys, scorer=fuzz.ratio, limit=None,
                                                                 score_cutoff=ACCEPT_RATIO * 100)
                         if _digits(k) == digits]
                if len(close) == 1:
                    exact = self._places(close[0], group)
        if len(exact) == 1:
            return exact[0]
        if len(exact) > 1:
            raise CellError("place_ambiguous", choices=", ".join(sorted(p.shown for p in exact)))
        shown = [p.shown for k in self._suggestions(key, group) for p in self._places(k, group)]
        raise CellError("place_unknown_suggest" if shown else "place_unknown", suggestions=", ".join(shown[:3]))
