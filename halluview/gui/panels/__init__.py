"""The side panels of the main window: each observes the session and writes its edits back through it."""
from .history_panel import HistoryPanel
from .metrics_panel import MetricsPanel
from .model_panel import ModelPanel
from .objective_panel import ObjectivePanel
from .operator_panel import OperatorPanel
from .optimizer_panel import OptimizerPanel
from .scan_panel import ScanPanel
from .threat_panel import ThreatPanel

__all__ = ["HistoryPanel", "MetricsPanel", "ModelPanel", "ObjectivePanel", "OperatorPanel", "OptimizerPanel",
           "ScanPanel", "ThreatPanel"]
