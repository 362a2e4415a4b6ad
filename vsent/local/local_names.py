"""Local names for the resources of template.yaml, and its properties evaluated against them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vsent.local.cfn import Evaluator, TemplateError
from vsent.local.spec import ACCOUNT_ID

ENDPOINT_TYPES = (
    "AWS::SageMaker::Model",
    "AWS::SageMaker::EndpointConfig",
    "AWS::SageMaker::Endpoint",
)


def resources_of(
    template: dict[str, Any], *types: str, evaluator: Evaluator | None = None
) -> dict[str, dict[str, Any]]:
    """Resources of the given types; with an evaluator, only those whose Condition holds."""
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") in types
        and (
            evaluator is None
            or "Condition" not in resource
            or evaluator.condition(resource["Condition"])
        )
    }


class LocalNames:
    """Names every resource of a template locally (as CloudFormation would name it in a stack
    of that name), then evaluates the template's properties against those names.

    ``parameters`` override the template's parameter defaults; ``fixed`` pins the names of some
    resources (by logical id), as an existing account's would be: the tests' events/ files name
    one example bucket.
    """

    def __init__(
        self,
        template: dict[str, Any],
        root: Path,
        stack_name: str,
        region: str,
        parameters: Mapping[str, str] | None = None,
        fixed: Mapping[str, str] | None = None,
    ) -> None:
        self.template = template
        self.fixed = dict(fixed or {})
        self.root = root
        self.stack_name = stack_name
        self.region = region
        self.endpoint_name = f"{stack_name}-endpoint"
        refs: dict[str, Any] = {
            "AWS::StackName": stack_name,
            "AWS::Region": region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": (
                f"arn:aws:cloudformation:{region}:{ACCOUNT_ID}:stack/{stack_name}/local"
            ),
        }
        declared = template.get("Parameters", {})
        unknown = sorted(set(parameters or {}) - set(declared))
        if unknown:
            raise TemplateError(f"the template has no parameter {', '.join(unknown)}")
        for name, parameter in declared.items():
            default = (parameters or {}).get(name, parameter.get("Default", ""))
            refs[name] = default if isinstance(default, list) else str(default)
        forced = {
            resource["Condition"]: True
            for resource in resources_of(template, *ENDPOINT_TYPES).values()
            if "Condition" in resource
        }
        self.attributes: dict[tuple[str, str], Any] = {}
        self.refs = refs
        # A first evaluator without resource refs names things (names only use parameters).
        self.evaluator = Evaluator(template, refs, self.attributes, forced)
        self.names: dict[str, str] = {}
        for logical_id, resource in template["Resources"].items():
            self._name(logical_id, resource)

    def _name(self, logical_id: str, resource: dict[str, Any]) -> None:
        kind = resource.get("Type", "")
        props = resource.get("Properties", {}) or {}
        arn_prefix = f"arn:aws:{{service}}:{self.region}:{ACCOUNT_ID}"
        if kind == "AWS::S3::Bucket":
            generated = self._generated(logical_id).lower()
            name = self._explicit(logical_id, props, "BucketName") or generated
            self.refs[logical_id] = name
            self.attributes[(logical_id, "Arn")] = f"arn:aws:s3:::{name}"
            self.attributes[(logical_id, "DomainName")] = f"{name}.s3.amazonaws.com"
        elif kind == "AWS::DynamoDB::Table":
            name = self._explicit(logical_id, props, "TableName") or self._generated(logical_id)
            self.refs[logical_id] = name
            self.attributes[(logical_id, "Arn")] = (
                f"{arn_prefix.format(service='dynamodb')}:table/{name}"
            )
        elif kind == "AWS::SQS::Queue":
            name = self._explicit(logical_id, props, "QueueName") or self._generated(logical_id)
            arn = f"{arn_prefix.format(service='sqs')}:{name}"
            self.refs[logical_id] = f"https://sqs.{self.region}.amazonaws.com/{ACCOUNT_ID}/{name}"
            self.attributes[(logical_id, "Arn")] = arn
            self.attributes[(logical_id, "QueueName")] = name
            self.attributes[(logical_id, "QueueUrl")] = self.refs[logical_id]
        elif kind == "AWS::SNS::Topic":
            name = self._explicit(logical_id, props, "TopicName") or self._generated(logical_id)
            arn = f"{arn_prefix.format(service='sns')}:{name}"
            self.refs[logical_id] = arn
            self.attributes[(logical_id, "TopicArn")] = arn
            self.attributes[(logical_id, "TopicName")] = name
        elif kind in ENDPOINT_TYPES:
            name = self.endpoint_name if kind.endswith("Endpoint") else self._generated(logical_id)
            short = kind.rsplit("::", 1)[1]
            service = {"EndpointConfig": "endpoint-config"}.get(short, short.lower())
            self.refs[logical_id] = f"{arn_prefix.format(service='sagemaker')}:{service}/{name}"
            self.attributes[(logical_id, f"{short}Name")] = name
        elif kind == "AWS::CloudFront::Distribution":
            # Locally the page is served by `vsent up`, which sets the origin the API answers.
            name = self._generated(logical_id).lower()
            self.refs[logical_id] = name
            self.attributes[(logical_id, "DomainName")] = f"{name}.cloudfront.net"
        elif kind == "AWS::Serverless::Function":
            name = self._explicit(logical_id, props, "FunctionName") or self._generated(logical_id)
            self.refs[logical_id] = name
            self.attributes[(logical_id, "Arn")] = (
                f"{arn_prefix.format(service='lambda')}:function:{name}"
            )
        else:
            name = self._generated(logical_id)
            self.refs[logical_id] = name
            self.attributes[(logical_id, "Arn")] = f"{arn_prefix.format(service='local')}:{name}"
        self.names[logical_id] = name

    def _explicit(self, logical_id: str, props: dict[str, Any], key: str) -> str | None:
        if logical_id in self.fixed:
            return self.fixed[logical_id]
        if key not in props:
            return None
        return str(self.evaluator.evaluate(props[key]))

    def _generated(self, logical_id: str) -> str:
        return f"{self.stack_name}-{logical_id}"

    def props(self, resource: dict[str, Any], *keys: str) -> dict[str, Any]:
        """The named properties of a resource, evaluated (others may reference SAM internals)."""
        props = resource.get("Properties", {}) or {}
        return self.evaluator.evaluate({key: props[key] for key in keys if key in props}) or {}

    def logical_id_of(self, physical: str) -> str:
        """The logical id behind an ARN, URL or name produced by this builder."""
        for logical_id, ref in self.refs.items():
            if physical == ref:
                return logical_id
        for (logical_id, _), value in self.attributes.items():
            if physical == value:
                return logical_id
        raise TemplateError(f"{physical!r} does not name a resource of the template")
