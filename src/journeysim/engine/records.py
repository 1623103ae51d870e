"""Columnar journey records: one row per journey, visit, handoff, request, defect,
judged standard and activation.

The engine writes one :class:`Records` per replication. Each table is a
:class:`Table`: named numpy columns of equal length that turn into a pandas
DataFrame in one call (codes become categorical labels). Every field is
documented in :data:`FIELDS`, and in ``docs/records.md``.

All times are in minutes from the start of the replication. In a run that stops
at the horizon (``end = "stop"``), what was unfinished there is ``NaN``: the end of
a journey in progress, the start of a visit still waiting, the end of a visit still
in service (see ``docs/records.md``).

Examples
--------
>>> t = Table("visits", {"journey": np.array([0, 0]), "node": np.array([1, 0])},
...           labels={"node": ("A", "B")})
>>> t.to_frame()["node"].tolist()
['B', 'A']
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from ..model._frozen import FrozenMap
from ..model.kinds import HANDOFF_KINDS, REQUEST_KINDS

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FIELDS", "Table", "Records"]

def _a(kind: str) -> str:
    return ("an " if kind[0] in "aeiou" else "a ") + kind


#: What every column of every table means.
FIELDS: Mapping[str, Mapping[str, str]] = FrozenMap(
    {
        "journeys": FrozenMap(
            {
                "journey": "Journey id, unique within the replication, in order of arrival.",
                "class": "Patient class.",
                "entry": "Microsystem where the journey started (its arrival channel).",
                "arrival": "Time the patient arrived at the entry microsystem.",
                "end": "Time the patient left the pathway (discharge, transfer out or death); NaN if the "
                "journey was still in progress at the horizon (a run that stops there).",
                "exit": "Microsystem the patient left the pathway from (missing while in progress).",
                "visits": "Number of clinical visits in the journey.",
                "defects": "Number of defects of any kind (visits, handoffs, requests) in the journey.",
                "missed": "Number of timeliness standards the journey missed (each is one of its defects).",
                "defect_free": "True iff the journey had no defect at all (False while in progress: not judged).",
                "time_in_system": "end - arrival (NaN while in progress).",
                "outcome": "How the journey ended: the named exit it took (e.g. 'death'), or 'discharged', "
                "the default exit (what the handoffs and named exits leave); missing while in progress.",
            }
        ),
        "visits": FrozenMap(
            {
                "journey": "Journey id.",
                "class": "Patient class of the journey.",
                "node": "Clinical microsystem visited.",
                "arrival": "Time the patient arrived at the microsystem.",
                "start": "Time a server (bed, team) was free and the visit began; NaN if the patient was "
                "still waiting at the horizon (a run that stops there).",
                "end": "Time the patient left the microsystem and freed the server; NaN if the visit was "
                "unfinished at the horizon.",
                "service": "Duration of the microsystem's own work (sum of its steps).",
                "support_wait": "Time the visit was held past its own work, waiting for support results "
                "(NaN if unfinished at the horizon).",
                "defects": "Number of the microsystem's own defects in this visit.",
                "hold": "Time the patient kept the bed after the work and support results, before leaving: "
                "the microsystem's exit delay when the patient left the pathway from here, or the time "
                "boarding for a bed at the next microsystem (the handoff's 'blocked'); NaN if unfinished.",
                "wait": "start - arrival: time queued for a server.",
                "sojourn": "end - arrival: time spent at the microsystem.",
            }
        ),
        "handoffs": FrozenMap(
            {
                "journey": "Journey id.",
                "class": "Patient class of the journey.",
                "handoff": "Handoff taken, as 'source->target'.",
                "source": "Sending microsystem.",
                "target": "Receiving microsystem.",
                "depart": "Time the patient left the sending microsystem.",
                "arrive": "Time the patient reached the receiving microsystem (depart + transfer delay); NaN if "
                "the patient was still in transfer at the horizon (a run that stops there).",
                **{kind: f"True if the handoff had {_a(kind)} defect." for kind in HANDOFF_KINDS},
                "caught": "True if the handoff's information defect happened and the receiving microsystem "
                "caught it (a recovery): not a defect of the journey; its rework starts the next visit.",
                "delay": "arrive - depart: transfer delay.",
                "blocked": "Time the patient boarded at the sending microsystem, keeping its bed, until "
                "the receiving one had a free bed (0 without boarding).",
            }
        ),
        "requests": FrozenMap(
            {
                "journey": "Journey id.",
                "class": "Patient class of the journey.",
                "request": "Service request, as 'source=>support'.",
                "source": "Requesting clinical microsystem.",
                "target": "Support microsystem that served the request.",
                "requested": "Time the request was made (the start of the requesting visit).",
                "start": "Time the support microsystem began serving it (NaN if still waiting at the horizon).",
                "end": "Time the support microsystem finished it (NaN if unfinished at the horizon).",
                "returned": "Time the result was back at the requesting microsystem (NaN if not back by "
                "the horizon).",
                "support_defects": "Number of the support microsystem's own defects in this service.",
                **{kind: f"True if the request/result handoff had {_a(kind)} defect." for kind in REQUEST_KINDS},
                "wait": "start - requested: time queued at the support microsystem.",
                "turnaround": "returned - requested.",
            }
        ),
        "defects": FrozenMap(
            {
                "journey": "Journey id.",
                "class": "Patient class of the journey.",
                "time": "Time the defect occurred (end of the visit, start of the handoff, return of the result).",
                "element": "Where: a microsystem ('ED'), a handoff ('EMS->ED'), a request ('ED=>Lab') "
                "or a timeliness standard ('door_to_balloon').",
                "element_type": "'microsystem', 'handoff', 'request' or 'standard'.",
                "defect": "Which: the microsystem's defect name, the handoff kind "
                "('patient', 'information', 'services'), or 'not_met' for a missed standard.",
            }
        ),
        "standards": FrozenMap(
            {
                "journey": "Journey id; one row per standard that applied to the journey.",
                "standard": "Timeliness standard.",
                "class": "Patient class of the journey.",
                "entry": "Entry microsystem (arrival channel) of the journey.",
                "start": "Time of the standard's first milestone (the earliest if it names several).",
                "end": "Time of its second milestone; NaN if the journey never reached it.",
                "met": "True if the second milestone came within the standard's target of the first.",
                "minutes": "end - start: the interval the standard judges (NaN if not reached).",
                "reached": "True if the journey reached the second milestone.",
                "open": "True if the journey was still in progress at the horizon (a run that stops there) "
                "and had not reached the second milestone while the target could still be met: not yet "
                "reached, neither met nor missed.",
            }
        ),
        "activations": FrozenMap(
            {
                "journey": "Journey id; one row per visit to a microsystem that needs activation.",
                "node": "Microsystem whose team was activated.",
                "activated": "Time the team was called (a pre-activation, or the patient's arrival).",
                "ready": "Time the team was ready: activated + team-ready time at that hour.",
                "arrival": "Time the patient arrived at the microsystem.",
                "ahead": "arrival - activated: how long the call came before the patient (0 if on arrival).",
                "team_wait": "max(0, ready - arrival): time the patient waited for the team.",
            }
        ),
        "unserved": FrozenMap(
            {
                "journey": "Journey id; one row per arrival at a microsystem that ended without a visit "
                "(only where a microsystem has a queue limit, patience or balking).",
                "class": "Patient class of the journey.",
                "node": "Microsystem the patient arrived at and was not served by.",
                "arrival": "Time the patient arrived at the microsystem.",
                "end": "Time the patient left it: the arrival for 'rejected', 'diverted' and 'balked', the end "
                "of its patience for 'reneged'.",
                "ended": "How: 'rejected' or 'diverted' (the queue was full), 'balked' (did not join the queue) "
                "or 'reneged' (left the queue when its patience ran out).",
                "to": "Microsystem the patient went to next (the diversion's, or renege_to); empty when the "
                "journey ended here.",
                "wait": "end - arrival: time queued before reneging (0 for the others).",
            }
        ),
    }
)


@dataclass(frozen=True, slots=True)
class Table:
    """A columnar table: equal-length numpy columns, some holding codes of labels.

    Parameters
    ----------
    name : str
        Table name (a key of :data:`FIELDS`).
    columns : mapping of str to ndarray
    labels : mapping of str to tuple of str
        For coded columns, the label of each code.

    Examples
    --------
    >>> import journeysim as js
    >>> model = js.Model(
    ...     microsystems=[js.Microsystem("Clinic", capacity=2, service=js.Exponential(15), defect=0.05)],
    ...     classes=[js.PatientClass("walk-in", entry="Clinic", rate=js.per_hour(6))],
    ... )
    >>> result = js.simulate(model, horizon=1440, replications=2, seed=1)
    >>> visits = result.records[0].visits
    >>> visits.name, len(visits) == len(visits["journey"])
    ('visits', True)
    >>> frame = visits.to_frame()                # pandas, coded columns as categoricals
    >>> list(frame["node"].cat.categories)
    ['Clinic']
    """

    name: str
    columns: Mapping[str, NDArray[np.generic]]
    labels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def __repr__(self) -> str:
        return f"<Table {self.name}: {len(self):,} rows; columns {', '.join(self.columns)}>"

    def __getitem__(self, column: str) -> NDArray[np.generic]:
        return self.columns[column]

    def __iter__(self) -> Iterator[str]:
        return iter(self.columns)

    def to_frame(self) -> pd.DataFrame:
        """The table as a pandas DataFrame, with coded columns as categoricals."""
        import pandas as pd  # imported when a table is asked for: the engine needs no pandas

        data: dict[str, object] = {}
        for col, values in self.columns.items():
            if col in self.labels:
                data[col] = pd.Categorical.from_codes(values.astype(np.int64, copy=False),
                                                      categories=pd.Index(self.labels[col]))
            else:
                data[col] = values
        return pd.DataFrame(data)


@dataclass(frozen=True, slots=True)
class Records:
    """Everything recorded in one replication.

    Attributes
    ----------
    replication : int
        Index of the replication.
    horizon, warmup : float
        Minutes; arrivals stopped at ``horizon``.
    end : {"drain", "stop"}
        ``"drain"``: every journey that arrived before the horizon was followed
        until it left the pathway. ``"stop"``: the simulation ended at the horizon,
        and what was unfinished there is ``NaN`` (see :data:`FIELDS`).
    journeys, visits, handoffs, requests, defects, standards, activations, unserved : Table
        See :data:`FIELDS`.

    Examples
    --------
    >>> import journeysim as js
    >>> model = js.Model(
    ...     microsystems=[js.Microsystem("Clinic", capacity=2, service=js.Exponential(15), defect=0.05)],
    ...     classes=[js.PatientClass("walk-in", entry="Clinic", rate=js.per_hour(6))],
    ... )
    >>> result = js.simulate(model, horizon=1440, replications=2, seed=1)
    >>> records = result.records[0]              # the first replication
    >>> records.replication, records.end
    (0, 'drain')
    >>> records.journeys.name, "defect_free" in records.journeys.columns
    ('journeys', True)
    """

    replication: int
    horizon: float
    warmup: float
    journeys: Table
    visits: Table
    handoffs: Table
    requests: Table
    defects: Table
    standards: Table
    activations: Table
    unserved: Table
    end: str = "drain"

    @classmethod
    def from_columns(
        cls,
        replication: int,
        horizon: float,
        warmup: float,
        columns: Mapping[str, Mapping[str, NDArray[np.generic]]],
        labels: Mapping[str, Mapping[str, tuple[str, ...]]],
        end: str = "drain",
    ) -> Records:
        """Records from ``{table: {column: array}}`` and the labels of coded columns.

        Columns are taken in the order of :data:`FIELDS`; a missing column is an error. The
        journeys table keeps, after them, a column per patient attribute (:mod:`journeysim.model.attributes`).
        """
        tables = {
            name: Table(name, {**{col: columns[name][col] for col in FIELDS[name]},
                               **{col: v for col, v in columns[name].items() if name == "journeys" and col not in
                                  FIELDS[name]}},
                        dict(labels.get(name, {})))
            for name in FIELDS
        }
        return cls(replication=replication, horizon=horizon, warmup=warmup, **tables, end=end)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{len(t):,} {name}" for name, t in self.tables().items() if len(t))
        return f"<Records of replication {self.replication}: {sizes or 'no rows'}>"

    def tables(self) -> dict[str, Table]:
        """The tables by name."""
        return {
            "journeys": self.journeys,
            "visits": self.visits,
            "handoffs": self.handoffs,
            "requests": self.requests,
            "defects": self.defects,
            "standards": self.standards,
            "activations": self.activations,
            "unserved": self.unserved,
        }
