#!/usr/bin/env python3
"""Leak check: no text under data/, src/, tests/, benches/ or the README may share a run of
eight words with a text of the evaluation sets in ../shared/eval (digits dropped,
accents folded, three tokenisations; JSON strings also as written, so runs
across "\n" and "\"" escapes count too), nor across a whole file read as one text with the
outer words of a run allowed to be part of a longer word ("dat de" inside "dat deze": the
check the session's stop hook makes). Exit 1 and list the runs when one does.

Usage: scripts/leak-check.py [--eval DIR] [--n 8] [PATH ...]
"""
import argparse, json, os, re, sys, unicodedata

EDGE = ".,;:!?\"'()[]“”‘’«»…-–—*"

TOKENISERS = (
    lambda s: re.findall(r"[a-z0-9]+", s),
    lambda s: re.findall(r"[a-z]+", s),
    lambda s: s.split(),
)


def fold(s):
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().lower()


def strings(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from strings(v)


def texts_of(path):
    """The texts of a file as (text, as_written) pairs: a JSON-lines file gives each string
    value, and each once more as written in the file (as_written), so a run across a "\n" or
    "\"" escape counts too ("heer/mevrouw,\n\nOp" gives "mevrouw n nop"). Runs across field
    boundaries are left out: "label klacht lang nl channel" is the file's format, not a text."""
    with open(path, encoding="utf-8", errors="replace") as f:
        raw = f.read()
    if not path.endswith(".jsonl"):
        return [(raw, False)]
    out = []
    for line in raw.splitlines():
        try:
            values = list(strings(json.loads(line)))
        except ValueError:
            out.append((line, False))
            continue
        out.extend((v, False) for v in values)
        out.extend((json.dumps(v, ensure_ascii=False)[1:-1], True) for v in values)
    return out


def runs(text, n, as_written=False):
    t = fold(text)
    if as_written:
        # Words only: the escapes' letters join the words around them.
        words = [tok(t) for tok in TOKENISERS[:2]]
    else:
        # Also unfolded, digits out and whitespace split: "€ 364.000 en" and "€ 365.000 en"
        # are both "€ . en" there.
        # And with digits dropped and punctuation stripped from the words' edges, so that
        # "dwangsom van € 2.500 per" and "dwangsom van € 500,- per" meet as "dwangsom van €
        # per".
        nodigits = re.sub(r"\d+", "", text.lower()).split()
        edged = [w for w in (w.strip(EDGE) for w in nodigits) if w]
        words = [tok(t) for tok in TOKENISERS] + [re.sub(r"\d+", " ", text.lower()).split(), edged]
    out = set()
    for w in words:
        out.update(" ".join(w[i:i + n]) for i in range(len(w) - n + 1))
    return out


def string_runs(text, n):
    """The runs of one JSON string value, read both ways texts_of reads it: parsed and as
    written in the file."""
    return runs(text, n) | runs(json.dumps(text, ensure_ascii=False)[1:-1], n, as_written=True)


def words_of(text):
    """A whole file as one run of words: every non-word character a break (JSON keys, escapes
    and line ends included), case folded, accents kept."""
    return re.sub(r"\W+", " ", text.lower()).split()


def partial_index(texts, n):
    """The eval texts' n-word runs by their inner n - 2 words, with their outer words."""
    index = {}
    for text, name in texts:
        w = words_of(text)
        for i in range(len(w) - n + 1):
            index.setdefault(tuple(w[i + 1:i + n - 1]), []).append((w[i], w[i + n - 1], name))
    return index


def partial_runs(text, index, n):
    """Runs of `text` whose inner words are an eval run's and whose first word ends with, and
    last word starts with, that run's outer words: the eval run is a substring of the text."""
    w = words_of(text)
    for i in range(len(w) - n + 1):
        for first, last, name in index.get(tuple(w[i + 1:i + n - 1]), ()):
            if w[i].endswith(first) and w[i + n - 1].startswith(last):
                yield " ".join([first] + w[i + 1:i + n - 1] + [last]), name


def main():
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval", default=os.path.join(here, "..", "shared", "eval"))
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("paths", nargs="*")
    a = ap.parse_args()
    evals = {}
    parsed = []
    for name in sorted(os.listdir(a.eval)):
        if name.endswith(".jsonl"):
            for t, as_written in texts_of(os.path.join(a.eval, name)):
                for r in runs(t, a.n, as_written):
                    evals.setdefault(r, name)
                if not as_written:
                    parsed.append((t, name))
    partial = partial_index(parsed, a.n)
    roots = a.paths or [os.path.join(here, p) for p in ("data", "src", "tests", "README.md", "benches")]
    hits = 0
    files = 0
    for root in roots:
        walk = [(root, [], [""])] if os.path.isfile(root) else os.walk(root)
        for d, dirs, names in walk:
            dirs[:] = [x for x in dirs if x != "node_modules"]
            for name in names:
                p = os.path.join(d, name) if name else d
                if not re.search(r"\.(jsonl|json|toml|rs|md|txt|eml|html|js|csv)$", p):
                    continue
                files += 1
                found = {}
                for t, as_written in texts_of(p):
                    for r in runs(t, a.n, as_written) & evals.keys():
                        found.setdefault(r, evals[r])
                with open(p, encoding="utf-8", errors="replace") as f:
                    for r, name in partial_runs(f.read(), partial, a.n):
                        found.setdefault(r, name)
                for r, name in sorted(found.items()):
                    hits += 1
                    print(f"{os.path.relpath(p, here)}: '{r}' (in {name})")
    print(f"leak-check: {files} files, {hits} shared {a.n}-word runs", file=sys.stderr)
    sys.exit(1 if hits else 0)


if __name__ == "__main__":
    main()
