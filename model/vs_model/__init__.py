"""The multimodal emotion and sentiment model: media, data, network, training and inference."""
