"""Trains `exp_digits` for each seed and scores it: the categorical code's InfoGAN bound (target
>= 0.9 ln 10) and its unsupervised accuracy on the 1797 real digits (target >= 80%).

    python experiments/digits_check.py --seeds=0,1,2 --runs_dir=runs/digits --results=results/digits/scores.json

A seed whose run directory already holds a finished run is only scored (rerunning resumes).
"""
import logging
import math
import os
import sys

from absl import flags

from progressive_infogan import command_line, digits, schedule, train
from progressive_infogan import config as configs


def define_flags(flag_values: flags.FlagValues) -> None:
    fv = dict(flag_values=flag_values)
    flags.DEFINE_list("seeds", ["0"], "Seeds to train and score (InfoGAN reports the best of 5).", **fv)
    flags.DEFINE_string("runs_dir", "runs/digits", "One run directory per seed: <runs_dir>/seed_<s>.", **fv)
    flags.DEFINE_string("data_dir", "data/digits", "The digits records (prepared on first use).", **fv)
    flags.DEFINE_string("results", None, "JSON file for the scores of every seed (default: print only); each seed's "
                        "categories, one row each, go beside it as <results minus .json>_seed<s>_categories.png.", **fv)
    flags.DEFINE_multi_string("override", [], "Config fields as SECTION.FIELD=VALUE, as the experiment scripts.", **fv)
    flags.DEFINE_integer("eval_batches", 50, "Batches of 100 generated samples for the bound.", **fv)


def main(argv, flag_values: flags.FlagValues = flags.FLAGS) -> None:
    del argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    data_dir = digits.ensure_digits(flag_values.data_dir)
    config = configs.preset("exp_digits")
    for assignment in flag_values.override:
        config = configs.override(config, assignment)
    scores = {}
    for seed in map(int, flag_values.seeds):
        model_dir = os.path.join(flag_values.runs_dir, f"seed_{seed}")
        options = configs.RunOptions(model_dir=model_dir, data_dir=data_dir, seed=seed, preprocessing="plain",
                                     summary_every_steps=250, progress_bar=False)
        result = train.train(config, options)
        if not result["finished"]:
            sys.exit(75)
        figure = f"{os.path.splitext(flag_values.results)[0]}_seed{seed}_categories.png" if flag_values.results else None
        scores[seed] = digits.evaluate_digits(model_dir, data_dir, num_batches=flag_values.eval_batches, seed=seed,
                                              figure_path=figure)
        logging.info("seed %d: %s", seed, scores[seed])
    summary = {"experiment": config.name, "steps": schedule.total_steps(config.schedule),
               "target": {"mi_bound": 0.9 * math.log(10), "unsupervised_accuracy": 0.8},
               "seeds": {str(seed): value for seed, value in scores.items()}}
    print(summary)
    if flag_values.results:
        digits.write_json(flag_values.results, summary)


if __name__ == "__main__":
    command_line.run(main, define_flags)
