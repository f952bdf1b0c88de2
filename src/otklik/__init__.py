"""Otklik: citizen feedback and service improvement platform."""

import os

# The NER model behind comment masking (otklik.surveys.masking) runs small numpy matrix
# products; OpenBLAS worker threads busy-wait between them and double the CPU per call.
# These must be set before numpy is first imported; an operator's own value wins.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
