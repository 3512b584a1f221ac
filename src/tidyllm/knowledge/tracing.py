"""Each question as an MLflow trace: spans retrieve (with embed timing), generate, check_citations.

Spans are recorded in memory while the question is answered (so tracing never
slows or breaks answering) and sent as one MLflow trace at the end through the
session manager's MLflow client. If MLflow cannot take the trace the answer is
still returned, without a ``trace_id``, and a warning is logged: a tracking
outage must not stop people getting answers.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tidyllm.redaction import redact

log = logging.getLogger(__name__)
_GLOBAL_URI_LOCK = threading.Lock()


@dataclass
class SpanRecord:
    """One finished step: name, wall-clock start/end (ns), inputs, outputs, status."""

    name: str
    start_ns: int
    end_ns: int = 0
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: Any = None
    status: str = "OK"


@dataclass
class QuestionTrace:
    """Collects the spans of one question and sends them to MLflow as one trace."""

    question: str
    domain: str
    provider: str
    spans: list[SpanRecord] = field(default_factory=list)
    extra_timings: dict[str, float] = field(default_factory=dict)
    start_ns: int = field(default_factory=time.time_ns)

    @contextmanager
    def span(self, name: str, inputs: dict[str, Any] | None = None) -> Iterator[SpanRecord]:
        record = SpanRecord(name, time.time_ns(), inputs=dict(inputs or {}))
        try:
            yield record
        except BaseException:
            record.status = "ERROR"
            raise
        finally:
            record.end_ns = time.time_ns()
            self.spans.append(record)

    def add_timing(self, name: str, seconds: float) -> None:
        self.extra_timings[name] = seconds

    def timings(self) -> dict[str, float]:
        """Seconds per step (``embed`` is part of ``retrieve``)."""
        out = {s.name: (s.end_ns - s.start_ns) / 1e9 for s in self.spans}
        out.update(self.extra_timings)
        return out

    def finish(self, sm: Any, answer: Any) -> Any:
        """Send the trace; return ``answer`` with its ``trace_id`` (unchanged if sending failed)."""
        try:
            trace_id = self._send(sm, answer)
        except Exception as exc:  # tracking must never break answering
            log.warning("could not log the question trace to MLflow: %s", redact(exc))
            return answer
        return dataclasses.replace(answer, trace_id=trace_id)

    def _send(self, sm: Any, answer: Any) -> str:
        import mlflow

        client = sm.mlflow()
        experiment_id = sm.tracker().experiment_id()
        end_ns = time.time_ns()
        with _GLOBAL_URI_LOCK, warnings.catch_warnings():
            # MLflow's type-hint inference warns about Any-typed inputs; that is noise here
            # (and an error under filterwarnings=error), not a reason to lose the trace.
            warnings.simplefilter("ignore")
            # MLflow exports spans through its process-wide tracer, which writes to the
            # global tracking URI; the session manager points it at its own store.
            sm.point_mlflow_tracer()
            root = client.start_trace(
                "ask",
                inputs={"question": self.question, "domain": self.domain},
                attributes={"provider": self.provider},
                experiment_id=experiment_id,
                start_time_ns=self.start_ns,
                tags={"tidyllm.domain": self.domain},
            )
            for record in self.spans:
                child = client.start_span(
                    record.name,
                    trace_id=root.trace_id,
                    parent_id=root.span_id,
                    inputs=record.inputs,
                    start_time_ns=record.start_ns,
                )
                client.end_span(
                    trace_id=root.trace_id,
                    span_id=child.span_id,
                    outputs=record.outputs,
                    attributes={"seconds": (record.end_ns - record.start_ns) / 1e9},
                    status=record.status,
                    end_time_ns=record.end_ns,
                )
            client.end_trace(
                root.trace_id,
                outputs={
                    "answer": answer.text,
                    "found": answer.found,
                    "citations": [
                        {"number": c.number, "source": c.source_uri, "page": c.page}
                        for c in answer.citations
                    ],
                    "dropped_citations": len(answer.dropped),
                },
                attributes={"timings": self.timings()},
                end_time_ns=end_ns,
            )
            # Traces are exported in the background; wait so the trace is in MLflow (and
            # errors surface here) before the answer is returned.
            mlflow.flush_trace_async_logging(terminate=False)
        return str(root.trace_id)
