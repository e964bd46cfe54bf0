"""Dataset preparation scripts (`python data_prep/<script>.py`, or `pinfogan-prepare <dataset>`)."""
