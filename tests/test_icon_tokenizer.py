"""Icon caption tokenizer: CLIPTokenizer loads it, one token per word, no crash on OOV."""

import pytest
import torch

torch.set_num_threads(1)

from dreamsampler3d.data.icons import scene_from_seed  # noqa: E402
from dreamsampler3d.data.vocab import (BOS, EOS, MAX_LENGTH, caption_words,  # noqa: E402
                                       save_tokenizer, unknown_words)


@pytest.fixture(scope="module")
def tok(tmp_path_factory):
    from transformers import CLIPTokenizer

    folder = save_tokenizer(tmp_path_factory.mktemp("tok"))
    return CLIPTokenizer.from_pretrained(str(folder))


def test_each_vocab_word_is_one_token(tok):
    for w in caption_words():
        ids = tok(w, add_special_tokens=False).input_ids
        assert len(ids) == 1, (w, tok.convert_ids_to_tokens(ids))
        assert ids[0] != tok.unk_token_id


def test_special_tokens_and_padding(tok):
    assert tok.bos_token == BOS and tok.eos_token == EOS
    ids = tok("a red star on a white background", padding="max_length",
              max_length=MAX_LENGTH).input_ids
    assert len(ids) == MAX_LENGTH and ids[0] == tok.bos_token_id
    assert ids[8] == tok.eos_token_id  # 7 words -> 7 tokens


def test_generated_captions_fit(tok):
    for seed in range(300):
        cap = scene_from_seed(seed).caption()
        assert len(tok(cap).input_ids) == len(cap.split()) + 2 <= MAX_LENGTH


def test_unknown_words_do_not_crash(tok):
    ids = tok("A photo of a DOG, très ☃ 123!", padding="max_length", truncation=True,
              max_length=MAX_LENGTH).input_ids
    assert len(ids) == MAX_LENGTH
    assert unknown_words("a photo of a red dog") == ["photo", "of", "dog"]
    assert tok("x" * 500, truncation=True, max_length=MAX_LENGTH).input_ids[-1] == tok.eos_token_id
