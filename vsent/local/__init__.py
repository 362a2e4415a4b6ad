"""The local stack: the AWS stack of template.yaml on moto, with the real handlers and model."""
