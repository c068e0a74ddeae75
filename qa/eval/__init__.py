"""Measuring and fitting, above the answering stages and never imported by them: `qa eval` (evaluate) and
`qa calibrate` (calibrate)."""
