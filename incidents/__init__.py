"""The incident domain: cases, the six-step closed loop, deadlines, persistence."""
