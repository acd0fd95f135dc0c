"""Sequence to sequence: a GRU encoder-decoder with attention, its decoders and its export (lesson L16).

    build_seq2seq           a built Seq2Seq, for `tfcourse.training.train(lambda: build_seq2seq(...))`
    Seq2Seq                 bidirectional GRU encoder, GRU decoder, optional Bahdanau attention
    teacher_forcing_inputs  targets -> [START, y_1, ..., y_{T-1}], the decoder's training inputs
    greedy_decode           argmax at each step (TF ops; also inside the SavedModel)
    beam_search             the beam_width best partial sequences at each step
    export_date_translator  SavedModel with a tf.string -> tf.string signature
    translate_dates         call an exported translator (also `python -m tfcourse.seq2seq`)

The task they are shown on is `tfcourse.data.dates`.
"""

from tfcourse.seq2seq.decoding import BeamResult, GreedyResult, beam_search, greedy_decode
from tfcourse.seq2seq.model import Seq2Seq, build_seq2seq, teacher_forcing_inputs
from tfcourse.seq2seq.serving import export_date_translator, tokenize_in_graph, translate_dates

__all__ = [
    "BeamResult",
    "GreedyResult",
    "Seq2Seq",
    "beam_search",
    "build_seq2seq",
    "export_date_translator",
    "greedy_decode",
    "teacher_forcing_inputs",
    "tokenize_in_graph",
    "translate_dates",
]
