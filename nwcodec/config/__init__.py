"""One validated config system: a dataclass schema (:mod:`.schema`) and one loader (:mod:`.load`)."""
from .load import TASKS, LoadedConfig, apply_overrides, load_config, resolve_config_path, task_of
from .schema import did_you_mean, from_dict, spec, unknown_key

__all__ = ["TASKS", "LoadedConfig", "apply_overrides", "did_you_mean", "from_dict", "load_config",
           "resolve_config_path", "spec", "task_of", "unknown_key"]
