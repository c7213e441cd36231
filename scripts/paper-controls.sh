#!/usr/bin/env bash
# The study (experiment=paper, its 25 models) and every control of docs/controls.md on its brain data sets
# (Pereira2018, Blank2014, metric linear-2023), one multirun each; extra arguments go to every command:
#   scripts/paper-controls.sh task=plan device=cuda      # the cost first (nothing runs)
#   scripts/paper-controls.sh                            # run it (finished jobs are skipped on a rerun)
#   python main.py task=analyze analysis.mixed=group     # then the claims under controls (report.md)
set -euo pipefail

PY=${PYTHON:-python}
M=t5-small,flan-t5-small,t5-base,flan-t5-base,flan-alpaca-base,t5-large,flan-t5-large,flan-alpaca-large
M=$M,t5-xl,flan-t5-xl,flan-alpaca-xl,flan-gpt4all-xl,flan-sharegpt-xl,flan-alpaca-gpt4-xl,t5-xxl,flan-t5-xxl
M=$M,flan-alpaca-xxl,llama-7b,alpaca-7b,vicuna-7b,llama-13b,vicuna-13b,stable-vicuna-13b,llama-33b,vicuna-33b
VANILLA=t5-small,t5-base,t5-large,t5-xl,t5-xxl,llama-7b,llama-13b,llama-33b   # an IT model shares its base's architecture
BRAIN="dataset=pereira,blank metric=linear-2023"

$PY main.py experiment=paper model=$M "$@"                                           # the study's protocol
$PY main.py -m model=$M $BRAIN 'metric.cv=[group]' "$@"                              # group CV
$PY main.py -m model=$M dataset=pereira,blank metric=banded "$@"                     # unique variance
$PY main.py -m model=$M $BRAIN metric.n_components=64 "$@"                           # fixed feature count
$PY main.py -m model=$VANILLA model.init=random model.init_seed=0,1,2 $BRAIN "$@"    # untrained
$PY main.py -m model=$M $BRAIN \
    dataset.perturb=scramble-words,shuffle-sentences,content-words,function-words,random-words "$@"   # perturbed text
$PY main.py experiment=trajectory "$@"                                               # Pythia-160m checkpoints
