"""The lecture made runnable: the perceptron and its gates, and the slides' and the textbook's
presets."""
