"""Users' API keys: a DynamoDB row per key (its hash, never its value) and the API Gateway key
that the usage plan meters.

A key's value is shown once, when it is created. The row maps the hash to the owning user; the
API Gateway key of the same value is what the authorizer names as `usageIdentifierKey`, so the
usage plan's throttle and quota apply to each key. A user's requests with a token are metered
on a key of their own too (`meter` rows): its value is derived from the user's subject and is no
credential, because the API takes keys from the authorizer (ApiKeySourceType AUTHORIZER), and
the authorizer accepts only keys whose hash has a `script` row.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import date
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, field_validator

from vs_common.identity import hash_key
from vs_common.jobs import utc_now

OWNER_INDEX = "owner-created-index"
KEY_PREFIX = "vsk_"
METER_PREFIX = "meter-"
MAX_KEYS_PER_USER = 10
MAX_NAME_CHARS = 64


class UnknownKey(LookupError):
    """No key of this user has that id."""


class KeyRequest(BaseModel):
    """Body of POST /keys."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)

    @field_validator("name")
    @classmethod
    def _printable(cls, value: str) -> str:
        if not value.isprintable():
            raise ValueError("the name contains control characters")
        return value


@dataclass(frozen=True)
class ApiKeyRecord:
    """What is kept of a user's key: never its value."""

    key_id: str
    owner: str
    name: str
    created_at: str

    def body(self) -> dict[str, str]:
        """The key as the API shows it."""
        return {"key_id": self.key_id, "name": self.name, "created_at": self.created_at}


def new_key_value() -> str:
    """A fresh key value: 'vsk_' and 240 random bits."""
    return KEY_PREFIX + secrets.token_urlsafe(30)


def meter_value(owner: str) -> str:
    """The value of the usage plan key that meters a user's token requests."""
    return METER_PREFIX + owner


class KeyStore:
    """Rows of the keys table: `script` keys by hash, `meter` keys by user."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def put(self, value: str, key_id: str, owner: str, name: str) -> ApiKeyRecord:
        """Remember a new key of `owner` by the hash of its value."""
        record = ApiKeyRecord(key_id, owner, name, utc_now())
        self._table.put_item(
            Item={"key_hash": hash_key(value), "kind": "script", **record.__dict__},
            ConditionExpression="attribute_not_exists(key_hash)",
        )
        return record

    def owner_of(self, value: str) -> tuple[str, str] | None:
        """(owner, key id) of a key value, if it is a live key of some user."""
        item = self._table.get_item(Key={"key_hash": hash_key(value)}).get("Item")
        if not item or item.get("kind") != "script":
            return None
        return item["owner"], item["key_id"]

    def list(self, owner: str) -> list[ApiKeyRecord]:
        """The user's keys, oldest first."""
        items: list[dict[str, Any]] = []
        query: dict[str, Any] = {
            "IndexName": OWNER_INDEX,
            "KeyConditionExpression": Key("owner").eq(owner),
        }
        while True:
            page = self._table.query(**query)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return [
            ApiKeyRecord(item["key_id"], item["owner"], item["name"], item["created_at"])
            for item in items
            if item.get("kind") == "script"
        ]

    def remove(self, owner: str, key_id: str) -> None:
        """Forget one of the user's keys; UnknownKey if they have none with that id."""
        for item in self._table.query(
            IndexName=OWNER_INDEX, KeyConditionExpression=Key("owner").eq(owner)
        )["Items"]:
            if item.get("kind") == "script" and item["key_id"] == key_id:
                self._table.delete_item(Key={"key_hash": item["key_hash"]})
                return
        raise UnknownKey(key_id)

    def meter_key_id(self, owner: str) -> str | None:
        """The id of the usage plan key metering the user's token requests, once it exists."""
        item = self._table.get_item(Key={"key_hash": hash_key(meter_value(owner))}).get("Item")
        return item["key_id"] if item else None

    def put_meter(self, owner: str, key_id: str) -> None:
        """Remember the user's meter key (idempotent)."""
        self._table.put_item(
            Item={
                "key_hash": hash_key(meter_value(owner)),
                "kind": "meter",
                "key_id": key_id,
                "owner": owner,
                "name": "token requests",
                "created_at": utc_now(),
            }
        )


def _conflict(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConflictException"


class UsagePlanKeys:
    """API Gateway keys of the stack's usage plan (found by its name: a reference to it from a
    function's environment would make a cycle through the API's deployment)."""

    def __init__(self, apigateway: Any, plan_name: str) -> None:
        self._apigateway = apigateway
        self._plan_name = plan_name
        self._plan: dict[str, Any] | None = None
        self._lock = threading.Lock()

    @property
    def plan(self) -> dict[str, Any]:
        """The usage plan (id, throttle, quota)."""
        with self._lock:
            if self._plan is None:
                for page in self._apigateway.get_paginator("get_usage_plans").paginate():
                    for plan in page.get("items", []):
                        if plan.get("name") == self._plan_name:
                            self._plan = plan
                if self._plan is None:
                    raise LookupError(f"no usage plan named {self._plan_name!r}")
            return self._plan

    def create(self, value: str, name: str) -> str:
        """An enabled API Gateway key with this value, in the usage plan; returns its id."""
        try:
            key_id = self._apigateway.create_api_key(name=name, value=value, enabled=True)["id"]
        except ClientError as exc:
            if not _conflict(exc):
                raise
            # Created by a concurrent request a moment ago: use that one.
            found = self._apigateway.get_api_keys(nameQuery=name, includeValues=True)["items"]
            key_id = next(item["id"] for item in found if item.get("value") == value)
        try:
            self._apigateway.create_usage_plan_key(
                usagePlanId=self.plan["id"], keyId=key_id, keyType="API_KEY"
            )
        except ClientError as exc:
            if not _conflict(exc):
                raise
        return key_id

    def delete(self, key_id: str) -> None:
        """Remove the key from API Gateway (and so from the usage plan)."""
        try:
            self._apigateway.delete_api_key(apiKey=key_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NotFoundException":
                raise

    def usage(self, key_ids: list[str], start: date, end: date) -> dict[str, int]:
        """Requests counted this period per key id, from the usage plan's daily counters."""
        used = dict.fromkeys(key_ids, 0)
        for key_id in key_ids:
            request = {
                "usagePlanId": self.plan["id"],
                "keyId": key_id,
                "startDate": start.isoformat(),
                "endDate": end.isoformat(),
            }
            for page in self._apigateway.get_paginator("get_usage").paginate(**request):
                # Each day is [requests used, requests remaining].
                days = (page.get("items") or {}).get(key_id, [])
                used[key_id] += sum(int(day[0]) for day in days)
        return used
