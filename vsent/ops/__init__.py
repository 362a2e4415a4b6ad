"""Operations on AWS: the MELD dataset in S3, the feature cache, training, packaging, costs."""
