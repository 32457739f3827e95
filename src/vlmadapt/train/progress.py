"""The training run on the console: one rich live line (steps, elapsed, ETA, latest loss and learning rate)
and, at the end, a small table of the loss history; every log entry also goes to the run log (log.txt).

It replaces the Trainer's own console output (its tqdm bar, or with `disable_tqdm` the PrinterCallback that
prints each log entry as a Python dict): `replace_console_callbacks` removes those from a Trainer. The full
history stays in trainer_state.json and metrics.json.
"""

from __future__ import annotations

import json
from typing import Any

from transformers import TrainerCallback

MAX_ROWS = 8  # rows of the final table; a longer history is sampled evenly, first and last kept


class RichProgress(TrainerCallback):
    """Live steps, ETA, loss and learning rate on the main process; a loss table when training ends."""

    def __init__(self, label: str = "train") -> None:
        self.label = label
        self._bar: Any = None
        self._task: Any = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not state.is_world_process_zero:
            return
        from rich.progress import TextColumn

        from vlmadapt.console import progress

        self._bar = progress(self.label, TextColumn("{task.fields[stats]}"))
        self._bar.start()
        self._task = self._bar.add_task(
            self.label, total=state.max_steps, completed=state.global_step, stats=""
        )

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=state.global_step)

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        if not state.is_world_process_zero or not logs:
            return
        from vlmadapt.console import log

        log(f"step {state.global_step}: {json.dumps(logs)}")
        if self._bar is not None and ("loss" in logs or "eval_loss" in logs):
            self._bar.update(self._task, stats=live_stats(state.log_history))

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._bar is None:
            return
        self._bar.update(self._task, completed=state.global_step)
        self.stop()
        table = loss_table(state.log_history)
        if table is not None:
            from rich.console import Console

            console = Console(stderr=True)
            console.print(summary(state.log_history), highlight=False)
            console.print(table)

    def stop(self) -> None:
        """End the live display (also when training stopped with an exception)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def live_stats(history: list[dict[str, Any]]) -> str:
    """The live line's text: the latest loss, eval loss (once there is one) and learning rate."""
    parts = []
    train = [e for e in history if "loss" in e]
    evals = [e for e in history if "eval_loss" in e]
    if train:
        parts.append(f"loss {train[-1]['loss']:.4g}")
    if evals:
        parts.append(f"eval {evals[-1]['eval_loss']:.4g}")
    if train and "learning_rate" in train[-1]:
        parts.append(f"lr {train[-1]['learning_rate']:.2e}")
    return "  ".join(parts)


def loss_rows(history: list[dict[str, Any]], max_rows: int = MAX_ROWS) -> list[tuple[int, Any, Any, Any]]:
    """(step, loss, eval loss, learning rate) per logged step, None where a step lacks one; at most
    `max_rows` rows, evenly spaced over the history, the first and last always kept."""
    by_step: dict[int, dict[str, Any]] = {}
    for entry in history:
        if "loss" in entry or "eval_loss" in entry:
            by_step.setdefault(int(entry["step"]), {}).update(entry)
    steps = sorted(by_step)
    if len(steps) > max_rows:
        last = len(steps) - 1
        steps = [steps[round(i * last / (max_rows - 1))] for i in range(max_rows)]
    return [
        (s, by_step[s].get("loss"), by_step[s].get("eval_loss"), by_step[s].get("learning_rate"))
        for s in steps
    ]


def summary(history: list[dict[str, Any]]) -> str:
    """One line: steps, time, first and last logged loss, last eval loss."""
    done = next((e for e in history if "train_runtime" in e), {})
    losses = [e["loss"] for e in history if "loss" in e]
    evals = [e["eval_loss"] for e in history if "eval_loss" in e]
    line = f"trained {done.get('step', '?')} steps"
    if "train_runtime" in done:
        line += f" in {done['train_runtime']:.1f} s"
    if losses:
        line += f"; loss {losses[0]:.4g} -> {losses[-1]:.4g}"
    if evals:
        line += f"; eval loss {evals[-1]:.4g}"
    return line


def loss_table(history: list[dict[str, Any]], max_rows: int = MAX_ROWS) -> Any:
    """A rich table of `loss_rows`, or None when nothing was logged."""
    from rich.table import Table

    rows = loss_rows(history, max_rows)
    if not rows:
        return None
    logged = len({e["step"] for e in history if "loss" in e or "eval_loss" in e})
    caption = f"{len(rows)} of {logged} logged steps; all in metrics.json" if logged > len(rows) else None
    has_eval = any(r[2] is not None for r in rows)
    table = Table(caption=caption)
    for name in ("step", "loss", *(["eval loss"] if has_eval else []), "lr"):
        table.add_column(name, justify="right")
    for step, loss, eval_loss, lr in rows:
        cells = [
            str(step),
            _num(loss, ".4f"),
            *([_num(eval_loss, ".4f")] if has_eval else []),
            _num(lr, ".2e"),
        ]
        table.add_row(*cells)
    return table


def _num(value: Any, fmt: str) -> str:
    return "" if value is None else format(value, fmt)


def replace_console_callbacks(trainer: Any) -> Any:
    """The Trainer without its console printers (tqdm bar, dict printer), with `RichProgress` instead."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(RichProgress())
    return trainer


def stop_progress(trainer: Any) -> None:
    """Stop the live display of every `RichProgress` of a Trainer."""
    for callback in trainer.callback_handler.callbacks:
        if isinstance(callback, RichProgress):
            callback.stop()
