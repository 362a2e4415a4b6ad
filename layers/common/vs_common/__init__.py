"""Code shared by the Lambda functions: jobs, their store, settings and the result schema."""
