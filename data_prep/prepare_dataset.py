"""Turns a folder of images, NVIDIA CelebA-HQ TFRecords or a local TFDS dataset into
per-resolution TFRecords (NVIDIA progressive_growing_of_gans layout) with a manifest.

    python data_prep/prepare_dataset.py --source=folder --input=~/photos --out_dir=data/photos --resolution=256 --center_crop
    python data_prep/prepare_dataset.py --source=nvidia --input=~/celeba-hq-tfrecords           # validate in place
    python data_prep/prepare_dataset.py --source=tfds --input=celeb_a_hq/256 --manual_dir=~/celeba_hq --out_dir=data/celeba_hq --resolution=256

Nothing is downloaded. A run that stops half-way leaves no manifest; rerunning starts clean.
"""
from absl import app, flags

from progressive_infogan import command_line, tfrecord_sources, tfrecords
from progressive_infogan.errors import UserError


def define_flags(flag_values: flags.FlagValues) -> None:
    fv = dict(flag_values=flag_values)  # every flag goes to `flag_values`
    flags.DEFINE_enum("source", "folder", ["folder", "nvidia", "tfds"],
                      "Kind of input: a folder of images (recursive), a directory of NVIDIA *-rNN.tfrecords, "
                      "or the name of a TFDS dataset prepared on this machine.", **fv)
    flags.DEFINE_string("input", None, "The folder, the NVIDIA record directory, or the TFDS name "
                        "(e.g. celeb_a_hq/256).", **fv)
    flags.DEFINE_string("out_dir", None, "Output directory. For --source=nvidia, leave unset to add a manifest "
                        "in place.", **fv)
    # The ImageFolderOptions of the folder and tfds sources (flag name = field name).
    flags.DEFINE_integer("resolution", 256, "Top resolution, a power of two in [4, 1024] (folder and tfds sources).",
                         **fv)
    flags.DEFINE_bool("center_crop", False, "Crop non-square images to their central square; without it they are "
                      "skipped.", **fv)
    flags.DEFINE_enum("resize_filter", "lanczos", sorted(tfrecords.RESIZE_FILTERS),
                      "PIL filter for the one resize to --resolution; lower levels always use NVIDIA's 2x2 box "
                      "filter.", **fv)
    flags.DEFINE_bool("allow_upscale", False, "Upscale images smaller than --resolution instead of skipping them.",
                      **fv)
    flags.DEFINE_integer("num_shards", 1, "Files per resolution level (1 = NVIDIA's single-file layout).", **fv)
    flags.DEFINE_string("prefix", None, "File name prefix of the records; default: the output directory's name.",
                        **fv)
    flags.DEFINE_integer("num_workers", 2, "Decoding processes for the folder source.", **fv)
    flags.DEFINE_integer("max_images", None, "Use only the first N images (sorted paths / dataset order).", **fv)
    flags.DEFINE_string("tfds_data_dir", None, "TFDS data directory (default: TFDS's own, ~/tensorflow_datasets).",
                        **fv)
    flags.DEFINE_string("tfds_split", "train", "TFDS split to convert.", **fv)
    flags.DEFINE_string("manual_dir", None, "TFDS manual directory, to prepare celeb_a_hq from its local archives.",
                        **fv)
    flags.DEFINE_integer("check_every", 1000, "NVIDIA source: decode and check the shape of one record in this "
                         "many.", **fv)
    flags.DEFINE_bool("hash_files", True, "NVIDIA source in place: record each file's sha256 in the manifest "
                      "(reads every byte once more, at disk speed).", **fv)


def main(argv, flag_values: flags.FlagValues = flags.FLAGS) -> None:
    del argv
    command_line.check_flag("resolution", flag_values.resolution, tfrecords.resolution_log2)
    if not flag_values.input:
        raise app.UsageError("--input is required")
    source, out_dir = flag_values.input, flag_values.out_dir
    options = tfrecord_sources.ImageFolderOptions(**command_line.fields_from_flags(tfrecord_sources.ImageFolderOptions, flag_values))
    try:
        if flag_values.source == "folder":
            if not out_dir:
                raise app.UsageError("--out_dir is required for --source=folder")
            manifest = tfrecord_sources.write_from_image_folder(
                source, out_dir, options, num_shards=flag_values.num_shards, prefix=flag_values.prefix,
                num_workers=flag_values.num_workers, max_images=flag_values.max_images)
        elif flag_values.source == "nvidia":
            manifest = tfrecord_sources.import_nvidia_tfrecords(source, out_dir, num_shards=flag_values.num_shards,
                                                         check_every=flag_values.check_every,
                                                         hash_files=flag_values.hash_files)
        else:
            if not out_dir:
                raise app.UsageError("--out_dir is required for --source=tfds")
            manifest = tfrecord_sources.write_from_tfds(
                source, out_dir, options, split=flag_values.tfds_split, tfds_data_dir=flag_values.tfds_data_dir,
                manual_dir=flag_values.manual_dir, num_shards=flag_values.num_shards, prefix=flag_values.prefix,
                max_images=flag_values.max_images)
    except tfrecords.DatasetPreparationError as error:
        raise UserError(str(error)) from None
    print(f"{manifest['count']} images at {manifest['resolutions']} -> {out_dir or source}")


if __name__ == "__main__":
    command_line.run(main, define_flags)
