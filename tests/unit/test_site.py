"""The site publisher custom resource: the page and config.json into the web bucket, the cache
invalidated, CloudFormation always answered; the bucket emptied on Delete."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import ModuleType
from typing import Any

import pytest
from support import ROOT, LambdaContext, Stack

from vs_common import aws

WEB_BUCKET = "video-sentiment-web"


class _CloudFormation(BaseHTTPRequestHandler):
    """Takes the custom resource's answer (the PUT to its presigned ResponseURL)."""

    answers: list[dict[str, Any]]

    def do_PUT(self) -> None:
        length = int(self.headers["Content-Length"])
        self.answers.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def cloudformation() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local stand-in for CloudFormation's response URL: (url, answers received)."""
    answers: list[dict[str, Any]] = []
    handler = type("Handler", (_CloudFormation,), {"answers": answers})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/response", answers
    server.shutdown()
    server.server_close()


@pytest.fixture
def site(stack: Stack, load_function: Callable[[str], ModuleType]) -> ModuleType:
    stack.s3.create_bucket(Bucket=WEB_BUCKET)
    return load_function("site")


def _event(kind: str, response_url: str, distribution: str) -> dict[str, Any]:
    return {
        "RequestType": kind,
        "ResponseURL": response_url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/video-sentiment/x",
        "RequestId": "request-1",
        "LogicalResourceId": "SiteContent",
        "ResourceType": "Custom::SiteContent",
        "ResourceProperties": {
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:site",
            "CodeVersion": "3",
            "Bucket": WEB_BUCKET,
            "DistributionId": distribution,
            "ApiUrl": "https://abc.execute-api.us-east-1.amazonaws.com/v1/",
            "Region": "us-east-1",
            "CognitoEndpoint": "https://cognito-idp.us-east-1.amazonaws.com/",
            "UserPoolId": "us-east-1_pool",
            "UserPoolClientId": "client123",
            "MaxVideoBytes": "1048576",
            "MaxVideoSeconds": "60",
        },
    }


def _distribution() -> str:
    config = {
        "CallerReference": "test",
        "Comment": "",
        "Enabled": True,
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": "web-bucket",
                    "DomainName": f"{WEB_BUCKET}.s3.us-east-1.amazonaws.com",
                    "S3OriginConfig": {"OriginAccessIdentity": ""},
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": "web-bucket",
            "ViewerProtocolPolicy": "allow-all",
        },
    }
    created = aws.client("cloudfront").create_distribution(DistributionConfig=config)
    return created["Distribution"]["Id"]


def test_create_publishes_every_page_file_and_config(
    site: ModuleType, stack: Stack, cloudformation: tuple[str, list[dict[str, Any]]]
) -> None:
    url, answers = cloudformation
    distribution = _distribution()
    site.lambda_handler(_event("Create", url, distribution), LambdaContext())

    [answer] = answers
    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert answer["PhysicalResourceId"] == f"SiteContent-{WEB_BUCKET}"
    listed = stack.s3.list_objects_v2(Bucket=WEB_BUCKET)["Contents"]
    keys = {item["Key"] for item in listed}
    page = {
        p.relative_to(ROOT / "web").as_posix() for p in (ROOT / "web").rglob("*") if p.is_file()
    }
    assert keys == page | {"config.json"}
    index = stack.s3.get_object(Bucket=WEB_BUCKET, Key="index.html")
    assert index["ContentType"] == "text/html; charset=utf-8"
    script = stack.s3.get_object(Bucket=WEB_BUCKET, Key="js/main.js")
    assert script["ContentType"].startswith(("text/javascript", "application/javascript"))
    config = json.loads(stack.s3.get_object(Bucket=WEB_BUCKET, Key="config.json")["Body"].read())
    # Names of public things only: no API key or other secret reaches the page.
    assert set(config) == {"apiUrl", "region", "cognito", "limits", "local"}
    assert config["apiUrl"] == "https://abc.execute-api.us-east-1.amazonaws.com/v1"
    assert config["cognito"] == {
        "endpoint": "https://cognito-idp.us-east-1.amazonaws.com/",
        "userPoolId": "us-east-1_pool",
        "clientId": "client123",
    }
    assert config["limits"]["maxVideoBytes"] == 1048576
    assert config["limits"]["maxVideoSeconds"] == 60
    assert ".mp4" in config["limits"]["videoExtensions"]
    assert config["local"] is False
    invalidations = aws.client("cloudfront").list_invalidations(DistributionId=distribution)
    assert invalidations["InvalidationList"]["Quantity"] == 1


def test_delete_empties_the_bucket(
    site: ModuleType, stack: Stack, cloudformation: tuple[str, list[dict[str, Any]]]
) -> None:
    url, answers = cloudformation
    distribution = _distribution()
    site.lambda_handler(_event("Create", url, distribution), LambdaContext())
    site.lambda_handler(_event("Delete", url, distribution), LambdaContext())
    assert [answer["Status"] for answer in answers] == ["SUCCESS", "SUCCESS"]
    assert "Contents" not in stack.s3.list_objects_v2(Bucket=WEB_BUCKET)


def test_a_failure_is_reported_to_cloudformation_not_raised(
    site: ModuleType, cloudformation: tuple[str, list[dict[str, Any]]]
) -> None:
    url, answers = cloudformation
    event = _event("Update", url, "NO-SUCH-DISTRIBUTION")
    event["PhysicalResourceId"] = f"SiteContent-{WEB_BUCKET}"
    site.lambda_handler(event, LambdaContext())
    [answer] = answers
    assert answer["Status"] == "FAILED"
    assert answer["PhysicalResourceId"] == f"SiteContent-{WEB_BUCKET}"
    assert answer["Reason"]
