"""Prepares the synthetic faces dataset (per-resolution TFRecords + factors.npz).

    python data_prep/synthetic_faces.py --out_dir=data/synthetic_faces
    python data_prep/synthetic_faces.py --figures_dir=docs   # only the README figures
"""
from absl import flags

from progressive_infogan import command_line, synthetic_faces, tfrecords


def define_flags(flag_values: flags.FlagValues) -> None:
    flags.DEFINE_string("out_dir", "data/synthetic_faces", "Directory to write the TFRecords, manifest.json and "
                        "factors.npz into.", flag_values=flag_values)
    flags.DEFINE_integer("num_images", 30000, "Number of faces to draw (image i depends only on the seed and i).",
                         flag_values=flag_values)
    flags.DEFINE_integer("resolution", 256, "Top resolution (a power of two); levels 4..resolution are written.",
                         flag_values=flag_values)
    flags.DEFINE_integer("seed", 0, "Seed of the factor sampling.", flag_values=flag_values)
    flags.DEFINE_integer("supersample", 4, "Faces are drawn this many times larger and box-filtered down "
                         "(anti-aliasing).", flag_values=flag_values)
    flags.DEFINE_integer("num_workers", 2, "Drawing processes.", flag_values=flag_values)
    flags.DEFINE_integer("num_shards", 1, "Files per resolution level (1 = NVIDIA's single-file layout).",
                         flag_values=flag_values)
    flags.DEFINE_bool("force", False, "Prepare again even if a complete dataset with these parameters exists.",
                      flag_values=flag_values)
    flags.DEFINE_string("figures_dir", None, "If set, only write the sample grid and factor traversal PNGs there.",
                        flag_values=flag_values)


def main(argv, flag_values: flags.FlagValues = flags.FLAGS) -> None:
    del argv
    command_line.check_flag("resolution", flag_values.resolution, tfrecords.resolution_log2)
    if flag_values.figures_dir:
        for path in synthetic_faces.save_figures(flag_values.figures_dir):
            print(f"wrote {path}")
        return
    prepare = synthetic_faces.prepare_synthetic_faces if flag_values.force else synthetic_faces.ensure_synthetic_faces
    manifest = prepare(flag_values.out_dir, flag_values.num_images, flag_values.resolution, flag_values.seed,
                       supersample=flag_values.supersample, num_workers=flag_values.num_workers,
                       num_shards=flag_values.num_shards)
    print(f"{flag_values.out_dir}: {manifest['count']} faces at {manifest['resolutions']}")


if __name__ == "__main__":
    command_line.run(main, define_flags)
