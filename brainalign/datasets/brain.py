"""`BrainData`: the stimuli, the recorded responses and their labels, in the data's stored order."""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from brainalign.errors import DataMismatch


@dataclass
class BrainData:
    """Responses `[n_stimuli, n_neuroids]` with one `stimuli` row per response row.

    `stimuli` keeps the data's stored row order (the cross-validation splits follow it, as in
    Brain-Score). `passages()` gives the presentation order: groups of `group_by` in sorted order,
    rows within a group in stored order, or sorted by `order_by` when given. Context never crosses
    groups.
    """

    name: str
    stimuli: pd.DataFrame  # stimulus_id, text, the group_by column, ...
    responses: np.ndarray  # float [n_stimuli, n_neuroids]
    neuroids: pd.DataFrame  # neuroid_id, subject, ...
    ceiling: float | None = None
    synthetic: bool = False
    group_by: str = "passage_label"
    order_by: list[str] | None = None

    def __post_init__(self):
        self.stimuli = self.stimuli.reset_index(drop=True)
        self.neuroids = self.neuroids.reset_index(drop=True)
        self.responses = np.asarray(self.responses, dtype=float)
        need = ["stimulus_id", "text", self.group_by] + list(self.order_by or [])
        _require_columns(self.name, "stimuli", self.stimuli, need)
        _require_columns(self.name, "neuroids", self.neuroids, ["neuroid_id", "subject"])
        if self.responses.ndim != 2:
            raise DataMismatch(f"{self.name}: responses must be 2-D [stimuli, neuroids], "
                               f"got shape {self.responses.shape}")
        expected = (len(self.stimuli), len(self.neuroids))
        if self.responses.shape != expected:
            raise DataMismatch(f"{self.name}: responses have shape {self.responses.shape}, but "
                               f"there are {expected[0]} stimuli and {expected[1]} neuroids")
        _require_unique(self.name, "stimulus_id", self.stimuli["stimulus_id"])
        _require_unique(self.name, "neuroid_id", self.neuroids["neuroid_id"])

    @property
    def subjects(self) -> np.ndarray:
        """The subject of each response column."""
        return self.neuroids["subject"].to_numpy()

    @property
    def texts(self) -> list[str]:
        return self.stimuli["text"].tolist()

    def passages(self) -> list[list[int]]:
        """Row indices of `stimuli`, one list per passage/story, in presentation order."""
        passages = []
        for _, rows in self.stimuli.groupby(self.group_by, sort=True, dropna=False):
            if self.order_by:
                rows = rows.sort_values(self.order_by, kind="stable")
            passages.append(rows.index.tolist())
        return passages

    def __repr__(self):
        return (f"BrainData({self.name!r}, {len(self.stimuli)} stimuli x {len(self.neuroids)} "
                f"neuroids, {self.neuroids['subject'].nunique()} subjects, ceiling={self.ceiling}, "
                f"synthetic={self.synthetic})")


def _require_columns(name, table, frame, columns):
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataMismatch(f"{name}: {table} lack the column(s) {missing}; "
                           f"present: {list(frame.columns)}")


def _require_unique(name, column, values):
    duplicated = values[values.duplicated()].unique()
    if len(duplicated):
        raise DataMismatch(f"{name}: {column} must be unique; duplicated: {list(duplicated[:5])}"
                           f"{' ...' if len(duplicated) > 5 else ''}")
