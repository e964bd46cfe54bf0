"""Turns a folder of images, NVIDIA CelebA-HQ TFRecords or a local TFDS dataset into
per-resolution TFRecords (NVIDIA progressive_growing_of_gans layout) with a manifest.

    python data_prep/prepare_dataset.py --source=folder --input=~/photos --out_dir=data/photos --resolution=256 --center_crop
    python data_prep/prepare_dataset.py --source=nvidia --input=~/celeba-hq-tfrecords           # validate in place
    python data_prep/prepare_dataset.py --source=tfds --input=celeb_a_hq/256 --manual_dir=~/celeba_hq --out_dir=data/celeba_hq --resolution=256

Nothing is downloaded. A run that stops half-way leaves no manifest; rerunning starts clean.
"""
import sys

from absl import app, flags

from progressive_infogan import tfrecords

FLAGS = flags.FLAGS
flags.DEFINE_enum("source", "folder", ["folder", "nvidia", "tfds"],
                  "Kind of input: a folder of images (recursive), a directory of NVIDIA *-rNN.tfrecords, "
                  "or the name of a TFDS dataset prepared on this machine.")
flags.DEFINE_string("input", None, "The folder, the NVIDIA record directory, or the TFDS name (e.g. celeb_a_hq/256).")
flags.DEFINE_string("out_dir", None, "Output directory. For --source=nvidia, leave unset to add a manifest in place.")
flags.DEFINE_integer("resolution", 256, "Top resolution, a power of two in [4, 1024] (folder and tfds sources).")
flags.DEFINE_bool("center_crop", False, "Crop non-square images to their central square; without it they are skipped.")
flags.DEFINE_enum("resize_filter", "lanczos", sorted(tfrecords.RESIZE_FILTERS),
                  "PIL filter for the one resize to --resolution; lower levels always use NVIDIA's 2x2 box filter.")
flags.DEFINE_bool("allow_upscale", False, "Upscale images smaller than --resolution instead of skipping them.")
flags.DEFINE_integer("num_shards", 1, "Files per resolution level (1 = NVIDIA's single-file layout).")
flags.DEFINE_string("prefix", None, "File name prefix of the records; default: the output directory's name.")
flags.DEFINE_integer("num_workers", 2, "Decoding processes for the folder source.")
flags.DEFINE_integer("max_images", None, "Use only the first N images (sorted paths / dataset order).")
flags.DEFINE_string("tfds_data_dir", None, "TFDS data directory (default: TFDS's own, ~/tensorflow_datasets).")
flags.DEFINE_string("tfds_split", "train", "TFDS split to convert.")
flags.DEFINE_string("manual_dir", None, "TFDS manual directory, to prepare celeb_a_hq from its local archives.")
flags.DEFINE_integer("check_every", 1000, "NVIDIA source: decode and check the shape of one record in this many.")
flags.DEFINE_bool("hash_files", True, "NVIDIA source in place: record each file's sha256 in the manifest "
                  "(reads every byte once more, at disk speed).")


def main(argv):
    del argv
    if not FLAGS.input:
        raise app.UsageError("--input is required")
    options = tfrecords.ImageFolderOptions(FLAGS.resolution, center_crop=FLAGS.center_crop,
                                           resize_filter=FLAGS.resize_filter, allow_upscale=FLAGS.allow_upscale)
    try:
        if FLAGS.source == "folder":
            if not FLAGS.out_dir:
                raise app.UsageError("--out_dir is required for --source=folder")
            manifest = tfrecords.write_from_image_folder(
                FLAGS.input, FLAGS.out_dir, options, num_shards=FLAGS.num_shards, prefix=FLAGS.prefix,
                num_workers=FLAGS.num_workers, max_images=FLAGS.max_images)
        elif FLAGS.source == "nvidia":
            manifest = tfrecords.import_nvidia_tfrecords(FLAGS.input, FLAGS.out_dir, num_shards=FLAGS.num_shards,
                                                         check_every=FLAGS.check_every, hash_files=FLAGS.hash_files)
        else:
            if not FLAGS.out_dir:
                raise app.UsageError("--out_dir is required for --source=tfds")
            manifest = tfrecords.write_from_tfds(
                FLAGS.input, FLAGS.out_dir, options, split=FLAGS.tfds_split, tfds_data_dir=FLAGS.tfds_data_dir,
                manual_dir=FLAGS.manual_dir, num_shards=FLAGS.num_shards, prefix=FLAGS.prefix,
                max_images=FLAGS.max_images)
    except tfrecords.DatasetPreparationError as error:
        sys.exit(f"error: {error}")
    print(f"{manifest['count']} images at {manifest['resolutions']} -> {FLAGS.out_dir or FLAGS.input}")


if __name__ == "__main__":
    app.run(main)
