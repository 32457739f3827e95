"""Source datasets in, vlmadapt example records out: importers for the real layouts, and dataset stats."""

from vlmadapt.data.importers import IMPORTERS, Importer, ImportResult, import_dataset
from vlmadapt.data.stats import dataset_stats, render_stats

__all__ = ["IMPORTERS", "ImportResult", "Importer", "dataset_stats", "import_dataset", "render_stats"]
