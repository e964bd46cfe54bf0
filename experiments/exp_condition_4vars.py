"""Thesis experiment exp_condition_4vars (docs/original_system.md §6). `--help` lists the flags."""
from progressive_infogan import launcher

if __name__ == "__main__":
    launcher.run("exp_condition_4vars")
