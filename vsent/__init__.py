"""The local stack and the command-line client of video-sentiment."""
