// Label orders as the model defines them (vs_model/labels.py) and the colours bands use.
// Colours are light enough for dark text on every one; bands always carry their label as text.

export const EMOTIONS = ["anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"];
export const SENTIMENTS = ["negative", "neutral", "positive"];

export const EMOTION_COLOURS = {
  anger: "#f4a582",
  disgust: "#a6d96a",
  fear: "#c2a5cf",
  joy: "#fee08b",
  neutral: "#d9d9d9",
  sadness: "#92c5de",
  surprise: "#f1b6da",
};

export const SENTIMENT_COLOURS = {
  negative: "#ef8a62",
  neutral: "#e0e0e0",
  positive: "#7fbf7b",
};

export const TERMINAL = new Set(["COMPLETED", "FAILED"]);
