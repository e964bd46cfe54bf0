"""Thesis experiment exp_noinfo_lr1.25e-4 (docs/original_system.md §6). `--help` lists the flags."""
from progressive_infogan import launcher

if __name__ == "__main__":
    launcher.run("exp_noinfo_lr1.25e-4")
