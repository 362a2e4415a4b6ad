"""The jobs table in DynamoDB: conditional writes that follow the job state machine."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from vs_common.jobs import InvalidTransition, Job, JobStatus, sources_of, utc_now

OWNER_INDEX = "owner-created-index"
OBJECT_KEY_INDEX = "object-key-index"
# The attributes of a QUEUED row that one invocation of submit holds while it invokes the endpoint.
CLAIM_TOKEN = "claim_token"
CLAIM_UNTIL = "claim_until"


def _conditional_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _status_in(values: dict[str, Any], statuses: Iterable[JobStatus]) -> str:
    """Placeholders for `statuses` (added to `values`), joined for a `#status IN (…)` test."""
    placeholders = []
    for i, status in enumerate(sorted(statuses)):
        values[f":from{i}"] = status.value
        placeholders.append(f":from{i}")
    return ", ".join(placeholders)


class JobBusy(RuntimeError):
    """A job could not be deleted: it is not (or no longer) in a status that allows it."""

    def __init__(self, job_id: str, current: JobStatus | None) -> None:
        self.job_id = job_id
        self.current = current
        where = current.value if current else "absent"
        super().__init__(f"job {job_id} is {where}; it cannot be deleted now")


@dataclass(frozen=True)
class JobPage:
    """One page of a caller's jobs, newest first, and the key to continue from."""

    jobs: list[Job]
    last_key: dict[str, Any] | None


class JobStore:
    """Reads and writes job rows; every status change is a conditional write."""

    def __init__(self, table: Any, retention_days: int) -> None:
        self._table = table
        self._retention_s = retention_days * 86400

    def expiry(self) -> int:
        """The TTL (epoch seconds) for a row written now."""
        return int(time.time()) + self._retention_s

    def get(self, job_id: str) -> Job | None:
        """The job with this id, or None."""
        item = self._table.get_item(Key={"job_id": job_id}, ConsistentRead=True).get("Item")
        return Job.from_item(item) if item else None

    def create(self, job: Job) -> None:
        """Write a new row; raises InvalidTransition if the id is already taken."""
        try:
            self._table.put_item(
                Item=job.to_item(), ConditionExpression=Attr("job_id").not_exists()
            )
        except ClientError as exc:
            if _conditional_failure(exc):
                raise InvalidTransition(job.job_id, None, job.status) from exc
            raise

    def upsert(
        self,
        job: Job,
        allowed_from: Iterable[JobStatus],
        keep: Iterable[str] = ("owner", "created_at", "expires_at"),
        must_exist: bool = False,
    ) -> Job:
        """Create `job`, or move an existing row in one of `allowed_from` to `job.status`.

        Attributes named in `keep` are only written when the row has none yet, so a row made
        by POST /uploads keeps its owner and creation time. Raises InvalidTransition when the
        row exists in another status, or, with `must_exist`, when there is no row at all.
        """
        item = job.to_item()
        item.pop("job_id")
        item["updated_at"] = utc_now()
        keep = set(keep)
        names: dict[str, str] = {"#status": "status"}
        values: dict[str, Any] = {}
        sets = []
        for i, (name, value) in enumerate(item.items()):
            names[f"#a{i}"] = name
            values[f":v{i}"] = value
            if name in keep:
                sets.append(f"#a{i} = if_not_exists(#a{i}, :v{i})")
            else:
                sets.append(f"#a{i} = :v{i}")
        allowed = _status_in(values, allowed_from)
        if must_exist:
            condition = f"attribute_exists(job_id) AND #status IN ({allowed})"
        else:
            condition = "attribute_not_exists(job_id)"
            if allowed:
                condition += f" OR #status IN ({allowed})"
        return self._update(job.job_id, job.status, sets, condition, names, values)

    def transition(
        self, job_id: str, target: JobStatus, fields: Mapping[str, Any] | None = None
    ) -> Job:
        """Move an existing job to `target` (only from a status that allows it) and set `fields`."""
        names = {"#status": "status", "#updated": "updated_at"}
        values: dict[str, Any] = {":target": target.value, ":now": utc_now()}
        sets = ["#status = :target", "#updated = :now"]
        for i, (name, value) in enumerate((fields or {}).items()):
            if value is None:
                continue
            names[f"#f{i}"] = name
            values[f":f{i}"] = value
            sets.append(f"#f{i} = :f{i}")
        condition = (
            f"attribute_exists(job_id) AND #status IN ({_status_in(values, sources_of(target))})"
        )
        return self._update(job_id, target, sets, condition, names, values)

    def claim(self, job_id: str, token: str, lease_s: float) -> bool:
        """Claim a QUEUED job for one invocation of the endpoint; False if someone holds it.

        One conditional write decides between concurrent claimers. A claim lapses after
        `lease_s` (the claimer's remaining run time), so a claimer that died frees the job
        for the retry of its message.
        """
        now = time.time()
        try:
            self._table.update_item(
                Key={"job_id": job_id},
                UpdateExpression="SET #claim = :token, #until = :until",
                ConditionExpression=(
                    "#status = :queued AND (attribute_not_exists(#claim) OR #until < :now)"
                ),
                ExpressionAttributeNames={
                    "#status": "status",
                    "#claim": CLAIM_TOKEN,
                    "#until": CLAIM_UNTIL,
                },
                ExpressionAttributeValues={
                    ":token": token,
                    ":until": Decimal(str(round(now + lease_s, 3))),
                    ":now": Decimal(str(round(now, 3))),
                    ":queued": JobStatus.QUEUED.value,
                },
            )
        except ClientError as exc:
            if _conditional_failure(exc):
                return False
            raise
        return True

    def release(self, job_id: str, token: str) -> None:
        """Give up a claim (the invocation could not be made), so a retry can claim the job."""
        try:
            self._table.update_item(
                Key={"job_id": job_id},
                UpdateExpression="REMOVE #claim, #until",
                ConditionExpression="#claim = :token",
                ExpressionAttributeNames={"#claim": CLAIM_TOKEN, "#until": CLAIM_UNTIL},
                ExpressionAttributeValues={":token": token},
            )
        except ClientError as exc:
            if not _conditional_failure(exc):
                raise

    def start(self, job_id: str, token: str, fields: Mapping[str, Any]) -> Job:
        """Move the job its claimer invoked to IN_PROGRESS, dropping the claim."""
        names = {"#status": "status", "#updated": "updated_at", "#claim": CLAIM_TOKEN}
        values: dict[str, Any] = {
            ":target": JobStatus.IN_PROGRESS.value,
            ":now": utc_now(),
            ":token": token,
            ":queued": JobStatus.QUEUED.value,
        }
        sets = ["#status = :target", "#updated = :now"]
        for i, (name, value) in enumerate(fields.items()):
            if value is None:
                continue
            names[f"#f{i}"] = name
            values[f":f{i}"] = value
            sets.append(f"#f{i} = :f{i}")
        names["#until"] = CLAIM_UNTIL
        return self._update(
            job_id,
            JobStatus.IN_PROGRESS,
            sets,
            "#status = :queued AND #claim = :token",
            names,
            values,
            remove=["#claim", "#until"],
        )

    def _update(
        self,
        job_id: str,
        target: JobStatus,
        sets: list[str],
        condition: str,
        names: dict[str, str],
        values: dict[str, Any],
        remove: Iterable[str] = (),
    ) -> Job:
        """One conditional update; a refused condition is an InvalidTransition to `target`."""
        expression = "SET " + ", ".join(sets)
        if remove:
            expression += " REMOVE " + ", ".join(remove)
        try:
            new = self._table.update_item(
                Key={"job_id": job_id},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as exc:
            if _conditional_failure(exc):
                current = self.get(job_id)
                raise InvalidTransition(
                    job_id, current.status if current else None, target
                ) from exc
            raise
        return Job.from_item(new)

    def list_by_owner(
        self, owner: str, limit: int, start_key: dict[str, Any] | None = None
    ) -> JobPage:
        """One page of `owner`'s jobs, newest first."""
        kwargs: dict[str, Any] = {
            "IndexName": OWNER_INDEX,
            "KeyConditionExpression": Key("owner").eq(owner),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        response = self._table.query(**kwargs)
        jobs = [Job.from_item(item) for item in response.get("Items", [])]
        return JobPage(jobs=jobs, last_key=response.get("LastEvaluatedKey"))

    def find_by_key(self, object_key: str) -> list[Job]:
        """The jobs of the object stored under `object_key` (one, unless re-uploaded directly)."""
        response = self._table.query(
            IndexName=OBJECT_KEY_INDEX, KeyConditionExpression=Key("object_key").eq(object_key)
        )
        # The index projection may omit attributes; read the rows themselves.
        jobs = [self.get(item["job_id"]) for item in response.get("Items", [])]
        found = [job for job in jobs if job is not None]
        return sorted(found, key=lambda job: job.created_at, reverse=True)

    def delete(self, job_id: str, allowed_from: Iterable[JobStatus]) -> None:
        """Remove the row, only while it is in one of `allowed_from` (one conditional write).

        A QUEUED row whose claim is live is being invoked right now, so it stays. Raises
        JobBusy when the row has moved to another status meanwhile, is claimed, or is gone.
        """
        allowed = set(allowed_from)
        names = {"#status": "status"}
        values: dict[str, Any] = {}
        tests = []
        settled = allowed - {JobStatus.QUEUED}
        if settled:
            tests.append(f"#status IN ({_status_in(values, settled)})")
        if JobStatus.QUEUED in allowed:
            names.update({"#claim": CLAIM_TOKEN, "#until": CLAIM_UNTIL})
            values.update(
                {":queued": JobStatus.QUEUED.value, ":now": Decimal(str(round(time.time(), 3)))}
            )
            tests.append("(#status = :queued AND (attribute_not_exists(#claim) OR #until < :now))")
        try:
            self._table.delete_item(
                Key={"job_id": job_id},
                ConditionExpression=" OR ".join(tests),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if _conditional_failure(exc):
                current = self.get(job_id)
                raise JobBusy(job_id, current.status if current else None) from exc
            raise
