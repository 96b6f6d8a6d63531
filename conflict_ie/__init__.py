"""conflict_ie: entities, incident triggers, relations and incident records from armed-conflict news."""

__version__ = "0.1.0"
__all__ = ["Predictor", "predict", "__version__"]


def __getattr__(name):
    # Imported lazily so that light commands (markup, validate) do not load torch.
    if name in ("Predictor", "predict"):
        from .api import predictor as _predict_module

        return getattr(_predict_module, name)
    raise AttributeError(name)
