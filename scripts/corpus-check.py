#!/usr/bin/env python3
"""Check new corpus slices before they join data/corpus: the checker corpus writers run after
every batch, and the reviewer once more before a slice is committed.

For each slice (a JSON-lines file) it reports
  - lines that are not a JSON object, lack `text` or `label`, or carry an unknown label, lang,
    channel or genre (the values `herken train` accepts), and empty texts;
  - texts that repeat a text of the corpus or of another slice (after folding case, accents
    and spaces);
  - eight-word runs shared with the corpus or another slice (the words are shown: they are
    ours) — a sign that writers copy formulae from each other;
  - eight-word runs shared with the evaluation sets in ../shared/eval, as the leak check
    reads them (JSON strings, also as written) and as raw lines (whole lines, label fields
    and all: a text ending in a phone number meets an evaluation line's label fields there).
    The words are NOT shown, only the line number and where the run lies, so that nobody
    writes toward the evaluation texts;
  - counts per genre x label, so a writer sees whether every genre carries every label.

Exit 1 when a slice has a format error, a repeated text or a run shared with an evaluation set.

Usage: scripts/corpus-check.py [--corpus data/corpus] [--eval ../shared/eval] [--n 8] SLICE ...
"""
import argparse
import collections
import importlib.util
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location("leak_check", os.path.join(HERE, "scripts", "leak-check.py"))
leak = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(leak)

LABELS = {"klacht", "melding", "bezwaar", "raadsadres", "overig"}
LANGS = {"nl", "en"}
# Raw-line tokenisations (the stop hook's view of a file): whole lines, not JSON strings; the
# leak check's, and whitespace-split with digits out.
RAW_TOKENISERS = leak.TOKENISERS + (lambda s: re.sub(r"\d+", " ", s).split(),)


def genres():
    """The genres src/dataset.rs knows (GENRES), read from the source so they never drift."""
    src = open(os.path.join(HERE, "src", "dataset.rs"), encoding="utf-8").read()
    block = src[src.index("pub const GENRES"):]
    block = block[:block.index("];")]
    return set(re.findall(r'\(\s*"([a-z_]+)"', block))


def channels():
    """The channel spellings src/domain.rs parses (its `=> Ok(Channel::…)` arms)."""
    src = open(os.path.join(HERE, "src", "domain.rs"), encoding="utf-8").read()
    found = set()
    for arm in re.findall(r'((?:"[^"]*"\s*\|\s*)*"[^"]*")\s*=>\s*Ok\(Channel::', src):
        found.update(re.findall(r'"([^"]*)"', arm))
    if not found:
        sys.exit("corpus-check: found no channel spellings in src/domain.rs")
    return found


def fold_text(t):
    return " ".join(re.findall(r"[a-z0-9]+", leak.fold(t)))


def raw_runs(line, n):
    t = leak.fold(line)
    out = set()
    for tok in RAW_TOKENISERS:
        w = tok(t)
        out.update(" ".join(w[i:i + n]) for i in range(len(w) - n + 1))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=os.path.join(HERE, "data", "corpus"))
    ap.add_argument("--eval", default=os.path.join(HERE, "..", "shared", "eval"))
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("slices", nargs="+")
    a = ap.parse_args()
    known_genres, known_channels = genres(), channels()
    slices = [os.path.abspath(s) for s in a.slices]

    # The evaluation sets: runs of their texts and of their raw lines, words never printed.
    eval_runs, eval_raw = set(), set()
    for name in sorted(os.listdir(a.eval)):
        if not name.endswith(".jsonl"):
            continue
        path = os.path.join(a.eval, name)
        for t, as_written in leak.texts_of(path):
            eval_runs |= leak.runs(t, a.n, as_written)
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                eval_raw |= raw_runs(line, a.n)

    # The corpus (without the slices themselves, if they already lie in it).
    corpus_texts, corpus_runs = {}, {}
    for name in sorted(os.listdir(a.corpus)):
        path = os.path.abspath(os.path.join(a.corpus, name))
        if not name.endswith(".jsonl") or path in slices:
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            for i, line in enumerate(f, 1):
                try:
                    text = json.loads(line)["text"]
                except (ValueError, KeyError, TypeError):
                    continue
                where = f"{name}:{i}"
                corpus_texts.setdefault(fold_text(text), where)
                for r in leak.string_runs(text, a.n):
                    corpus_runs.setdefault(r, where)

    problems = warnings = 0
    seen_texts, seen_runs = dict(corpus_texts), dict(corpus_runs)
    counts = collections.Counter()
    for path in slices:
        name = os.path.basename(path)
        try:
            raw = open(path, "rb").read().decode("utf-8")
        except UnicodeDecodeError as e:
            print(f"{name}: not UTF-8 ({e})")
            problems += 1
            continue
        mine_runs = {}
        for i, line in enumerate(raw.splitlines(), 1):
            where = f"{name}:{i}"
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except ValueError as e:
                print(f"{where}: not JSON ({e})")
                problems += 1
                continue
            if not isinstance(d, dict) or not isinstance(d.get("text"), str):
                print(f"{where}: no text")
                problems += 1
                continue
            text = d["text"]
            errs = []
            if not text.strip():
                errs.append("empty text")
            if d.get("label") not in LABELS:
                errs.append(f"label {d.get('label')!r} (one of {', '.join(sorted(LABELS))})")
            if d.get("lang", "nl") not in LANGS:
                errs.append(f"lang {d.get('lang')!r}")
            if str(d.get("channel", "")).lower() not in known_channels:
                errs.append(f"channel {d.get('channel')!r}")
            if "genre" in d and d["genre"] not in known_genres:
                errs.append(f"genre {d['genre']!r} (one of {', '.join(sorted(known_genres))})")
            for e in errs:
                print(f"{where}: {e}")
            problems += len(errs)
            counts[(d.get("genre", "-"), d.get("label", "-"))] += 1

            key = fold_text(text)
            if key in seen_texts:
                print(f"{where}: repeats the text of {seen_texts[key]}")
                problems += 1
            seen_texts.setdefault(key, where)

            runs = leak.string_runs(text, a.n)
            shared = collections.defaultdict(list)
            for r in sorted(runs):
                other = seen_runs.get(r) or mine_runs.get(r)
                if other and other != where:
                    shared[other].append(r)
            for other, rs in shared.items():
                print(f"{where}: shares {len(rs)} run(s) with {other}, e.g. '{rs[0]}' (rephrase if this is a formula)")
                warnings += 1
            for r in runs:
                mine_runs.setdefault(r, where)
            n_eval = len(runs & eval_runs)
            if n_eval:
                print(f"{where}: shares {n_eval} {a.n}-word run(s) with an evaluation text (words withheld): reword it")
                problems += 1
            raw_hits = raw_runs(line, a.n) & eval_raw
            # Runs inside the text were counted above; the rest cross the line's format.
            outside = raw_hits - raw_runs(json.dumps(text, ensure_ascii=False), a.n)
            if outside:
                tail = re.sub(r"\s+", " ", text.strip())[-40:]
                print(f"{where}: {len(outside)} raw-line run(s) with an evaluation line cross the JSON "
                      f"fields (text ends '{tail}'): end the text in words, vary timestamps")
                problems += 1
        for r, w in mine_runs.items():
            seen_runs.setdefault(r, w)

    gs = sorted({g for g, _ in counts})
    labels = sorted(LABELS)
    print("\n" + "genre".ljust(13) + "".join(lab[:10].rjust(11) for lab in labels) + "total".rjust(8))
    for g in gs:
        row = [counts[(g, lab)] for lab in labels]
        print(g.ljust(13) + "".join(str(c).rjust(11) for c in row) + str(sum(row)).rjust(8))
    print(f"corpus-check: {len(slices)} slice(s), {sum(counts.values())} messages, {problems} problem(s), "
          f"{warnings} line(s) sharing runs with ours",
          file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
