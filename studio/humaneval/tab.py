"""The Evaluate tab: "Real or generated?", "Which is better?" and the leaderboard, for each modality; and
"Which completion is better?" with its own rating, for a modality whose judge part completes (images).

Items come from held-out real data (``trained/_heldout``) or from a registered model at the modality tab's
default settings, through each modality's ``judge`` part. Every item or pair shown carries a ticket, and a
vote counts only with its ticket, from the page it was shown on (studio.humaneval.store).
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Sequence
from typing import Any

import gradio as gr
import pandas as pd
import sqlalchemy as sa

from studio.humaneval.board import Board, build_board, oriented_tau
from studio.humaneval.stats import wilson
from studio.humaneval.store import (
    COMPLETION,
    SAMPLES,
    StoreUnavailable,
    VoteRefused,
    VoteStore,
    votes_csv,
)
from studio.registry.record import Modality
from studio.registry.serving import ModelRegistry
from studio.ui.controls import status_line
from studio.ui.inputs import MAX_SEED
from studio.ui.results import bytes_path

INTRO = ("Automatic metrics can't settle everything: here **you** judge. *Real or generated?* shows one item, "
         "either held-out real data or a sample from one of the models, and tells you the truth after you "
         "answer. *Which is better?* shows two models' samples side by side, names hidden until you vote. "
         "The leaderboard sets the human verdict beside the automatic metrics. *Which completion is better?* "
         "(images) shows one picture with a region hidden and two models' fills of it, rated on its own.\n\n"
         "*Privacy:* a vote stores the answer, what was shown and the minute. No name, address, IP address or "
         "browser details are stored; the page's session id is kept only as a one-way hash, to check that a "
         "vote answers an item shown on that page.")
QUESTION = {"image": "Is this image real or generated?", "text": "Are these three lines real or generated?",
            "audio": "Are these four bars real or generated? Press play."}
REAL_WHAT = {"image": "a held-out Fashion-MNIST test image", "text": "lines from a held-out play",
             "audio": "a held-out Bach chorale"}
#: The button that draws the next pair of each pairwise question (named in the reveal after a vote).
NEXT_PAIR = {SAMPLES: "Next pair", COMPLETION: "Next completion pair"}
DB_TROUBLE = ("The vote database is not answering right now ({reason}); nothing was stored. Try again in a "
              "moment.")


def session_of(request: gr.Request | None) -> str:
    session = getattr(request, "session_hash", None)
    if not session:
        raise gr.Error("This request has no browser session; open the app's page (or use gradio_client), then "
                       "try again.")
    return str(session)


def _db_errors(fn):  # noqa: ANN001, ANN202 - a decorator
    """Store problems become messages for the visitor; the app keeps serving."""
    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except VoteRefused as exc:
            raise gr.Error(str(exc)) from None
        except sa.exc.SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:120]
            raise gr.Error(DB_TROUBLE.format(reason=reason)) from None
    return wrapped


def takes_completions(record: Modality) -> bool:
    """Whether the modality's judge part offers "Which completion is better?" (``completion_pair``)."""
    return hasattr(record.human_eval(), "completion_pair")


class Judging:
    """What the tab does, apart from its widgets: draw items, issue tickets, take votes, build boards."""

    def __init__(self, store: VoteStore, registry: ModelRegistry, modalities: Sequence[Modality]):
        self.store, self.registry = store, registry
        self.modalities = {m.name: m for m in modalities}

    def models(self, modality: str) -> list[str]:
        return [m for m in self.registry.ids(modality) if self.registry.get(m).available]

    def _modality(self, modality: object) -> Modality:
        if modality not in self.modalities:
            raise gr.Error(f"Unknown modality {str(modality)[:20]!r}; pick one of {', '.join(self.modalities)}.")
        return self.modalities[str(modality)]

    def _sample(self, modality: Modality, model_id: str) -> Any:
        return modality.human_eval().model_item(self.registry, model_id, secrets.randbelow(MAX_SEED + 1))

    @_db_errors
    def next_item(self, modality: str, session: str) -> tuple[Any, str]:
        """(item, ticket): real or generated, even odds; a generated one from a model drawn uniformly."""
        record = self._modality(modality)
        judge, models = record.human_eval(), self.models(modality)
        if not models or secrets.randbelow(2) == 0:
            index = secrets.randbelow(judge.real_count())
            source, item = "real", judge.real_item(index)
        else:
            source = models[secrets.randbelow(len(models))]
            item = self._sample(record, source)
        return item, self.store.issue(session, "judge", modality, {"source": source})

    @_db_errors
    def next_pair(self, modality: str, session: str) -> tuple[Any, Any, str]:
        """(left item, right item, ticket) from two different models, in random order."""
        record = self._modality(modality)
        models = self.models(modality)
        if len(models) < 2:
            raise gr.Error(f"Comparing needs two {modality} models; only {len(models)} is available.")
        left, right = secrets.SystemRandom().sample(models, 2)  # two different models, in random order
        items = self._sample(record, left), self._sample(record, right)
        return items[0], items[1], self.store.issue(session, "compare", modality,
                                                    {"question": SAMPLES, "left": left, "right": right})

    def completion_models(self, modality: str) -> list[str]:
        """The modality's servable models that complete a given item; none where its judge part can't."""
        record = self._modality(modality)
        if not takes_completions(record):
            return []
        judge = record.human_eval()
        return [m for m in self.models(modality) if judge.can_complete(self.registry, m)]

    @_db_errors
    def next_completion_pair(self, modality: str, session: str) -> tuple[Any, Any, Any, str]:
        """(the given item with its hidden part shown, left completion, right completion, ticket): two different
        completing models, in random order, fill the same item's same hidden part, each from its own seed."""
        record = self._modality(modality)
        if not takes_completions(record):
            having = ", ".join(m.title for m in self.modalities.values() if takes_completions(m)) or "none yet"
            raise gr.Error(f"{record.title} has no \"Which completion is better?\"; it is asked for: {having}.")
        judge, models = record.human_eval(), self.completion_models(modality)
        if len(models) < 2:
            raise gr.Error(f"Comparing completions needs two {judge.COMPLETING}; only {len(models)} is available.")
        rng = secrets.SystemRandom()
        left, right = rng.sample(models, 2)
        pair = judge.completion_pair(self.registry, left, right, rng)
        ticket = self.store.issue(session, "compare", modality,
                                  {"question": COMPLETION, "left": left, "right": right, **pair.shown})
        return pair.given, pair.left, pair.right, ticket

    @_db_errors
    def answer(self, ticket: str, session: str, answer: str) -> str:
        if answer not in ("real", "generated"):
            raise VoteRefused(f"An answer is 'real' or 'generated'; got {str(answer)[:20]!r}.")
        item = self.store.judge(ticket, session, answer == "real")
        kind = self._modality(item["modality"]).human_eval().KIND
        if item["source"] == "real":
            truth = f"It was **real**: {REAL_WHAT[kind]}."
            verdict = "Right." if answer == "real" else "It looked generated to you."
        else:
            truth = f"It was **generated** by **{item['source']}**."
            verdict = "It fooled you." if answer == "real" else "Right."
        return f"{truth} {verdict} Your answer is counted; press **Next item** for another."

    @_db_errors
    def vote(self, ticket: str, session: str, outcome: str) -> str:
        item = self.store.compare(ticket, session, outcome)
        picked = {"left": f"the left one, **{item['left']}**", "right": f"the right one, **{item['right']}**",
                  "tie": "a tie"}[outcome]
        again = NEXT_PAIR.get(item.get("question", SAMPLES), NEXT_PAIR[SAMPLES])
        return (f"Left was **{item['left']}**, right was **{item['right']}**. You chose {picked}. Your vote is "
                f"counted; press **{again}** for another.")

    @_db_errors
    def board(self, modality: str) -> tuple[Board, str]:
        """The leaderboard, rated on "Which is better?" votes only, and every vote of the modality as a CSV
        file, from one read of the votes."""
        record = self._modality(modality)
        ids = self.models(modality)
        metrics = {m: self.registry.get(m).metrics for m in ids}
        judged, every = self.store.judgement_rows(modality), self.store.comparison_rows(modality, question=None)
        compared = [r for r in every if r.question == SAMPLES]  # a completion vote judges another thing
        board = build_board(ids, metrics, record.human_eval().MAIN_METRICS, judged, compared)
        return board, bytes_path(votes_csv(judged, every).encode(), f"votes-{modality}.csv")

    @_db_errors
    def completion_board(self, modality: str) -> Board:
        """The completing models rated on "Which completion is better?" votes only."""
        ids = self.completion_models(modality)
        return build_board(ids, {}, (), [], self.store.comparison_rows(modality, question=COMPLETION))


# -- reading the board -----------------------------------------------------------------------------------
def board_table(board: Board, record: Modality) -> pd.DataFrame:
    keys = record.human_eval().MAIN_METRICS
    ranked = sorted(board.rows, key=lambda r: -(r.rating if r.rating is not None else float("-inf")))
    rows = []
    for r in ranked:
        low, high = r.fooled_interval
        rows.append({
            "model": r.model,
            "human rating (95% CI)": (f"{r.rating:.0f} ({r.rating_low:.0f}–{r.rating_high:.0f})"
                                      if r.rating is not None else "no votes yet"),
            "pair votes": r.pair_votes,
            "fooled rate (95% CI)": (f"{100 * r.fooled_rate:.0f}% ({100 * low:.0f}–{100 * high:.0f}%)"
                                     if r.judged else "no votes yet"),
            "judged": r.judged,
            **{record.schema.metric(k).header: record.schema.metric(k).format(r.metrics.get(k)) for k in keys},
        })
    return pd.DataFrame(rows)


def board_text(board: Board, record: Modality) -> str:
    parts = [f"**{board.comparisons:,}** pairwise votes and **{board.judgements:,}** real-or-generated answers "
             "so far."]
    if board.real_judged:
        low, high = wilson(board.real_said_real, board.real_judged)
        parts.append(f"Visitors called **{100 * board.real_said_real / board.real_judged:.0f}%** of the real items "
                     f"real (95% CI {100 * low:.0f}–{100 * high:.0f}%, {board.real_judged:,} shown): a model whose "
                     "fooled rate comes near that is as convincing as real data.")
    agree = []
    for key, tau in board.taus.items():
        metric = record.schema.metric(key)
        if tau != tau or metric.better not in ("lower", "higher"):  # too few rated models, or no direction
            continue
        t = oriented_tau(tau, metric.better) + 0.0  # + 0.0: no "-0.00"
        word = "agrees with people" if t >= 0.6 else ("disagrees with people" if t <= -0.2 else "no clear relation")
        agree.append(f"{metric.label}: τ = {t:+.2f} ({word})")
    rated = sum(r.rating is not None for r in board.rows)
    if agree:
        parts.append(f"Kendall's τ between the human rating and each metric's ranking of the {rated} rated models "
                     "(+1: the same order, −1: reversed): " + "; ".join(agree) + ". With this few models one "
                     "swapped pair moves τ a lot; read it with the rating intervals.")
    else:
        parts.append("Kendall's τ against the metrics appears once two models have pairwise votes.")
    parts.append("*How to read it:* the rating is Bradley–Terry fitted to the pairwise votes, on the Elo scale "
                 "(1000 is average; 100 points ≈ 64% odds of being preferred), with bootstrap intervals. The "
                 "fooled rate is the share of a model's samples that visitors called real, with a Wilson "
                 "interval; intervals that overlap mean the data can't yet tell the models apart.")
    return "\n\n".join(parts)


def completion_table(board: Board, record: Modality, registry: ModelRegistry) -> pd.DataFrame:
    """The completion rating, best first, beside each model's recorded completion scores."""
    judge = record.human_eval()
    ranked = sorted(board.rows, key=lambda r: -(r.rating if r.rating is not None else float("-inf")))
    rows = [{"model": r.model,
             "completion rating (95% CI)": (f"{r.rating:.0f} ({r.rating_low:.0f}–{r.rating_high:.0f})"
                                            if r.rating is not None else "no votes yet"),
             "completion votes": r.pair_votes,
             **judge.completion_metrics(registry.get(r.model).metrics)} for r in ranked]
    # With no completing model the table still shows its headings.
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=["model", "completion rating (95% CI)",
                                                                 "completion votes"])


def completion_text(board: Board) -> str:
    return (f"**{board.comparisons:,}** completion votes so far. The rating is Bradley–Terry fitted to these votes "
            "only, on the Elo scale, with bootstrap intervals, as on the leaderboard; the leaderboard's rating "
            "counts only *Which is better?* votes, so each compares like with like.")


# -- the widgets -----------------------------------------------------------------------------------------
def item_component(kind: str, label: str, elem_id: str,
                   alt: str = "a 28 by 28 picture of clothing, real or generated") -> gr.components.Component:
    if kind == "image":
        return gr.Image(None, type="filepath", label=label, interactive=False, height=240, elem_id=elem_id,
                        buttons=[], alt_text=f"{label}: {alt}")
    if kind == "audio":
        return gr.Audio(None, type="filepath", label=label, interactive=False, elem_id=elem_id, buttons=[])
    return gr.Textbox("", label=label, lines=3, interactive=False, elem_id=elem_id)


def cast(act, value: str, first: str):  # noqa: ANN001, ANN201 - act: Judging.answer or Judging.vote
    """A button's handler: ``act`` with this button's answer, on the ticket of what is on screen."""
    def run(ticket: str, request: gr.Request) -> str:
        if not ticket:
            raise gr.Error(f"Press **{first}** first.")
        return act(ticket, session_of(request), value)
    return run


def vote_buttons(name: str, prefix: str) -> list[tuple[gr.Button, str]]:
    """Left is better / Tie / Right is better, each with the outcome it votes."""
    return [(gr.Button(text, elem_id=f"eval-{name}-{prefix}-{outcome}"), outcome)
            for text, outcome in (("Left is better", "left"), ("Tie", "tie"), ("Right is better", "right"))]


def modality_section(judging: Judging, record: Modality, opened: Sequence[Any] = ()) -> None:
    """One modality's questions and leaderboard; ``opened`` (events such as a tab's select) show its first item
    and pair, for this visitor, where none is on screen yet."""
    name, kind = record.name, record.human_eval().KIND

    def item(request: gr.Request) -> tuple[Any, str, str]:
        shown, ticket = judging.next_item(name, session_of(request))
        return shown, ticket, QUESTION[kind]

    def pair(request: gr.Request) -> tuple[Any, Any, str, str]:
        left, right, ticket = judging.next_pair(name, session_of(request))
        return left, right, ticket, "Which is better? The models' names appear after you vote."

    def board() -> tuple[pd.DataFrame, str, str]:
        result, votes = judging.board(name)
        return board_table(result, record), board_text(result, record), votes

    with gr.Accordion("Real or generated?", open=True):
        with gr.Row():
            with gr.Column(scale=2):
                shown = item_component(kind, "The item", f"eval-{name}-item")
            with gr.Column(scale=1):
                question = gr.Markdown("Press **Next item** to start.", elem_id=f"eval-{name}-question")
                next_item = gr.Button("Next item", variant="primary", elem_id=f"eval-{name}-next")
                with gr.Row():
                    said_real = gr.Button("Real", elem_id=f"eval-{name}-real")
                    said_fake = gr.Button("Generated", elem_id=f"eval-{name}-generated")
                truth = gr.Markdown("", elem_id=f"eval-{name}-truth")
                status = status_line(f"eval-{name}-status")
        ticket = gr.Textbox("", visible=False, elem_id=f"eval-{name}-ticket")
    next_item.click(item, None, [shown, ticket, question], api_name=f"eval_item_{name}", concurrency_limit=8,
                    show_progress_on=[status]).success(lambda: "", None, [truth], api_visibility="private")
    for button, said in ((said_real, "real"), (said_fake, "generated")):
        button.click(cast(judging.answer, said, "Next item"), [ticket], [truth], api_visibility="private",
                     concurrency_limit=16, show_progress_on=[status]).success(
            lambda: "", None, [ticket], api_visibility="private")  # a ticket is good once

    with gr.Accordion("Which is better?", open=True):
        pair_question = gr.Markdown("Press **Next pair** to start.", elem_id=f"eval-{name}-pair-question")
        with gr.Row():
            left = item_component(kind, "Left", f"eval-{name}-left")
            right = item_component(kind, "Right", f"eval-{name}-right")
        with gr.Row():
            next_pair = gr.Button("Next pair", variant="primary", elem_id=f"eval-{name}-next-pair")
            pair_votes = vote_buttons(name, "vote")
        reveal = gr.Markdown("", elem_id=f"eval-{name}-reveal")
        pair_status = status_line(f"eval-{name}-pair-status")
        pair_ticket = gr.Textbox("", visible=False, elem_id=f"eval-{name}-pair-ticket")
    next_pair.click(pair, None, [left, right, pair_ticket, pair_question], api_name=f"eval_pair_{name}",
                    concurrency_limit=8, show_progress_on=[pair_status]).success(
        lambda: "", None, [reveal], api_visibility="private")
    for button, outcome in pair_votes:
        button.click(cast(judging.vote, outcome, NEXT_PAIR[SAMPLES]), [pair_ticket], [reveal],
                     api_visibility="private", concurrency_limit=16, show_progress_on=[pair_status]).success(
            lambda: "", None, [pair_ticket], api_visibility="private")

    if takes_completions(record):
        completion_section(judging, record)

    with gr.Accordion("Leaderboard", open=True):
        refresh = gr.Button("Refresh the leaderboard", elem_id=f"eval-{name}-refresh", size="sm")
        # Until the first refresh: the models and their metrics, no votes (no database read at start-up).
        ids = judging.models(name)
        empty = build_board(ids, {m: judging.registry.get(m).metrics for m in ids}, record.human_eval().MAIN_METRICS,
                            [], [], rounds=0)
        table = gr.Dataframe(board_table(empty, record), interactive=False, wrap=False,
                             elem_id=f"eval-{name}-board", elem_classes=["table-wrap"])
        reading = gr.Markdown("", elem_id=f"eval-{name}-reading")
        download = gr.DownloadButton("Download the votes (CSV)", elem_id=f"eval-{name}-csv", size="sm")
        gr.Markdown("The CSV holds every vote of this modality, anonymous: the question, what was shown, the "
                    "answer and the minute (UTC). Refresh first to include the latest votes.")
    # The CSV is made with the board, so the download button always holds the votes the table shows.
    refresh.click(board, None, [table, reading, download], api_name=f"eval_board_{name}", concurrency_limit=4)

    def first(item_ticket: str, shown_pair_ticket: str, request: gr.Request) -> tuple:
        """The first item and pair when the section opens; what is already on screen stays."""
        first_item = item(request) if not item_ticket else (gr.skip(),) * 3
        first_pair = pair(request) if not shown_pair_ticket else (gr.skip(),) * 4
        return (*first_item, *first_pair)

    if opened:
        gr.on(list(opened), first, [ticket, pair_ticket], [shown, ticket, question, left, right, pair_ticket,
                                                           pair_question],
              api_visibility="private", concurrency_limit=8, show_progress_on=[status, pair_status])


def completion_section(judging: Judging, record: Modality) -> None:
    """"Which completion is better?": one given item with its hidden part, two models' completions of it, the
    vote, and the completion rating. Votes go through the same ``eval_vote`` as "Which is better?"."""
    name, judge = record.name, record.human_eval()
    kind = judge.KIND

    def pair(request: gr.Request) -> tuple[Any, Any, Any, str, str]:
        given, left, right, ticket = judging.next_completion_pair(name, session_of(request))
        return given, left, right, ticket, judge.COMPLETION_QUESTION

    def board() -> tuple[pd.DataFrame, str]:
        result = judging.completion_board(name)
        return completion_table(result, record, judging.registry), completion_text(result)

    with gr.Accordion("Which completion is better?", open=True):
        question = gr.Markdown(f"Press **{NEXT_PAIR[COMPLETION]}** to start.",
                               elem_id=f"eval-{name}-completion-question")
        with gr.Row():
            given = item_component(kind, "Given", f"eval-{name}-completion-given",
                                   alt="a 28 by 28 picture of clothing with a region hidden in pink")
            left = item_component(kind, "Left", f"eval-{name}-completion-left",
                                  alt="the picture with its hidden region filled by a model")
            right = item_component(kind, "Right", f"eval-{name}-completion-right",
                                   alt="the picture with its hidden region filled by another model")
        with gr.Row():
            next_pair = gr.Button(NEXT_PAIR[COMPLETION], variant="primary", elem_id=f"eval-{name}-next-completion")
            votes = vote_buttons(name, "completion-vote")
        reveal = gr.Markdown("", elem_id=f"eval-{name}-completion-reveal")
        status = status_line(f"eval-{name}-completion-status")
        ticket = gr.Textbox("", visible=False, elem_id=f"eval-{name}-completion-ticket")
        gr.Markdown("**Completion rating**", elem_id=f"eval-{name}-completion-rating-title")
        refresh = gr.Button("Refresh the completion rating", elem_id=f"eval-{name}-completion-refresh", size="sm")
        # Until the first refresh: the completing models, no votes (no database read at start-up).
        empty = build_board(judging.completion_models(name), {}, (), [], [], rounds=0)
        table = gr.Dataframe(completion_table(empty, record, judging.registry), interactive=False, wrap=False,
                             elem_id=f"eval-{name}-completion-board", elem_classes=["table-wrap"])
        reading = gr.Markdown("", elem_id=f"eval-{name}-completion-reading")
    next_pair.click(pair, None, [given, left, right, ticket, question], api_name=f"eval_completion_pair_{name}",
                    concurrency_limit=8, show_progress_on=[status]).success(
        lambda: "", None, [reveal], api_visibility="private")
    for button, outcome in votes:
        button.click(cast(judging.vote, outcome, NEXT_PAIR[COMPLETION]), [ticket], [reveal],
                     api_visibility="private", concurrency_limit=16, show_progress_on=[status]).success(
            lambda: "", None, [ticket], api_visibility="private")  # a ticket is good once
    refresh.click(board, None, [table, reading], api_name=f"eval_completion_board_{name}", concurrency_limit=4)


def add_vote_api(judging: Judging) -> None:
    """The votes as plain API endpoints: the ticket says which item and modality a vote is for."""

    def eval_answer(ticket: str, answer: str, request: gr.Request) -> str:
        """Answer a "Real or generated?" item: ``answer`` is "real" or "generated"; returns the truth."""
        return judging.answer(str(ticket or ""), session_of(request), str(answer))

    def eval_vote(ticket: str, choice: str, request: gr.Request) -> str:
        """Vote on a "Which is better?" or "Which completion is better?" pair (its ticket says which):
        ``choice`` is "left", "right" or "tie"; returns the names."""
        return judging.vote(str(ticket or ""), session_of(request), str(choice))

    gr.api(eval_answer, api_name="eval_answer", concurrency_limit=16)
    gr.api(eval_vote, api_name="eval_vote", concurrency_limit=16)


def build_tab(registry: ModelRegistry, modalities: Sequence[Modality], store: VoteStore | None = None,
              tab: gr.Tab | None = None) -> None:
    """The tab; without a usable database it says why, and the other tabs keep serving. Opening ``tab`` (the
    Evaluate tab itself) shows the first modality's first item and pair; opening a modality's tab, its own."""
    gr.Markdown(INTRO, elem_id="eval-intro")
    try:
        store = store or VoteStore.open()
    except StoreUnavailable as exc:
        gr.Markdown(f"**{exc}**", elem_id="eval-unavailable")
        return
    judging = Judging(store, registry, modalities)
    add_vote_api(judging)
    with gr.Tabs():
        for i, record in enumerate(modalities):
            with gr.Tab(record.title, elem_id=f"eval-tab-{record.name}") as inner:
                opened = [inner.select] + ([tab.select] if tab is not None and i == 0 else [])
                modality_section(judging, record, opened)

