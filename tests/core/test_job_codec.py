from __future__ import annotations

import pickle
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from arq.jobs import (
    DeserializationError,
    SerializationError,
    deserialize_job,
    deserialize_result,
    serialize_job,
    serialize_result,
)

from bot.core import job_codec
from tests.pickle_support import pickled_job


def test_the_payload_is_live_when_unpickled(tmp_path: Path) -> None:
    # The control: the same bytes do run code through pickle, so refusing them means something.
    pickle.loads(pickled_job("process_delivery", tmp_path / "ran"))
    assert (tmp_path / "ran").exists()


def test_a_pickled_job_is_refused_unread(tmp_path: Path) -> None:
    raw = pickled_job("process_delivery", tmp_path / "ran")
    with pytest.raises(job_codec.RefusedJob, match="refused"):
        job_codec.deserialize(raw)
    with pytest.raises(DeserializationError):
        deserialize_job(raw, deserializer=job_codec.deserialize)
    assert not (tmp_path / "ran").exists()


@pytest.mark.parametrize("raw", [b"[1, 2]", b'"job"', b"null", b"", b"\xff{}"])
def test_anything_but_one_json_object_is_refused(raw: bytes) -> None:
    with pytest.raises(job_codec.RefusedJob):
        job_codec.deserialize(raw)


def test_a_job_goes_through_arq_as_json() -> None:
    kwargs = {"repo": "o/r", "issue_number": 3, "installation_id": None, "event": {"kind": "ci"}}
    raw = serialize_job(
        "advance_run", (), kwargs, None, 1_700_000_000_000, serializer=job_codec.serialize
    )
    assert orjson.loads(raw)["k"] == kwargs
    job = deserialize_job(raw, deserializer=job_codec.deserialize)
    assert (job.function, job.kwargs, job.job_try) == ("advance_run", kwargs, None)


@dataclass
class Thing:
    name: str


@pytest.mark.parametrize("arg", [b"bytes", Thing("x"), datetime.now(UTC), {1: "int key"}])
def test_what_would_not_come_back_as_itself_is_refused_at_enqueue(arg: object) -> None:
    with pytest.raises(SerializationError):
        serialize_job("start_run", (arg,), {}, None, 1, serializer=job_codec.serialize)


def test_a_failed_job_keeps_its_error_as_text() -> None:
    raw = serialize_result(
        "start_run",
        ("o/r",),
        {},
        1,
        1,
        False,
        RuntimeError("boom"),
        2,
        3,
        "ref",
        "q",
        "id",
        serializer=job_codec.serialize,
    )
    assert raw is not None
    result = deserialize_result(raw, deserializer=job_codec.deserialize)
    assert (result.success, result.result, result.args) == (False, "RuntimeError: boom", ["o/r"])
