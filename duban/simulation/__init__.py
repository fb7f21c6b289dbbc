"""A campaign run on a simulated clock: simulate, the synthetic units' behaviour, the preview, and the demo."""
