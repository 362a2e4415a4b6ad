"""The local stack (the AWS stack of template.yaml on moto, with the real handlers and model), the
in-process model runner of `vsent analyze`, and the demo's synthetic speech videos and dataset."""
