"""Reading CloudFormation templates in tests: short-tag YAML, resources, policies, references."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def as_list(value: Any) -> list[Any]:
    """A scalar as a one-item list; a list unchanged."""
    return value if isinstance(value, list) else [value]


def resources_of_type(template: dict[str, Any], type_name: str) -> dict[str, dict[str, Any]]:
    """Logical id → resource for every resource of `type_name`."""
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == type_name
    }


def strip_conditionals(value: Any) -> Iterator[Any]:
    """Each concrete alternative of a value maybe wrapped in Fn::If (AWS::NoValue dropped)."""
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        _, when_true, when_false = value["Fn::If"]
        yield from strip_conditionals(when_true)
        yield from strip_conditionals(when_false)
    elif value == {"Ref": "AWS::NoValue"}:
        return
    else:
        yield value


# Resource types holding policy documents, and where in their properties the documents are.
_POLICY_HOLDERS = {
    "AWS::S3::BucketPolicy": "PolicyDocument",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::IAM::Policy": "PolicyDocument",
    "AWS::IAM::ManagedPolicy": "PolicyDocument",
    "AWS::KMS::Key": "KeyPolicy",
}


def policy_documents(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, document) for every inline policy document of every resource in the template."""
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            for entry in properties.get("Policies", []):
                for policy in strip_conditionals(entry):
                    yield f"{logical_id}/{policy['PolicyName']}", policy["PolicyDocument"]
        elif resource["Type"] in _POLICY_HOLDERS:
            yield logical_id, properties[_POLICY_HOLDERS[resource["Type"]]]


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The statements of a policy document, as a list."""
    return [s for entry in as_list(document["Statement"]) for s in strip_conditionals(entry)]


def actions(statement: dict[str, Any]) -> list[str]:
    """The actions a statement names."""
    return [a for a in as_list(statement.get("Action", [])) if isinstance(a, str)]


def references(value: Any) -> Iterator[str]:
    """Logical ids (or parameters) that a value refers to through Ref, Fn::GetAtt or Fn::Sub."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                yield inner.split(".", 1)[0]
            elif key == "Fn::GetAtt":
                target = inner[0] if isinstance(inner, list) else inner.split(".", 1)[0]
                yield target
            elif key == "Fn::Sub":
                text, variables = (inner, {}) if isinstance(inner, str) else inner
                yield from _sub_references(text, set(variables))
                yield from references(variables)
            else:
                yield from references(inner)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


def _sub_references(text: str, local_names: set[str]) -> Iterator[str]:
    start = text.find("${")
    while start != -1:
        end = text.index("}", start)
        name = text[start + 2 : end]
        if not name.startswith("!") and name not in local_names:
            yield name.split(".", 1)[0]
        start = text.find("${", end)


def dependency_graph(template: dict[str, Any]) -> dict[str, set[str]]:
    """Logical id → the resources it depends on (references and DependsOn)."""
    resources = template["Resources"]
    graph: dict[str, set[str]] = {}
    for logical_id, resource in resources.items():
        needed = set(references(resource.get("Properties", {})))
        needed.update(as_list(resource.get("DependsOn", [])))
        graph[logical_id] = {name for name in needed if name in resources}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One dependency cycle of the graph as a path, or None when it has none."""
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in visiting:
            return [*visiting[visiting.index(node) :], node]
        if node in done:
            return None
        visiting.append(node)
        for dependency in sorted(graph[node]):
            cycle = visit(dependency)
            if cycle:
                return cycle
        visiting.pop()
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start)
        if cycle:
            return cycle
    return None


def unguarded_references(value: Any, targets: set[str], condition: str) -> Iterator[str]:
    """References to `targets` that are not inside the true branch of an Fn::If on `condition`."""
    if not isinstance(value, dict | list):
        return
    if isinstance(value, list):
        for item in value:
            yield from unguarded_references(item, targets, condition)
    elif "Fn::If" in value:
        name, when_true, when_false = value["Fn::If"]
        if name != condition:
            yield from unguarded_references(when_true, targets, condition)
        yield from unguarded_references(when_false, targets, condition)
    elif "Fn::Sub" in value:
        text, variables = (
            (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
        )
        yield from (name for name in _sub_references(text, set(variables)) if name in targets)
        yield from unguarded_references(variables, targets, condition)
    elif "Ref" in value or "Fn::GetAtt" in value:
        yield from (name for name in references(value) if name in targets)
    else:
        for inner in value.values():
            yield from unguarded_references(inner, targets, condition)
