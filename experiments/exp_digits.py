"""InfoGAN's digits check (beyond the thesis): `config.DIGITS`, Cat(10) + 2 U(-1, 1) codes, on
scikit-learn's 8x8 digits, prepared into data/digits on first use. `--help` lists the flags;
experiments/digits_check.py trains several seeds and scores them."""
from absl import flags

from progressive_infogan import command_line, digits, launcher

DIGITS_DIR = "data/digits"


def define_flags(flag_values: flags.FlagValues) -> None:
    launcher.define_flags(flag_values)
    # The records are already at the training resolutions: no crop-and-resize from the level above.
    flag_values.set_default("preprocessing", "plain")
    flag_values.set_default("data_dir", DIGITS_DIR)


def main(argv) -> None:
    del argv
    if flags.FLAGS.data_dir == DIGITS_DIR:
        digits.ensure_digits(DIGITS_DIR)
    launcher.main("exp_digits")


if __name__ == "__main__":
    command_line.run(main, define_flags)
