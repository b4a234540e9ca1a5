"""Knowledge probes: does the model still answer questions about a subject?

A probe record has content {"text": "... <question> ... <answer>", "question", "answer"} whose
text ends with the answer (as the data generator writes QA records): the prompt is the text
before the answer, exactly as the model read it in training."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from erasure_engine.errors import InvalidInput
from erasure_engine.records import Record
from erasure_engine.verification.generation import greedy_continuations
from erasure_engine.verification.lm_statistics import encode_text, model_max_length, pad_token_id, sequence_token_scores


@dataclass(frozen=True)
class QaProbe:
    prompt_ids: list[int]
    answer_ids: list[int]


def is_qa_record(record: Record) -> bool:
    content = record.content
    return (
        isinstance(content.get("answer"), str)
        and isinstance(content.get("text"), str)
        and bool(content["answer"].strip())
        and content["text"].rstrip().endswith(content["answer"].strip())
    )


def qa_probe(tokenizer, record: Record, *, max_length: int | None) -> QaProbe:
    text = record.content["text"].rstrip()
    answer_start = len(text) - len(record.content["answer"].strip())
    encoding = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    # The first token that ends past the answer's first character starts the answer
    # (a byte-level token may carry the space before it).
    split = next(i for i, (_, end) in enumerate(encoding["offset_mapping"]) if end > answer_start)
    ids = encode_text(tokenizer, text, max_length=max_length)  # the same tokens, then end-of-text
    answer_end = min(len(encoding["input_ids"]), len(ids))
    if split >= answer_end:
        raise InvalidInput(f"record {record.record_id}: the answer lies beyond the model's context length")
    return QaProbe(prompt_ids=ids[:split], answer_ids=ids[split:answer_end])


@dataclass(frozen=True)
class KnowledgeResult:
    answer_probabilities: np.ndarray  # p(answer | prompt)^(1/|answer|), teacher-forced
    greedy_matches: np.ndarray  # 1.0 when greedy decoding reproduces every answer token

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.greedy_matches))

    @property
    def mean_answer_probability(self) -> float:
        return float(np.mean(self.answer_probabilities))


def knowledge_probe(model, tokenizer, records: list[Record], *, batch_size: int = 16) -> KnowledgeResult:
    if not records:
        raise InvalidInput("no question-answer records to probe")
    max_length = model_max_length(model)
    probes = [qa_probe(tokenizer, record, max_length=max_length) for record in records]
    scores = sequence_token_scores(
        model, [p.prompt_ids + p.answer_ids for p in probes], pad_id=pad_token_id(tokenizer), batch_size=batch_size
    )
    probabilities = np.array(
        [float(np.exp(np.mean(s.log_probs[-len(p.answer_ids) :]))) for s, p in zip(scores, probes)]
    )
    generated = greedy_continuations(
        model, [p.prompt_ids for p in probes], [len(p.answer_ids) for p in probes], batch_size=batch_size
    )
    matches = np.array([float(output == p.answer_ids) for output, p in zip(generated, probes)])
    return KnowledgeResult(answer_probabilities=probabilities, greedy_matches=matches)
