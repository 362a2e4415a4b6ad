"""Site publisher: a CloudFormation custom resource that puts the web page (web/, shipped in this
function's code as `static/`) and its config.json into the web bucket, then invalidates the
CloudFront cache. Create and Update publish; Delete empties the bucket so the stack can remove it.

A new deploy of changed page files changes this function's version, which the custom resource
names, so CloudFormation calls Update and the page is published again with plain `sam deploy`.
"""

from __future__ import annotations

import json
import mimetypes
import time
import urllib.request
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from vs_common import aws
from vs_common.site import page_config

STATIC = Path(__file__).resolve().parent / "static"
# config.json and index.html change with every deploy; the rest is named in index.html.
NO_CACHE = {"config.json", "index.html"}

logger = Logger()


def _content_type(name: str) -> str:
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return (
        f"{kind}; charset=utf-8"
        if kind.startswith("text/") or kind.endswith("javascript")
        else kind
    )


def publish(s3: Any, bucket: str, config: dict[str, Any]) -> list[str]:
    """Upload every page file and config.json; returns the keys written."""
    written = []
    for path in sorted(p for p in STATIC.rglob("*") if p.is_file()):
        key = path.relative_to(STATIC).as_posix()
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=path.read_bytes(),
            ContentType=_content_type(key),
            CacheControl="no-cache" if key in NO_CACHE else "max-age=300",
        )
        written.append(key)
    s3.put_object(
        Bucket=bucket,
        Key="config.json",
        Body=json.dumps(config, indent=2).encode(),
        ContentType="application/json",
        CacheControl="no-cache",
    )
    return [*written, "config.json"]


def empty(s3: Any, bucket: str) -> int:
    """Delete every object of the bucket; returns how many."""
    count = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        objects = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if objects:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
            count += len(objects)
    return count


def config_of(properties: dict[str, Any]) -> dict[str, Any]:
    """config.json from the custom resource's properties (CloudFormation passes strings)."""
    return page_config(
        api_url=properties["ApiUrl"],
        region=properties["Region"],
        cognito_endpoint=properties["CognitoEndpoint"],
        user_pool_id=properties["UserPoolId"],
        client_id=properties["UserPoolClientId"],
        max_video_bytes=int(properties["MaxVideoBytes"]),
        max_video_seconds=int(properties["MaxVideoSeconds"]),
    )


def _respond(event: dict[str, Any], status: str, reason: str, data: dict[str, Any]) -> None:
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:1000],
            "PhysicalResourceId": event.get("PhysicalResourceId")
            or f"{event['LogicalResourceId']}-{event['ResourceProperties']['Bucket']}",
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": data,
        }
    ).encode()
    request = urllib.request.Request(
        event["ResponseURL"],
        data=body,
        method="PUT",
        headers={"Content-Type": "", "Content-Length": str(len(body))},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> None:
    """Handle one custom resource request and always answer CloudFormation."""
    properties = event["ResourceProperties"]
    bucket = properties["Bucket"]
    s3 = aws.client("s3")
    try:
        if event["RequestType"] == "Delete":
            deleted = empty(s3, bucket)
            logger.info("web bucket emptied", extra={"objects": deleted})
            _respond(event, "SUCCESS", f"deleted {deleted} objects", {})
            return
        written = publish(s3, bucket, config_of(properties))
        aws.client("cloudfront").create_invalidation(
            DistributionId=properties["DistributionId"],
            InvalidationBatch={
                "Paths": {"Quantity": 1, "Items": ["/*"]},
                "CallerReference": f"{event['RequestId']}-{time.time_ns()}",
            },
        )
        logger.info("web page published", extra={"objects": len(written)})
        _respond(event, "SUCCESS", f"published {len(written)} objects", {"Objects": len(written)})
    except Exception as exc:  # CloudFormation waits an hour for an answer that never comes
        logger.exception("publishing the web page failed")
        _respond(event, "FAILED", f"{type(exc).__name__}: {exc}", {})
