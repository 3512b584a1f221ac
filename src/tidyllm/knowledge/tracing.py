"""Each question as an MLflow trace: spans retrieve (with embed timing), generate, check_citations.

Spans are recorded in memory while the question is answered. At the end the
whole trace, as plain data, is redacted and handed to the tracking outbox (a
disk buffer, a few milliseconds, no MLflow import) and sent to MLflow later by
the background flush or ``tidyllm tracking flush`` (see
:mod:`tidyllm.tracking.outbox`). The answer carries the trace's ``trace_key``;
in MLflow the trace has the tag ``tidyllm.trace_key`` with that value. If the
trace cannot even be buffered the answer is still returned, with ``trace_key``
None, and a warning is logged: tracking must not stop people getting answers.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tidyllm.redaction import redact

log = logging.getLogger(__name__)


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
    """Collects the spans of one question and hands them to the outbox as one trace."""

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
        """Hand the trace to the tracking outbox; return ``answer`` with its ``trace_key``.

        Nothing here imports MLflow or waits for it: the trace (already plain data)
        is redacted and written to the disk buffer, and sent later (see
        :mod:`tidyllm.tracking.outbox`). If it cannot even be buffered the answer
        is returned with ``trace_key`` None and a warning is logged.
        """
        try:
            key = sm.outbox().defer_trace(self.document(answer))
        except Exception as exc:  # tracking must never break answering
            log.warning("could not buffer the question trace: %s", redact(exc))
            return answer
        return dataclasses.replace(answer, trace_key=key)

    def document(self, answer: Any) -> dict[str, Any]:
        """The whole trace as plain data: the root ``ask`` span and one child per step."""
        return {
            "name": "ask",
            "start_ns": self.start_ns,
            "end_ns": time.time_ns(),
            "inputs": {"question": self.question, "domain": self.domain},
            "attributes": {"provider": self.provider},
            "tags": {"tidyllm.domain": self.domain},
            "spans": [
                {
                    "name": record.name,
                    "start_ns": record.start_ns,
                    "end_ns": record.end_ns,
                    "inputs": record.inputs,
                    "outputs": record.outputs,
                    "status": record.status,
                    "attributes": {"seconds": (record.end_ns - record.start_ns) / 1e9},
                }
                for record in self.spans
            ],
            "outputs": {
                "answer": answer.text,
                "found": answer.found,
                "citations": [
                    {"number": c.number, "source": c.source_uri, "page": c.page}
                    for c in answer.citations
                ],
                "dropped_citations": len(answer.dropped),
            },
            "end_attributes": {"timings": self.timings()},
        }
