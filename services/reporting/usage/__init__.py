"""Credits in and out per day: the usage chart's figures, its SVG and its routes."""
