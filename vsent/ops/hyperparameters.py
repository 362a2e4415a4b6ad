"""The hyperparameters of a SageMaker training job, read with train.py's own command line.

``vsent train`` declares none of them: the options it does not know go to train.py's parser
(``vs_model.training_options.build_parser``), so names, types and choices are checked before a job
starts, and a hyperparameter added to train.py works here without a change.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from pathlib import Path
from typing import Any, NoReturn

from vsent.ops.aws import OpsError

_UNSET = object()


def hyperparameter_names() -> list[str]:
    """train.py's hyperparameters as options (``--lr-text``): every ``TrainOptions`` field but
    the folders, which SageMaker sets."""
    from vs_model.training_options import TrainOptions

    hints = typing.get_type_hints(TrainOptions)
    return [
        "--" + f.name.replace("_", "-")
        for f in dataclasses.fields(TrainOptions)
        if Path not in (hints[f.name], *typing.get_args(hints[f.name]))
    ]


def _refuse(message: str) -> NoReturn:
    raise OpsError(f"train.py would refuse this: {message}")


def parse_hyperparameters(args: list[str]) -> dict[str, Any]:
    """The hyperparameters given in ``args`` (train.py options such as ``--epochs 12``), typed as
    train.py reads them and named as it takes them (``lr-text``); raises :class:`OpsError` for an
    unknown option, a bad value, or a folder option."""
    from vs_model.training_options import build_parser

    parser = build_parser()
    parser.error = _refuse  # type: ignore[method-assign]
    # Every destination starts unset so that only the options given come back, defaults aside.
    unset = argparse.Namespace(**dict.fromkeys(vars(parser.parse_args([])), _UNSET))
    given, unknown = parser.parse_known_args(args, unset)
    names = hyperparameter_names()
    if unknown:
        raise OpsError(
            f"neither vsent train nor train.py takes {' '.join(unknown)}; "
            f"train.py's hyperparameters: {' '.join(names)}"
        )
    values = {
        dest.replace("_", "-"): value for dest, value in vars(given).items() if value is not _UNSET
    }
    folders = [f"--{name}" for name in values if f"--{name}" not in names]
    if folders:
        raise OpsError(
            f"{', '.join(folders)}: SageMaker sets train.py's folders; "
            "pass the data as --training/--validation/--test S3 URIs"
        )
    return values
