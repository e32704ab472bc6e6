"""The run doctor: it reads a run's events (live or from ``metrics.jsonl``), names what went
wrong with the evidence, and prescribes the trick, with the lab that measured it. Findings are
functions of the event stream, never of the loop; their thresholds live in ``thresholds``."""

from .diagnose import diagnose, diagnose_config, diagnose_run
from .findings import Diagnosis, Finding, Prescription
from .trace import Trace, read_trace, trace_of

__all__ = ["Diagnosis", "Finding", "Prescription", "Trace", "diagnose", "diagnose_config", "diagnose_run",
           "read_trace", "trace_of"]
