# make main  : install, train the default model, evaluate it, write reports and the model card, predict on the seeds
# make test  : install, then run the fast offline test tier
PYTHON ?= python3
export HF_HUB_OFFLINE = 1
export TRANSFORMERS_OFFLINE = 1
STAMP := .stamps/install

.PHONY: main install test test-slow test-label-studio train evaluate predict-seeds crossval ablation data validate length-curve bench

$(STAMP): pyproject.toml
	$(PYTHON) -m pip install --quiet torch==2.13.0
	$(PYTHON) -m pip install --quiet -e ".[dev]"
	@mkdir -p .stamps && touch $(STAMP)

install: $(STAMP)

# Compile the hand-written markup into the committed Label Studio exports and the gold incident file.
data: install
	$(PYTHON) -m conflict_ie markup annotations/seeds_src/*.txt --root annotations/seeds_src --out annotations/seeds.json
	$(PYTHON) -m conflict_ie markup annotations/authored/src/*.txt --out annotations/authored.json
	$(PYTHON) -m conflict_ie gold-incidents annotations/seeds.json --out annotations/gold_incidents_seeds.jsonl

validate: install
	$(PYTHON) -m conflict_ie validate annotations/seeds.json annotations/authored.json

train: install
	$(PYTHON) training/train.py configs/default.yaml

crossval: install
	$(PYTHON) training/cross_validate.py configs/default.yaml

# Not part of main (four more trainings): the dev figures without re3d, without its incident layers, without the
# authored corpus and without MUC-4.
ablation: train
	$(PYTHON) training/ablation.py configs/default.yaml --out runs/ablation
	@mkdir -p reports/default && cp runs/ablation/ablation.md reports/default/ablation.md

evaluate: install
	$(PYTHON) -m conflict_ie evaluate --split dev --peer --out reports/default/dev \
		$(if $(wildcard runs/crossval/cross_validation.json),--cross-validation runs/crossval) \
		$(if $(wildcard runs/crossfit_re3d/cross_fit.json),--cross-fit runs/crossfit_re3d) \
		--model-card model_cards/default.md
	$(PYTHON) -m conflict_ie evaluate --split test --peer --out reports/default/test
	$(PYTHON) -m conflict_ie evaluate --data annotations/seeds.json --out reports/default/seeds

predict-seeds: install
	$(PYTHON) -m conflict_ie predict seeds/ --format table --out reports/default/seed_predictions.txt
	$(PYTHON) -m conflict_ie predict seeds/ --format csv --out reports/default/seed_predictions.csv
	@cat reports/default/seed_predictions.txt

main: validate train crossval evaluate predict-seeds

test: install
	$(PYTHON) -m pytest -q

test-slow: install
	$(PYTHON) -m pytest -q -m slow

test-label-studio: install
	bash scripts/install_label_studio.sh
	CONFLICT_IE_REQUIRE_LABEL_STUDIO=1 $(PYTHON) -m pytest -q -m label_studio tests/integration

# Not part of main (about 20 minutes): time and memory of predict() on one article of 1 thousand to 3 million characters.
length-curve: install
	$(PYTHON) benchmarks/length_curve.py --out reports/benchmarks/length_curve.md

# Not part of main (about half an hour on 2 busy cores): predict() words/s of each backend beside spaCy
# en_core_web_sm and beside its own bare encoder pass, peak memory, dev F1 per backend, and a window/stride table.
# Exports the ONNX graphs into the model folder first.
bench: install
	$(PYTHON) -m conflict_ie export-onnx runs/default/model
	$(PYTHON) benchmarks/speed.py --model runs/default/model --out reports/benchmarks/speed.md
