"""Quality of a translated set: automatic checks, round-trip chrF, an LLM judge, COMET, and tiers.

from vlmadapt.quality import QualityConfig, run, fit_thresholds
"""

from vlmadapt.quality.run import QualityConfig, run
from vlmadapt.quality.tiers import DEFAULT_BANDS, Band, fit_thresholds

__all__ = ["DEFAULT_BANDS", "Band", "QualityConfig", "fit_thresholds", "run"]
