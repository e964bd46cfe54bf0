"""Tools to explore the features a trained Progressive InfoGAN discovered (issue 6).

Library functions taking plain arguments; the command line is `python -m
progressive_infogan.explore.cli <tool> --run_dir=... --out=...`.

- traversal: coordinate sweeps, rows = samples, columns = values (thesis Figs. 8-19)
- averaging: sample averaging and the change-intensity map (Fig. 10)
- blocks: every block's output side by side (Figs. 24, 25)
- animation: per-coordinate animations in the original frame order, latent interpolation
- summary: per-coordinate feature summary with automatic descriptions (Appendix 12.1)
- projection: projecting and editing real photos (thesis section 9.2)
- examples: one of each figure for a run directory
"""
