"""The study split over processes, as a cluster runs it: `fergen study --shard I/3` in three processes at once,
then `fergen merge`, against the same study run as one process (the `whole` step, a fixture of the others).

  check_study_shards.py FERGEN WORK whole          the study as one process, into WORK/whole
  check_study_shards.py FERGEN WORK shared         3 shards sharing a generator folder, merged
  check_study_shards.py FERGEN WORK local          3 shards, each training the generators it needs, merged
  check_study_shards.py FERGEN WORK killed         shard 0 killed (SIGTERM) after its first cell, started again
  check_study_shards.py FERGEN WORK merge-errors   merge without a shard, with one twice, with another seed's
  check_study_shards.py FERGEN WORK sbatch REPO     examples/cluster/study.sbatch as 3 array tasks, merged
  check_study_shards.py FERGEN WORK parallel REPO   examples/cluster/study_parallel.sh (GNU parallel), 3 shards

Every merged results.json and results.csv must be byte for byte the whole run's; every refused merge one line on
stderr, exit status 1, and no output folder. Every process runs with the environment's OMP_NUM_THREADS: the same
seed gives the same bytes at the same thread count.
"""

import filecmp
import json
import os
import shutil
import signal
import subprocess
import sys

STUDY = ["study", "--preset", "smoke"]


def run(fergen, args, log):
    with open(log, "w") as out:
        code = subprocess.call([fergen] + args, stdout=out, stderr=subprocess.STDOUT)
    if code != 0:
        sys.exit(f"fergen {' '.join(args)} exited with {code}; see {log}")


def shards(fergen, work, name, extra):
    """The three shards at once, as an array job runs them; returns their folders."""
    folders = [os.path.join(work, name, f"s{i}") for i in range(3)]
    procs = []
    for i, folder in enumerate(folders):
        log = open(folder + ".log", "w")
        procs.append((subprocess.Popen([fergen] + STUDY + ["--shard", f"{i}/3", "--out", folder] + extra,
                                       stdout=log, stderr=subprocess.STDOUT), folder))
    for proc, folder in procs:
        if proc.wait() != 0:
            sys.exit(f"shard {folder} exited with {proc.returncode}; see {folder}.log")
    return folders


def merge_and_compare(fergen, work, name, folders):
    merged = os.path.join(work, name, "merged")
    run(fergen, ["merge", "--out", merged] + folders, merged + ".log")
    whole = os.path.join(work, "whole")
    for f in ("results.json", "results.csv"):
        if not filecmp.cmp(os.path.join(whole, f), os.path.join(merged, f), shallow=False):
            sys.exit(f"{merged}/{f} differs from the unsharded run's {whole}/{f}")
    for f in ("report.html", "tables.md"):
        if not os.path.exists(os.path.join(merged, f)):
            sys.exit(f"merge wrote no {f}")
    print(f"{name}: 3 shards merged: results.json and results.csv identical to the single process's")


def killed(fergen, work):
    folder = os.path.join(work, "killed", "s0")
    command = [fergen] + STUDY + ["--shard", "0/3", "--out", folder]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    cells = None
    for line in proc.stdout:
        if line.startswith("[1/"):  # its first cell is in results.json
            cells = int(line[3:line.index("]")])
            proc.send_signal(signal.SIGTERM)
            break
    proc.stdout.close()
    code = proc.wait()
    if cells is None:
        sys.exit("shard 0/3 printed no cell line")
    if code != -signal.SIGTERM:
        sys.exit(f"shard 0/3 was not killed by SIGTERM (exit {code}): it finished before the signal")
    with open(os.path.join(folder, "results.json")) as f:
        done = len(json.load(f)["results"])
    if not 1 <= done < cells:
        sys.exit(f"after the kill results.json holds {done} of the shard's {cells} cells")
    print(f"killed: shard 0/3 stopped by SIGTERM with {done} of its {cells} cells written")
    restarted = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if restarted.returncode != 0 or f"resuming: {done} cell(s) done" not in restarted.stdout:
        sys.exit(f"the restarted shard did not resume (exit {restarted.returncode}):\n{restarted.stdout}")
    others = [os.path.join(work, "killed", f"s{i}") for i in (1, 2)]
    for i, other in zip((1, 2), others):
        run(fergen, STUDY + ["--shard", f"{i}/3", "--out", other], other + ".log")
    merge_and_compare(fergen, work, "killed", [folder] + others)


def merge_errors(fergen, work):
    folders = shards(fergen, work, "merge-errors", ["--generators", os.path.join(work, "merge-errors", "generators")])
    other = os.path.join(work, "merge-errors", "seed2")
    run(fergen, STUDY + ["--shard", "2/3", "--seed", "2", "--out", other], other + ".log")
    cases = {
        "missing": ([folders[0], folders[1]], "merge: shard 2/3 is missing"),
        "duplicated": ([folders[0], folders[1], folders[1], folders[2]], "merge: shard 1/3 is given twice"),
        "another seed": ([folders[0], folders[1], other], "are shards of different runs (seed=0 in"),
    }
    for name, (given, expected) in cases.items():
        out = os.path.join(work, "merge-errors", "merged-" + name.replace(" ", "-"))
        r = subprocess.run([fergen, "merge", "--out", out] + given, capture_output=True, text=True)
        lines = r.stderr.strip().splitlines()
        if r.returncode != 1 or len(lines) != 1 or expected not in lines[0] or os.path.exists(out):
            sys.exit(f"merge with {name} shard: exit {r.returncode}, stderr {r.stderr!r}, "
                     f"output folder {'written' if os.path.exists(out) else 'absent'}")
        print(f"merge with a {name} shard: exit 1, {lines[0]}")


def scripts(fergen, work, step, repo):
    """The cluster scripts as the README gives them, on the smoke preset and the CPU."""
    out = os.path.join(work, step)
    env = dict(os.environ, SHARDS="3", PRESET="smoke", OUT=out, DEVICE="cpu", FERGEN=fergen)
    if step == "sbatch":
        script = os.path.join(repo, "examples", "cluster", "study.sbatch")
        procs = [subprocess.Popen(["bash", script], env=dict(env, SLURM_ARRAY_TASK_ID=str(i)),
                                  stdout=open(os.path.join(out, f"task-{i}.log"), "w"), stderr=subprocess.STDOUT)
                 for i in range(3)]
        if any(p.wait() != 0 for p in procs):
            sys.exit(f"an array task failed; see {out}/task-*.log")
        merge_and_compare(fergen, work, step, [os.path.join(out, f"shard-{i}") for i in range(3)])
    else:
        if shutil.which("parallel") is None:
            print("GNU parallel is not installed (scripts/install-deps.sh --tests installs it): skipped")
            sys.exit(77)
        script = os.path.join(repo, "examples", "cluster", "study_parallel.sh")
        with open(os.path.join(out, "script.log"), "w") as log:
            if subprocess.call([script], env=env, stdout=log, stderr=subprocess.STDOUT) != 0:
                sys.exit(f"{script} failed; see {out}/script.log")
        whole = os.path.join(work, "whole")
        for f in ("results.json", "results.csv"):
            if not filecmp.cmp(os.path.join(whole, f), os.path.join(out, "merged", f), shallow=False):
                sys.exit(f"{out}/merged/{f} differs from the unsharded run's")
        print(f"{step}: 3 shards merged: results.json and results.csv identical to the single process's")


def main():
    fergen, work, step = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    if step == "whole":
        shutil.rmtree(os.path.join(work, "whole"), ignore_errors=True)
        run(fergen, STUDY + ["--out", os.path.join(work, "whole")], os.path.join(work, "whole.log"))
        print("whole: the smoke study as one process")
        return
    shutil.rmtree(os.path.join(work, step), ignore_errors=True)
    os.makedirs(os.path.join(work, step))
    if step == "shared":
        merge_and_compare(fergen, work, step,
                          shards(fergen, work, step, ["--generators", os.path.join(work, step, "generators")]))
    elif step == "local":
        merge_and_compare(fergen, work, step, shards(fergen, work, step, []))
    elif step == "killed":
        killed(fergen, work)
    elif step == "merge-errors":
        merge_errors(fergen, work)
    elif step in ("sbatch", "parallel"):
        scripts(fergen, work, step, sys.argv[4])
    else:
        sys.exit(f"unknown step {step}")


if __name__ == "__main__":
    main()
