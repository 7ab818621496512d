"""How arq jobs and their results are written in Redis: JSON through orjson, never pickle.

arq pickles by default, and unpickling runs whatever the bytes say: anyone who could write to
Redis would run code in the worker, with its App key, model key and docker socket. Every arq
user here passes this pair instead (`job_serializer` / `job_deserializer`): the web's producer,
the handlers' `ArqJobQueue`, both workers. Bytes that are not one JSON object (a pickle, say)
are refused before anything reads them as code; arq logs the job id, records the job as failed
and carries on with the next one.

Job arguments and results must therefore be plain JSON: str, int, float, bool, None, lists and
dicts with str keys (tuples come back as lists). Anything else (a dataclass, a datetime, bytes)
fails at enqueue time rather than coming back as something else.
"""

from __future__ import annotations

from typing import Any

import orjson

# orjson would write dataclasses and datetimes on its own, and they would come back as dicts
# and strings; passing them through to `_default` refuses them instead.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME


class RefusedJob(ValueError):
    """Bytes in a job or result key that are not a JSON object: never read any further."""


def _default(obj: object) -> str:
    # arq stores a failed job's exception as its result; its text is what a reader needs.
    if isinstance(obj, BaseException):
        return f"{type(obj).__name__}: {obj}"
    raise TypeError(f"{type(obj).__name__} is not JSON: job arguments and results must be")


def serialize(data: dict[str, Any]) -> bytes:
    return orjson.dumps(data, default=_default, option=_OPTIONS)


def deserialize(raw: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise RefusedJob(f"not JSON (starts {bytes(raw[:2])!r}; a pickle?): refused") from None
    if not isinstance(data, dict):
        raise RefusedJob(f"a JSON {type(data).__name__}, not a job: refused")
    return data
