"""Thesis experiment exp_noinfo_lr2.5e-4 (ORIGINAL_IMPLEMENTATION.md section 6). `--help` lists the flags."""
from progressive_infogan import launcher

if __name__ == "__main__":
    launcher.run("exp_noinfo_lr2.5e-4")
