"""Prepares the synthetic faces dataset (per-resolution TFRecords + factors.npz).

    python data_prep/synthetic_faces.py --out_dir=data/synthetic_faces
    python data_prep/synthetic_faces.py --figures_dir=docs   # only the README figures
"""
from absl import app, flags

from progressive_infogan import synthetic_faces

FLAGS = flags.FLAGS
flags.DEFINE_string("out_dir", "data/synthetic_faces", "Directory to write the TFRecords, manifest.json and factors.npz into.")
flags.DEFINE_integer("num_images", 30000, "Number of faces to draw (image i depends only on the seed and i).")
flags.DEFINE_integer("resolution", 256, "Top resolution (a power of two); levels 4..resolution are written.")
flags.DEFINE_integer("seed", 0, "Seed of the factor sampling.")
flags.DEFINE_integer("supersample", 4, "Faces are drawn this many times larger and box-filtered down (anti-aliasing).")
flags.DEFINE_integer("num_workers", 2, "Drawing processes.")
flags.DEFINE_integer("num_shards", 1, "Files per resolution level (1 = NVIDIA's single-file layout).")
flags.DEFINE_bool("force", False, "Prepare again even if a complete dataset with these parameters exists.")
flags.DEFINE_string("figures_dir", None, "If set, only write the sample grid and factor traversal PNGs there.")


def main(argv):
    del argv
    if FLAGS.figures_dir:
        for path in synthetic_faces.save_figures(FLAGS.figures_dir):
            print(f"wrote {path}")
        return
    prepare = synthetic_faces.prepare_synthetic_faces if FLAGS.force else synthetic_faces.ensure_synthetic_faces
    manifest = prepare(FLAGS.out_dir, FLAGS.num_images, FLAGS.resolution, FLAGS.seed,
                       supersample=FLAGS.supersample, num_workers=FLAGS.num_workers, num_shards=FLAGS.num_shards)
    print(f"{FLAGS.out_dir}: {manifest['count']} faces at {manifest['resolutions']}")


if __name__ == "__main__":
    app.run(main)
