"""Plain result types."""

from typing import NamedTuple, Optional

import numpy as np


class Record(NamedTuple):
    """What Database.get returns: exactly the floats written (float32) and the metadata dict or None."""

    vector: np.ndarray
    metadata: Optional[dict]
