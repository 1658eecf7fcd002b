"""Benchmark: listening — generated posts through the whole pipeline against thousands of watches.

It generates ``--watches`` watches (words, prefixes, phrases, hashtags, accounts, languages,
places; AND/OR/NOT) under a few purposes and ``--posts`` posts (Dutch, French, German, English:
function words, a long tail of content words, hashtags, mentions, accents, some emoji, some
reposts), the same texts for every measurement (one seed). Against a fresh database (a temporary
SQLite file) it measures, in one run:

- end to end: ``copps.listening.pipeline.ingest`` in batches (``--batch`` posts per call, as a
  source hands them over): store, analyse (``copps.listening.classify`` when installed — the
  run says when it is not), link reposts, match every active watch, store the matches — posts/s;
- matching only: ``matcher.match`` over every text (normalise, one Aho-Corasick scan, evaluate
  the candidate watches) — posts/s;
- baseline 1, naive: for every post, every watch evaluated with one compiled regular expression
  per term (``\\b…\\b``, case-insensitive) — measured on ``--naive`` posts and scaled;
- baseline 2, bare scan: the same automaton over the same texts, each prepared as the automaton
  needs it (``query.normalise``: case and accents folded, words split), every hit visited, no
  candidate selection and no boolean evaluation — posts/s. The scan of the unprepared raw texts
  (no folding: it would miss "Brand" for "brand") is printed too, with its ratio.

    .venv/bin/python bench/listening.py [--posts 1000000] [--watches 10000] [--batch 1000]
        [--database sqlite|postgres] [--workers 1] [--single 100000]

The posts are generated before the clock starts. End to end, by default, is one process on
SQLite. ``--workers N --database postgres`` measures the scale-out deployment instead (the one
documented for a national load: N ingest processes, as N NATS consumers are, on PostgreSQL):
N forked processes each call ``pipeline.ingest`` on their share of the batches (batch i goes to
process i mod N, all under one source); the NATS transport itself is not included. It first
measures one process on the first ``--single`` posts (a fresh database) for comparison, then
the N processes on all posts (a fresh database again). Both wall-clock posts/s and the CPU time
of the ingesting processes (``time.process_time``: the database server's CPU is not in it) are
printed, with the load average, as the machine may be shared.

Targets: >= 2,000 posts/s end to end on 2 cores; matching >= 100x the naive loop and >= 0.3x the
bare scan. The last line is machine-readable:
``posts_per_s=<end to end> match_vs_naive=<ratio> match_vs_raw=<ratio>``; the line before it
says which end-to-end mode ``posts_per_s`` is (``end_to_end_mode=single-process`` or
``scale-out``, with the single-process figure).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PG_URL, log, prepare_database, setup_django  # noqa: E402

FUNCTION = {
    "nl": "de het een en van in op is dat niet met voor maar ook nog wel al er aan bij zo dan "
    "nu wat die dit we ze ik je hij was zijn heeft".split(),
    "fr": "le la les un une des et de du en dans sur pour pas que qui est avec mais aussi il "
    "elle nous on ce cette au aux très tout".split(),
    "de": "der die das ein eine und in im auf für nicht mit aber auch noch schon ist sind war "
    "wir sie ich es zu den dem des".split(),
    "en": "the a an and of in on is that not with for but also still already are was we they "
    "i it to at this there".split(),
}
CONTENT = {
    "nl": "politie brand ongeval verkeer fiets diefstal inbraak wijkagent controle snelheid "
    "betoging festival concert wedstrijd supporters overlast vuurwerk drugs alcohol "
    "rijbewijs flitspaal file omleiding station trein tram bus school kinderen buurt straat "
    "plein markt stad gemeente burgemeester veiligheid camera melding getuige opsporing "
    "vermist hond kat auto wagen vrachtwagen motor brommer slachtoffer ziekenhuis "
    "ambulance brandweer rook explosie gaslek storm regen overstroming hitte".split(),
    "fr": "police incendie accident circulation vélo vol cambriolage agent contrôle vitesse "
    "manifestation festival concert match supporters nuisances feux drogue alcool permis "
    "radar bouchon déviation gare train tram bus école enfants quartier rue place marché "
    "ville commune bourgmestre sécurité caméra signalement témoin recherche disparu chien "
    "chat voiture camion moto victime hôpital ambulance pompiers fumée explosion fuite "
    "tempête pluie inondation chaleur".split(),
    "de": "polizei brand unfall verkehr fahrrad diebstahl einbruch kontrolle geschwindigkeit "
    "demonstration festival konzert spiel fans lärm feuerwerk drogen alkohol führerschein "
    "blitzer stau umleitung bahnhof zug straßenbahn schule kinder viertel straße platz markt "
    "stadt gemeinde bürgermeister sicherheit kamera meldung zeuge fahndung vermisst hund "
    "katze auto lastwagen motorrad opfer krankenhaus rettungswagen feuerwehr rauch "
    "explosion gewitter regen hochwasser hitze".split(),
    "en": "police fire crash traffic bike theft burglary officer check speed protest festival "
    "concert match fans nuisance fireworks drugs alcohol licence camera jam detour station "
    "train tram bus school children neighbourhood street square market city council mayor "
    "safety report witness search missing dog cat car truck motorbike victim hospital "
    "ambulance smoke explosion storm rain flood heat".split(),
}
SYLLABLES = "ka ver lo mi sta ne bru ge an tel pe ri zon do wa chi mar lu be ot fen sel "
SYLLABLES += "rou gan dé lé ber hau schu wei ing tion ment heid lijk isch"
PLACES = ["Gent", "Antwerpen", "Brussel", "Liège", "Namur", "Brugge", "Leuven", "Mons", "Eupen"]
EMOJI = ["😀", "🚓", "🔥", "👍", "😡", "🙏"]


def vocabulary(rng: random.Random, size: int) -> list[str]:
    """Real content words first, then pronounceable made-up words: a long tail of topics."""
    words = sorted({w for ws in CONTENT.values() for w in ws})
    syllables = SYLLABLES.split()
    seen = set(words)
    while len(words) < size:
        word = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def zipf_pick(rng: random.Random, items: list[str]) -> str:
    # A heavy head and a long tail, like words in real posts.
    return items[min(len(items) - 1, int(len(items) * rng.random() ** 3))]


def generate_posts(seed: int, n: int, vocab: list[str]) -> Iterator[tuple[str, str, str, str]]:
    """(external id, text, author, language) — the same sequence for the same seed."""
    rng = random.Random(seed)
    previous: list[str] = []
    for i in range(n):
        if previous and rng.random() < 0.03:  # a repost of a recent text
            text = rng.choice(previous)
            lang = ""
        else:
            lang = rng.choice(["nl", "nl", "fr", "fr", "de", "en"])
            words = []
            for _ in range(rng.randint(8, 40)):
                r = rng.random()
                if r < 0.5:
                    words.append(rng.choice(FUNCTION[lang]))
                elif r < 0.75:
                    words.append(rng.choice(CONTENT[lang]))
                else:
                    words.append(zipf_pick(rng, vocab))
            if rng.random() < 0.3:
                words.append("#" + rng.choice(CONTENT[lang]))
            if rng.random() < 0.2:
                words.append("@" + f"user{rng.randint(1, 5000)}")
            if rng.random() < 0.15:
                words.append(rng.choice(PLACES))
            if rng.random() < 0.1:
                words.append(rng.choice(EMOJI))
            words[0] = words[0].capitalize()
            text = " ".join(words) + rng.choice([".", "!", "?", " …", ""])
            previous = (previous + [text])[-50:]
        yield f"p{i}", text, f"user{rng.randint(1, 20000)}", lang


def generate_watches(seed: int, n: int, vocab: list[str]) -> list[str]:
    rng = random.Random(seed + 1)

    def term() -> str:
        word = rng.choice(vocab)
        roll = rng.random()
        if roll < 0.55:
            return word
        if roll < 0.7:
            return f'"{word} {rng.choice(vocab)}"'
        if roll < 0.8:
            return "#" + word
        if roll < 0.9 and len(word) >= 6:
            return word[:5] + "*"
        return word

    queries = []
    for _ in range(n):
        shape = rng.random()
        if shape < 0.3:
            q = term()
        elif shape < 0.55:
            q = f"{term()} OR {term()} OR {term()}"
        elif shape < 0.75:
            q = f"({term()} OR {term()}) AND {term()}"
        elif shape < 0.85:
            q = f"{term()} NOT {term()}"
        elif shape < 0.92:
            q = f"lang:{rng.choice(['nl', 'fr', 'de', 'en'])} ({term()} OR {term()})"
        elif shape < 0.97:
            q = f"place:{rng.choice(PLACES)} {term()}"
        else:
            q = f"@user{rng.randint(1, 20000)} OR {term()}"
        queries.append(q)
    return queries


# The naive baseline: one regular expression per term, every watch for every post ------------


def naive_compile(tree):
    from copps.listening import query as q

    def leaf(t):
        if t.kind in ("word", "phrase", "postcode"):
            rx = re.compile(r"\b" + r"\W+".join(map(re.escape, t.value.split())) + r"\b", re.I)
            return lambda text, author, lang: rx.search(text) is not None
        if t.kind == "prefix":
            rx = re.compile(r"\b" + re.escape(t.value), re.I)
            return lambda text, author, lang: rx.search(text) is not None
        if t.kind == "hashtag":
            rx = re.compile(
                "#" + re.escape(t.value.rstrip("*")) + ("" if "*" in t.value else r"\b"), re.I
            )
            return lambda text, author, lang: rx.search(text) is not None
        if t.kind == "author":
            return lambda text, author, lang: author.casefold() == t.value
        if t.kind == "lang":
            return lambda text, author, lang: lang == t.value
        rx = re.compile(r"\b(?:" + "|".join(map(re.escape, t.names)) + r")\b", re.I)
        return lambda text, author, lang: rx.search(text) is not None

    def walk(node):
        if isinstance(node, q.Term):
            return leaf(node)
        if isinstance(node, q.Not):
            inner = walk(node.child)
            return lambda *a: not inner(*a)
        parts = [walk(c) for c in node.children]
        if isinstance(node, q.And):
            return lambda *a: all(p(*a) for p in parts)
        return lambda *a: any(p(*a) for p in parts)

    return walk(tree)


# The run -------------------------------------------------------------------------------------


def setup_watches(args, queries: list[str]):
    """The purposes, the watches and the source of a fresh database; the compiled matcher."""
    from copps.listening import matcher as matching
    from copps.listening.models import Purpose, PurposeKind, Source, Watch

    purposes = [
        Purpose.objects.create(name=f"bench {kind}", kind=kind)
        for kind in (PurposeKind.MOOD, PurposeKind.RUMOURS, PurposeKind.REPUTATION)
    ]
    Watch.objects.bulk_create(
        [
            Watch(purpose=purposes[i % 3], name=f"w{i}", query=text)
            for i, text in enumerate(queries)
        ],
        batch_size=2000,
    )
    started = time.perf_counter()
    compiled = matching.current()
    log(
        f"watches: {args.watches} compiled in {time.perf_counter() - started:.2f} s — "
        f"{len(compiled.patterns)} patterns, {len(compiled.errors)} refused"
    )
    return compiled, Source.objects.create(kind="import", name="bench")


def ingest_chunks(source, posts: list, chunks: list[int], size: int, label: str) -> int:
    """``pipeline.ingest`` over the given chunks of ``size`` posts, as a source hands them over;
    returns the number of new posts stored."""
    from copps.listening import pipeline

    stored = done = 0
    started = time.perf_counter()
    report_every = max(1, len(chunks) // 10)
    for n, chunk in enumerate(chunks, 1):
        batch = [
            pipeline.Incoming(external_id=ext, text=text, author=author, language=lang)
            for ext, text, author, lang in posts[chunk * size : (chunk + 1) * size]
        ]
        stored += len(pipeline.ingest(source, batch, cursor=batch[-1].external_id))
        done += len(batch)
        if n % report_every == 0 or n == len(chunks):
            log(f"  {label}{done:>9,} posts  {done / (time.perf_counter() - started):,.0f} posts/s")
    return stored


def _worker(source_id: int, posts: list, chunks: list[int], size: int, label: str, pipe) -> None:
    from copps.listening.models import Source

    cpu = time.process_time()
    stored = ingest_chunks(Source.objects.get(pk=source_id), posts, chunks, size, label)
    pipe.send((stored, time.process_time() - cpu))
    pipe.close()


def end_to_end(args, posts: list, queries: list[str], workers: int) -> dict:
    """Ingest ``posts`` into a fresh database with ``workers`` processes (1: this process);
    posts/s (wall clock) and the CPU seconds the ingesting processes used."""
    from django.db import connections

    from copps.listening.models import Match

    if args.used:  # the database of an earlier run: start afresh
        fresh_database(args)
    args.used = True
    compiled, source = setup_watches(args, queries)
    chunks = list(range((len(posts) + args.batch - 1) // args.batch))
    load = os.getloadavg()[0]
    log(
        f"end to end: {len(posts):,} posts in batches of {args.batch} through pipeline.ingest, "
        f"{workers} process{'es' if workers > 1 else ''}, {args.database} (load average {load:.1f})"
    )
    if workers == 1:
        cpu = time.process_time()
        started = time.perf_counter()
        stored = ingest_chunks(source, posts, chunks, args.batch, "")
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu
    else:
        # Forked after the models, the gazetteer and the matcher are loaded (warm, like a
        # long-running consumer); each process opens its own database connection.
        from copps.listening import classify, places

        classify.analyse("warm up")
        places.find("Gent")
        connections.close_all()
        context = multiprocessing.get_context("fork")
        procs = []
        started = time.perf_counter()
        for i in range(workers):
            receive, send = context.Pipe(duplex=False)
            mine = chunks[i::workers]  # disjoint slices, batch by batch like a shared consumer
            proc = context.Process(
                target=_worker, args=(source.pk, posts, mine, args.batch, f"[{i + 1}] ", send)
            )
            proc.start()
            procs.append((proc, receive))
        results = [receive.recv() for _proc, receive in procs]
        wall = time.perf_counter() - started
        for proc, _receive in procs:
            proc.join()
            if proc.exitcode:
                raise SystemExit(f"an ingest process failed (exit code {proc.exitcode})")
        stored = sum(r[0] for r in results)
        cpu = sum(r[1] for r in results)
    matches = Match.objects.count()
    rate = stored / wall
    log(
        f"end to end: {rate:,.0f} posts/s wall clock ({stored:,} posts, {matches:,} matches "
        f"stored in {wall:.1f} s); {cpu / max(stored, 1) * 1e6:,.0f} µs of CPU per post in the "
        f"ingesting process{'es' if workers > 1 else ''} ({stored / max(cpu, 1e-9):,.0f} posts "
        f"per CPU second, the database server's own CPU not included); load average "
        f"{load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    )
    return {"rate": rate, "cpu": cpu, "stored": stored, "compiled": compiled, "wall": wall}


def fresh_database(args) -> None:
    from django.db import connections

    connections.close_all()
    if args.database == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{args.tmpdir}/copps.sqlite3{suffix}").unlink(missing_ok=True)
    prepare_database(args.database, None, Path(args.tmpdir))


def run(args, env) -> None:
    setup_django(env)
    from copps.listening import query as q

    try:
        from copps.listening import classify  # type: ignore[attr-defined]  # noqa: F401

        log("analysis: copps.listening.classify is installed and runs on every new post")
    except ImportError:
        log(
            "analysis: copps.listening.classify is MISSING in this checkout — end to end runs "
            "without language/sentiment analysis (the figure will drop once it is there)"
        )

    vocab = vocabulary(random.Random(args.seed), 100_000)
    queries = generate_watches(args.seed, args.watches, vocab)
    # Generated before the clock starts: producing the texts is not the pipeline's work.
    posts = list(generate_posts(args.seed, args.posts, vocab))

    # End to end ---------------------------------------------------------------------------
    single = None
    if args.workers > 1 and args.single:
        sample = posts[: args.single]
        log(f"single process, for comparison: the first {len(sample):,} posts")
        single = end_to_end(args, sample, queries, 1)
    main = end_to_end(args, posts, queries, args.workers)
    if single is None and args.workers == 1:
        single = main
    e2e, stored, compiled = main["rate"], main["stored"], main["compiled"]

    # Matching only ------------------------------------------------------------------------
    texts = [(t, a, lang) for _e, t, a, lang in posts]
    started = time.perf_counter()
    found = 0
    for text, author, lang in texts:
        found += len(compiled.match(text, author=author, language=lang))
    match_rate = len(texts) / (time.perf_counter() - started)
    log(f"matching only: {match_rate:,.0f} posts/s ({found} matches)")

    # Bare scans ---------------------------------------------------------------------------
    # The automaton needs the text folded (case, accents) and split into words to find whole
    # words at all: the bare scan does that preparation and the scan, nothing else (no candidate
    # selection, no boolean evaluation). The scan of the unprepared raw texts is shown too.
    automaton = compiled.automaton
    started = time.perf_counter()
    hits = 0
    for text, _a, _l in texts:
        for _hit in automaton.iter(q.normalise(text)):
            hits += 1
    bare_rate = len(texts) / (time.perf_counter() - started)
    log(f"bare Aho-Corasick scan (text prepared, every hit visited): {bare_rate:,.0f} posts/s")
    started = time.perf_counter()
    raw_hits = 0
    for text, _a, _l in texts:
        for _hit in automaton.iter(text):
            raw_hits += 1
    unprepared_rate = len(texts) / (time.perf_counter() - started)
    log(
        f"bare Aho-Corasick scan of the unprepared raw texts: {unprepared_rate:,.0f} posts/s "
        f"(matching is {match_rate / unprepared_rate:.2f}x that)"
    )

    # Naive --------------------------------------------------------------------------------
    naive = [naive_compile(q.parse(text)) for text in queries]
    sample_texts = texts[: args.naive]
    started = time.perf_counter()
    naive_found = 0
    for text, author, lang in sample_texts:
        for test in naive:
            naive_found += test(text, author, lang)
    naive_rate = len(sample_texts) / (time.perf_counter() - started)
    sample_found = sum(
        len(compiled.match(t, author=a, language=lang)) for t, a, lang in sample_texts
    )
    log(
        f"naive per-watch regex loop: {naive_rate:,.1f} posts/s on {len(sample_texts)} posts "
        f"({naive_found} matches; the matcher finds {sample_found} on the same posts)"
    )
    if args.workers > 1:
        print(
            f"end_to_end_mode=scale-out processes={args.workers} database={args.database} "
            f"(posts_per_s below: {args.workers} ingest processes, the deployment with N NATS "
            f"consumers, over disjoint batches; single_process_posts_per_s="
            f"{single['rate'] if single else 0:.0f} on {single['stored'] if single else 0} posts)"
        )
    else:
        print(f"end_to_end_mode=single-process database={args.database}")
    print(
        f"watches={args.watches} posts={stored} patterns={len(compiled.patterns)} "
        f"e2e_posts_per_s={e2e:.0f} e2e_cpu_us_per_post={main['cpu'] / max(stored, 1) * 1e6:.0f} "
        f"matching_posts_per_s={match_rate:.0f} "
        f"bare_scan_posts_per_s={bare_rate:.0f} naive_posts_per_s={naive_rate:.1f}"
    )
    print(
        f"posts_per_s={e2e:.0f} match_vs_naive={match_rate / naive_rate:.1f} "
        f"match_vs_raw={match_rate / bare_rate:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--watches", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1000, help="posts per pipeline.ingest call")
    parser.add_argument("--naive", type=int, default=200, help="posts for the naive baseline")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="ingest processes (>1: the scale-out deployment, PostgreSQL; fork, Unix only)",
    )
    parser.add_argument(
        "--single",
        type=int,
        default=100_000,
        help="with --workers > 1: posts for the single-process comparison figure (0: none)",
    )
    args = parser.parse_args()
    if args.workers > 1 and args.database != "postgres":
        parser.error("--workers > 1 needs --database postgres (one SQLite file has one writer)")
    with tempfile.TemporaryDirectory(prefix="copps-bench-listening-") as tmpdir:
        args.tmpdir, args.used = tmpdir, False
        if args.database == "sqlite":
            log(f"database: SQLite {Path(tmpdir) / 'copps.sqlite3'}")
        else:
            log(f"database: PostgreSQL ({PG_URL.rsplit('@', 1)[-1]})")
        env = prepare_database(args.database, None, Path(tmpdir))
        run(args, env)


if __name__ == "__main__":
    main()
