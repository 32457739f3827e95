"""Studies: one YAML file that names datasets, systems and stages, run by `vlmadapt run STUDY.yaml`.

`registry.STAGES` is the list of stages; `file.load_study` reads and validates a study; `runner.run_study`
runs its stages in dependency order, each in a directory keyed by its config and its inputs' content.
"""

from vlmadapt.study.file import Study, load_study
from vlmadapt.study.registry import STAGES, Stage
from vlmadapt.study.runner import Step, StudyRun, run_study

__all__ = ["STAGES", "Stage", "Step", "Study", "StudyRun", "load_study", "run_study"]
