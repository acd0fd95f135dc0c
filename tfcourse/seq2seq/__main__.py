"""`python -m tfcourse.seq2seq --model saved_models/16_seq2seq_attention "3/25/21"` (lesson L16)."""

import sys

from tfcourse.seq2seq.serving import main

sys.exit(main())
