#!/bin/sh
# Entry point for `docker run IMAGE app.handler`, as in AWS's base images. SAM replaces it with the
# emulator itself; this path only matters when the image is run by hand on top of an emulator layer.
set -eu
if [ $# -gt 0 ]; then
  export _HANDLER="$1"
fi
if [ -z "${AWS_LAMBDA_RUNTIME_API:-}" ] && [ -x /var/rapid/aws-lambda-rie ]; then
  exec /var/rapid/aws-lambda-rie /var/runtime/bootstrap
fi
exec /var/runtime/bootstrap
