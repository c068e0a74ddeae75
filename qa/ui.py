"""create_app(): the Gradio Blocks. It formats Answers and calls the library; nothing else."""

import html
import json
import logging
import os
import time
from pathlib import Path

from . import pipeline
from .errors import QAError, SettingsError
from .ingest import load_uploads, make_article, normalise, slugify, text_hash
from .settings import Settings
from .prompts import STAGES
from .types import Answer, Stage, Trace

EXAMPLES = [
    "How many aircraft will be bought from Boeing?",
    "Who reported the Cove Capital tungsten deal?",
    "Which resources do the Central Asian states possess?",
    "Who held a summit in Tajikistan last month?",
]
UPLOAD_TYPES = [".txt", ".md", ".markdown", ".html", ".htm", ".pdf"]
MAX_UPLOAD = "5mb"
CSS = """
#sources mark { background: #ffe58a; padding: 0 2px; border-radius: 3px; }
#sources .source { border: 1px solid #ddd; border-radius: 8px; padding: 8px 12px; margin-bottom: 10px; }
#sources .meta { color: #666; font-size: 0.85em; }
#sources .draft { color: #666; font-size: 0.85em; margin-top: 8px; }
#article-view mark { background: #ffe58a; padding: 0 2px; border-radius: 3px; }
#article-view .text { white-space: pre-wrap; max-height: 520px; overflow-y: auto; }
"""
log = logging.getLogger(__name__)


def answer_markdown(answer: Answer) -> str:
    if answer.abstained:
        return f"🤷 {answer.text}"
    return answer.text


def sources_html(answer: Answer | None) -> str:
    if answer is None:
        return "<div id='sources-empty'>Sources of the answer appear here, with the cited sentences highlighted.</div>"
    if answer.abstained or not answer.citations:
        return ("<div class='abstained'><b>No sources:</b> the articles don't answer this question.</div>"
                + _draft_html(answer))
    return "".join(_source_html(answer, c) for c in answer.citations) + _draft_html(answer)


def _draft_html(answer: Answer) -> str:
    """Why it answered or abstained, read off the answer's trace: the search, the evidence with its scores, the
    judge's answerability, the model's draft before verification and each of its sentences with its verdict."""
    trace = answer.trace
    if trace is None:
        return ""
    summary = "Why, and the model draft before verification" if trace.draft else "Why"
    return (f"<details class='draft'><summary>{summary}</summary><p class='why'>{html.escape(_why(trace))}</p>"
            f"{_evidence_html(trace)}{_claims_html(trace)}</details>")


def _why(trace: Trace) -> str:
    parts = [f"decided by: {trace.decided_by}"]
    if trace.search_query != trace.question:
        parts.append(f"searched as “{trace.search_query}”")
    parts.append(f"evidence relevance {trace.relevance:.2f}")
    parts.append("not judged" if trace.answerability is None
                 else f"answerability {trace.answerability:+.2f} (judge's log-odds)")
    if trace.calibration:
        parts.append(trace.calibration)
    return "; ".join(parts)


def _evidence_html(trace: Trace) -> str:
    """The sentences the judge read, with its answerability for each; else the best evidence, with relevance."""
    rows = "".join(f"<li>{html.escape(j.sentence.text)} <span class='score'>(answerability {j.answerability:+.2f}, "
                   f"relevance {j.sentence.relevance:.2f})</span></li>" for j in trace.judged)
    if rows:
        return f"<div>What the judge read:</div><ol class='evidence'>{rows}</ol>"
    rows = "".join(f"<li>{html.escape(s.text)} <span class='score'>(relevance {s.relevance:.2f})</span></li>"
                   for s in trace.evidence[:3])
    return f"<div>Best evidence:</div><ol class='evidence'>{rows}</ol>" if rows else ""


def _claims_html(trace: Trace) -> str:
    if not trace.draft:
        return ""
    rows = "".join(f"<li>{html.escape(c.text)} <span class='verdict'>— {html.escape(c.verdict)}"
                   f"{'' if c.check is None else f', answer check {c.check:+.2f}'}</span></li>" for c in trace.claims)
    return (f"<div>Model draft:</div><p class='raw'>{html.escape(trace.draft)}</p>"
            f"<ul class='claims'>{rows}</ul>")


def _source_html(answer: Answer, c) -> str:
    passage = next((p for p in answer.passages if p.article_id == c.article_id and p.start <= c.start
                    and c.end <= p.end), None)
    if passage is None:
        body = f"<mark>{html.escape(c.quote)}</mark>"
    else:
        a, b = c.start - passage.start, c.end - passage.start
        body = (html.escape(passage.text[:a]) + f"<mark>{html.escape(passage.text[a:b])}</mark>"
                + html.escape(passage.text[b:]))
    meta = " · ".join(x for x in (c.date, c.article_id, f"characters {c.start}–{c.end}") if x)
    return (f"<div class='source' data-number='{c.number}'><b>[{c.number}] {html.escape(c.title)}</b>"
            f"<div class='meta'>{html.escape(meta)}</div><p>{body}</p></div>")


def record_feedback(path: Path, turn: dict, liked: bool) -> None:
    """One JSON line per vote: the question, the answer and its citations."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "liked": liked, **turn}, ensure_ascii=False)
    from filelock import FileLock

    # Votes arrive from every worker thread and every app server sharing the folder: one line at a time.
    with FileLock(str(path) + ".lock"), open(path, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def article_rows(settings: Settings) -> list[list]:
    try:
        loaded = pipeline.open_index(settings)
    except QAError:
        return []
    return [[a.title, a.date or "", a.origin or "", a.chunks, a.id] for a in loaded.manifest.articles]


def article_html(article_id: str | None, spans: list[tuple[int, int]], settings: Settings) -> str:
    """One article's stored text, with the cited spans highlighted (the offsets citations carry)."""
    if not article_id:
        return "<div class='empty'>Choose an article to read it, or open the sources of an answer.</div>"
    loaded = pipeline.open_index(settings)
    record, text = loaded.records.get(article_id), loaded.texts.get(article_id)
    if record is None or text is None:
        return f"<div class='empty'>No article '{html.escape(article_id)}' in the index.</div>"
    body, at = [], 0
    for start, end in sorted(s for s in spans if 0 <= s[0] < s[1] <= len(text)):
        if start < at:
            continue
        body += [html.escape(text[at:start]), f"<mark>{html.escape(text[start:end])}</mark>"]
        at = end
    body.append(html.escape(text[at:]))
    meta = " · ".join(html.escape(x) for x in (record.date, record.source, record.author, record.origin) if x)
    return (f"<div class='article' data-id='{html.escape(article_id)}'><h3>{html.escape(record.title)}</h3>"
            f"<div class='meta'>{meta}</div><div class='text'>{''.join(body)}</div></div>")


def cited_spans(turn: dict | None) -> tuple[str | None, list[tuple[int, int]]]:
    """The first cited article of an answer, and every span of it that the answer cites."""
    citations = (turn or {}).get("citations") or []
    if not citations:
        return None, []
    article_id = citations[0]["article_id"]
    return article_id, [(c["start"], c["end"]) for c in citations if c["article_id"] == article_id]


def add_uploads(paths: list[str], settings: Settings, progress=None) -> str:
    """Index uploaded files, each known by the name it was uploaded under; each bad file gets its own line."""
    if not paths:
        return "Choose one or more .txt, .md, .html or .pdf files first."
    # Gradio keeps the browser's file name as the last part of the temporary path.
    articles, skipped = load_uploads([(Path(p), Path(p).name) for p in paths], settings.max_article_bytes)
    return _index(articles, [f"{s.source}: {s.reason}" for s in skipped], settings, progress)


def add_url(url: str, settings: Settings, progress=None) -> str:
    url = (url or "").strip()
    if not url:
        return "Paste the address of a web page first (https://…)."
    articles, skipped = pipeline.read_sources([url], settings)
    return _index(articles, [f"{s.source}: {s.reason}" for s in skipped], settings, progress)


def add_pasted(title: str, text: str, settings: Settings, progress=None) -> str:
    if not (title or "").strip() or not (text or "").strip():
        return "⚠️ Give the pasted article both a title and some text."
    if len(text.encode("utf-8")) > settings.max_article_bytes:
        return f"⚠️ The pasted text is over the {settings.max_article_bytes:,}-byte limit."
    # A paste is known by its words: another text under the same title is another article, not a correction.
    origin = f"pasted:{text_hash(normalise(text))[:16]}"
    return _index([make_article(slugify(title), text, title.strip(), origin=origin)], [], settings, progress)


def _index(articles, problems: list[str], settings: Settings, progress) -> str:
    lines = [f"⚠️ skipped {p}" for p in problems]
    if articles:
        report = (lambda stage, done, total: progress(done / max(total, 1), desc=stage)) if progress else None
        change = pipeline.add_articles(articles, settings, report or (lambda *a: None))
        lines.insert(0, f"✅ {change.summary()}: {', '.join(a.title for a in articles)}")
    return "\n\n".join(lines) or "Nothing to add."


def remove_article(article_id: str, settings: Settings) -> str:
    if not article_id:
        return "Choose an article to remove."
    pipeline.remove_articles([article_id], settings)
    return f"🗑️ removed {article_id}"


def ask_json(question: str, history: list | None, settings: Settings) -> dict:
    """The /ask API: the same JSON as `qa ask --json`."""
    try:
        return pipeline.answer(question, history=history or [], settings=settings).to_json()
    except Exception as exc:  # noqa: BLE001 - the API answers with one line, never a bare server error
        reason = one_line(exc)
        return {"text": "", "abstained": True, "citations": [], "error": reason}


def conversation_turn(message: str, chat: list | None, turns: list | None, settings: Settings):
    """One exchange of the chat: yields (chat, sources HTML or None for unchanged, turns) as it goes. Every
    exchange adds exactly one turn, a failed one too, so a vote on the n-th reply finds the n-th turn."""
    chat = list(chat or [])
    turns = list(turns or [])
    history = [(t["question"], t["text"]) for t in turns if "text" in t]  # not the turns that failed
    chat += [{"role": "user", "content": message}, {"role": "assistant", "content": "…"}]
    yield chat, sources_html(None), turns
    try:
        for event in pipeline.stream_answer(message, history=history, settings=settings):
            if isinstance(event, Answer):
                chat[-1] = {"role": "assistant", "content": answer_markdown(event)}
                turns.append({"question": message, **event.to_json()})
                yield chat, sources_html(event), turns
            elif isinstance(event, Stage):  # the model's unchecked draft is never shown as the answer
                chat[-1] = {"role": "assistant", "content": f"_{STAGES[event.name]}_"}
                yield chat, None, turns
    except Exception as exc:  # noqa: BLE001 - a turn is added whatever failed, or every later vote goes astray
        reason = one_line(exc)
        chat[-1] = {"role": "assistant", "content": f"⚠️ {reason}"}
        turns.append({"question": message, "error": reason})
        yield chat, sources_html(None), turns


def one_line(exc: Exception) -> str:
    """A domain error's own message; for a failure that is not the user's doing (a model runtime error, a full
    disk), one line that names it, the traceback going to the server log."""
    if isinstance(exc, QAError):
        return str(exc)
    log.error("answering failed", exc_info=exc)
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"Something went wrong while answering ({type(exc).__name__}: {first}); the server log has the details."


def calibration_warning(settings: Settings) -> str | None:
    """Said on the page too: a user's own model judged with numbers fitted for another model."""
    try:
        return pipeline.answerer_for(settings).calibration.warning
    except QAError:  # no calibration at all: the first question says so
        return None


def create_app(settings: Settings | None = None):
    import gradio as gr

    settings = settings or Settings.from_env()

    def respond(message, chat, turns):
        for chat, sources, turns in conversation_turn(message, chat, turns, settings):
            yield chat, gr.skip() if sources is None else sources, turns, ""

    def vote(turns, data: gr.LikeData):
        assistant_turn = data.index[0] // 2 if isinstance(data.index, (list, tuple)) else data.index // 2
        if turns and 0 <= assistant_turn < len(turns):
            record_feedback(settings.feedback_path, turns[assistant_turn], bool(data.liked))
            gr.Info("Thanks, your feedback was saved.")

    def refresh():
        rows = article_rows(settings)
        choices = [(f"{r[0]} ({r[4]})", r[4]) for r in rows]
        return rows, gr.update(choices=choices, value=None), gr.update(choices=choices)

    def read_article(article_id, spans=()):
        try:
            return article_html(article_id, list(spans), settings)
        except QAError as exc:
            return f"<div class='empty'>⚠️ {html.escape(str(exc))}</div>"

    def open_cited(turns):
        article_id, spans = cited_spans(turns[-1] if turns else None)
        return gr.Tabs(selected="articles"), gr.update(value=article_id), read_article(article_id, spans)

    def safe(fn):
        def run(*args, progress=gr.Progress()):
            try:
                message = fn(*args, progress=progress)
            except Exception as exc:  # noqa: BLE001 - one line in the page; the index is left as it was
                message = f"⚠️ {one_line(exc)}"
            return (message, *refresh())
        return run

    with gr.Blocks(title="News QA — cited answers") as app:
        gr.Markdown("## Ask the news articles\nAnswers come only from the indexed articles; every sentence "
                    "cites its source `[n]`, highlighted on the right. If the articles don't say, it says so.")
        warning = calibration_warning(settings)
        if warning:
            gr.Markdown(f"⚠️ {warning}", elem_id="calibration-warning")
        with gr.Tabs() as tabs:
            with gr.Tab("Chat", id="chat"):
                with gr.Row():
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(label="Conversation", height=460, elem_id="chat",
                                             feedback_options=("Like", "Dislike"))
                        with gr.Row():
                            box = gr.Textbox(placeholder="Ask a question about the articles…", show_label=False,
                                             scale=5, elem_id="question", max_length=settings.max_question_chars)
                            send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                        gr.Examples(EXAMPLES, inputs=box, label="Try")
                        new_chat = gr.Button("New conversation", elem_id="new-chat")
                    with gr.Column(scale=2):
                        gr.Markdown("### Sources")
                        sources = gr.HTML(sources_html(None), elem_id="sources")
                        show_cited = gr.Button("Read the cited article", size="sm", elem_id="open-cited")
                turns = gr.State([])
            with gr.Tab("Articles", id="articles"):
                table = gr.Dataframe(headers=["title", "date", "source", "chunks", "id"],
                                     value=lambda: article_rows(settings), interactive=False, elem_id="articles")
                status = gr.Markdown(elem_id="article-status")
                with gr.Row():
                    reading = gr.Dropdown(label="Read an article", choices=[], elem_id="read-choice")
                viewer = gr.HTML(article_html(None, [], settings), elem_id="article-view")
                with gr.Row():
                    with gr.Column():
                        files = gr.File(label="Upload articles (.txt, .md, .html, .pdf)", file_count="multiple",
                                        file_types=UPLOAD_TYPES, elem_id="upload")
                        upload = gr.Button("Add uploaded files", elem_id="add-files")
                    with gr.Column():
                        url = gr.Textbox(label="Add a web page by URL", placeholder="https://…", elem_id="url")
                        add_page = gr.Button("Add page", elem_id="add-url")
                    with gr.Column():
                        title = gr.Textbox(label="Title of a pasted article", elem_id="paste-title")
                        text = gr.Textbox(label="Article text", lines=6, elem_id="paste-text")
                        paste = gr.Button("Add pasted article", elem_id="add-paste")
                with gr.Row():
                    choice = gr.Dropdown(label="Article to remove", choices=[], elem_id="remove-choice")
                    remove = gr.Button("Remove", variant="stop", elem_id="remove")

        outputs = [chatbot, sources, turns, box]
        box.submit(respond, [box, chatbot, turns], outputs, api_visibility="private")
        send.click(respond, [box, chatbot, turns], outputs, api_visibility="private")
        new_chat.click(lambda: ([], sources_html(None), [], ""), None, outputs, api_visibility="private")
        chatbot.like(vote, [turns], None, api_visibility="private")
        listing = [status, table, choice, reading]
        upload.click(safe(lambda f, progress: add_uploads([x if isinstance(x, str) else x.name for x in f or []],
                                                          settings, progress)),
                     [files], listing, api_visibility="private")
        paste.click(safe(lambda t, x, progress: add_pasted(t, x, settings, progress)), [title, text], listing,
                    api_visibility="private")
        remove.click(safe(lambda i, progress: remove_article(i, settings)), [choice], listing,
                     api_visibility="private")
        add_page.click(safe(lambda u, progress: add_url(u, settings, progress)), [url], listing,
                       api_visibility="private")
        reading.input(read_article, [reading], [viewer], api_visibility="private")
        show_cited.click(open_cited, [turns], [tabs, reading, viewer], api_visibility="private")
        app.load(refresh, None, [table, choice, reading], api_visibility="private")

        def ask(question: str, history: list | None = None) -> dict:
            return ask_json(question, history, settings)

        gr.api(ask, api_name="ask")
    return app


def launch_options(host: str | None = None, port: int | None = None) -> dict:
    """Localhost unless told otherwise (--host, else GRADIO_SERVER_NAME); QA_AUTH=user:password turns on a login."""
    port_text = os.environ.get("GRADIO_SERVER_PORT", "7860")
    if port is None and not port_text.isdigit():
        raise SettingsError(f"GRADIO_SERVER_PORT must be a port number, e.g. 7860; got {port_text!r}")
    options = {"server_name": host or os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
               "server_port": port if port is not None else int(port_text),
               "max_file_size": MAX_UPLOAD, "css": CSS}
    auth = os.environ.get("QA_AUTH", "")
    if auth:
        user, sep, password = auth.partition(":")
        if not sep or not user or not password:
            raise SettingsError("QA_AUTH must look like user:password")
        options["auth"] = (user, password)
    return options


def serve(settings: Settings | None = None, host: str | None = None, port: int | None = None) -> None:
    """`qa serve` and `app.py`: sync the bundled articles, load the models, then serve the chat."""
    settings = settings or Settings.from_env()
    options = launch_options(host, port)  # a bad setting fails before minutes of loading
    pipeline.warm_up(settings)
    log.info("serving on http://%s:%d", options["server_name"], options["server_port"])
    create_app(settings).queue(default_concurrency_limit=1).launch(**options)
