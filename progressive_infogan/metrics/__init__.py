"""Evaluation metrics: one module per metric (FID, MS-SSIM diversity, ...)."""
