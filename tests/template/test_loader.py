"""The short-tag YAML loader every template check (and the local stack) reads templates with."""

import json
from pathlib import Path

import pytest

from vsent.local.cfn import TemplateError, load_template

TEMPLATE = """
Conditions:
  HasModel: !Not [!Equals [!Ref ModelDataUrl, ""]]
  Both: !And [!Condition HasModel, !Condition HasModel]
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Sub "${AWS::StackName}-topic"
      KmsMasterKeyId: !GetAtt Key.Arn.With.Dots
"""


def test_short_tags_become_their_long_forms(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE, encoding="utf-8")

    template = load_template(path)

    conditions = template["Conditions"]
    assert conditions["HasModel"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "ModelDataUrl"}, ""]}]}
    assert conditions["Both"] == {"Fn::And": [{"Condition": "HasModel"}] * 2}
    properties = template["Resources"]["Topic"]["Properties"]
    assert properties["TopicName"] == {"Fn::Sub": "${AWS::StackName}-topic"}
    assert properties["KmsMasterKeyId"] == {"Fn::GetAtt": ["Key", "Arn.With.Dots"]}
    # What the local stack does with the values: compare, format, serialise.
    assert json.loads(json.dumps(template))["Resources"]["Topic"]["Type"] == "AWS::SNS::Topic"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Resources:\n  Topic: {}\n  Topic: {}\n", "Duplicate"),
        ("Resources: [unclosed\n", "cannot be parsed"),
        ("Parameters: {}\n", "no Resources"),
    ],
)
def test_a_broken_template_is_refused_with_the_reason(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TemplateError, match=problem):
        load_template(path)
