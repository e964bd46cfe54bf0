"""Writes scikit-learn's bundled 8x8 digits (1797 images) as TFRecords, labels aside for scoring.

    python data_prep/digits.py --out_dir=data/digits
"""
from absl import flags

from progressive_infogan import command_line, digits


def define_flags(flag_values: flags.FlagValues) -> None:
    flags.DEFINE_string("out_dir", "data/digits", "Directory to write the TFRecords, manifest.json and labels.npz into.",
                        flag_values=flag_values)


def main(argv, flag_values: flags.FlagValues = flags.FLAGS) -> None:
    del argv
    manifest = digits.prepare_digits(flag_values.out_dir)
    print(f"{flag_values.out_dir}: {manifest['count']} digits at {manifest['resolutions']} ({digits.CREDIT})")


if __name__ == "__main__":
    command_line.run(main, define_flags)
