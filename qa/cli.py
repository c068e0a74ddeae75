"""The `qa` command: parse, call the library, print. Domain errors become one line and exit code 1."""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from dataclasses import replace
from pathlib import Path

from .errors import QAError, QuestionError
from .settings import Settings


def _settings(args) -> Settings:
    return Settings.from_env(index=Path(args.index) if getattr(args, "index", None) else None)


def cmd_index_add(args) -> int:
    from .pipeline import add_articles, read_sources
    from .progress import bars

    settings = _settings(args)
    articles, skipped = read_sources(args.sources, settings)
    for skip in skipped:
        print(f"skipped {skip.source}: {skip.reason}", file=sys.stderr)
    if articles:
        change = add_articles(articles, settings, bars())
        print(f"{change.summary()} article(s) in {settings.index}")
    elif not skipped:
        raise QAError("no .txt, .md, .html or .pdf files found in the paths given")
    return 1 if skipped else 0


def cmd_index_sync(args) -> int:
    from .pipeline import sync_bundled
    from .progress import bars

    settings = _settings(args)
    change = sync_bundled(settings, bars())
    print(f"{change.summary() if change else 'nothing to do'}: {settings.index / 'articles'} -> {settings.index}")
    return 0


def cmd_index_remove(args) -> int:
    from .pipeline import remove_articles

    settings = _settings(args)
    remove_articles(args.ids, settings)
    print(f"removed {', '.join(args.ids)} from {settings.index}")
    return 0


def cmd_index_list(args) -> int:
    from .pipeline import open_index, store_for

    settings = _settings(args)
    loaded = open_index(settings)
    records = loaded.manifest.articles
    if args.json:
        rows = [{"id": a.id, "title": a.title, "date": a.date, "source": a.origin, "site": a.source, "url": a.url,
                 "author": a.author, "tags": list(a.tags), "chunks": a.chunks, "hash": a.hash} for a in records]
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    for a in records:
        print(f"{a.id}\t{a.date or '-'}\t{a.title}\t{a.origin or '-'}")
    print(f"{len(records)} article(s), {sum(a.chunks for a in records)} chunks, embedder {loaded.manifest.embedder}, "
          f"generation {loaded.manifest.generation}, in {store_for(settings).where}", file=sys.stderr)
    return 0


def cmd_index_migrate(args) -> int:
    from .pipeline import migrate_index, store_for
    from .progress import bars
    from .settings import Settings

    settings = _settings(args)
    Settings(vector_store=args.to)  # checked like any setting before anything is read
    manifest = migrate_index(settings, args.to, bars())
    target = store_for(replace(settings, vector_store=args.to))
    print(f"copied {len(manifest.articles)} article(s) from {store_for(settings).where} to {target.where} "
          f"(generation {manifest.generation}); set QA_VECTOR_STORE={args.to} to use it")
    return 0


def cmd_index_rebuild(args) -> int:
    from .pipeline import rebuild_index
    from .progress import bars

    settings = _settings(args)
    manifest = rebuild_index(settings, bars())
    print(f"rebuilt {len(manifest.articles)} article(s) in {settings.index} with {manifest.embedder}")
    return 0


def cmd_ask(args) -> int:
    from .pipeline import answer

    settings = _settings(args)
    history = json.loads(args.history) if args.history else []
    if not isinstance(history, list):
        raise QuestionError("--history must be a JSON list of [question, answer] pairs")
    result = answer(args.question, history=history, settings=settings, as_of=args.as_of)
    if args.json:  # with the trace: what each stage saw and which rule decided
        print(json.dumps(result.to_json(trace=True), ensure_ascii=False, indent=1))
        return 0
    print(result.text)
    for c in result.citations:
        print(f"  [{c.number}] {c.title} ({c.article_id}, {c.start}-{c.end}): \"{c.quote}\"")
    return 0


def cmd_eval(args) -> int:
    from .eval.evaluate import evaluate, format_report
    from .progress import bars

    settings = _settings(args)
    if args.threshold is not None:
        settings = replace(settings, abstain_threshold=args.threshold)
    report = evaluate(Path(args.file), settings, limit=args.limit, index_given=args.index is not None,
                      split=args.split, progress=bars())
    print(json.dumps(report.to_json(), indent=1) if args.json else format_report(report))
    return 0


def cmd_calibrate(args) -> int:
    from .answering.calibration import load
    from .eval.calibrate import FIT_SETS, calibrate, with_thresholds
    from .progress import bars

    if args.reuse_answers and not args.threshold_only:
        raise QAError("--reuse-answers goes with --threshold-only: new weights change every stored answer's scores")
    settings = _settings(args)
    fitted = load(settings.judge) if args.threshold_only else calibrate(FIT_SETS, settings, bars())
    fitted = with_thresholds(fitted, FIT_SETS, settings, bars(), args.reuse_answers)
    path = fitted.save()
    placed = fitted.placement(settings.reader)
    print(f"{path}: weights {fitted.weights}, relevance {fitted.relevance}, bias {fitted.bias} "
          f"({fitted.questions} candidate sentences); for reader {settings.reader}: threshold {placed.gate}, "
          f"answer check {placed.check}")
    return 0


def cmd_serve(args) -> int:
    from .ui import serve

    serve(_settings(args), host=args.host, port=args.port)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description="Answer questions from news articles, with citations.")
    sub = parser.add_subparsers(dest="command", required=True)
    index_opt = argparse.ArgumentParser(add_help=False)
    index_opt.add_argument("--index", help="index folder (default: $QA_INDEX, else the project's index/)")
    index_opt.add_argument("-v", "--verbose", action="count", default=0, help="log what happens (-vv: more)")

    index = sub.add_parser("index", help="build and inspect the index").add_subparsers(dest="action", required=True)
    p = index.add_parser("add", parents=[index_opt],
                         help="add or update articles: .txt, .md, .html and .pdf files, folders, http(s) URLs")
    p.add_argument("sources", nargs="+", metavar="PATH_OR_URL")
    p.set_defaults(func=cmd_index_add)
    p = index.add_parser("sync", parents=[index_opt], help="index what is in <index>/articles; drop deleted files")
    p.set_defaults(func=cmd_index_sync)
    p = index.add_parser("remove", parents=[index_opt], help="remove articles by id")
    p.add_argument("ids", nargs="+", metavar="ID")
    p.set_defaults(func=cmd_index_remove)
    p = index.add_parser("list", parents=[index_opt], help="list indexed articles")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_index_list)
    p = index.add_parser("rebuild", parents=[index_opt], help="re-chunk and re-embed every stored article")
    p.set_defaults(func=cmd_index_rebuild)
    p = index.add_parser("migrate", parents=[index_opt],
                         help="copy the index (texts, chunks, vectors: nothing embedded again) to another store")
    p.add_argument("--to", required=True, metavar="STORE",
                   help="milvus://HOST:PORT[/NAME], http(s)://HOST:PORT[/NAME], milvus-lite or faiss")
    p.set_defaults(func=cmd_index_migrate)

    p = sub.add_parser("ask", parents=[index_opt], help="ask a question")
    p.add_argument("question")
    p.add_argument("--json", action="store_true")
    p.add_argument("--history", help='earlier turns as JSON: [["question", "answer"], ...]')
    p.add_argument("--as-of", help="answer as the news stood that day (YYYY-MM-DD): later articles are not read")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("eval", parents=[index_opt], help="evaluate on seed_dev or SQuAD v2 json")
    p.add_argument("file")
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int, help="questions to sample (SQuAD: a fixed, seeded sample)")
    p.add_argument("--threshold", type=float, help="answerability threshold to use instead of the setting")
    p.add_argument("--split", choices=("all", "fit", "report"), default="all",
                   help="SQuAD: only the articles used for fitting, or only the held-out ones")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("calibrate", parents=[index_opt],
                       help="fit the judge model's answerability weights and the profile reader's thresholds on the fit "
                            "sets (qa.eval.calibrate.FIT_SETS; QA_PROFILE picks the models)")
    p.add_argument("--reuse-answers", action="store_true",
                   help="with --threshold-only: reuse stored fit answers made from the same sets and settings")
    p.add_argument("--threshold-only", action="store_true",
                   help="keep the stored weights; place the abstention and answer-check thresholds again")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("serve", parents=[index_opt], help="serve the chat in the browser (syncs <index>/articles first)")
    p.add_argument("--host", default=None, help="address to listen on (default: $GRADIO_SERVER_NAME, else 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default: $GRADIO_SERVER_PORT, else 7860)")
    p.set_defaults(func=cmd_serve)
    return parser


def configure_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr,
                        force=True)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    try:
        return args.func(args)
    except QAError as exc:
        print(f"qa: error: {exc}", file=sys.stderr)
        return 1
    except json.JSONDecodeError as exc:
        print(f"qa: error: --history is not valid JSON ({exc.msg})", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("qa: interrupted; the index is unchanged unless a write had completed", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
