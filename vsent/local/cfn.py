"""CloudFormation templates: reading them, and an evaluator for the intrinsic functions they use."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from cfnlint.decode import decode

_NO_VALUE = object()
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class TemplateError(ValueError):
    """The template uses something the local stack cannot evaluate."""


def load_template(path: Path) -> dict[str, Any]:
    """Parse a CloudFormation/SAM template (YAML with short tags, or JSON) with cfn-lint's decoder.

    `!Ref X` and friends come back in their long `{"Fn::X": …}` form; the dicts, lists and strings
    are subclasses that also carry their position in the file.
    """
    document, problems = decode(str(path))
    if problems:
        details = "; ".join(f"line {match.linenumber}: {match.message}" for match in problems)
        raise TemplateError(f"{path} cannot be parsed: {details}")
    if not isinstance(document, dict) or "Resources" not in document:
        raise TemplateError(f"{path} is not a CloudFormation template (no Resources)")
    return document


class Evaluator:
    """Evaluates intrinsic functions against local physical values.

    `refs` maps a logical id or pseudo parameter to what `Ref` gives; `attributes` maps
    (logical id, attribute) to what `Fn::GetAtt` gives. Conditions come from the template's
    Conditions section; `forced_conditions` pins some of them (the local stack always has an
    endpoint, whatever the model URL parameter says).
    """

    def __init__(
        self,
        template: Mapping[str, Any],
        refs: Mapping[str, Any],
        attributes: Mapping[tuple[str, str], Any],
        forced_conditions: Mapping[str, bool] | None = None,
    ) -> None:
        self._template = template
        self._refs = refs
        self._attributes = attributes
        self._forced = dict(forced_conditions or {})
        self._conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        """The value of a named condition."""
        if name in self._forced:
            return self._forced[name]
        if name not in self._conditions:
            definitions = self._template.get("Conditions", {})
            if name not in definitions:
                raise TemplateError(f"unknown condition {name!r}")
            self._conditions[name] = bool(self.evaluate(definitions[name]))
        return self._conditions[name]

    def evaluate(self, value: Any) -> Any:
        """Evaluate every intrinsic function inside `value`; AWS::NoValue entries disappear."""
        result = self._evaluate(value)
        return None if result is _NO_VALUE else result

    def _evaluate(self, value: Any) -> Any:
        if isinstance(value, list):
            items = (self._evaluate(item) for item in value)
            return [item for item in items if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            function = self._FUNCTIONS.get(key)
            if function is not None:
                return function(self, argument)
        evaluated = {key: self._evaluate(item) for key, item in value.items()}
        return {key: item for key, item in evaluated.items() if item is not _NO_VALUE}

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name not in self._refs:
            raise TemplateError(f"Ref to {name!r} has no local value")
        return self._refs[name]

    def _get_att(self, argument: Any) -> Any:
        logical_id, attribute = self._evaluate(argument)
        try:
            return self._attributes[(logical_id, attribute)]
        except KeyError:
            raise TemplateError(f"GetAtt {logical_id}.{attribute} has no local value") from None

    def _sub(self, argument: Any) -> str:
        if isinstance(argument, list):
            text, variables = argument[0], self._evaluate(argument[1])
        else:
            text, variables = argument, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and name.split(".", 1)[0] in self._template.get("Resources", {}):
                return str(self._get_att(name.split(".", 1)))
            return str(self._ref(name))

        return _SUB_VARIABLE.sub(replace, text).replace("${!", "${")

    def _if(self, argument: Any) -> Any:
        name, when_true, when_false = argument
        return self._evaluate(when_true if self.condition(name) else when_false)

    def _join(self, argument: Any) -> str:
        delimiter, items = argument
        return delimiter.join(str(item) for item in self._evaluate(items))

    def _select(self, argument: Any) -> Any:
        index, items = self._evaluate(argument)
        return items[int(index)]

    def _split(self, argument: Any) -> list[str]:
        delimiter, text = self._evaluate(argument)
        return text.split(delimiter)

    def _find_in_map(self, argument: Any) -> Any:
        name, first, second = self._evaluate(argument)
        return self._template["Mappings"][name][first][second]

    _FUNCTIONS: ClassVar[dict[str, Callable[[Evaluator, Any], Any]]] = {
        "Ref": lambda self, name: self._ref(name),
        "Fn::GetAtt": _get_att,
        "Fn::Sub": _sub,
        "Fn::If": _if,
        "Fn::Join": _join,
        "Fn::Select": _select,
        "Fn::Split": _split,
        "Fn::FindInMap": _find_in_map,
        "Fn::Equals": lambda self, args: self._evaluate(args[0]) == self._evaluate(args[1]),
        "Fn::Not": lambda self, args: not self._evaluate(args[0]),
        "Fn::And": lambda self, args: all(self._evaluate(item) for item in args),
        "Fn::Or": lambda self, args: any(self._evaluate(item) for item in args),
        "Condition": lambda self, name: self.condition(name),
    }
