"""Step 0 of SKIM: a teacher writes demonstrations of the task for the small model to learn.

- :func:`teach` asks any OpenAI-compatible chat endpoint, concurrently, rate-limited,
  retrying, with an append-only cache so reruns ask only for what is missing; with
  ``batch_api=True`` the same requests go through the OpenAI Batch API at half price
  (:mod:`skim.teach.batch`), resumably, into the same cache;
- :func:`gold_teacher` writes the same records offline from the complete labels of a random
  seed of train items (simulated datasets), plus the seed-augmented train matrix.

Each line of the output (``demos.jsonl``) is one demonstration::

    {"source": int, "texts": [str, ...], "direction": "queries-to-labels" | "labels-to-queries",
     "text": str, "metadata": str, "known": [str, ...], "prompt": str, "completion": str,
     "teacher": "<model>" | "gold", "key": str, ...usage and timing}

``source`` is a train query index (queries-to-labels) or a label index (labels-to-queries);
``texts`` are what the teacher wrote for it (the SYNTHETIC.jsonl format of the mapping stage).
"""

from skim.records import read_records, sibling
from skim.teach.client import ChatClient, ItemFailed, Reply
from skim.teach.gold import gold_teacher, seed_matrix
from skim.teach.items import sample_indices
from skim.teach.pacer import Pacer, RateLimiter, retry_after_seconds
from skim.teach.params import TeachParams
from skim.teach.store import DEMONSTRATION_KEYS, read_demonstrations
from skim.teach.teacher import api_key_from_env, teach, teach_cost

__all__ = [
    "DEMONSTRATION_KEYS",
    "ChatClient",
    "ItemFailed",
    "Pacer",
    "RateLimiter",
    "Reply",
    "TeachParams",
    "api_key_from_env",
    "gold_teacher",
    "read_demonstrations",
    "read_records",
    "retry_after_seconds",
    "sample_indices",
    "seed_matrix",
    "sibling",
    "teach",
    "teach_cost",
]
