"""Thesis experiment exp_noinfo_lr2_5e-4: exp_noinfo at learning rate 2.5e-4 (docs/original_system.md §6).
`--help` lists the flags."""
from progressive_infogan import launcher

if __name__ == "__main__":
    launcher.run("exp_noinfo_lr2_5e-4")
