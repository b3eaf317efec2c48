"""Reading a label out of free model text.

The rule (also in the plugin README) picks the **final explicit answer**:

0. The whole response, stripped of markdown and punctuation, is a label word or an option
   letter ("Positive.", "**B**", "b") -> that label.
1. **Cued answer.** An answer cue ("answer", "the answer is", "sentiment", "label",
   "final answer", "overall", ...) is followed, in the same sentence, by a label mention.
   The cue's answer is the *first* non-negated mention after it; the *last* cue that has
   an unambiguous answer wins ("Sentiment: positive. ... Final answer: negative" ->
   negative).
2. **Emphasised answer.** ``**x**``, ``__x__``, ``\\boxed{x}``, ``<answer>x</answer>``,
   quoted or back-ticked spans whose content names exactly one label -> the last one.
3. **Bare mention.** Otherwise the last sentence that mentions a label decides: its last
   non-negated, unambiguous mention; a sentence that only negates gives no answer.

A mention is *negated* when a negator (not, n't, no, never, neither, nor, hardly, without,
rather than, instead of, ...) occurs among the three words before it in the same clause
("It is positive, not negative" -> positive; "I don't think it's positive" -> no answer).
A mention joined to a different label by "or", "/", "and", "vs" is *ambiguous*
("positive or negative") and never answers.  A negated label is no answer at all unless
the task is binary and ``negation_complement`` is set ("not positive" -> negative).
An *abstain word* ("neutral", "mixed", ...: ``abstain_words``) chosen by these tiers is
an explicit non-label answer, so the response abstains.
Option letters (letter mode) are upper-case A, B, ... standing alone; in prose they count
only in a cue's sentence, inside emphasis/parentheses ("(B)"), or as a line's "B." / "B)"
bullet, and never when followed by a lower-case word ("A great film" is not option A).

Nothing here can raise on any string, and all work is bounded: only the last
``max_chars`` characters are read and every regex is linear (literal alternations and
bounded spans).
"""

from __future__ import annotations

import bisect
import re
import string
from dataclasses import dataclass

from ttrl_text_cls.options import TextClsOptions

# "neither X nor Y" denies both: such a negation never implies the other label.
_NO_COMPLEMENT = re.compile(r"(?<![\w'’])(?:neither|nor)(?![\w'’])", re.IGNORECASE)
_NEGATORS = re.compile(
    r"(?<![\w'’])(?:not|no|never|neither|nor|hardly|barely|scarcely|nothing|without|isnt|arent|wasnt|"
    r"dont|doesnt|didnt|cant|cannot|wont|wouldnt|shouldnt|couldnt|aint|\w+n[’']t|rather\s+than|"
    r"instead\s+of|as\s+opposed\s+to|far\s+from|less\s+than)(?![\w'’])",
    re.IGNORECASE,
)
# A clause boundary ends the reach of a negator: "not bad, but positive" keeps "positive".
_CLAUSE_BOUNDARY = re.compile(
    r"[,;:.!?()\[\]\n]|(?<![\w'’])(?:but|however|though|although|yet|while|whereas|so|therefore|because|"
    r"instead)(?![\w'’])",
    re.IGNORECASE,
)
_WORD = re.compile(r"[\w'’]+")
_DISJUNCTION = re.compile(
    r"^[\s*_`\"'“”‘’]*(?:,\s*)?(?:or|and|and/or|nor|vs\.?|versus|/|,|\|)[\s*_`\"'“”‘’]*$", re.IGNORECASE
)
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|\n\s*\n|\n(?=\s*\S)")
_CUE_LEAD = re.compile(r"^[\s:=>\-–—*#_\"'“”‘`(\[]*")
_EMPHASIS = (
    re.compile(r"\*\*([^*\n]{1,60})\*\*"),
    re.compile(r"(?<![\w_])__([^_\n]{1,60})__(?![\w_])"),
    re.compile(r"\\boxed\{([^{}\n]{1,60})\}"),
    re.compile(r"<answer>\s*([^<]{1,80}?)\s*</answer>", re.IGNORECASE),
    re.compile(r"`([^`\n]{1,60})`"),
    re.compile(r"\"([^\"\n]{1,60})\""),
    re.compile(r"“([^”\n]{1,60})”"),
    re.compile(r"\[([^\[\]\n]{1,60})\]"),
    re.compile(r"(?<![\w])\*([^*\n]{1,60})\*(?![\w])"),
)
_STRIP_ALL = re.compile(r"^[\s*_`\"'“”‘’#>()\[\].:;,!?\-–—]+|[\s*_`\"'“”‘’#>()\[\].:;,!?\-–—]+$")
_CUE_WINDOW = 160
#: Label value of an abstain word ("neutral" in a positive/negative task): an explicit
#: answer that is not a label, so the response abstains instead of voting.
ABSTAIN = "\x00abstain"
_NEG_WINDOW = 60


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    label: str
    kind: str  # "word" or "letter"
    negated: bool
    strong: bool  # letters: parenthesised/bulleted/emphasised; words: always True
    complementable: bool = True  # False for "neither/nor" negations


class Extractor:
    """Compiled extraction rule for one task configuration (built once per task)."""

    def __init__(self, opts: TextClsOptions) -> None:
        self.opts = opts
        self.labels = opts.labels
        phrase_to_label: dict[str, str] = {}
        for lab in opts.labels:
            phrase_to_label[lab] = lab
            for p in opts.verbalizers.get(lab, ()):
                phrase_to_label[p] = lab
        for w in opts.abstain_words:
            phrase_to_label.setdefault(w, ABSTAIN)  # a label or verbalizer always wins
        self.phrase_to_label = phrase_to_label
        self.letter_to_label: dict[str, str] = (
            {string.ascii_uppercase[i]: lab for i, lab in enumerate(opts.labels)} if opts.letters else {}
        )
        phrases = sorted(phrase_to_label, key=len, reverse=True)
        self._word_re = re.compile(
            r"(?<![\w-])(" + "|".join(r"\s+".join(map(re.escape, p.split())) for p in phrases) + r")(?![\w-])",
            re.IGNORECASE,
        )
        if self.letter_to_label:
            letters = "".join(self.letter_to_label)
            self._letter_re: re.Pattern[str] | None = re.compile(r"(?<![\w'’\-])([" + letters + r"])(?![\w'’\-])")
        else:
            self._letter_re = None
        cues = sorted(set(opts.cues) | set(opts.extra_cues), key=len, reverse=True)
        self._cue_re = (
            re.compile(
                r"(?<![\w-])(?:" + "|".join(r"\s+".join(map(re.escape, c.split())) for c in cues) + r")(?![\w-])",
                re.IGNORECASE,
            )
            if cues
            else None
        )
        if opts.negation_complement and len(opts.labels) == 2:
            a, b = opts.labels
            self._complement: dict[str, str] = {a: b, b: a}
        else:
            self._complement = {}

    # -- public --------------------------------------------------------------------------
    def label_of(self, answer: str) -> str | None:
        """The canonical label of a bare answer (label word, synonym or option letter)."""
        if not isinstance(answer, str) or len(answer) > 200:
            return None
        core = _STRIP_ALL.sub("", answer)
        if not core:
            return None
        if self.letter_to_label and len(core) == 1 and core.upper() in self.letter_to_label:
            return self.letter_to_label[core.upper()]
        lab = self.phrase_to_label.get(" ".join(core.lower().split()))
        return None if lab == ABSTAIN else lab

    def extract(self, response: str) -> str | None:
        if not isinstance(response, str):
            return None
        text = response[-self.opts.max_chars :]
        if not text.strip():
            return None
        whole = self.label_of(text) if len(text) <= 200 else None
        if whole is not None:
            return whole
        mentions = self._mentions(text)
        if not mentions:
            return None
        for tier in (self._cued, self._emphasised, self._bare):
            found = tier(text, mentions)
            if found is not None:
                # An explicit non-label answer ("neutral") is an answer: it abstains.
                return None if found == ABSTAIN else found
        return None

    # -- mentions ------------------------------------------------------------------------
    def _mentions(self, text: str) -> list[Mention]:
        out: list[Mention] = []
        for m in self._word_re.finditer(text):
            phrase = " ".join(m.group(1).lower().split())
            lab = self.phrase_to_label.get(phrase)
            if lab is not None:
                neg, comp = self._negation(text, m.start(1))
                out.append(Mention(m.start(1), m.end(1), lab, "word", neg, True, comp))
        if self._letter_re is not None:
            for m in self._letter_re.finditer(text):
                if self._letter_follows_word(text, m.end(1)):
                    continue
                out.append(
                    Mention(
                        m.start(1),
                        m.end(1),
                        self.letter_to_label[m.group(1)],
                        "letter",
                        self._negation(text, m.start(1))[0],
                        self._letter_strong(text, m.start(1), m.end(1)),
                    )
                )
        out.sort(key=lambda x: x.start)
        return out

    @staticmethod
    def _letter_follows_word(text: str, end: int) -> bool:
        """'A great film': an upper-case letter followed by a lower-case word is prose,
        unless that word is a connective that commonly follows an answer letter."""
        m = re.match(r"[ \t]+([a-z][\w'’]*)", text[end : end + 40])
        if not m:
            return False
        return m.group(1) not in {"or", "and", "because", "since", "as", "is", "was", "with", "which", "for", "seems"}

    @staticmethod
    def _letter_strong(text: str, start: int, end: int) -> bool:
        before = text[max(0, start - 12) : start]
        after = text[end : end + 2]
        if before.endswith(("(", "[", "**", "*", "`", '"', "“", "'", "{")):
            return True
        line_start = text.rfind("\n", 0, start) + 1
        if not text[line_start:start].strip(" \t*-#>") and after[:1] in (".", ")", ":"):
            return True
        if re.search(r"(?:option|choice|letter)\s*$", before, re.IGNORECASE):
            return True
        return False

    def _negation(self, text: str, start: int) -> tuple[bool, bool]:
        """(negated, complementable) for a mention starting at ``start``."""
        window = text[max(0, start - _NEG_WINDOW) : start]
        cut = None
        for cut in _CLAUSE_BOUNDARY.finditer(window):
            pass
        if cut is not None:
            window = window[cut.end() :]
        words = _WORD.findall(window)
        tail = " ".join(words[-3:])
        if not _NEGATORS.search(tail):
            return False, True
        return True, not _NO_COMPLEMENT.search(tail)

    def _ambiguous(self, text: str, mentions: list[Mention], i: int) -> bool:
        """A mention joined by or/and/slash/comma to a mention of another label."""
        me = mentions[i]
        for j in (i - 1, i + 1):
            if 0 <= j < len(mentions):
                other = mentions[j]
                if other.label == me.label:
                    continue
                lo, hi = (other.end, me.start) if j < i else (me.end, other.start)
                if hi - lo <= 16 and _DISJUNCTION.match(text[lo:hi]):
                    return True
        return False

    def _answer_of(self, text: str, mentions: list[Mention], i: int) -> str | None:
        """The label a mention asserts: its own, the complement of a negated one (binary
        tasks with negation_complement), or None."""
        m = mentions[i]
        if self._ambiguous(text, mentions, i):
            return None
        if m.negated:
            return self._complement.get(m.label) if m.complementable and m.label != ABSTAIN else None
        return m.label

    @staticmethod
    def _inside(mentions: list[Mention], lo: int, hi: int) -> list[int]:
        """Indices of the mentions lying within ``[lo, hi)`` (mentions are sorted by start
        and never overlap, so a binary search bounds the work)."""
        k = _bisect_start(mentions, lo)
        out = []
        while k < len(mentions) and mentions[k].start < hi:
            if mentions[k].end <= hi:
                out.append(k)
            k += 1
        return out

    # -- tiers ---------------------------------------------------------------------------
    def _cued(self, text: str, mentions: list[Mention]) -> str | None:
        if self._cue_re is None:
            return None
        best: str | None = None
        for cue in self._cue_re.finditer(text):
            start = cue.end()
            lead = _CUE_LEAD.match(text[start : start + _CUE_WINDOW])
            wstart = start + (lead.end() if lead else 0)
            chunk = text[wstart : wstart + _CUE_WINDOW]
            end_m = _SENTENCE_END.search(chunk)
            wend = wstart + (end_m.start() if end_m else len(chunk))
            if end_m is not None and end_m.start() == 0:
                continue
            answer = None
            for i in self._inside(mentions, wstart, wend):
                ans = self._answer_of(text, mentions, i)
                if ans is not None:
                    answer = ans
                    break
                if self._ambiguous(text, mentions, i):
                    break  # "answer: positive or negative" answers nothing
            if answer is not None:
                best = answer  # later cues override earlier ones
        return best

    def _emphasised(self, text: str, mentions: list[Mention]) -> str | None:
        best: tuple[int, str | None] | None = None
        for pat in _EMPHASIS:
            for m in pat.finditer(text):
                inner = self._inside(mentions, m.start(1), m.end(1))
                labels = {self._answer_of(text, mentions, k) for k in inner}
                labels.discard(None)
                # Negated mentions inside the span ("**not negative**") are not answers.
                if len(labels) == 1 and all(not mentions[k].negated or self._complement for k in inner):
                    lab = labels.pop()
                    if best is None or m.start(1) > best[0]:
                        best = (m.start(1), lab)
        return best[1] if best else None

    def _bare(self, text: str, mentions: list[Mention]) -> str | None:
        """The last sentence that mentions a label decides: its last non-negated,
        unambiguous mention ("It is positive, not negative" -> positive).  If that sentence
        only negates ("I don't think it's negative."), there is no answer: an earlier
        sentence is not consulted, because the model has since moved away from it."""
        usable = [i for i, m in enumerate(mentions) if m.kind == "word" or m.strong]
        if not usable:
            return None
        ends = [m.start() for m in _SENTENCE_END.finditer(text)]

        def sentence(pos: int) -> int:
            return bisect.bisect_right(ends, pos)

        last_sentence = sentence(mentions[usable[-1]].start)
        for i in reversed(usable):
            m = mentions[i]
            if sentence(m.start) != last_sentence:
                break
            if self._ambiguous(text, mentions, i):
                return None  # "... positive or negative." answers nothing
            ans = self._answer_of(text, mentions, i)
            if ans is not None:
                return ans
        return None


def _bisect_start(mentions: list[Mention], lo: int) -> int:
    a, b = 0, len(mentions)
    while a < b:
        mid = (a + b) // 2
        if mentions[mid].start < lo:
            a = mid + 1
        else:
            b = mid
    return a
