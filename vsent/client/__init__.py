"""The command-line client of a deployed or local video-sentiment stack."""
