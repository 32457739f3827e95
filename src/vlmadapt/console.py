"""A clean console during long work: vlmadapt's own progress and messages on it, the libraries' in a log file.

`run_log(path)` wraps one run of a stage (a training run, a predict run, the demo). Inside it

- the tqdm bars of transformers ("Loading weights", "Writing model shards"), huggingface_hub and datasets
  are off, through each library's own switch;
- warnings raised by library code (FutureWarning, PEFT and transformers UserWarnings, ...) and the records
  of the libraries' loggers go to `path`, not the console; only the loggers' errors still reach the console;
- `log(message)` appends a line of vlmadapt's own (e.g. the loss history) to the same file.

Warnings raised from vlmadapt's own files stay on the console, except FutureWarning and DeprecationWarning:
those come from a library API that vlmadapt calls (the library points its warning at the caller).

Runs nest (the demo's log.txt around each of its training runs' log.txt): lines go to every open run log,
and the outermost exit restores the libraries' settings, so a program that calls `vlmadapt.train.run` gets
its bars, warnings and loggers back afterwards. A file is created at its first line: a run that stops before
anything is logged leaves none behind. Not thread-safe: one run at a time per process.

`progress(label)` is the rich progress display the stages share: label, bar, done/total, elapsed, ETA.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

# Loggers of the libraries a run calls; their records go to the run log, their errors also to the console.
LIBRARY_LOGGERS = (
    "transformers",
    "huggingface_hub",
    "accelerate",
    "peft",
    "datasets",
    "torch",
    "bitsandbytes",
)
_PACKAGE = Path(__file__).resolve().parent
_LIBRARY_CATEGORIES = (FutureWarning, DeprecationWarning, PendingDeprecationWarning)


class _RunLogs(logging.Handler):
    """Writes each record to every open run log, opening a file at its first line."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[Path] = []
        self.files: dict[Path, IO[str]] = {}
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + "\n"
            for path in self.paths:
                self._file(path).write(line)
        except Exception:  # a full disk must not stop the run (logging's own rule)
            self.handleError(record)

    def _file(self, path: Path) -> IO[str]:
        if path not in self.files:
            path.parent.mkdir(parents=True, exist_ok=True)
            f = path.open("a", encoding="utf-8", buffering=1)  # line-buffered: readable while it runs
            f.write(f"--- run started {time.strftime('%Y-%m-%d %H:%M:%S')} ---\n")
            self.files[path] = f
        return self.files[path]

    def close_path(self, path: Path) -> None:
        self.paths.remove(path)
        if path in self.files and path not in self.paths:
            self.files.pop(path).close()


_HANDLER = _RunLogs()
_OWN = logging.getLogger("vlmadapt.run")  # vlmadapt's lines for the run log only
_OWN.propagate = False
_OWN.setLevel(logging.INFO)
_saved: list[Any] = []  # what the outermost run_log changed, to restore


def log(message: str) -> None:
    """Append a line to the open run logs (nothing when none is open)."""
    _OWN.info(message)


@contextmanager
def run_log(path: Path) -> Iterator[Path]:
    """Library bars off, library warnings and log records into `path`, for the duration of the block."""
    path = Path(path).resolve()
    outermost = not _HANDLER.paths
    if outermost:
        _OWN.addHandler(_HANDLER)
        _saved[:] = [_hook_warnings(), _route_loggers(), _bars_off()]
    _HANDLER.paths.append(path)
    try:
        yield path
    finally:
        _HANDLER.close_path(path)
        if outermost:
            showwarning, loggers, bars = _saved
            _restore_bars(bars)
            _restore_loggers(loggers)
            warnings.showwarning = showwarning
            _OWN.removeHandler(_HANDLER)
            _saved.clear()


def is_ours(filename: str, category: type[Warning]) -> bool:
    """Whether a warning is vlmadapt's own (it stays on the console) rather than a library's."""
    inside = Path(filename).resolve().is_relative_to(_PACKAGE)
    return inside and not issubclass(category, _LIBRARY_CATEGORIES)


def _hook_warnings() -> Any:
    before = warnings.showwarning

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: Any = None,
        line: str | None = None,
    ) -> None:
        if is_ours(filename, category):
            before(message, category, filename, lineno, file, line)
            return
        text = warnings.formatwarning(message, category, filename, lineno, None).rstrip()
        _HANDLER.handle(logging.makeLogRecord({"name": "warnings", "levelname": "WARNING", "msg": text}))

    warnings.showwarning = show
    return before


def _route_loggers() -> list[tuple[logging.Logger, bool, list[tuple[logging.Handler, int]], logging.Handler]]:
    """Each library logger into the run log. Its plain console handlers (transformers has one) show errors
    only; a logger without one gets a stderr handler for errors (it no longer reaches the root's). Other
    handlers (a user's file or rich handler, pytest's capture) are left as they are."""
    if importlib.util.find_spec("transformers") is not None:
        import transformers.utils.logging

        transformers.utils.logging.get_verbosity()  # attaches transformers' stderr handler now, not later
    saved = []
    seen: set[int] = set()  # a handler shared by two loggers is changed (and restored) once
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        consoles = [h for h in logger.handlers if type(h) is logging.StreamHandler]
        levels: list[tuple[logging.Handler, int]] = [(h, h.level) for h in consoles if id(h) not in seen]
        seen.update(id(h) for h in consoles)
        for h, level in levels:
            h.setLevel(max(level, logging.ERROR))
        errors: logging.Handler = logging.StreamHandler(sys.stderr)
        errors.setLevel(logging.ERROR)
        if not consoles:
            logger.addHandler(errors)
        logger.addHandler(_HANDLER)
        saved.append((logger, logger.propagate, levels, errors))
        logger.propagate = False
    return saved


def _restore_loggers(saved: list[Any]) -> None:
    for logger, propagate, levels, errors in reversed(saved):
        logger.removeHandler(_HANDLER)
        logger.removeHandler(errors)
        for h, level in levels:
            h.setLevel(level)
        logger.propagate = propagate


def _bars_off() -> dict[str, bool]:
    """Each installed library's progress bars off; returns which were on."""
    was_on: dict[str, bool] = {}
    if importlib.util.find_spec("transformers") is not None:
        import transformers.utils.logging as tl

        was_on["transformers"] = tl.is_progress_bar_enabled()
        tl.disable_progress_bar()
    if importlib.util.find_spec("huggingface_hub") is not None:
        import huggingface_hub.utils as hub

        was_on["huggingface_hub"] = not hub.are_progress_bars_disabled()
        hub.disable_progress_bars()
    if importlib.util.find_spec("datasets") is not None:
        import datasets

        was_on["datasets"] = datasets.is_progress_bar_enabled()
        datasets.disable_progress_bars()
    return was_on


def _restore_bars(was_on: dict[str, bool]) -> None:
    if was_on.get("transformers"):
        import transformers.utils.logging as tl

        tl.enable_progress_bar()
    if was_on.get("huggingface_hub"):
        import huggingface_hub.utils as hub

        hub.enable_progress_bars()
    if was_on.get("datasets"):
        import datasets

        datasets.enable_progress_bars()


def progress(label: str, *extra: Any, transient: bool = False) -> Any:
    """The rich progress display of a stage, on stderr: label, bar, done/total, elapsed, ETA, then the
    `extra` columns (e.g. a TextColumn with the latest loss)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        *extra,
    )
    return Progress(*columns, console=Console(stderr=True), transient=transient)
