"""The report stage: evaluation runs side by side as Markdown, CSV and a self-contained HTML page."""

from vlmadapt.report.run import ReportConfig, run

__all__ = ["ReportConfig", "run"]
