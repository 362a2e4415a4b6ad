"""The web page on AWS: a private bucket read only by CloudFront through origin access control,
security headers on every response, config.json published by the custom resource on every
deploy, and an API that answers the page's origin in CORS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cfntools import resources_of_type, statements

ROOT = Path(__file__).resolve().parents[2]
PAGE_ORIGIN = {"Fn::Sub": "'https://${WebDistribution.DomainName}'"}


@pytest.fixture(scope="module")
def resources(sam_template: dict[str, Any]) -> dict[str, Any]:
    return sam_template["Resources"]


def test_web_bucket_is_private_and_read_only_by_this_distribution(
    resources: dict[str, Any],
) -> None:
    bucket = resources["WebBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    policy = resources["WebBucketPolicy"]["Properties"]["PolicyDocument"]
    [allow] = [s for s in statements(policy) if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    source = allow["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    assert source.endswith(":distribution/${WebDistribution}")


def test_distribution_uses_origin_access_control_https_and_security_headers(
    resources: dict[str, Any],
) -> None:
    config = resources["WebDistribution"]["Properties"]["DistributionConfig"]
    [origin] = config["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["WebOriginAccessControl", "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    control = resources["WebOriginAccessControl"]["Properties"]["OriginAccessControlConfig"]
    assert control["SigningBehavior"] == "always"
    assert control["OriginAccessControlOriginType"] == "s3"
    behaviour = config["DefaultCacheBehavior"]
    assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behaviour["AllowedMethods"] == ["GET", "HEAD"]
    assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "WebResponseHeadersPolicy"}
    assert config["DefaultRootObject"] == "index.html"

    headers = resources["WebResponseHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    security = headers["SecurityHeadersConfig"]
    assert security["FrameOptions"]["FrameOption"] == "DENY"
    assert security["ContentTypeOptions"]["Override"] is True
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    csp = security["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"]
    assert "script-src 'self';" in csp
    assert "frame-ancestors 'none'" in csp
    assert "https://cognito-idp.${AWS::Region}" in csp
    assert "'unsafe-inline'" not in csp


def test_config_json_is_published_on_every_deploy_that_changes_the_page(
    resources: dict[str, Any],
) -> None:
    content = resources["SiteContent"]
    assert content["Type"] == "Custom::SiteContent"
    props = content["Properties"]
    assert props["ServiceToken"] == {"Fn::GetAtt": ["SitePublisherFunction", "Arn"]}
    # The function's version changes with its code, which ships the page: Update publishes.
    assert resources["SitePublisherFunction"]["Properties"]["AutoPublishAlias"]
    assert props["CodeVersion"] == {"Ref": "SitePublisherFunction.Version"}
    assert props["Bucket"] == {"Ref": "WebBucket"}
    assert props["DistributionId"] == {"Ref": "WebDistribution"}
    assert props["MaxVideoBytes"] == {"Ref": "MaxVideoBytes"}
    assert props["MaxVideoSeconds"] == {"Ref": "MaxVideoSeconds"}
    assert "${Api}" in props["ApiUrl"]["Fn::Sub"]
    static = ROOT / "functions" / "site" / "static"
    assert static.is_symlink() and static.resolve() == (ROOT / "web").resolve()
    assert (static / "index.html").is_file()


def test_publisher_may_only_write_the_web_bucket_and_invalidate_its_distribution(
    resources: dict[str, Any],
) -> None:
    [policy] = resources["SitePublisherFunction"]["Properties"]["Policies"]
    granted = {
        action: statement["Resource"]
        for statement in policy["Statement"]
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    }
    assert set(granted) == {
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:ListBucket",
        "cloudfront:CreateInvalidation",
    }
    assert granted["s3:PutObject"] == {"Fn::Sub": "${WebBucket.Arn}/*"}


def test_api_answers_the_page_origin_in_cors(resources: dict[str, Any]) -> None:
    api = resources["Api"]["Properties"]
    assert api["Cors"]["AllowOrigin"] == PAGE_ORIGIN
    assert "Authorization" in api["Cors"]["AllowHeaders"]
    for kind, response in api["GatewayResponses"].items():
        headers = response["ResponseParameters"]["Headers"]
        assert headers["Access-Control-Allow-Origin"] == PAGE_ORIGIN, kind
    environment = resources["ApiFunction"]["Properties"]["Environment"]["Variables"]
    assert environment["ALLOWED_ORIGIN"] == {"Fn::Sub": "https://${WebDistribution.DomainName}"}


def test_page_url_is_a_stack_output(sam_template: dict[str, Any]) -> None:
    output = sam_template["Outputs"]["WebUrl"]["Value"]
    assert output == {"Fn::Sub": "https://${WebDistribution.DomainName}/"}
    assert resources_of_type(sam_template, "AWS::CloudFront::Distribution").keys() == {
        "WebDistribution"
    }
