"""Container images and instance facts from the SageMaker SDK's bundled tables (no AWS calls)."""

from __future__ import annotations

from datetime import UTC, datetime

# The endpoint runs pytorch-inference 2.6.0 (template.yaml); training and the cache use the same
# torch so the saved weights and features match what serves them.
FRAMEWORK_VERSION = "2.6.0"
PY_VERSION = "py312"


def pytorch_training_image(
    region: str,
    instance_type: str,
    framework_version: str = FRAMEWORK_VERSION,
    py_version: str = PY_VERSION,
) -> str:
    """The AWS Deep Learning Container ``pytorch-training`` image (GPU or CPU by instance type)."""
    from sagemaker.core import image_uris

    return image_uris.retrieve(
        "pytorch",
        region,
        version=framework_version,
        py_version=py_version,
        instance_type=instance_type,
        image_scope="training",
    )


def gpus_per_instance(instance_type: str, region: str) -> int:
    """GPUs of one instance of ``instance_type`` (0 for CPU types; 1 for unlisted GPU types)."""
    from sagemaker.core import instance_types_gpu_info

    info = instance_types_gpu_info.retrieve(region).get(instance_type)
    if info:
        return int(info["Count"])
    family = instance_type.removeprefix("ml.").split(".")[0]
    return 1 if family[:1] in {"g", "p"} else 0


def job_name(kind: str, now: datetime | None = None) -> str:
    """A unique, sortable SageMaker job name such as ``vsent-train-20240601-120000``."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return f"vsent-{kind}-{stamp}"
