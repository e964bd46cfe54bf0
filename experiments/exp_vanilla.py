"""Thesis experiment exp_vanilla (ORIGINAL_IMPLEMENTATION.md section 6). `--help` lists the flags."""
from progressive_infogan import launcher

if __name__ == "__main__":
    launcher.run("exp_vanilla")
